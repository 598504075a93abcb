"""The final fit: the best network trained on with every labelled image, on one long annealed schedule.

A search's trials train on short schedules (a child: one restarted cosine
cycle of :attr:`~autonas.engine.recipe.Recipe.child_examples` examples), which
is what comparing many networks needs, not what a network to deploy needs.
The final fit trains the best trial on, from its weights, with the validation
images added to the training images, on one restarted cosine schedule: with a
time limit, until the limit (less a few seconds for saving): the schedule
anneals by the clock and training stops at the deadline, so the share of the
limit the search keeps for it
(:attr:`~autonas.engine.recipe.Recipe.final_fit_fraction`) and whatever
the search left unused are all spent training; without one, the length its
settings give. A search needs it to catch up with one network trained for
the whole budget (benchmarks/results/final_fit_share.md,
benchmarks/results/final_fit_clock.md).

One policy, used twice: the search loop keeps the time for it while trials
run (:func:`final_fit_reserve`), and the classifier runs it once the search
ends (:func:`final_fit`).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from autonas.backend import fast_dtype_policy
from autonas.engine.project import TrialRecord
from autonas.engine.recipe import startup_seconds
from autonas.execution.executor import TrainingData
from autonas.execution.runner import train_graph
from autonas.execution.settings import TrainingSettings
from autonas.graph import Graph

__all__ = ["BFLOAT16_SHARE", "final_fit", "final_fit_epochs", "final_fit_reserve", "final_fit_share"]

logger = logging.getLogger(__name__)

#: The start-up (building, compiling: what no deadline check interrupts) counts this many times the
#: best trial's: it is the least predictable part of a final fit (benchmarks/results/deadlines.md).
_STARTUP_MARGIN = 2.0
#: What the final fit leaves of the time left for the export and saving after it: this share of it,
#: at most :data:`_SAVING_SECONDS`; saving takes far less (benchmarks/results/final_fit_clock.md).
_SAVING_SHARE = 0.1
_SAVING_SECONDS = 5.0


def final_fit_epochs(
    best: TrialRecord, planned: int, seconds: float | None = None, train_fraction: float = 1.0
) -> int:
    """Epochs of the final fit: ``planned``, or 0 when a time limit leaves no room for one.

    With ``seconds`` the final fit trains until they are spent (the schedule
    anneals by the clock, the deadline stops it), at most ``planned`` epochs;
    it is skipped when not one epoch fits after twice the best trial's start-up.

    Args:
        best: The trial to train on; its ``startup_seconds`` and
            ``seconds_per_epoch`` give the pace.
        planned: The most epochs (the final fit's settings).
        seconds: Seconds available (None: no time limit).
        train_fraction: Training examples / (training + validation examples):
            an epoch of the final fit is that much longer than the trial's.

    Returns:
        ``planned``, or 0 when ``seconds`` hold no epoch at the best trial's
        pace on all the data after twice its start-up.
    """
    pace = best.metrics.get("seconds_per_epoch") or 0.0
    if seconds is None or pace <= 0.0:
        return int(planned)
    per_epoch = pace / max(train_fraction, 1e-3)
    available = seconds - _STARTUP_MARGIN * startup_seconds([best])
    return int(planned) if available >= per_epoch else 0


#: The part of its float32 share of the time limit a final fit in mixed bfloat16 keeps: about the
#: epochs of a float32 one, the rest to the search's trials (benchmarks/results/bfloat16_final_fit.md).
BFLOAT16_SHARE = 0.75


def final_fit_share(float32_share: float, precision: str) -> float:
    """Share of the time limit kept for a final fit in ``precision`` (``TrainingSettings.precision``).

    A final fit in mixed bfloat16 keeps :data:`BFLOAT16_SHARE` of ``float32_share``;
    ``"auto"`` is resolved here, in the process that runs the final fit.
    """
    resolved = fast_dtype_policy() if precision == "auto" else precision
    return float32_share * (BFLOAT16_SHARE if resolved == "mixed_bfloat16" else 1.0)


def final_fit_reserve(fraction: float, total_seconds: float | None) -> float:
    """Seconds the search keeps for the final fit: ``fraction`` of the time limit (0 without one)."""
    return 0.0 if total_seconds is None else fraction * total_seconds


def final_fit(
    graph: Graph,
    best: TrialRecord,
    data: TrainingData,
    settings: TrainingSettings,
    deadline: float | None,
    seed: int | None = None,
) -> Graph:
    """Train the best trial's graph on training + validation data for :func:`final_fit_epochs`.

    Args:
        graph: The best trial's graph, with its weights.
        best: Its record (the pace of its training).
        data: The search's data; the final fit trains on both parts.
        settings: The final fit's training (``max_epochs``: the most epochs).
        deadline: ``time.monotonic()`` value by which it must end (None: no
            limit); it trains until then, less the time saving needs.
        seed: Seed of the initialisation and the data order.

    Returns:
        The trained graph; ``graph`` itself (the trial's weights) when not one
        epoch fits in the time left (the time limit is a promise) or the fit fails.
    """
    rows = len(data.x_train) + len(data.x_val)
    left = None
    if deadline is not None:
        remaining = max(0.0, deadline - time.monotonic())
        left = remaining - min(_SAVING_SECONDS, _SAVING_SHARE * remaining)
        deadline = time.monotonic() + left
    epochs = final_fit_epochs(best, settings.max_epochs, left, len(data.x_train) / max(1, rows))
    if epochs < 1:
        logger.info("no final fit: %.1f s left is not enough for an epoch after the start-up", left)
        return graph
    if isinstance(data.x_train, np.memmap):  # on disk: read a batch at a time, never joined in memory
        x, y = [data.x_train, data.x_val], [data.y_train, data.y_val]
    else:
        x = np.concatenate([data.x_train, data.x_val])
        y = np.concatenate([data.y_train, data.y_val])
    result = train_graph(graph, x, y, settings, epochs=epochs, deadline=deadline, seed=seed, measure=False)
    if result.status != "completed":
        logger.warning("final fit failed (%s); keeping the best trial's weights", result.error)
        return graph
    return result.graph
