"""Candidate signals of a trained trial: what could predict its accuracy after the final fit.

A searcher learns from one number a trial gives. Today's is the validation
accuracy after the trial's short schedule; whether another number ranks
networks closer to what the search is judged on (the test accuracy after the
long final fit) is measured by ``benchmarks/fidelity.py``
(benchmarks/results/fidelity.md). Each signal reads a trial's ``metrics``
(:attr:`autonas.engine.TrialRecord.metrics`) and returns a value where higher
predicts better, or None when the trial lacks what it needs. Only numpy and
scipy are used (the search process never imports TensorFlow).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["SIGNALS", "extrapolated_loss", "late_training_loss", "segment_losses", "signal_values"]

#: ``signal(metrics) -> float | None``; higher predicts a better final fit.
Signal = Callable[[Mapping[str, Any]], "float | None"]

#: Epochs ahead at which :func:`extrapolated_loss` reads the fitted curve by default: about the length
#: of a final fit after a short search on a small data set (an estimate; the final fit's epochs vary).
EXTRAPOLATION_EPOCHS = 20.0


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def segment_losses(metrics: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The trial's within-training loss curve: ``(epochs done, mean training loss of the segment)``.

    From ``metrics["loss_curve"]`` (:class:`~autonas.execution.guard.TrialGuard`
    records about ten points an epoch); from the per-epoch ``history["loss"]``
    for a trial recorded before curves were; empty arrays when neither exists.
    """
    curve = metrics.get("loss_curve")
    if curve:
        points = np.asarray(curve, dtype=float).reshape(-1, 2)
    else:
        losses = (metrics.get("history") or {}).get("loss") or []
        points = np.array([(epoch, loss) for epoch, loss in enumerate(losses, start=1)], dtype=float).reshape(-1, 2)
    keep = np.isfinite(points).all(axis=1)
    return points[keep, 0], points[keep, 1]


def late_training_loss(metrics: Mapping[str, Any], share: float = 0.3) -> float | None:
    """Mean training loss over the last ``share`` of the trial's curve points (a sum of training
    losses, SoTL-E, on the part of training least moved by its start); None without a curve."""
    _, losses = segment_losses(metrics)
    if losses.size == 0:
        return None
    last = max(1, int(round(share * losses.size)))
    return float(losses[-last:].mean())


def _power_law(t: np.ndarray, floor: float, scale: float, rate: float) -> np.ndarray:
    return floor + scale * np.power(t, -rate)


def extrapolated_loss(metrics: Mapping[str, Any], epochs_ahead: float = EXTRAPOLATION_EPOCHS) -> float | None:
    """The training loss the trial's curve points to ``epochs_ahead`` epochs after its end.

    Fits ``loss(t) = floor + scale · t^(−rate)`` (``floor, scale ≥ 0``,
    ``0 < rate ≤ 3``; :func:`scipy.optimize.curve_fit`) to the curve's points,
    ``t`` counted in epochs from the trial's start; a curve of fewer than four
    points, or one the fit cannot follow, gives its late loss
    (:func:`late_training_loss`).
    """
    from scipy.optimize import curve_fit

    epochs, losses = segment_losses(metrics)
    if losses.size < 4:
        return late_training_loss(metrics)
    start = (float(losses.min()) * 0.5, max(float(losses[0] - losses.min()), 1e-3), 0.5)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (floor, scale, rate), _ = curve_fit(
                _power_law, epochs, losses, p0=start, bounds=([0.0, 0.0, 1e-3], [np.inf, np.inf, 3.0]), maxfev=2000
            )
    except (RuntimeError, ValueError):
        return late_training_loss(metrics)
    value = float(_power_law(np.array([epochs[-1] + epochs_ahead]), floor, scale, rate)[0])
    return value if math.isfinite(value) else late_training_loss(metrics)


def _negated(value: float | None) -> float | None:
    return None if value is None else -value


def _log(value: Any) -> float | None:
    value = _finite(value)
    return None if value is None or value <= 0 else math.log(value)


#: The candidate signals by name (higher predicts better).
SIGNALS: dict[str, Signal] = {
    "val_accuracy": lambda m: _finite(m.get("val_accuracy")),
    "val_loss": lambda m: _negated(_finite(m.get("val_loss"))),
    "training_loss": lambda m: _negated(_finite(((m.get("history") or {}).get("loss") or [None])[-1])),
    "late_training_loss": lambda m: _negated(late_training_loss(m)),
    "extrapolated_loss": lambda m: _negated(extrapolated_loss(m)),
    "params": lambda m: _log(m.get("params")),
    "macs": lambda m: _log(m.get("macs")),
}


def signal_values(metrics: Sequence[Mapping[str, Any]], names: Sequence[str] | None = None) -> dict[str, list]:
    """Every signal of :data:`SIGNALS` (or ``names``) for each trial's ``metrics``: ``{name: [value or None]}``.

    Raises:
        ValueError: naming an unknown signal.
    """
    names = list(SIGNALS) if names is None else list(names)
    unknown = [name for name in names if name not in SIGNALS]
    if unknown:
        raise ValueError(f"names must be signals of {sorted(SIGNALS)}, got {unknown}")
    return {name: [SIGNALS[name](m) for m in metrics] for name in names}
