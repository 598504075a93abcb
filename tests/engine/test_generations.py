"""Generations of siblings at equal budget: composition, the values the searcher learns, the incumbent, resume."""

import pytest

from autonas.engine import Project, SearchBudget, TrialRecord, run_search
from autonas.engine.generations import NO_EDIT, FreeProposals, Generations, Placement, edit_gains
from autonas.execution import TrainingSettings
from autonas.graph import generators
from autonas.search import MoreTrainingSearcher, RandomSearcher
from autonas.search.base import ChildProposal
from tests._fakes import DelayedExecutor, ScoringExecutor, tiny_data

pytestmark = [pytest.mark.slow, pytest.mark.backend]  # trains networks or starts processes; runs again under JAX in CI

SETTINGS = TrainingSettings(max_epochs=1)


def _accuracy(record: TrialRecord):
    return record.val_accuracy


def _rank(record: TrialRecord):
    return (record.val_accuracy if record.val_accuracy is not None else -1.0,)


class _FakeSearcher:
    """Proposes numbered children of the parent it is asked about (each a wider copy); records what it learns."""

    def __init__(self, children_per_parent: int = 10):
        self.told: dict[str, float | None] = {}
        self.roots: dict[str, float] = {}
        self.graphs: dict[str, object] = {}
        self.asked: list[str] = []
        self.left = {}
        self.children_per_parent = children_per_parent

    def tell(self, trial_id, graph, accuracy):
        assert trial_id not in self.told and trial_id not in self.roots, f"{trial_id} told twice"
        self.told[trial_id], self.graphs[trial_id] = accuracy, graph

    def add_root(self, trial_id, graph, accuracy):
        assert trial_id not in self.told and trial_id not in self.roots, f"{trial_id} told twice"
        self.roots[trial_id], self.graphs[trial_id] = accuracy, graph

    def ask(self):
        raise AssertionError("a generation asks for children of its incumbent only")

    def ask_children(self, parent_id):
        self.asked.append(parent_id)
        left = self.left.setdefault(parent_id, self.children_per_parent)
        if not left:
            return None
        self.left[parent_id] = left - 1
        parent = self.graphs[parent_id]
        child = generators.mlp((8, 8, 1), 10, hidden_units=(16 + left,))
        return ChildProposal(parent_id, (f"edit-{left}",), child, parent)


def _record(trial_id, parent=None, accuracy=0.5, edited=True, params=100, status="completed"):
    return TrialRecord(
        trial_id, parent, [{"edit": trial_id}] if (parent is not None and edited) else [], f"fp{trial_id}",
        {"val_accuracy": accuracy, "params": params}, status=status,
    )


def _graph(units=8):
    return generators.mlp((8, 8, 1), 10, hidden_units=(units,))


def _run_generation(source, next_id, scores, params=None):
    """Ask the whole generation, then observe it with the given scores (sibling first); returns proposals."""
    proposals = []
    while (proposal := source.ask()) is not None:
        proposals.append(proposal)
    for offset, (proposal, score) in enumerate(zip(proposals, scores)):
        record = _record(next_id + offset, int(proposal.parent_id), score, edited=bool(proposal.operations),
                         params=(params or {}).get(offset, 100), status="failed" if score is None else "completed")
        source.observe(record, proposal.graph)
    return proposals


def _with_initial(source, scores):
    for trial_id, score in enumerate(scores, start=1):
        source.observe(_record(trial_id, accuracy=score), _graph(8 + trial_id))


def test_a_generation_is_the_no_edit_sibling_then_children_of_the_best_initial_network():
    searcher = _FakeSearcher()
    source = Generations(searcher, children=2, rank=_rank, score=_accuracy)
    _with_initial(source, [0.5, 0.7, 0.6])
    proposals = _run_generation(source, 4, [])  # asked, not yet observed
    assert [p.parent_id for p in proposals] == ["2", "2", "2"]
    assert proposals[0].operations == () and proposals[0].graph.fingerprint() == searcher.graphs["2"].fingerprint()
    assert proposals[0].graph is not searcher.graphs["2"]  # a copy: the parent's weights are not trained in place
    assert all(p.operations for p in proposals[1:])
    assert source.ask() is None  # the generation's members train: nothing more until they are all told
    assert [source.seed_key(p) for p in proposals] == [2, 2, 2]  # one seed, one data order for all members


def test_children_learn_their_gain_over_the_no_edit_sibling_and_the_best_member_leads_the_next_generation():
    searcher = _FakeSearcher()
    source = Generations(searcher, children=2, rank=_rank, score=_accuracy)
    _with_initial(source, [0.5, 0.7])
    assert searcher.told == {"1": 0.5, "2": 0.7}  # an initial network's value is its score
    _run_generation(source, 3, [0.80, 0.85, 0.75])  # sibling 3, children 4 and 5 of trial 2
    first = source.ask()  # closes the generation: values told, the next incumbent chosen
    assert searcher.roots == {"3": pytest.approx(0.7)}  # trained on, not learnt from: its parent's value
    assert searcher.told["4"] == pytest.approx(0.7 + 0.85 - 0.80) and searcher.told["5"] == pytest.approx(0.7 - 0.05)
    assert first.parent_id == "4" and first.operations == ()
    rest = [source.ask(), source.ask()]
    assert [p.parent_id for p in rest] == ["4", "4"]
    for offset, (proposal, score) in enumerate(zip([first, *rest], [0.86, 0.90, 0.80])):
        source.observe(_record(6 + offset, 4, score, edited=bool(proposal.operations)), proposal.graph)
    assert source.ask().parent_id == "7"
    assert searcher.told["7"] == pytest.approx(0.75 + 0.90 - 0.86)  # its parent's value net of training, plus its gain
    assert source.finished == [2, 4]


def test_a_tie_goes_to_fewer_parameters_then_to_the_no_edit_sibling():
    searcher = _FakeSearcher()
    source = Generations(searcher, children=2, rank=_rank, score=_accuracy)
    _with_initial(source, [0.7])
    _run_generation(source, 2, [0.8, 0.8, 0.8], params={0: 100, 1: 90, 2: 120})
    assert source.ask().parent_id == "3"  # trial 3, the smaller child, with the sibling's score
    tied = Generations(_FakeSearcher(), children=1, rank=_rank, score=_accuracy)
    _with_initial(tied, [0.7])
    _run_generation(tied, 2, [0.8, 0.8])
    assert tied.ask().parent_id == "2"  # the edit brought nothing: the network trained on leads


def test_a_failed_sibling_measures_the_children_against_their_parents_score_and_an_all_failed_generation_is_retried():
    searcher = _FakeSearcher()
    source = Generations(searcher, children=1, rank=_rank, score=_accuracy)
    _with_initial(source, [0.7])
    _run_generation(source, 2, [None, 0.75])
    assert source.ask().parent_id == "3"
    assert searcher.told["2"] is None and searcher.told["3"] == pytest.approx(0.7 + 0.75 - 0.7)
    retried = Generations(_FakeSearcher(), children=1, rank=_rank, score=_accuracy)
    _with_initial(retried, [0.7])
    _run_generation(retried, 2, [None, None])
    assert retried.ask().parent_id == "1"  # no member trained: the parent stays the incumbent


def test_a_rejected_sibling_is_not_proposed_again_and_a_generation_with_no_member_moves_on_to_the_next_best():
    searcher = _FakeSearcher(children_per_parent=2)
    source = Generations(searcher, children=2, rank=_rank, score=_accuracy)
    _with_initial(source, [0.7])
    sibling = source.ask()
    assert sibling.operations == ()
    source.reject("rejected-1", sibling.graph)
    children = [source.ask(), source.ask()]
    assert all(p.operations for p in children) and source.ask() is None
    stuck = Generations(_FakeSearcher(children_per_parent=1), children=2, rank=_rank, score=_accuracy)
    _with_initial(stuck, [0.7, 0.6])
    for rejected in range(2):  # the sibling and the only child of trial 1 break a constraint
        proposal = stuck.ask()
        assert proposal.parent_id == "1"
        stuck.reject(f"rejected-{rejected}", proposal.graph)
    moved_on = stuck.ask()  # not the end of the search: the next best network leads
    assert moved_on.parent_id == "2" and moved_on.operations == () and not stuck.barren
    stuck.reject("rejected-2", moved_on.graph)
    stuck.reject("rejected-3", stuck.ask().graph)  # trial 2's only child
    assert stuck.ask() is None and stuck.barren  # every network is spent: nothing new is left to try


def test_a_resumed_search_rebuilds_its_generations_from_the_records():
    searcher = _FakeSearcher()
    source = Generations(searcher, children=2, rank=_rank, score=_accuracy)
    _with_initial(source, [0.5, 0.7])
    records, graphs = [], {}
    for trial_id, score in ((1, 0.5), (2, 0.7)):
        records.append(_record(trial_id, accuracy=score))
        graphs[trial_id] = searcher.graphs[str(trial_id)]
    next_id = 3
    for scores in ([0.80, 0.85, 0.75], [0.86, 0.90, 0.80], [0.91, 0.89]):  # the last generation cut short
        proposals = []
        while (proposal := source.ask()) is not None:
            proposals.append(proposal)
        for proposal, score in zip(proposals, scores):
            record = _record(next_id, int(proposal.parent_id), score, edited=bool(proposal.operations))
            source.observe(record, proposal.graph)
            records.append(record)
            graphs[next_id] = proposal.graph
            next_id += 1
    resumed_searcher = _FakeSearcher()
    resumed = Generations(resumed_searcher, children=2, rank=_rank, score=_accuracy)
    for record in records:
        resumed.observe(record, graphs[record.id])
    completing = resumed.ask()  # the cut generation is completed first: its second child
    assert completing.parent_id == "7" and completing.operations and resumed.ask() is None
    assert resumed.finished == [2, 4]
    resumed.observe(_record(11, 7, 0.80), completing.graph)
    assert resumed.ask().parent_id == "9"  # then trial 9 (0.91, the sibling) leads
    assert resumed.finished == [2, 4, 7]
    original_values = {k: v for k, v in searcher.told.items() if int(k) <= 8}
    assert {k: v for k, v in resumed_searcher.told.items() if int(k) <= 8} == pytest.approx(original_values)
    assert {k: v for k, v in resumed_searcher.roots.items() if int(k) <= 8} == pytest.approx(searcher.roots)


def test_generations_refuse_a_searcher_without_ask_children_and_a_negative_count():
    class OneAtATime:
        def ask(self):
            return None

        def tell(self, trial_id, graph, accuracy):
            pass

    with pytest.raises(ValueError, match="ask_children"):
        Generations(OneAtATime(), children=2, rank=_rank, score=_accuracy)
    with pytest.raises(ValueError, match="children must be 0 or more"):
        Generations(_FakeSearcher(), children=-1, rank=_rank, score=_accuracy)
    Generations(OneAtATime(), children=0, rank=_rank, score=_accuracy)  # the more-training control needs none


def test_a_morphism_searcher_asked_for_children_edits_that_parent_only():
    searcher = RandomSearcher(seed=0)
    for trial_id, units in (("1", 16), ("2", 32)):
        searcher.tell(trial_id, generators.mlp((8, 8, 1), 10, hidden_units=(units,)), 0.9 if trial_id == "1" else 0.5)
    children = [searcher.ask_children("2") for _ in range(5)]
    assert all(c is not None and c.parent_id == "2" and c.operations for c in children)
    assert len({c.graph.fingerprint() for c in children}) == 5  # never the same child twice
    with pytest.raises(KeyError, match="no trained trial '7'"):
        searcher.ask_children("7")
    searcher.tell("3", generators.mlp((8, 8, 1), 10, hidden_units=(64,)), None)
    with pytest.raises(KeyError, match="no trained trial '3'"):
        searcher.ask_children("3")
    assert MoreTrainingSearcher().ask_children is not None
    control = MoreTrainingSearcher()
    control.tell("1", generators.mlp((8, 8, 1), 10, hidden_units=(16,)), 0.9)
    assert control.ask_children("1") is None  # no children: its generations are the no-edit sibling alone
    assert control.ask().operations == () and control.ask() is None  # one at a time: the best, once in flight


def test_free_proposals_pass_the_searchers_choice_and_tell_every_score():
    searcher = RandomSearcher(seed=0)
    source = FreeProposals(searcher, _accuracy)
    source.observe(_record(1, accuracy=0.6), _graph())
    proposal = source.ask()
    assert proposal.parent_id == "1" and source.seed_key(proposal) is None
    source.observe(_record(2, 1, 0.7), proposal.graph)
    assert [t.accuracy for t in searcher._trained()] == [0.6, 0.7]


def test_the_search_loop_runs_generations_with_one_seed_each_and_the_best_member_as_the_next_parent(tmp_path):
    units = {}

    def score(job):  # bigger networks score higher: the widest member of each generation must lead the next
        units[job.trial_id] = job.graph.num_params()
        return min(0.99, 0.3 + job.graph.num_params() / 1e5)

    executor = ScoringExecutor(score)
    history = run_search(
        project=Project(tmp_path / "p"), searcher=RandomSearcher(seed=0), data=tiny_data(),
        initial=[("mlp", generators.mlp((8, 8, 1), 10, hidden_units=(16,)))], settings=SETTINGS, fine_tune_settings=SETTINGS,
        budget=SearchBudget(max_trials=8, deadline=None), seed=3, executor=executor, generation_children=2,
    )
    assert len(history) == 8
    seeds = {job.trial_id: job.seed for job in executor.jobs}
    generations = []  # runs of trials with one parent
    for record in history[1:]:
        if generations and generations[-1][0].parent == record.parent:
            generations[-1].append(record)
        else:
            generations.append([record])
    assert [len(g) for g in generations] == [3, 3, 1]
    for members in generations:
        assert members[0].name == NO_EDIT and not members[0].operations and all(m.operations for m in members[1:])
        assert len({seeds[m.id] for m in members}) == 1  # the same seed for every member
    for members, following in zip(generations, generations[1:]):
        best = max(members, key=lambda m: (m.val_accuracy, -m.id))
        assert following[0].parent == best.id
    assert seeds[2] != seeds[5]  # generations differ
    cut = history[-1]  # the search stopped in the middle of a generation
    assert cut.name == NO_EDIT
    resumed = run_search(
        project=Project(tmp_path / "p"), searcher=RandomSearcher(seed=0), data=tiny_data(),
        initial=[("mlp", generators.mlp((8, 8, 1), 10, hidden_units=(16,)))], settings=SETTINGS, fine_tune_settings=SETTINGS,
        budget=SearchBudget(max_trials=11, deadline=None), seed=3, executor=ScoringExecutor(score), generation_children=2,
    )
    assert [r.id for r in resumed[:8]] == [r.id for r in history]
    assert [r.parent for r in resumed[8:10]] == [cut.parent] * 2  # the generation is completed: its two children
    assert all(r.operations for r in resumed[8:10]) and resumed[10].name == NO_EDIT
    assert resumed[10].parent == max([cut, *resumed[8:10]], key=lambda m: (m.val_accuracy, -m.id)).id


def test_edit_gains_are_each_childs_accuracy_over_its_no_edit_sibling_by_kind():
    def child(trial_id, parent, accuracy, *kinds, status="completed"):
        return TrialRecord(trial_id, parent, [{"kind": k} for k in kinds], f"fp{trial_id}", {"val_accuracy": accuracy},
                           status=status)

    records = [
        _record(1, accuracy=0.5),
        _record(2, 1, 0.60, edited=False), child(3, 1, 0.65, "wider"), child(4, 1, 0.55, "deeper", "wider", "wider"),
        _record(5, 3, 0.70, edited=False), child(6, 3, 0.72, "deeper"), child(7, 3, None, "skip", status="failed"),
        child(8, 6, 0.9, "wider"),  # no sibling of its generation completed: left out
    ]
    gains = edit_gains(records)
    assert gains.keys() == {"wider", "deeper"}
    assert gains["wider"] == pytest.approx([0.05, -0.05]) and gains["deeper"] == pytest.approx([-0.05, 0.02])


def test_with_several_workers_the_first_generation_waits_for_every_initial_architecture(tmp_path):
    executor = DelayedExecutor(score=lambda job: 0.9 if job.trial_id == 2 else 0.5,
                                delay=lambda job: 0.8 if job.trial_id == 2 else 0.01)
    initial = [("small", generators.mlp((8, 8, 1), 10, hidden_units=(8,))),
               ("slow but better", generators.mlp((8, 8, 1), 10, hidden_units=(16,)))]
    history = run_search(
        project=Project(tmp_path / "p"), searcher=RandomSearcher(seed=0), data=tiny_data(), initial=initial,
        settings=SETTINGS, fine_tune_settings=SETTINGS, budget=SearchBudget(max_trials=5, deadline=None), seed=0,
        executor=executor, generation_children=2,
    )
    assert [r.parent for r in history[2:]] == [2, 2, 2]  # trial 1 finished first, but trial 2 is the better


# ---------------------------------------------------------------------- successive halving within a generation
def _member(trial_id, proposal, source, score, params=100):
    """The record of ``proposal`` (asked from ``source``) finished with ``score`` (None: failed)."""
    placement = source.placement(proposal)
    return TrialRecord(
        trial_id, int(proposal.parent_id), [{"edit": trial_id}] if proposal.operations else [], f"fp{trial_id}",
        {"val_accuracy": score, "params": params}, status="failed" if score is None else "completed",
        generation=placement.generation, rung=placement.rung,
    )


def _ask_all(source):
    proposals = []
    while (proposal := source.ask()) is not None:
        proposals.append((proposal, source.placement(proposal)))
    return proposals


def test_the_best_third_of_a_generation_trains_on_from_its_own_weights_and_the_top_rung_leads():
    searcher = _FakeSearcher()
    source = Generations(searcher, children=2, rank=_rank, score=_accuracy, rungs=2)
    _with_initial(source, [0.7])
    rung0 = _ask_all(source)
    assert [(p.parent_id, bool(p.operations), pl.rung, pl.epochs_factor, pl.generation) for p, pl in rung0] == [
        ("1", False, 0, 1, 1), ("1", True, 0, 1, 1), ("1", True, 0, 1, 1)]
    for offset, ((proposal, _), score) in enumerate(zip(rung0, [0.80, 0.86, 0.78])):
        source.observe(_member(2 + offset, proposal, source, score), proposal.graph)
    promotion = source.ask()  # rung 0 is complete: its best third (one of three), trial 3, trains on
    placement = source.placement(promotion)
    assert promotion.parent_id == "3" and promotion.operations == ()
    assert (placement.generation, placement.rung, placement.epochs_factor) == (1, 1, 2)  # three schedules in all
    assert promotion.graph is not source.graphs[3] and promotion.graph.fingerprint() == source.graphs[3].fingerprint()
    assert source.seed_key(promotion) == 1  # the generation's seed: the same data order
    assert source.ask() is None  # it trains: the generation waits for it
    source.observe(_member(5, promotion, source, 0.84), promotion.graph)  # below trial 3's rung-0 score: not compared
    following = source.ask()
    assert following.parent_id == "5" and following.operations == ()  # the best of the highest rung leads
    assert searcher.told == {"1": 0.7, "3": pytest.approx(0.7 + 0.86 - 0.80), "4": pytest.approx(0.7 - 0.02)}
    assert searcher.roots == {"2": pytest.approx(0.7), "5": pytest.approx(0.76)}  # rung 1: its rung-0 member's value


def test_promotions_are_asynchronous_one_in_three_of_the_finished_and_a_complete_rung_promotes_its_ceiling():
    searcher = _FakeSearcher()
    source = Generations(searcher, children=5, rank=_rank, score=_accuracy, rungs=2)
    _with_initial(source, [0.7])
    rung0 = _ask_all(source)
    assert len(rung0) == 6 and all(pl.rung == 0 for _, pl in rung0)
    scores = [0.80, 0.83, 0.79, 0.90, 0.70, 0.81]
    for offset in range(3):
        proposal = rung0[offset][0]
        source.observe(_member(2 + offset, proposal, source, scores[offset]), proposal.graph)
    early = source.ask()  # three finished, three training: the best of the three goes on at once
    assert early.parent_id == "3" and source.placement(early).rung == 1
    assert source.ask() is None
    for offset in range(3, 6):
        proposal = rung0[offset][0]
        source.observe(_member(2 + offset, proposal, source, scores[offset]), proposal.graph)
    late = source.ask()  # rung 0 complete: its best two (ceil(6 / 3)) are 5 (0.90) and 3 (0.83), 3 already promoted
    assert late.parent_id == "5" and source.ask() is None
    source.observe(_member(8, early, source, 0.85), early.graph)
    source.observe(_member(9, late, source, 0.88), late.graph)
    assert source.ask().parent_id == "9"


def test_a_rejected_or_failed_promotion_is_not_retried_and_three_rungs_multiply_the_training():
    source = Generations(_FakeSearcher(), children=2, rank=_rank, score=_accuracy, rungs=3)
    _with_initial(source, [0.7])
    rung0 = _ask_all(source)
    for offset, ((proposal, _), score) in enumerate(zip(rung0, [0.80, 0.86, 0.78])):
        source.observe(_member(2 + offset, proposal, source, score), proposal.graph)
    refused = source.ask()
    assert refused.parent_id == "3"
    source.reject("rejected-1", refused.graph)  # e.g. too large for the memory now free
    nxt = source.ask()  # the generation closes: trial 3, best of the highest rung reached, leads
    assert nxt.parent_id == "3" and source.placement(nxt).rung == 0
    # a full three-rung generation of trial 3: rung 1 trains 2 more schedules, rung 2 six more (nine in all)
    rung0 = [(nxt, source.placement(nxt)), *_ask_all(source)]
    for offset, ((proposal, _), score) in enumerate(zip(rung0, [0.87, 0.88, 0.86])):
        source.observe(_member(5 + offset, proposal, source, score), proposal.graph)
    to_rung1 = source.ask()
    assert to_rung1.parent_id == "6" and source.placement(to_rung1).epochs_factor == 2
    source.observe(_member(8, to_rung1, source, 0.89), to_rung1.graph)
    to_rung2 = source.ask()
    assert to_rung2.parent_id == "8" and source.placement(to_rung2) == Placement(3, 2, 6)
    source.observe(_member(9, to_rung2, source, None), to_rung2.graph)  # failed
    assert source.ask().parent_id == "8"  # rung 2 has no score: the best of rung 1 leads


def test_a_resumed_search_rebuilds_rungs_and_promotes_again_what_was_cut_short():
    searcher = _FakeSearcher()
    source = Generations(searcher, children=2, rank=_rank, score=_accuracy, rungs=2)
    _with_initial(source, [0.7])
    records, graphs = [_record(1, accuracy=0.7)], {1: searcher.graphs["1"]}
    next_id = 2
    for scores in ([0.80, 0.86, 0.78, 0.87], [0.88, 0.90, 0.84]):  # the second generation killed before its promotion
        for score in scores:
            proposal = source.ask()
            record = _member(next_id, proposal, source, score)
            source.observe(record, proposal.graph)
            records.append(record)
            graphs[next_id] = proposal.graph
            next_id += 1
    assert [(r.generation, r.rung) for r in records[1:]] == [(1, 0)] * 3 + [(1, 1)] + [(5, 0)] * 3
    resumed_searcher = _FakeSearcher()
    resumed = Generations(resumed_searcher, children=2, rank=_rank, score=_accuracy, rungs=2)
    for record in records:
        resumed.observe(record, graphs[record.id])
    again = resumed.ask()  # the lost promotion is issued again, from the best of rung 0 (trial 7, 0.90)
    assert again.parent_id == "7" and resumed.placement(again) == Placement(5, 1, 2)
    assert resumed.finished == [1]
    assert resumed_searcher.told == pytest.approx(searcher.told) and resumed_searcher.roots == pytest.approx(
        searcher.roots)


def test_edit_gains_compare_rung_zero_members_of_one_generation_only():
    records = [
        _record(1, accuracy=0.5),
        TrialRecord(2, 1, [], "fp2", {"val_accuracy": 0.60}, generation=1),
        TrialRecord(3, 1, [{"kind": "wider"}], "fp3", {"val_accuracy": 0.65}, generation=1),
        TrialRecord(4, 3, [], "fp4", {"val_accuracy": 0.70}, generation=1, rung=1),  # a promotion: no sibling of trial 3
        TrialRecord(5, 4, [], "fp5", {"val_accuracy": 0.71}, generation=4),
        TrialRecord(6, 4, [{"kind": "deeper"}], "fp6", {"val_accuracy": 0.68}, generation=4),
    ]
    assert edit_gains(records) == {"wider": [pytest.approx(0.05)], "deeper": [pytest.approx(-0.03)]}


def test_the_search_loop_trains_promotions_longer_and_writes_each_trials_generation_and_rung(tmp_path):
    def score(job):  # bigger and longer-trained networks score higher
        return min(0.99, 0.3 + job.graph.num_params() / 1e5 + 0.01 * job.settings.max_epochs)

    executor = ScoringExecutor(score)
    settings = TrainingSettings(max_epochs=2)
    arguments = dict(
        data=tiny_data(),
        initial=[("mlp", generators.mlp((8, 8, 1), 10, hidden_units=(16,)))], settings=settings,
        fine_tune_settings=settings, seed=3, generation_children=2, generation_rungs=2,
    )
    history = run_search(project=Project(tmp_path / "p"), budget=SearchBudget(max_trials=9, deadline=None),
                         searcher=RandomSearcher(seed=0), executor=executor, **arguments)
    epochs = {job.trial_id: job.settings.max_epochs for job in executor.jobs}
    seeds = {job.trial_id: job.seed for job in executor.jobs}
    assert [(r.generation, r.rung) for r in history] == [(None, 0), (1, 0), (1, 0), (1, 0), (1, 1),
                                                          (5, 0), (5, 0), (5, 0), (5, 1)]
    promoted = history[4]
    assert promoted.parent in {2, 3, 4} and not promoted.operations and promoted.name.endswith("[rung 1]")
    assert promoted.parent == max(history[1:4], key=lambda r: (r.val_accuracy, -r.id)).id
    assert history[5].parent == 5 and epochs[5] == 4 and epochs[2] == 2  # two more child schedules
    assert len({seeds[i] for i in (2, 3, 4, 5)}) == 1
    reread = Project(tmp_path / "p").load_trials()
    assert [(r.generation, r.rung) for r in reread] == [(r.generation, r.rung) for r in history]
    resumed = run_search(project=Project(tmp_path / "p"), budget=SearchBudget(max_trials=10, deadline=None),
                         searcher=RandomSearcher(seed=0), executor=ScoringExecutor(score), **arguments)
    assert (resumed[-1].generation, resumed[-1].rung) == (9, 0)  # the promotion of trial 9's generation led


def test_a_resumed_generation_does_not_propose_again_a_child_that_finished_before_the_kill():
    """A cut generation's finished children are told only when it closes; until then they must stay
    out of proposals in the resumed process too (its searcher, seeded alike, replays the same draws)."""

    def initial(source):
        for trial_id, units in ((1, 16), (2, 32)):
            source.observe(_record(trial_id, accuracy=0.5 + 0.1 * trial_id), _graph(units))

    source = Generations(RandomSearcher(seed=0), children=2, rank=_rank, score=_accuracy)
    initial(source)
    sibling, first_child = source.ask(), source.ask()
    assert not sibling.operations and first_child.operations
    cut = [(_record(3, 2, 0.8, edited=False), sibling.graph), (_record(4, 2, 0.82), first_child.graph)]

    resumed = Generations(RandomSearcher(seed=0), children=2, rank=_rank, score=_accuracy)
    initial(resumed)
    for record, graph in cut:
        resumed.observe(record, graph)
    completing = resumed.ask()
    assert completing is not None and completing.parent_id == "2" and completing.operations
    assert completing.graph.fingerprint() != first_child.graph.fingerprint()
