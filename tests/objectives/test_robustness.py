"""Robustness as an objective: the Objective's arguments, reward and front, and the attack's measurement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autonas.objectives import Objective
from autonas.objectives.robustness import Attack, robust_accuracy


# ------------------------------------------------------------------ the Objective (no training)
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": 0}, "epsilon must be a number in \\(0, 1\\]"),
        ({"epsilon": 1.5}, "epsilon must be a number in \\(0, 1\\]"),
        ({"epsilon": "0.1"}, "epsilon must be a number in \\(0, 1\\]"),
        ({"attack": "cw"}, "attack must be one of \\('fgsm', 'pgd'\\)"),
        ({"attack_steps": 0}, "attack_steps must be an int >= 1"),
        ({"attack_steps": 2.5}, "attack_steps must be an int >= 1"),
        ({"robustness": math.nan}, "robustness must be a finite number"),
        ({"min_robust_accuracy": 1.2}, "min_robust_accuracy must be None or a number in \\[0, 1\\]"),
    ],
)
def test_bad_robustness_arguments_are_refused_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Objective(**kwargs)


def test_the_default_objective_reads_no_robustness_and_measures_nothing_new():
    objective = Objective()
    assert not objective.reads_robustness and objective.robustness_attack is None
    assert [name for name, _ in objective.pareto_objectives] == ["val_accuracy", "energy_mj", "params"]
    assert not objective.needs_measured_costs


def test_robust_accuracy_is_a_reward_term_a_hard_limit_and_an_axis_of_the_front():
    objective = Objective(robustness=0.5, min_robust_accuracy=0.3, attack="fgsm", epsilon=8 / 255, attack_steps=3)
    assert objective.reads_robustness
    assert objective.robustness_attack == Attack("fgsm", 8 / 255, 3)
    assert ("robust_accuracy", "max") in objective.pareto_objectives
    robust = {"val_accuracy": 0.9, "robust_accuracy": 0.6, "params": 1000}
    assert objective.reward(robust) == pytest.approx(0.9 + 0.5 * 0.6)
    assert objective.learned_value(robust) == pytest.approx(0.9 + 0.5 * 0.6)
    fragile = {"val_accuracy": 0.95, "robust_accuracy": 0.1, "params": 1000}
    assert objective.violations(fragile) == ["robust_accuracy 0.1 < min_robust_accuracy 0.3"]
    assert objective.reward(fragile) == -math.inf
    assert objective.learned_value({"val_accuracy": 0.9}) is None  # the measurement is missing
    limit_only = Objective(min_robust_accuracy=0.3)
    assert limit_only.reads_robustness and limit_only.reward(robust) == pytest.approx(0.9)


def test_the_predicted_reward_adds_the_known_costs_to_the_learned_value():
    from autonas.graph import generators

    graph = generators.mlp((8, 8, 1), 10)
    objective = Objective(gamma=0.1, size_reference=1000, robustness=1.0)
    assert objective.predicted_reward(1.4, graph) == pytest.approx(1.4 - 0.1 * graph.num_params() / 1000)
    assert Objective().predicted_reward(0.8, graph) == pytest.approx(0.8)  # the default: the accuracy itself


# ------------------------------------------------------------------ the attack (ART) on a model of known gradient
def _linear_model(classes: int = 3, side: int = 4, seed: int = 0):
    """Softmax regression on [0, 1] images: predictions and exact input gradients in numpy."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(side * side, classes)).astype(np.float32)

    def logits(x):
        return x.reshape(len(x), -1) @ weights

    def predict(x):
        z = logits(x)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def gradient(x, labels):
        p = predict(x)
        p[np.arange(len(x)), labels] -= 1.0
        return (p @ weights.T).reshape(x.shape).astype(np.float32)

    x = rng.uniform(0.2, 0.8, size=(300, side, side, 1)).astype(np.float32)
    labels = predict(x).argmax(axis=1)  # the model is right on every image
    return predict, gradient, x, labels


def _hand_pgd(predict, gradient, x, labels, epsilon, steps, seed):
    """An independent L∞ PGD: random start, signed steps of 2.5·ε/steps, projected and clipped."""
    rng = np.random.default_rng(seed)
    adversarial = np.clip(x + rng.uniform(-epsilon, epsilon, size=x.shape).astype(np.float32), 0, 1)
    for _ in range(steps):
        adversarial = adversarial + 2.5 * epsilon / steps * np.sign(gradient(adversarial, labels))
        adversarial = np.clip(np.clip(adversarial, x - epsilon, x + epsilon), 0, 1)
    return float(np.mean(predict(adversarial).argmax(axis=1) == labels))


def test_attacks_keep_the_clean_accuracy_at_no_budget_and_order_pgd_below_fgsm_below_clean():
    pytest.importorskip("art", reason="the Adversarial Robustness Toolbox is not installed: pip install 'autonas[robust]'")
    predict, gradient, x, labels = _linear_model()
    clean = float(np.mean(predict(x).argmax(axis=1) == labels))
    assert clean == 1.0
    assert robust_accuracy(predict, gradient, x, labels, Attack("pgd", 1e-6), 3, seed=0) == clean
    assert robust_accuracy(predict, gradient, x, labels, Attack("fgsm", 1e-6), 3, seed=0) == clean
    falling = []
    for epsilon in (0.02, 0.05, 0.1):
        fgsm = robust_accuracy(predict, gradient, x, labels, Attack("fgsm", epsilon), 3, seed=0)
        pgd = robust_accuracy(predict, gradient, x, labels, Attack("pgd", epsilon, steps=10), 3, seed=0)
        assert pgd <= fgsm <= clean
        falling.append(pgd)
    assert falling[0] > falling[1] > falling[2]


def test_the_libraries_pgd_agrees_with_an_independent_one_within_a_point():
    pytest.importorskip("art", reason="the Adversarial Robustness Toolbox is not installed: pip install 'autonas[robust]'")
    predict, gradient, x, labels = _linear_model(seed=1)
    for epsilon in (0.03, 0.06):
        library = robust_accuracy(predict, gradient, x, labels, Attack("pgd", epsilon, steps=10), 3, seed=0)
        independent = _hand_pgd(predict, gradient, x, labels, epsilon, 10, seed=0)
        assert 0.05 < independent < 0.95  # a budget where the attack half-succeeds: a real comparison
        assert abs(library - independent) <= 0.01, (epsilon, library, independent)


def test_a_seeded_pgd_repeats_itself_and_leaves_numpys_global_generator_alone():
    pytest.importorskip("art", reason="the Adversarial Robustness Toolbox is not installed: pip install 'autonas[robust]'")
    predict, gradient, x, labels = _linear_model(seed=2)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = robust_accuracy(predict, gradient, x, labels, Attack("pgd", 0.05, steps=2), 3, seed=7)
    assert np.array_equal(np.random.get_state()[1], before)
    assert robust_accuracy(predict, gradient, x, labels, Attack("pgd", 0.05, steps=2), 3, seed=7) == first
