"""A seeded search proposes the same trials, in the same order, as the code it was recorded with.

The executor scores each network by a fixed function of its architecture (no
training, so no numerical noise), and the sequences of three searches (Bayesian
and random one child at a time, Bayesian in generations of two children) are
compared with ``trial_sequence.json``. They were recorded on the commit before
issue 29's reshaping of the search (16ef5f1) and are unchanged by it: a
refactoring of the loop, the searchers or the proposal sources must keep them.
They were written again on 2026-12-03, when searches began to widen with noise
(``Wider.search_noise``): the noise is drawn from the searcher's generator, so
the random searcher's proposals after its first wider child changed (the
Bayesian ones did not). A change that means to alter what a search proposes
writes them again:
``python -m tests.engine.test_trial_sequence --write``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from autonas.engine import Project, SearchBudget, run_search
from autonas.execution import TrainingSettings
from autonas.graph import Graph, generators
from autonas.search import BayesianSearcher, RandomSearcher, describe
from tests._fakes import ScoringExecutor, tiny_data

pytestmark = pytest.mark.slow  # builds Keras models for the networks' weights

RECORDED = Path(__file__).with_name("trial_sequence.json")


def architecture_score(graph: Graph) -> float:
    """A stand-in for validation accuracy: depth and width help, skip connections cost a little."""
    descriptor = describe(graph)
    widths = [width for _, width, _ in descriptor.layers][:-1]
    depth = 0.02 * min(len(widths), 12) + 0.01 * float(np.log2(np.mean(widths)))
    return 0.5 + depth - 0.015 * len(descriptor.skips)


def _sequence(searcher, generation_children: int | None) -> list[list]:
    """``[id, parent, operation kinds, fingerprint]`` of each trial of a 9-trial search."""
    initial = [("cnn", generators.cnn((8, 8, 1), 10, filters=4, max_filters=16, hidden_units=0)),
               ("resnet", generators.resnet((8, 8, 1), 10, filters=2))]
    settings = TrainingSettings(max_epochs=1, patience=1)
    executor = ScoringExecutor(lambda job: architecture_score(job.graph))
    with tempfile.TemporaryDirectory() as folder:
        history = run_search(
            project=Project(Path(folder) / "p"), searcher=searcher, data=tiny_data(), initial=initial,
            settings=settings, fine_tune_settings=settings, budget=SearchBudget(max_trials=9, deadline=None),
            seed=0, executor=executor, timed_costs=False, generation_children=generation_children,
        )
    return [[r.id, r.parent, [op.get("kind") for op in r.operations], r.fingerprint] for r in history]


def sequences() -> dict[str, list[list]]:
    return {
        "bayesian": _sequence(BayesianSearcher(seed=0), None),
        "random": _sequence(RandomSearcher(seed=0), None),
        "bayesian, generations of two": _sequence(BayesianSearcher(seed=0), 2),
    }


def test_a_seeded_search_proposes_the_recorded_trials_in_order():
    recorded = json.loads(RECORDED.read_text())
    now = sequences()
    for name, trials in recorded.items():
        assert now[name] == trials, name
    assert all(any(kinds for _, _, kinds, _ in trials) for trials in recorded.values())  # children were proposed


if __name__ == "__main__" and "--write" in sys.argv:
    RECORDED.write_text(json.dumps(sequences(), indent=1) + "\n")
    print(f"wrote {RECORDED}")
