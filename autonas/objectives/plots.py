"""Plots of the trade-off between accuracy and costs (matplotlib, an optional dependency)."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autonas.objectives.latency import latency_label

__all__ = ["COSTS", "attack_label", "plot_trials", "pyplot", "trials_figure"]


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend.

    Raises:
        ImportError: without matplotlib (``pip install autonas[plot]``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install autonas[plot]") from error
    return plt


#: Costs a trials figure can put on its x axis (robust accuracy: higher is better, the others lower).
COSTS = ("energy_mj", "latency_ms", "robust_accuracy")


def trials_figure(records: Sequence[Any], front: Collection[int], cost: str = "energy_mj"):
    """A matplotlib figure of the completed trials' validation accuracy against a cost: energy per inference
    (default), batch-1 latency (``cost="latency_ms"``, labelled with the runtime that measured it) or the
    accuracy under attack (``cost="robust_accuracy"``, labelled with the attack).

    Marker area is proportional to the parameter count; the trials whose ids
    are in ``front`` (the Pareto front) are highlighted.

    Args:
        records: Trial records (``id``, ``status``, ``metrics`` with
            ``val_accuracy``, ``params`` and the cost).
        front: Ids of the Pareto-front trials.
        cost: ``"energy_mj"``, ``"latency_ms"`` or ``"robust_accuracy"``.

    Raises:
        ValueError: for another ``cost``.
        ImportError: without matplotlib (``pip install autonas[plot]``).
    """
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {list(COSTS)}, got {cost!r}")
    plt = pyplot()
    done = [r for r in records if r.status == "completed"]
    largest = max((r.metrics["params"] for r in done), default=1)
    figure, axes = plt.subplots(figsize=(6, 4.5))
    for members, style in ((False, {"color": "0.6", "label": "trials"}), (True, {"color": "C3", "label": "Pareto front"})):
        chosen = [r for r in done if (r.id in front) == members]
        if chosen:
            axes.scatter(
                [np.nan if r.metrics.get(cost) is None else r.metrics[cost] for r in chosen],
                [r.metrics["val_accuracy"] for r in chosen],
                s=[20 + 200 * r.metrics["params"] / largest for r in chosen],
                alpha=0.8,
                **style,
            )
    if cost == "latency_ms":
        axes.set_xlabel(f"batch-1 {latency_label(done) or 'latency (ms, not measured)'}")
    elif cost == "robust_accuracy":
        axes.set_xlabel(f"validation accuracy under attack ({attack_label(done) or 'not measured'})")
    else:
        sources = sorted({str(r.metrics.get("energy_source", "?")) for r in done})
        axes.set_xlabel(f"energy per inference (mJ, {', '.join(sources)})")
    axes.set_ylabel("validation accuracy")
    axes.set_title("autonas trials (marker area: parameters)")
    if done:
        axes.legend()
    figure.tight_layout()
    return figure


def attack_label(records: Sequence[Any]) -> str | None:
    """What measured the trials' ``robust_accuracy``, e.g. ``"pgd, ε = 0.1, 10 steps"`` (None: nothing)."""
    for record in records:
        metrics = record.metrics
        if metrics.get("robust_accuracy") is not None:
            steps = int(metrics.get("attack_steps", 1))
            return f"{metrics.get('attack', '?')}, ε = {metrics.get('attack_epsilon', float('nan')):.3g}, " \
                f"{steps} step{'s' if steps != 1 else ''}"
    return None


def plot_trials(
    records: Sequence[Any], front: Collection[int], path: str | os.PathLike, cost: str = "energy_mj"
) -> Path:
    """Write a PNG of :func:`trials_figure`: validation accuracy against a cost, the Pareto front highlighted.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ImportError: without matplotlib (``pip install autonas[plot]``).
    """
    figure = trials_figure(records, front, cost)
    path = Path(path)
    figure.savefig(path, dpi=120)
    pyplot().close(figure)
    return path
