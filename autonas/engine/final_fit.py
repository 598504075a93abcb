"""The final fit: the best trial fine-tuned on training + validation data, within the time left.

One policy, used twice: the search loop keeps time for it while trials run
(:func:`final_fit_reserve`), and the classifier runs it once the search ends
(:func:`final_fit`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

from autonas.engine.project import TrialRecord
from autonas.execution.executor import TrainingData
from autonas.execution.runner import TrainingSettings, train_graph
from autonas.graph import Graph

__all__ = ["final_fit", "final_fit_epochs", "final_fit_reserve", "final_fit_seconds"]

logger = logging.getLogger(__name__)

#: Margin on the estimated time of the final fit kept while the search runs.
_RESERVE_MARGIN = 1.3
#: The start-up (building, compiling: what no deadline check interrupts) counts this many times the
#: best trial's. The final fit's is the least predictable part of it: in a CI run a 30-s search's
#: final fit took 15.8 s where its estimate, with the start-up counted once, was about 4.5 s.
_STARTUP_MARGIN = 2.0


def final_fit_epochs(best: TrialRecord) -> int:
    """Epochs of the final fit on train + validation: a third of the best trial's best epoch, at least 1."""
    return max(1, int(round(best.metrics.get("best_epoch", best.epochs) / 3)))


def final_fit_seconds(best: TrialRecord, train_fraction: float = 1.0) -> float:
    """Estimated seconds of the final fit, on the safe side: twice the best trial's start-up (building,
    compiling), then its epochs at the best trial's pace, on all the data.

    Args:
        best: The trial to fine-tune.
        train_fraction: Training examples / (training + validation examples).
    """
    per_epoch = best.metrics.get("seconds_per_epoch", 0.0) / max(train_fraction, 1e-3)
    return _STARTUP_MARGIN * best.metrics.get("startup_seconds", 0.0) + per_epoch * final_fit_epochs(best)


def final_fit_reserve(
    history: Sequence[TrialRecord], fraction: float, total_seconds: float | None, rank: Callable
) -> float:
    """Seconds the search keeps for the final fit: :func:`final_fit_seconds` of the best trial (by
    ``rank``), with a margin.

    At most ``fraction`` of the time limit; before any trial completed, that much.
    """
    completed = [r for r in history if r.status == "completed"]
    if not completed:
        return 0.0 if total_seconds is None else fraction * total_seconds
    estimate = final_fit_seconds(max(completed, key=rank)) * _RESERVE_MARGIN
    if total_seconds is not None:
        estimate = min(estimate, fraction * total_seconds)
    return estimate


def final_fit(
    graph: Graph,
    best: TrialRecord,
    data: TrainingData,
    settings: TrainingSettings,
    deadline: float | None,
    seed: int | None = None,
) -> Graph:
    """Fine-tune the best trial's graph on training + validation data for :func:`final_fit_epochs`.

    Skipped (the trial's weights are kept) when the time left before
    ``deadline`` is less than the fine-tuning is estimated to take: the time
    limit is a promise. A failed fit keeps the trial's weights too.
    """
    if deadline is not None:
        needed = final_fit_seconds(best, len(data.x_train) / (len(data.x_train) + len(data.x_val)))
        left = deadline - time.monotonic()
        if left < needed:
            logger.info("no final fit: %.1f s left, it would take about %.1f s", left, needed)
            return graph
    if isinstance(data.x_train, np.memmap):  # on disk: read a batch at a time, never joined in memory
        x, y = [data.x_train, data.x_val], [data.y_train, data.y_val]
    else:
        x = np.concatenate([data.x_train, data.x_val])
        y = np.concatenate([data.y_train, data.y_val])
    result = train_graph(graph, x, y, settings, epochs=final_fit_epochs(best), deadline=deadline, seed=seed, measure=False)
    if result.status != "completed":
        logger.warning("final fit failed (%s); keeping the best trial's weights", result.error)
        return graph
    return result.graph
