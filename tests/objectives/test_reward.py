"""The MONAS-style reward, its hard constraints and user callables."""

import math
from types import SimpleNamespace

import pytest

from autonas.engine.project import TrialRecord
from autonas.graph import generators
from autonas.objectives import Objective, as_objective, graph_costs


@pytest.fixture(scope="module")
def graph():
    return generators.cnn((8, 8, 1), 10, filters=8)


def test_mixed_reward_with_hand_numbers():
    objective = Objective(alpha=1.0, beta=0.5, gamma=0.2, energy_reference=2.0, size_reference=1000)
    metrics = {"val_accuracy": 0.9, "energy_mj": 1.0, "params": 500}
    # 0.9 - 0.5 * (1.0 / 2.0) - 0.2 * (500 / 1000)
    assert objective.reward(metrics) == pytest.approx(0.55)
    assert Objective(alpha=2.0).reward(metrics) == pytest.approx(1.8)


def test_default_reward_is_the_accuracy():
    assert Objective().reward({"val_accuracy": 0.7}) == pytest.approx(0.7)


def test_energy_key_chooses_the_energy_figure():
    metrics = {"val_accuracy": 0.9, "energy_mj": 4.0, "estimated_energy_mj": 1.0}
    measured = Objective(beta=0.1, energy_reference=1.0)
    estimated = Objective(beta=0.1, energy_reference=1.0, energy_key="estimated_energy_mj")
    assert measured.reward(metrics) == pytest.approx(0.5)
    assert estimated.reward(metrics) == pytest.approx(0.8)


def test_failed_trials_have_no_reward():
    objective = Objective()
    assert objective.reward({"val_accuracy": 0.9, "status": "failed"}) is None
    assert objective.reward({"val_loss": 0.1}) is None
    assert objective.reward({"val_accuracy": float("nan")}) is None
    record = TrialRecord(id=3, parent=None, operations=[], fingerprint="f", metrics={"val_accuracy": 0.9}, status="failed")
    assert objective.reward(record) is None
    record.status = "completed"
    assert objective.reward(record) == pytest.approx(0.9)


def test_breaking_a_hard_constraint_gives_minus_infinity():
    objective = Objective(max_latency=10.0, max_power=5.0, max_params=1000)
    good = {"val_accuracy": 0.9, "latency_ms": 9.0, "power_w": 4.0, "params": 1000}
    assert objective.reward(good) == pytest.approx(0.9)
    assert objective.violations(good) == []
    slow = {**good, "latency_ms": 12.0}
    assert objective.reward(slow) == -math.inf
    assert objective.violations(slow) == ["latency_ms 12 > max_latency 10"]
    hot = {**good, "power_w": 6.0, "params": 1001}
    assert len(objective.violations(hot)) == 2
    assert objective.reward(hot) == -math.inf
    # A constraint whose metric was not recorded is not checked.
    assert objective.reward({"val_accuracy": 0.9}) == pytest.approx(0.9)


def test_max_energy_bounds_the_energy_key():
    objective = Objective(max_energy=1.0)
    assert objective.reward({"val_accuracy": 0.5, "energy_mj": 1.5}) == -math.inf
    assert objective.reward({"val_accuracy": 0.5, "energy_mj": 0.5}) == 0.5


def test_a_weighted_cost_that_is_missing_raises():
    with pytest.raises(ValueError, match="energy_mj"):
        Objective(beta=1.0).reward({"val_accuracy": 0.9})
    with pytest.raises(ValueError, match="params"):
        Objective(gamma=1.0).reward({"val_accuracy": 0.9})


def test_feasible_before_training_uses_params_and_macs(graph):
    params, macs = graph.num_params(), graph.macs()
    assert Objective().feasible_before_training(graph)
    assert Objective(max_params=params, max_macs=macs).feasible_before_training(graph)
    assert not Objective(max_params=params - 1).feasible_before_training(graph)
    assert not Objective(max_macs=macs - 1).feasible_before_training(graph)
    # Latency and power need a measurement: they never block a graph before training.
    assert Objective(max_latency=1e-9, max_power=1e-9).feasible_before_training(graph)


def test_feasible_before_training_uses_the_energy_estimate(graph):
    energy = graph_costs(graph)["energy_mj"]
    assert Objective(max_energy=energy * 1.01).feasible_before_training(graph)
    assert not Objective(max_energy=energy * 0.99).feasible_before_training(graph)


def test_predicted_reward_uses_the_exact_costs(graph):
    costs = graph_costs(graph)
    objective = Objective(alpha=1.0, beta=0.3, gamma=0.2, energy_reference=0.01, size_reference=10_000)
    expected = 0.8 - 0.3 * costs["energy_mj"] / 0.01 - 0.2 * costs["params"] / 10_000
    assert objective.predicted_reward(0.8, graph) == pytest.approx(expected)
    # More accuracy, more reward; a wider graph costs more.
    assert objective.predicted_reward(0.9, graph) > objective.predicted_reward(0.8, graph)
    wider = generators.cnn((8, 8, 1), 10, filters=16)
    assert objective.predicted_reward(0.8, wider) < objective.predicted_reward(0.8, graph)


def test_predicted_reward_of_an_infeasible_graph_is_finite_and_lower(graph):
    objective = Objective(max_params=graph.num_params() - 1)
    value = objective.predicted_reward(1.0, graph)
    assert math.isfinite(value)
    assert value == pytest.approx(1.0 - 2.0)
    assert value < Objective().predicted_reward(0.0, graph)


def test_a_user_callable_works_for_records_and_predictions(graph):
    def fn(metrics):
        return metrics["val_accuracy"] - metrics["macs"] / 1e6

    objective = Objective.from_callable(fn, max_params=graph.num_params())
    assert objective.reward({"val_accuracy": 0.9, "macs": 200_000}) == pytest.approx(0.7)
    assert objective.reward({"val_accuracy": 0.9, "macs": 1, "params": 10**9}) == -math.inf
    assert objective.reward({"val_accuracy": 0.9, "status": "failed"}) is None
    assert objective.predicted_reward(0.9, graph) == pytest.approx(0.9 - graph.macs() / 1e6)
    assert objective.feasible_before_training(graph)
    assert not Objective.from_callable(fn, max_params=10).feasible_before_training(graph)


def test_as_objective_accepts_none_objectives_and_callables():
    assert as_objective(None).reward({"val_accuracy": 0.4}) == pytest.approx(0.4)
    objective = Objective(beta=1.0)
    assert as_objective(objective) is objective
    wrapped = as_objective(lambda m: 2 * m["val_accuracy"])
    assert wrapped.reward(SimpleNamespace(metrics={"val_accuracy": 0.25}, status="completed")) == 0.5
    with pytest.raises(ValueError):
        as_objective("accuracy")


@pytest.mark.parametrize(
    "kwargs",
    [{"alpha": float("nan")}, {"energy_reference": 0}, {"size_reference": -1}, {"max_params": 0}, {"max_power": "a"}],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        Objective(**kwargs)


@pytest.mark.parametrize(
    "objective, needs",
    [
        (Objective(), False),
        (Objective(gamma=0.1), False),
        (Objective(max_params=1000), False),
        (Objective(beta=0.1, energy_key="estimated_energy_mj"), False),
        (Objective(max_energy=1.0, energy_key="estimated_energy_mj"), False),
        (Objective(beta=0.1), True),
        (Objective(max_latency=5), True),
        (Objective(max_power=2), True),
        (Objective(max_energy=1.0), True),
        (Objective.from_callable(lambda metrics: metrics["val_accuracy"]), True),
    ],
    ids=["accuracy", "size", "max_params", "estimated-energy", "max-estimated-energy", "measured-energy",
         "max_latency", "max_power", "max_energy", "callable"],
)
def test_only_objectives_that_read_measured_costs_need_trials_timed(objective, needs):
    """Timing every trained network costs seconds a trial: only for objectives that read latency, power or measured energy."""
    assert objective.needs_measured_costs is needs
