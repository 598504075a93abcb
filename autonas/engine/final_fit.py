"""The final fit: the best network trained on with every labelled image, on one long annealed schedule.

A search's trials train on short schedules (a child: one restarted cosine
cycle of :attr:`~autonas.engine.recipe.Recipe.child_examples` examples), which
is what comparing many networks needs, not what a network to deploy needs.
The final fit trains the best trial on, from its weights, with the validation
images added to the training images, on one restarted cosine schedule: with a
time limit, as many epochs as fit the share of the limit the search keeps for
it (:attr:`~autonas.engine.loop.SearchBudget.final_fit_fraction`), without one,
the length its settings give. On Fashion-MNIST (10,000 images, 600 s on one
core) this is what a search needed to catch up with one network trained for
the whole budget (docs/search.md).

One policy, used twice: the search loop keeps the time for it while trials
run (:func:`final_fit_reserve`), and the classifier runs it once the search
ends (:func:`final_fit`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from autonas.engine.project import TrialRecord
from autonas.execution.executor import TrainingData
from autonas.execution.runner import TrainingSettings, train_graph
from autonas.graph import Graph

__all__ = ["final_fit", "final_fit_epochs", "final_fit_reserve"]

logger = logging.getLogger(__name__)

#: The start-up (building, compiling: what no deadline check interrupts) counts this many times the
#: best trial's. The final fit's is the least predictable part of it: in a CI run a 30-s search's
#: final fit took 15.8 s where its estimate, with the start-up counted once, was about 4.5 s.
_STARTUP_MARGIN = 2.0
#: Share of the time left that the final fit leaves for the export and saving after it, and for an
#: epoch slower than the best trial's pace predicts.
_SAVING_SHARE = 0.1


def final_fit_epochs(
    best: TrialRecord, planned: int, seconds: float | None = None, train_fraction: float = 1.0
) -> int:
    """Epochs of the final fit.

    Args:
        best: The trial to train on; its ``startup_seconds`` and
            ``seconds_per_epoch`` give the pace.
        planned: The most epochs (the final fit's settings).
        seconds: Seconds available (None: no time limit, ``planned`` epochs).
        train_fraction: Training examples / (training + validation examples):
            an epoch of the final fit is that much longer than the trial's.

    Returns:
        ``planned``, or with ``seconds`` as many epochs as fit after twice the
        start-up, at the best trial's pace on all the data (at most
        ``planned``; 0 when not one fits).
    """
    pace = best.metrics.get("seconds_per_epoch") or 0.0
    if seconds is None or pace <= 0.0:
        return int(planned)
    per_epoch = pace / max(train_fraction, 1e-3)
    available = seconds - _STARTUP_MARGIN * (best.metrics.get("startup_seconds") or 0.0)
    return int(min(planned, max(0.0, available // per_epoch)))


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
        deadline: ``time.monotonic()`` value by which it must end (None: no limit).
        seed: Seed of the initialisation and the data order.

    Returns:
        The trained graph; ``graph`` itself (the trial's weights) when not one
        epoch fits in the time left (the time limit is a promise) or the fit fails.
    """
    rows = len(data.x_train) + len(data.x_val)
    left = None
    if deadline is not None:
        left = (1.0 - _SAVING_SHARE) * (deadline - time.monotonic())
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
    settings = replace(settings, max_epochs=epochs)
    result = train_graph(graph, x, y, settings, epochs=epochs, deadline=deadline, seed=seed, measure=False)
    if result.status != "completed":
        logger.warning("final fit failed (%s); keeping the best trial's weights", result.error)
        return graph
    return result.graph
