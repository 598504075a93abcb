"""The Pareto front over (accuracy, energy, size) and its hypervolume."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autonas.engine.project import TrialRecord
from autonas.objectives import hypervolume, objective_points, pareto_front


def m(accuracy, energy, params, **extra):
    return {"val_accuracy": accuracy, "energy_mj": energy, "params": params, **extra}


def test_front_keeps_the_non_dominated_points_once():
    a = m(0.90, 1.0, 100)
    b = m(0.80, 2.0, 200)  # dominated by a
    c = m(0.95, 3.0, 100)  # more accurate, costlier
    d = m(0.90, 1.0, 100)  # a duplicate of a: kept once, the first
    e = m(0.85, 0.5, 300)  # cheapest energy
    f = m(0.90, 1.0, 150)  # dominated by a (larger, otherwise equal)
    assert pareto_front([a, b, c, d, e, f]) == [a, c, e]
    assert pareto_front([d, a]) == [d]


def test_front_leaves_out_failed_and_incomplete_trials():
    good = m(0.5, 1.0, 100)
    failed = m(0.99, 0.1, 10, status="failed")
    missing = {"val_accuracy": 0.99, "params": 10}
    nan = m(float("nan"), 0.1, 10)
    assert pareto_front([good, failed, missing, nan]) == [good]
    assert pareto_front([]) == []


def test_front_of_trial_records():
    records = [
        TrialRecord(id=1, parent=None, operations=[], fingerprint="1", metrics=m(0.9, 1.0, 100)),
        TrialRecord(id=2, parent=1, operations=[], fingerprint="2", metrics=m(0.8, 2.0, 200)),
        TrialRecord(id=3, parent=1, operations=[], fingerprint="3", metrics=m(0.99, 0.1, 10), status="failed"),
    ]
    assert [r.id for r in pareto_front(records)] == [1]


def test_front_with_chosen_objectives():
    points = [{"acc": 0.9, "ms": 5.0}, {"acc": 0.8, "ms": 1.0}, {"acc": 0.7, "ms": 2.0}]
    assert pareto_front(points, [("acc", "max"), ("ms", "min")]) == points[:2]
    with pytest.raises(ValueError):
        pareto_front(points, [("acc", "up")])


def test_objective_points_normalise_to_the_unit_cube():
    metrics = [m(0.9, 1.0, 100), m(0.6, 4.0, 400)]
    # By default each metric is divided by its largest value; accuracy 0.9 is best (0).
    points = objective_points(metrics)
    assert np.allclose(points, [(0.0, 0.25, 0.25), (1 / 3, 1.0, 1.0)])
    fixed = objective_points(metrics, bounds={"val_accuracy": (0, 1), "energy_mj": (0, 8), "params": (0, 1000)})
    assert np.allclose(fixed, [(0.1, 0.125, 0.1), (0.4, 0.5, 0.4)])
    assert objective_points([m(0.9, 1.0, 100, status="failed")]) == []


def test_hypervolume_2d_by_hand():
    assert hypervolume([(0.2, 0.6), (0.5, 0.3)], (1, 1)) == pytest.approx(0.47)
    assert hypervolume([(0.5, 0.5)], (1, 1)) == pytest.approx(0.25)
    assert hypervolume([], (1, 1)) == 0.0
    assert hypervolume([(1.0, 0.2), (1.5, 0.0)], (1, 1)) == 0.0  # not below the reference


def test_hypervolume_3d_by_hand():
    assert hypervolume([(0.5, 0.5, 0.5)], (1, 1, 1)) == pytest.approx(0.125)
    # [0,1]²×[0.5,1] ∪ [0.5,1]²×[0,1]: 0.5 + 0.25 − 0.125
    assert hypervolume([(0, 0, 0.5), (0.5, 0.5, 0)], (1, 1, 1)) == pytest.approx(0.625)
    assert hypervolume([(0, 0, 0)], (2, 1, 0.5)) == pytest.approx(1.0)


def test_hypervolume_1d():
    assert hypervolume([(0.3,), (0.6,)], (1,)) == pytest.approx(0.7)


def test_dominated_points_change_nothing_and_new_front_points_add():
    front = [(0.1, 0.6, 0.5), (0.5, 0.2, 0.4), (0.3, 0.3, 0.9)]
    base = hypervolume(front, (1, 1, 1))
    assert hypervolume([*front, (0.6, 0.7, 0.6), (0.5, 0.2, 0.4)], (1, 1, 1)) == pytest.approx(base)
    assert hypervolume([*front, (0.9, 0.05, 0.1)], (1, 1, 1)) > base


def test_hypervolume_rejects_bad_input():
    with pytest.raises(ValueError):
        hypervolume([(0.1, 0.2, 0.3, 0.4)], (1, 1, 1, 1))
    with pytest.raises(ValueError):
        hypervolume([(0.1, 0.2)], (1, 1, 1))
    with pytest.raises(ValueError):
        hypervolume([(0.1, math.inf)], (1, 1))


def _union_volume(points, reference):
    """Inclusion–exclusion over the boxes [p, reference]: slow but plainly right."""
    total = 0.0
    for size in range(1, len(points) + 1):
        for subset in itertools.combinations(points, size):
            corner = [max(c) for c in zip(*subset)]
            total += (-1) ** (size + 1) * math.prod(max(0.0, r - c) for r, c in zip(reference, corner))
    return total


grid = st.integers(0, 10).map(lambda i: i / 10)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 3).flatmap(lambda d: st.lists(st.tuples(*[grid] * d), max_size=6)))
def test_hypervolume_equals_inclusion_exclusion(points):
    dimension = len(points[0]) if points else 3
    reference = (1.0,) * dimension
    expected = _union_volume(points, reference)
    assert hypervolume(points, reference) == pytest.approx(expected, abs=1e-12)
    assert hypervolume(list(reversed(points)), reference) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(grid, grid, st.integers(1, 5)), max_size=8))
def test_front_points_dominate_the_rest(triples):
    metrics = [m(a, e, p) for a, e, p in triples]
    front = pareto_front(metrics)
    key = lambda x: (x["val_accuracy"], x["energy_mj"], x["params"])  # noqa: E731
    assert len({key(x) for x in front}) == len(front)
    for x in metrics:
        if x in front:
            continue
        assert any(
            f["val_accuracy"] >= x["val_accuracy"] and f["energy_mj"] <= x["energy_mj"] and f["params"] <= x["params"]
            for f in front
        )
    # The front alone has the hypervolume of the whole set.
    bounds = {"val_accuracy": (0, 1), "energy_mj": (0, 1), "params": (0, 5)}
    everything = hypervolume(objective_points(metrics, bounds=bounds), (1.1, 1.1, 1.1))
    assert hypervolume(objective_points(front, bounds=bounds), (1.1, 1.1, 1.1)) == pytest.approx(everything)
