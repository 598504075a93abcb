"""Robustness on a real Keras backend: input gradients, the measurement of a trained network, and adversarial
training against plain training of the same network on digits."""

from __future__ import annotations

import numpy as np
import pytest

from autonas.backend import input_gradient
from autonas.execution import TrainingSettings, train_graph
from autonas.graph import generators
from autonas.objectives.robustness import AdversarialTraining, Attack, PixelBox, RobustnessCheck

pytestmark = [pytest.mark.slow, pytest.mark.backend]  # trains networks; runs again under JAX and PyTorch in CI

pytest.importorskip("art", reason="the Adversarial Robustness Toolbox is not installed: pip install 'autonas[robust]'")


def test_the_input_gradient_is_the_losss_directional_derivative():
    """On a smooth network (tanh, softmax) the gradient matches central differences along random directions."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 1))
    hidden = keras.layers.Dense(8, activation="tanh")(keras.layers.Flatten()(inputs))
    outputs = keras.layers.Activation("softmax")(keras.layers.Dense(3)(hidden))
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(5, 4, 4, 1)).astype(np.float32), np.array([0, 1, 2, 0, 1])
    gradient = input_gradient(model)(x, labels)

    def loss(z):
        p = np.asarray(model.predict_on_batch(z), dtype=np.float64)
        return -np.log(p[np.arange(len(labels)), labels]).sum()

    for _ in range(3):
        direction = rng.normal(size=x.shape).astype(np.float32)
        step = 1e-2
        numeric = (loss(x + step * direction) - loss(x - step * direction)) / (2 * step)
        assert float(np.sum(gradient * direction)) == pytest.approx(numeric, rel=0.02, abs=1e-3)


@pytest.fixture(scope="module")
def scaled_digits():
    from autonas.datasets import load_digits

    x_train, x_test, y_train, y_test = load_digits()
    mean, variance = float(x_train.mean()), float(x_train.var())
    box = PixelBox((mean,), (variance,), 0.0, 255.0)
    standardise = lambda x: ((x.astype(np.float32) - mean) / np.sqrt(variance))[..., None]  # noqa: E731
    return standardise(x_train), standardise(x_test), y_train, y_test, box


def _trained(data, adversarial: bool):
    x_train, x_test, y_train, y_test, box = data
    settings = TrainingSettings(max_epochs=8, batch_size=64, learning_rate=3e-3,
                                adversarial=AdversarialTraining(0.1, box) if adversarial else None)
    result = train_graph(generators.cnn((8, 8, 1), 10, filters=8), x_train, y_train, settings,
                         validation=(x_test, y_test), seed=0, measure=False)
    assert result.status == "completed", result.error
    return result.graph.to_keras()


@pytest.fixture(scope="module")
def plainly_trained(scaled_digits):
    """The network trained without adversarial examples, once for the tests that measure it."""
    return _trained(scaled_digits, adversarial=False)


def test_the_measurement_keeps_clean_accuracy_at_no_budget_and_orders_pgd_fgsm_clean(scaled_digits, plainly_trained):
    _, x_test, _, y_test, box = scaled_digits
    model = plainly_trained
    tiny = RobustnessCheck(Attack("pgd", 1e-6, images=300), box).measure(model, x_test, y_test, seed=0)
    assert tiny["robust_accuracy"] == tiny["clean_accuracy"] > 0.9
    measured = {}
    for epsilon in (0.05, 0.15):
        fgsm = RobustnessCheck(Attack("fgsm", epsilon, images=300), box).measure(model, x_test, y_test, seed=0)
        pgd = RobustnessCheck(Attack("pgd", epsilon, images=300), box).measure(model, x_test, y_test, seed=0)
        assert pgd["robust_accuracy"] <= fgsm["robust_accuracy"] <= fgsm["clean_accuracy"]
        assert pgd["attack"] == "pgd" and pgd["attack_steps"] == 10 and pgd["attack_images"] == 300
        measured[epsilon] = pgd["robust_accuracy"]
    assert measured[0.15] < measured[0.05]  # a larger budget breaks more


def test_adversarial_training_buys_robust_accuracy_on_digits(scaled_digits, plainly_trained):
    _, x_test, _, y_test, box = scaled_digits
    check = RobustnessCheck(Attack("pgd", 0.1, images=300), box)
    plain = check.measure(plainly_trained, x_test, y_test, seed=0)
    hardened = check.measure(_trained(scaled_digits, adversarial=True), x_test, y_test, seed=0)
    assert hardened["robust_accuracy"] >= plain["robust_accuracy"] + 0.15, (plain, hardened)
    assert hardened["clean_accuracy"] >= 0.9
