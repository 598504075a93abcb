"""Where the search loop's next trial comes from: the searcher freely, or generations of siblings.

Two proposal sources share one small interface (``ask``, ``observe``,
``reject``), so the loop does not care which one it has:

* :class:`FreeProposals` asks the searcher for one child at a time, of
  whichever trained model it likes, and tells it each trial's score (the
  Auto-Keras loop).
* :class:`Generations` compares siblings at equal budgets (as NASH does,
  Elsken et al. 2017). A generation is the incumbent's ``children`` children,
  proposed by the searcher, plus one **no-edit sibling**: the incumbent itself,
  trained on with the same schedule. Every member trains the same epochs
  with the same seed (so the same data order; a child whose edit changed the
  function learns at the initial rate, as it would alone); the best of the
  generation (ties: fewer parameters) becomes the next incumbent. What the
  searcher learns from a child is its **value net of training**: its parent's
  value plus what the child scored over the no-edit sibling. An initial
  architecture's value is its score, a no-edit sibling's its parent's. So the
  gain an edit brought is not mixed with the training its ancestors had, and
  a search that edits must beat one that only trains on (the no-edit sibling
  is always in the running).

With ``rungs`` > 1 each generation is also a round of successive halving on
inherited weights: the best of its members are trained on from their own
weights, and the best of the highest rung leads the next generation.

A generation is named by its parent (the winner is always a member, so every
generation has its own parent); each trial's record keeps its generation and
rung, and a resumed search rebuilds the generations from the records and
completes the last one if it was cut short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from autonas._checks import check_int
from autonas.engine.project import TrialRecord
from autonas.graph import Graph
from autonas.search.base import ChildProposal, Searcher

__all__ = [
    "FreeProposals", "Generations", "NO_EDIT", "Placement", "check_generation_children", "check_generation_rungs",
    "edit_gains",
]

logger = logging.getLogger(__name__)

#: The name of a no-edit sibling's trial.
NO_EDIT = "no edit (trained on)"

#: ``record -> sort key``, higher is better (the loop's ranking of completed trials).
Rank = Callable[[TrialRecord], tuple]
#: ``record -> score`` the searcher learns from, None for a failed trial.
Score = Callable[[TrialRecord], "float | None"]


def check_generation_children(children: object, searcher: object, name: str = "generation_children") -> None:
    """Refuse a count of children per generation that is not None or an int ≥ 0, and children from a
    searcher object that cannot propose them (a searcher's name always can).

    Raises:
        ValueError: naming ``name`` and what was expected.
    """
    check_int(children, name, optional=True)
    if children is not None and children < 0:
        raise ValueError(f"{name} must be 0 or more, or None, got {children!r}")
    if children and not isinstance(searcher, str) and not callable(getattr(searcher, "ask_children", None)):
        raise ValueError(
            f"{name}={children} needs a searcher with ask_children(parent_id), got {type(searcher).__name__}; "
            "pass None to ask it one child at a time"
        )


def check_generation_rungs(rungs: object, children: object, name: str = "generation_rungs") -> None:
    """Refuse successive-halving rungs that are not an int ≥ 1, or more than one without generations.

    Raises:
        ValueError: naming ``name`` and what was expected.
    """
    check_int(rungs, name)
    if rungs < 1:
        raise ValueError(f"{name} must be 1 or more (1: no successive halving), got {rungs!r}")
    if rungs > 1 and children is None:
        raise ValueError(f"{name}={rungs} needs generations: set generation_children to a number of children")


class FreeProposals:
    """The searcher's proposals as they come, each trial's score told back (one child at a time)."""

    #: Whether the loop holds children back until every initial architecture has trained.
    waits_for_initial = False

    def __init__(self, searcher: Searcher, score: Score) -> None:
        self.searcher, self.score = searcher, score

    def ask(self) -> ChildProposal | None:
        return self.searcher.ask()

    def observe(self, record: TrialRecord, graph: Graph) -> None:
        self.searcher.tell(str(record.id), graph, self.score(record))

    def reject(self, name: str, graph: Graph) -> None:
        self.searcher.tell(name, graph, None)

    def seed_key(self, proposal: ChildProposal) -> int | None:
        """The id a trial's seed derives from instead of its own (None: its own)."""
        return None

    def placement(self, proposal: ChildProposal) -> Placement:
        """No generation, no rungs: every child trains the child schedule once."""
        return Placement()


@dataclass(frozen=True)
class Placement:
    """Where a proposal stands in the search's schedule.

    Attributes:
        generation: The generation's parent trial (None outside generations).
        rung: Its successive-halving rung (0: a new member; r > 0: a member of
            rung r - 1 trained on from its own weights).
        epochs_factor: Its training length, in child schedules.
    """

    generation: int | None = None
    rung: int = 0
    epochs_factor: int = 1


@dataclass
class _Generation:
    parent: int
    planned: int  # rung-0 members to issue: the no-edit sibling and up to ``children`` children
    issued: int = 0  # rung-0 members issued
    members: list[tuple[TrialRecord, Graph]] = field(default_factory=list)  # finished trials of every rung
    sibling_issued: bool = False
    exhausted: bool = False  # the searcher had no more children to give
    promoted: dict[int, int] = field(default_factory=dict)  # member trial id -> the rung it was promoted to
    refused: set[int] = field(default_factory=set)  # members whose promotion broke a constraint
    last_promoted: int | None = None  # the member the last proposal promotes (None: a new member)

    def finished(self, rung: int) -> list[TrialRecord]:
        return [record for record, _ in self.members if record.rung == rung]

    @property
    def in_flight(self) -> int:
        return self.issued + len(self.promoted) - len(self.members)

    def issuing_done(self) -> bool:
        return self.exhausted or self.issued >= self.planned


class Generations:
    """Generations of siblings at equal budget: ``children`` edits of the incumbent and a no-edit sibling.

    The searcher must offer ``ask_children(parent_id)`` (every
    :class:`~autonas.search.MorphismSearcher` does): the children of one
    generation all come from the incumbent.

    With ``rungs`` > 1 a generation is a round of **successive halving on
    inherited weights** (asynchronous, as ASHA; Li et al. 2018): its members
    train the child schedule (rung 0); a member among the best ``1/factor`` of
    the finished members of its rung is promoted, that is trained on from its
    own weights for ``factor**r - factor**(r-1)`` child schedules more, so that
    a member of rung ``r`` has trained ``factor**r`` schedules in all. Once a
    rung can get no more members, its best ``ceil(n/factor)`` are promoted.
    Scores are compared within a rung only: the searcher learns from rung 0
    (every member at the same budget), and the best member of the highest
    rung reached leads the next generation.

    Args:
        searcher: Proposes the children and learns their values.
        children: Children per generation (0: only the no-edit sibling, the
            more-training control).
        rank: Orders completed trials, higher is better (choosing the incumbent).
        score: What the searcher learns from a trial (e.g. validation accuracy).
        rungs: Successive-halving rungs per generation (1: none).
        factor: Of the finished members of a rung, one in ``factor`` is
            promoted, to ``factor`` times the training.
    """

    #: The first incumbent is the best of *all* initial architectures: children wait for them.
    waits_for_initial = True

    def __init__(
        self, searcher: Searcher, children: int, rank: Rank, score: Score, rungs: int = 1, factor: int = 3
    ) -> None:
        check_generation_children(children, searcher, name="children")
        check_generation_rungs(rungs, children, name="rungs")
        check_int(factor, "factor")
        if factor < 2:
            raise ValueError(f"factor must be 2 or more, got {factor!r}")
        self.searcher, self.children, self.rank, self.score = searcher, int(children), rank, score
        self.rungs, self.factor = int(rungs), int(factor)
        self.values: dict[int, float] = {}  # trial id -> value net of training
        self.graphs: dict[int, Graph] = {}  # completed trials' trained graphs (future parents)
        self.records: dict[int, TrialRecord] = {}
        self.initial: list[int] = []
        self.current: _Generation | None = None
        self.finished: list[int] = []  # parents of closed generations, in order
        self.incumbent: int | None = None
        self.spent: set[int] = set()  # parents whose generation had no member: none of their edits can train
        self.barren = False  # no network is left to propose from

    # ------------------------------------------------------------------ the loop's interface
    def ask(self) -> ChildProposal | None:
        """The current generation's next member or promotion; None while its last members train (or
        nothing is left)."""
        while not self.barren:
            if self.current is None:
                parent = self._next_incumbent()
                if parent is None:
                    return None
                self.current = _Generation(parent, planned=1 + self.children)
            generation = self.current
            proposal = self._next_member(generation)
            if proposal is not None or generation.in_flight:
                return proposal
            self._close()
        return None

    def observe(self, record: TrialRecord, graph: Graph) -> None:
        """A finished trial (or, on resume, a trial on disk, in order)."""
        if record.status == "completed":
            self.graphs[record.id], self.records[record.id] = graph, record
        if record.parent is None:
            self.initial.append(record.id)
            score = self.score(record)
            if score is not None:
                self.values[record.id] = score
            self.searcher.tell(str(record.id), graph, score)
            return
        parent = record.generation if record.generation is not None else record.parent
        generation = self.current
        if generation is None or generation.parent != parent:  # resuming: the records say the generation
            if generation is not None:
                self._close()
            generation = self.current = _Generation(parent, planned=1 + self.children)
        if record.rung == 0 and generation.issued <= len(generation.finished(0)):  # not issued here: resuming
            generation.issued += 1
            generation.planned = max(generation.planned, generation.issued)
            generation.sibling_issued = generation.sibling_issued or not record.operations
            if record.operations and hasattr(self.searcher, "hold"):  # told when the generation closes
                self.searcher.hold(ChildProposal(str(parent), (), graph, self.graphs.get(parent, graph)))
        elif record.rung > 0:
            generation.promoted.setdefault(record.parent, record.rung)
        generation.members.append((record, graph))

    def reject(self, name: str, graph: Graph) -> None:
        """A proposal that broke a constraint: it is no member. A child's place goes to another child; a
        rejected no-edit sibling is not proposed again (the children are measured against the parent), nor
        is a rejected promotion."""
        generation = self.current
        if generation is not None and generation.last_promoted is not None:
            generation.promoted.pop(generation.last_promoted)
            generation.refused.add(generation.last_promoted)
            generation.last_promoted = None
            return
        if generation is not None:
            generation.issued -= 1
        self.searcher.tell(name, graph, None)

    def seed_key(self, proposal: ChildProposal) -> int | None:
        """Members of a generation train with one seed (the same data order): their generation's parent's id's."""
        return self.current.parent if self.current is not None else int(proposal.parent_id)

    def placement(self, proposal: ChildProposal) -> Placement:
        """The proposal's generation, rung and training length (a proposal of the current generation)."""
        generation = self.current
        parent = int(proposal.parent_id)
        rung = 0 if parent == generation.parent else generation.promoted.get(parent, 0)  # a promotion continues a member
        factor = self.factor**rung - self.factor ** (rung - 1) if rung else 1
        return Placement(generation.parent, rung, factor)

    # ------------------------------------------------------------------ generations
    def _next_member(self, generation: _Generation) -> ChildProposal | None:
        """A promotion if one is due, else the no-edit sibling, else a new child, else a promotion
        due now that rung 0 is complete."""
        generation.last_promoted = None
        promotion = self._promotion(generation)
        if promotion is not None:
            return promotion
        if not generation.sibling_issued:  # the no-edit sibling first: the baseline of every child
            generation.sibling_issued = True
            generation.issued += 1
            graph = self.graphs[generation.parent]
            return ChildProposal(str(generation.parent), (), graph.copy(), graph)
        while not generation.issuing_done():
            proposal = self.searcher.ask_children(str(generation.parent))
            if proposal is None:
                generation.exhausted = True
                break
            if int(proposal.parent_id) != generation.parent:  # a searcher ignoring the request
                raise ValueError(
                    f"{type(self.searcher).__name__}.ask_children({generation.parent}) proposed a child of "
                    f"{proposal.parent_id}"
                )
            generation.issued += 1
            return proposal
        generation.planned = generation.issued  # fewer children than planned: rung 0 is complete once they finish
        return self._promotion(generation)

    def _rung_complete(self, generation: _Generation, rung: int) -> bool:
        """Whether ``rung`` can get no more members (every one issued to it has finished)."""
        if rung == 0:
            return generation.issuing_done() and len(generation.finished(0)) == generation.issued
        issued = sum(1 for to in generation.promoted.values() if to == rung)
        return self._rung_complete(generation, rung - 1) and len(generation.finished(rung)) == issued

    def _promotion(self, generation: _Generation) -> ChildProposal | None:
        """A member among the best ``1/factor`` of its rung's finished members, not yet promoted (all of
        the best ``ceil(n/factor)`` once the rung is complete)."""
        for rung in range(self.rungs - 1):
            scored = [r for r in generation.finished(rung) if r.status == "completed" and self.score(r) is not None]
            if not scored:
                continue
            complete = self._rung_complete(generation, rung)
            quota = -(-len(scored) // self.factor) if complete else len(scored) // self.factor
            for record in sorted(scored, key=self._order, reverse=True)[:quota]:
                if record.id not in generation.promoted and record.id not in generation.refused:
                    generation.promoted[record.id] = rung + 1
                    generation.last_promoted = record.id
                    graph = self.graphs[record.id]
                    return ChildProposal(str(record.id), (), graph.copy(), graph)
        return None

    def _next_incumbent(self) -> int | None:
        """The winner of the last closed generation, else the best initial architecture."""
        if self.incumbent is not None:
            return self.incumbent
        completed = [self.records[i] for i in self.initial if i in self.records]
        if not completed:
            return None
        self.incumbent = self._best(completed).id
        return self.incumbent

    def _order(self, record: TrialRecord) -> tuple:
        return (self.rank(record), -int(record.metrics.get("params") or 0), -record.id)

    def _best(self, records: list[TrialRecord]) -> TrialRecord:
        return max(records, key=self._order)

    def _close(self) -> None:
        """Tell the searcher the generation's values and choose the next incumbent."""
        generation, self.current = self.current, None
        parent = generation.parent
        parent_value = self.values.get(parent)
        siblings = [r for r in generation.finished(0) if not r.operations]
        baseline_record = next((r for r in siblings if r.status == "completed"), None)
        baseline = self.score(baseline_record) if baseline_record is not None else None
        if baseline is None and parent in self.records:  # the sibling failed: the parent's own score
            baseline = self.score(self.records[parent])
        for record, graph in sorted(generation.members, key=lambda m: (m[0].rung, bool(m[0].operations), m[0].id)):
            score = self.score(record)
            if record.rung > 0:  # trained on: as valuable as the member it continues (scores compare within a rung)
                value = self.values.get(record.parent) if score is not None else None
            elif score is not None and parent_value is not None and baseline is not None:
                value = parent_value if not record.operations else parent_value + score - baseline
            else:
                value = None
            if value is not None:
                self.values[record.id] = value
            if (record.rung > 0 or not record.operations) and hasattr(self.searcher, "add_root"):
                # an architecture told before, with more training: a parent for the next children, no new point
                if value is not None:
                    self.searcher.add_root(str(record.id), graph, value)
                else:
                    self.searcher.tell(str(record.id), graph, None)
            else:
                self.searcher.tell(str(record.id), graph, value)
        completed = [r for r, _ in generation.members if r.status == "completed"]
        self.finished.append(parent)
        if not generation.members:  # every proposal broke a constraint and the searcher has no other
            self.spent.add(parent)
            fallback = [r for i, r in self.records.items() if i not in self.spent]
            if not fallback:
                self.barren = True
                logger.info("generation of trial %d: no member could train, and no other network is left", parent)
                return
            self.incumbent = self._best(fallback).id
            logger.info(
                "generation of trial %d: no member could train (constraints); the next best network, trial %d, "
                "leads the next", parent, self.incumbent,
            )
            return
        if completed:
            top = max(r.rung for r in completed)  # scores compare within a rung: the highest rung reached decides
            self.incumbent = self._best([r for r in completed if r.rung == top]).id
            logger.info(
                "generation of trial %d: %d trials, trial %d leads (%s)",
                parent, len(generation.members), self.incumbent, self.records[self.incumbent].name,
            )
        # every member failed: the parent stays the incumbent (the loop ends a search whose trials keep failing)


def edit_gains(records: list[TrialRecord]) -> dict[str, list[float]]:
    """What each kind of edit gained over its no-edit sibling, from a search in generations.

    A child's gain is its validation accuracy minus that of the no-edit sibling
    of its generation, both at rung 0 (the same training); it counts for every
    kind of operation it applied. Generations without a completed no-edit
    sibling, failed children and promotions to later rungs are left out.

    Args:
        records: The search's trials (e.g. ``classifier.history_``).

    Returns:
        ``{operation kind: [gain, ...]}``, in the order the children ran.
    """
    def generation(record: TrialRecord) -> int | None:
        return record.generation if record.generation is not None else record.parent

    first_rung = [r for r in records if r.rung == 0 and r.parent is not None]
    siblings = {generation(r): r.val_accuracy for r in first_rung if not r.operations}
    gains: dict[str, list[float]] = {}
    for record in first_rung:
        baseline = siblings.get(generation(record))
        if not record.operations or baseline is None or record.val_accuracy is None:
            continue
        for kind in dict.fromkeys(op.get("kind", "?") for op in record.operations):
            gains.setdefault(kind, []).append(float(record.val_accuracy) - float(baseline))
    return gains
