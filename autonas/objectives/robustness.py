"""Adversarial robustness as a measured cost: a trained network's accuracy under an L∞ attack.

After a trial trains, and only when the objective reads robustness, the network is
attacked on a fixed subset of the validation images (drawn by the seed) and
``robust_accuracy`` is recorded beside the attack that measured it. The attacks
are the Adversarial Robustness Toolbox's (FGSM: ``FastGradientMethod``; PGD with a
random start: ``ProjectedGradientDescentNumpy``; ``pip install autonas[robust]``),
run on a numpy view of the Keras model whose loss gradient the backend module takes
(:func:`autonas.backend.input_gradient`), so every Keras backend is measured alike.

ε is on the **[0, 1] pixel scale** whatever the images' own scale: the attack works
on ``(raw − low) / (high − low)``, where ``[low, high]`` is the images' scale (0–255
for uint8 images, [0, 1] for floats in [0, 1]: :class:`PixelBox`), clipped to
[0, 1]; a pixel may move by ``ε · (high − low)`` of its own units. ε = 8/255 is
the usual CIFAR-10 budget, 0.1 and 0.3 the usual MNIST ones.

Imports neither Keras nor the attack library at module level.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "ATTACKS",
    "AdversarialTraining",
    "Attack",
    "PixelBox",
    "RobustnessCheck",
    "check_attack",
    "check_robustness_available",
    "measure_robustness",
    "robust_accuracy",
]

#: Attacks ``Objective(attack=...)`` knows: the fast gradient sign method and projected gradient descent.
ATTACKS = ("fgsm", "pgd")
#: Validation images attacked per trial (a fixed draw): enough for a robust accuracy to ±3 points.
DEFAULT_IMAGES = 256
#: PGD steps by default (Madry et al. 2018 use 7 to 40; 10 is the common middle).
DEFAULT_STEPS = 10

#: ``(x01, y) -> gradient of the summed cross-entropy w.r.t. x01`` on the [0, 1] scale.
GradientFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: ``x01 -> class probabilities``.
PredictFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Attack:
    """An L∞ attack as a trial measures it.

    Attributes:
        kind: ``"pgd"`` (random start, ``steps`` steps of size ``2.5 · epsilon / steps``)
            or ``"fgsm"`` (one step of size ``epsilon``).
        epsilon: Largest change of a pixel on the [0, 1] scale, in (0, 1].
        steps: PGD steps (FGSM: 1).
        images: Validation images attacked (a draw fixed by the seed).
    """

    kind: str = "pgd"
    epsilon: float = 0.1
    steps: int = DEFAULT_STEPS
    images: int = DEFAULT_IMAGES

    def __post_init__(self) -> None:
        check_attack(self.kind, self.epsilon, self.steps)
        if isinstance(self.images, bool) or not isinstance(self.images, int) or self.images < 1:
            raise ValueError(f"images must be an int >= 1, got {self.images!r}")

    @property
    def step_size(self) -> float:
        """The size of one step on the [0, 1] scale."""
        return self.epsilon if self.kind == "fgsm" else 2.5 * self.epsilon / self.steps

    def to_config(self) -> dict[str, Any]:
        return asdict(self)


def check_attack(attack: Any, epsilon: Any, steps: Any) -> None:
    """Refuse an unknown attack, an ε outside (0, 1] or fewer than one step.

    Raises:
        ValueError: naming ``attack``, ``epsilon`` or ``attack_steps``.
    """
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {ATTACKS}, got {attack!r}")
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon <= 1:
        raise ValueError(
            f"epsilon must be a number in (0, 1] (a pixel's change on the [0, 1] scale, e.g. 8/255), got {epsilon!r}"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"attack_steps must be an int >= 1, got {steps!r}")


def check_robustness_available() -> None:
    """Refuse, before any training, a search that reads robustness where it cannot be measured.

    Raises:
        ImportError: naming ``pip install 'autonas[robust]'`` when the attack library is missing.
    """
    _art()


def _art():
    """The Adversarial Robustness Toolbox's pieces, or an ImportError naming the extra to install."""
    try:
        from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescentNumpy
        from art.estimators.classification.classifier import ClassifierMixin
        from art.estimators.estimator import BaseEstimator, LossGradientsMixin
    except ImportError as error:
        raise ImportError(
            "measuring robustness needs the Adversarial Robustness Toolbox: pip install 'autonas[robust]'"
        ) from error
    return FastGradientMethod, ProjectedGradientDescentNumpy, (ClassifierMixin, LossGradientsMixin, BaseEstimator)


def _estimator(predict: PredictFn, gradient: GradientFn, input_shape: Sequence[int], classes: int):
    """An ART classifier over numpy images in [0, 1] that calls ``predict`` and ``gradient``."""
    _, _, bases = _art()

    class NumpyView(*bases):
        estimator_params = ["model", "clip_values", "nb_classes"]

        def __init__(self) -> None:
            super().__init__(model=None, clip_values=(0.0, 1.0))
            self.nb_classes = classes
            self._input_shape = tuple(input_shape)

        @property
        def input_shape(self) -> tuple[int, ...]:
            return self._input_shape

        def predict(self, x: np.ndarray, batch_size: int = 256, **kwargs: Any) -> np.ndarray:
            return np.concatenate([predict(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

        def fit(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> None:
            raise NotImplementedError("a view for attacks only")

        def loss_gradient(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> np.ndarray:
            labels = np.argmax(y, axis=1) if np.ndim(y) == 2 else np.asarray(y)
            return gradient(x.astype(np.float32), labels.astype(np.int32))

        def compute_loss(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> np.ndarray:
            raise NotImplementedError

    return NumpyView()


def robust_accuracy(
    predict: PredictFn,
    gradient: GradientFn,
    x01: np.ndarray,
    y: np.ndarray,
    attack: Attack,
    classes: int,
    seed: int | None = None,
) -> float:
    """Accuracy on ``x01`` (images in [0, 1]) after ``attack``, with ART's FGSM or PGD.

    Args:
        predict: ``x01 -> class probabilities``.
        gradient: ``(x01, labels) -> d loss / d x01``.
        x01: Images on the [0, 1] scale, ``(N, H, W, C)``.
        y: Their class indices.
        attack: What to run.
        classes: Number of classes.
        seed: Seed of PGD's random start (numpy's global generator, restored after).
    """
    fgsm, pgd, _ = _art()
    estimator = _estimator(predict, gradient, x01.shape[1:], classes)
    if attack.kind == "fgsm":
        runner = fgsm(estimator, norm=np.inf, eps=attack.epsilon, eps_step=attack.epsilon, batch_size=128)
    else:
        runner = pgd(estimator, norm=np.inf, eps=attack.epsilon, eps_step=attack.step_size, max_iter=attack.steps,
                     num_random_init=1, batch_size=128, verbose=False)
    state = np.random.get_state()  # ART draws the random start from numpy's global generator
    np.random.seed(0 if seed is None else seed % 2**32)
    try:
        adversarial = runner.generate(x=x01.astype(np.float32), y=np.eye(classes, dtype=np.float32)[y])
    finally:
        np.random.set_state(state)
    return float(np.mean(estimator.predict(adversarial).argmax(axis=1) == y))


@dataclass(frozen=True)
class PixelBox:
    """How the network's standardised inputs relate to the [0, 1] pixel scale an attack works on.

    ``x01 = (x · std + mean − low) / (high − low)``: ``low`` and ``high`` are the
    ends of the images' scale (0 and 255 for uint8 images, 0 and 1 for floats in
    [0, 1]; :meth:`autonas.tasks.data.PixelScale.box`).

    Attributes:
        mean: Per-channel mean of the standardisation.
        variance: Per-channel variance of the standardisation.
        low: The pixel scale's lowest value.
        high: The pixel scale's highest value.
    """

    mean: tuple[float, ...]
    variance: tuple[float, ...]
    low: float = 0.0
    high: float = 255.0

    def _scale(self) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` with ``x01 = x_std · a + b``."""
        std = np.sqrt(np.asarray(self.variance, dtype=np.float32))
        span = np.float32(self.high - self.low)
        return std / span, (np.asarray(self.mean, dtype=np.float32) - np.float32(self.low)) / span

    def to_unit(self, x_standardised: np.ndarray) -> np.ndarray:
        """Standardised images on the [0, 1] scale (clipped to it)."""
        a, b = self._scale()
        return np.clip(np.asarray(x_standardised, dtype=np.float32) * a + b, 0.0, 1.0)

    def from_unit(self, x01: np.ndarray) -> np.ndarray:
        """[0, 1] images as the network takes them."""
        a, b = self._scale()
        return (np.asarray(x01, dtype=np.float32) - b) / a

    def unit_gradient(self, gradient: np.ndarray) -> np.ndarray:
        """A gradient with respect to the network's input, with respect to the [0, 1] image instead."""
        return gradient / self._scale()[0]

    def epsilon(self, epsilon: float) -> np.ndarray:
        """``epsilon`` on the [0, 1] scale in the network's units, per channel."""
        return np.float32(epsilon) / self._scale()[0]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The network's inputs of the images 0 and 1 on the [0, 1] scale, per channel."""
        return self.from_unit(np.zeros(1, np.float32)), self.from_unit(np.ones(1, np.float32))


def measure_robustness(
    model: Any, x_standardised: np.ndarray, y: np.ndarray, attack: Attack, box: PixelBox, seed: int | None = None
) -> dict[str, Any]:
    """Attack a trained Keras model on a fixed draw of validation images; the metrics a trial records.

    Args:
        model: The trained network (standardised images in, probabilities out).
        x_standardised: Validation images as the network takes them.
        y: Their class indices.
        attack: What to run; ``attack.images`` of them are drawn with ``seed``.
        box: How the network's inputs map to the [0, 1] scale.
        seed: Seed of the draw and of PGD's random start.

    Returns:
        ``robust_accuracy``, ``clean_accuracy`` (on the same images), and the attack's
        ``attack``, ``attack_epsilon``, ``attack_steps``, ``attack_images`` and ``attack_seconds``.
    """
    from autonas.backend import input_gradient  # the one module that knows the backend

    start = time.perf_counter()
    rows = np.sort(np.random.default_rng(seed).permutation(len(y))[: min(attack.images, len(y))])
    x01 = box.to_unit(x_standardised[rows])
    labels = np.asarray(y)[rows].astype(np.int32)
    network_gradient = input_gradient(model)

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict_on_batch(box.from_unit(x)), dtype=np.float32)

    def gradient(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return box.unit_gradient(network_gradient(box.from_unit(x), labels))  # the chain rule

    classes = int(model.output_shape[-1])
    clean = float(np.mean(predict(x01).argmax(axis=1) == labels))
    robust = robust_accuracy(predict, gradient, x01, labels, attack, classes, seed)
    return {
        "robust_accuracy": robust,
        "clean_accuracy": clean,
        "attack": attack.kind,
        "attack_epsilon": attack.epsilon,
        "attack_steps": 1 if attack.kind == "fgsm" else attack.steps,
        "attack_images": int(len(rows)),
        "attack_seconds": time.perf_counter() - start,
    }


@dataclass(frozen=True)
class AdversarialTraining:
    """A training setting: every batch replaced by its FGSM example with a random start (Wong, Rice &
    Kolter, "Fast is better than free", 2020) at ``epsilon`` on the [0, 1] pixel scale.

    Attributes:
        epsilon: The perturbation's budget on the [0, 1] scale, in (0, 1].
        box: How the network's inputs map to the [0, 1] scale.
    """

    epsilon: float
    box: PixelBox

    def __post_init__(self) -> None:
        check_attack("fgsm", self.epsilon, 1)

    def apply(self, model: Any, seed: int | None = None) -> None:
        """Make the compiled ``model``'s ``fit`` train adversarially (:func:`autonas.backend.adversarial_training`)."""
        from autonas.backend import adversarial_training

        lower, upper = self.box.bounds()
        adversarial_training(model, self.box.epsilon(self.epsilon), lower, upper, seed=0 if seed is None else seed)


@dataclass(frozen=True)
class RobustnessCheck:
    """What a trial measures after training when the objective reads robustness.

    Attributes:
        attack: The attack.
        box: How the network's inputs map to the [0, 1] scale.
    """

    attack: Attack
    box: PixelBox

    def measure(self, model: Any, x_val: np.ndarray, y_val: np.ndarray, seed: int | None = None) -> dict[str, Any]:
        """:func:`measure_robustness` of ``model`` on a draw of the validation images."""
        return measure_robustness(model, x_val, y_val, self.attack, self.box, seed)

