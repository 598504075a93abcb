"""The ask/tell face (:class:`autonas.Search`): proposals, tells, the project on disk, resume."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest

import autonas
from autonas.engine import Project, ProjectLockedError
from autonas.engine.ask_tell import STATE_FILE
from autonas.graph import Graph

pytestmark = [pytest.mark.slow]  # builds Keras models

SHAPE = (8, 8, 1)


def fixed_score(graph: Graph) -> float:
    """A stand-in for validation accuracy, fixed by the architecture (no training noise)."""
    return 0.5 + 0.1 * math.tanh(graph.num_params() / 50_000) - 0.001 * len(graph.nodes)


def _open(folder, searcher: str = "bayesian", **kwargs) -> autonas.Search:
    return autonas.Search(directory=folder, project_name="p", input_shape=SHAPE, num_classes=10,
                          searcher=searcher, seed=0, **kwargs)


def _steps(search: autonas.Search, count: int) -> list[tuple[int, int | None, str]]:
    sequence = []
    for _ in range(count):
        proposal = search.ask()
        search.tell(proposal, fixed_score(proposal.graph))
        sequence.append((proposal.trial_id, proposal.parent, proposal.graph.fingerprint()))
    return sequence


@pytest.mark.parametrize("searcher", ["random", "bayesian"])
def test_reopened_search_proposes_what_an_uninterrupted_one_does(tmp_path, searcher):
    steps = 8
    with _open(tmp_path / "whole", searcher) as search:
        whole = _steps(search, steps)
    with _open(tmp_path / "halves", searcher) as search:
        halves = _steps(search, steps // 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # replaying the tells warns: the saved state must be restored
        with _open(tmp_path / "halves", searcher) as search:
            assert len(search.history) == steps // 2
            halves += _steps(search, steps - steps // 2)
    assert halves == whole
    assert any(parent is not None for _, parent, _ in whole)  # children by morphism, not only the initial networks
    assert len({fingerprint for _, _, fingerprint in whole}) == steps


def test_a_lost_state_file_is_rebuilt_by_telling_the_trials_again(tmp_path):
    with _open(tmp_path) as search:
        _steps(search, 3)
    (tmp_path / "p" / STATE_FILE).unlink()
    with pytest.warns(UserWarning, match="is missing: the project's trials are told again"), _open(tmp_path) as search:
        assert [r.id for r in search.history] == [1, 2, 3]
        assert search.ask().trial_id == 4
    assert (tmp_path / "p" / STATE_FILE).is_file()


def test_told_trials_are_saved_with_their_trained_weights(tmp_path):
    with _open(tmp_path, "random") as search:
        proposal = search.ask()
        assert proposal.parent is None and proposal.operations == ()
        model = proposal.model
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        x, y = rng.random((64, *SHAPE), dtype=np.float32), rng.integers(0, 10, 64)
        model.fit(x, y, epochs=1, verbose=0)
        record = search.tell(proposal, 0.7, metrics={"val_loss": 1.5})
        assert record.metrics == {"score": 0.7, "val_loss": 1.5, "params": proposal.graph.num_params()}
        stored = search.project.load_graph(record.id).to_keras()
        np.testing.assert_allclose(stored.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
        other = search.ask()  # the second initial network, then children of the told one
        search.tell(other, 0.1)
        child = search.ask()
        assert child.parent == record.id and child.operations
        if all(op.preserves_function for op in child.operations):
            np.testing.assert_allclose(child.model.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-3)
        assert search.best().id == record.id
        np.testing.assert_allclose(search.best_model().predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert (tmp_path / "p" / "trials" / "trial_0001" / "checksums.json").is_file()
    assert [r.id for r in Project.open_read_only(tmp_path / "p").load_trials()] == [1, 2]


def test_the_project_is_locked_while_the_search_is_open(tmp_path):
    search = _open(tmp_path)
    with pytest.raises(ProjectLockedError):
        _open(tmp_path)
    search.close()
    search.close()  # a second close does nothing
    with pytest.raises(RuntimeError, match="closed"):
        search.ask()
    _open(tmp_path).close()


def test_a_project_of_another_shape_or_task_is_refused(tmp_path):
    _open(tmp_path).close()
    with pytest.raises(ValueError, match="other data"):
        autonas.Search(directory=tmp_path, project_name="p", input_shape=(8, 8, 3), num_classes=10)
    Project(tmp_path / "q").check_config({"task": "image_classification", "input_shape": [8, 8, 1],
                                          "classes": list(range(10))})
    with pytest.raises(ValueError, match="other data"):
        autonas.Search(directory=tmp_path, project_name="q", input_shape=SHAPE, num_classes=10)
    _open(tmp_path).close()  # a refusal leaves the lock free


@pytest.mark.parametrize("shape", [(8, 8), (0, 8, 1), (8.5, 8, 1), "8x8", None])
def test_a_bad_input_shape_is_refused(tmp_path, shape):
    with pytest.raises(ValueError, match="input_shape"):
        autonas.Search(directory=tmp_path, project_name="p", input_shape=shape, num_classes=10)
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("classes", [1, 2.5, True, "10"])
def test_a_bad_number_of_classes_is_refused(tmp_path, classes):
    with pytest.raises(ValueError, match="num_classes"):
        autonas.Search(directory=tmp_path, project_name="p", input_shape=SHAPE, num_classes=classes)


def test_bad_tells_are_refused_by_name(tmp_path):
    with _open(tmp_path / "a") as search, _open(tmp_path / "b") as other:
        proposal = search.ask()
        for score in (float("nan"), float("inf"), "high", None):
            with pytest.raises(ValueError, match="score"):
                search.tell(proposal, score)
        search.tell(proposal, 0.5)
        with pytest.raises(ValueError, match="proposal: trial 1 was told already"):
            search.tell(proposal, 0.5)
        foreign = other.ask()
        with pytest.raises(ValueError, match="proposal: not one this search"):
            search.tell(foreign, 0.5)
        with pytest.raises(ValueError, match="proposal"):
            search.tell("trial 2", 0.5)
        assert [r.id for r in search.history] == [1]
        other.tell(foreign, 0.6)


def test_untold_proposals_are_dropped_at_close_and_their_ids_not_reused(tmp_path):
    with _open(tmp_path) as search:
        search.tell(search.ask(), 0.5)
        search.ask()  # never told
    with _open(tmp_path) as search:
        proposal = search.ask()
        assert proposal.parent is None  # the untold initial network is proposed again
        assert proposal.trial_id == 2  # no trial 2 was written, so its number is free


def test_nothing_to_propose_is_a_clear_error(tmp_path):
    with _open(tmp_path) as search:
        search.ask()
        search.ask()  # both initial networks in flight, nothing told to morph
        with pytest.raises(RuntimeError, match="tell the proposals in flight first"):
            search.ask()


def test_a_failed_trial_is_kept_and_never_proposed_again(tmp_path):
    with _open(tmp_path, "random") as search:
        first = search.ask()
        record = search.fail(first, "out of memory")
        assert record.status == "failed" and record.error == "out of memory"
        with pytest.raises(ValueError, match="told already"):
            search.tell(first, 0.5)
        second = search.ask()
        assert second.parent is None and second.graph.fingerprint() != first.graph.fingerprint()
        search.tell(second, 0.6)
        assert search.best().id == second.trial_id
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with _open(tmp_path, "random") as search:
            assert [(r.id, r.status) for r in search.history] == [(1, "failed"), (2, "completed")]
            child = search.ask()
            assert child.parent == 2 and child.graph.fingerprint() != first.graph.fingerprint()


def test_a_state_of_another_searcher_is_not_restored(tmp_path):
    with _open(tmp_path, "bayesian") as search:
        _steps(search, 3)
    with pytest.warns(UserWarning, match="saved by a BayesianSearcher"), _open(tmp_path, "random") as search:
        assert search.ask().parent is not None  # the trials were told to the random searcher again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _open(tmp_path, "random").close()  # its own state was saved


def test_searcher_state_round_trip_without_a_project():
    from autonas.graph import generators
    from autonas.search import BayesianSearcher

    graph = generators.cnn(SHAPE, 10, filters=4, max_filters=16, hidden_units=0)
    searcher = BayesianSearcher(seed=1)
    searcher.tell("a", graph, 0.5)
    state = pickle.loads(pickle.dumps(searcher.get_state()))
    restored = BayesianSearcher(seed=1)
    restored.set_state(state, {"a": graph})
    assert restored.ask().graph.fingerprint() == searcher.ask().graph.fingerprint()
    with pytest.raises(ValueError, match="graphs: trial 'a'"):
        BayesianSearcher(seed=1).set_state(state, {})
