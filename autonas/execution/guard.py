"""The callback that guards a trial's training, and the best-epoch record it shares with keras-tuner's trials.

Imported by the runner only once a model trains (it imports Keras), so the
search process stays free of it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from autonas.backend import import_keras_quietly

import_keras_quietly()

import keras  # noqa: E402

__all__ = ["CURVE_POINTS_PER_EPOCH", "BestEpoch", "Patience", "TrialGuard"]

logger = logging.getLogger(__name__)

#: Points of the training-loss curve a trial records an epoch (the learning-curve signals of
#: :mod:`autonas.search.signals` read it: a child trains one epoch, too few for per-epoch curves).
CURVE_POINTS_PER_EPOCH = 10


def finite_or(value: Any, default: float) -> float:
    """``value`` as a float, ``default`` for None, NaN or infinity."""
    value = default if value is None else float(value)
    return value if math.isfinite(value) else default


class BestEpoch:
    """The best epoch so far by a score (higher is better, any comparable value) and its weights.

    Args:
        floor: A score an epoch must beat to be kept (None: the first epoch is kept whatever it scores).

    Attributes:
        epoch: Index of the best epoch (-1 before any).
        score: Its score (``floor`` before any).
        weights: Its weights, as ``model.get_weights()`` returned them (None before any).
    """

    def __init__(self, floor: Any = None) -> None:
        self.epoch, self.score, self.weights = -1, floor, None

    def offer(self, epoch: int, score: Any, model: keras.Model) -> bool:
        """Keep ``epoch`` if it scores better than the best so far; whether it was kept."""
        if self.score is not None and not score > self.score:
            return False
        self.epoch, self.score, self.weights = epoch, score, model.get_weights()
        return True

    def restore(self, model: keras.Model) -> None:
        """Put the best epoch's weights back into ``model`` (nothing if no epoch was kept)."""
        if self.weights is not None:
            model.set_weights(self.weights)


class Patience:
    """Counts epochs without progress: progress is a validation loss lower *or* an accuracy higher than ever.

    On small data the loss is noisy (and rises with over-confident predictions
    while the accuracy still climbs), so stopping on the loss alone ended
    trainings far below what they reach (benchmarks/initial_training.py).
    """

    def __init__(self, patience: int) -> None:
        self.patience, self.wait = int(patience), 0
        self.best_loss, self.best_accuracy = math.inf, -math.inf

    def exhausted(self, loss: float, accuracy: float) -> bool:
        """Record an epoch; whether ``patience`` epochs in a row made no progress."""
        progress = loss < self.best_loss or accuracy > self.best_accuracy
        self.best_loss, self.best_accuracy = min(self.best_loss, loss), max(self.best_accuracy, accuracy)
        self.wait = 0 if progress else self.wait + 1
        return self.wait >= self.patience


class TrialGuard(keras.callbacks.Callback):
    """Stops a trial on a NaN loss or at its deadline, chooses the epoch it keeps, counts its batches.

    With validation data and ``keep_best``, the epoch kept is the one of
    highest validation accuracy (ties: lower validation loss) and training
    stops after ``patience`` epochs without progress (:class:`Patience`);
    without ``keep_best`` (a fixed schedule) the last epoch is the trial's
    snapshot and nothing stops it early but NaN and the deadline.

    Args:
        patience: Epochs without progress before stopping (with ``keep_best``).
        deadline: ``time.monotonic()`` value after which training stops (None: none).
        validated: Whether ``fit`` has validation data (epochs are chosen by it).
        on_epoch: Told ``(epochs_done, epochs_planned)`` at the start and after
            each epoch (a progress display; its errors are ignored).
        keep_best: Restore the best epoch and stop on patience (the ``"constant"`` schedule).

    Attributes:
        reason: Why training failed (NaN loss), None otherwise.
        timed_out: Whether the deadline stopped it; ``epoch_fraction`` of the last epoch then ran.
        best_epoch: The epoch kept (-1 before the first ended).
        batches_run: Batches trained, every one counted even when several run between two calls.
        first_batch_end, first_batches: ``time.perf_counter()`` after the first
            call (building and compiling) and the batches it covered.
        loss_curve: ``(epochs done, mean training loss since the previous point)``,
            :data:`CURVE_POINTS_PER_EPOCH` points an epoch (fewer when calls are fewer).
    """

    def __init__(
        self,
        patience: int,
        deadline: float | None,
        validated: bool,
        on_epoch: Callable[[int, int], None] | None = None,
        keep_best: bool = True,
    ) -> None:
        super().__init__()
        self.deadline, self.validated, self.on_epoch, self.keep_best = deadline, validated, on_epoch, keep_best
        self.patience = Patience(patience)
        self.best = BestEpoch(floor=(-math.inf, -math.inf))  # (validation accuracy, -loss): NaN figures never win
        self.last_epoch = -1
        self.reason: str | None = None
        self.timed_out = False
        self.epoch_fraction = 1.0
        self.batches_run = 0
        self.batches_before_epoch = 0
        self.first_batch_end: float | None = None
        self.first_batches = 1
        self.loss_curve: list[tuple[float, float]] = []
        self._epoch = 0
        self._curve_mark = (0, 0.0)  # (the epoch's batches, their summed loss) at the last point

    @property
    def best_epoch(self) -> int:
        return self.best.epoch if self.keep_best else self.last_epoch

    # ------------------------------------------------------------------ batches: counting, NaN, deadline
    def on_epoch_begin(self, epoch, logs=None):
        self.batches_before_epoch = self.batches_run
        self._epoch, self._curve_mark = epoch, (0, 0.0)

    def _record_loss(self, done: int, steps: int, loss: float) -> None:
        """Add a curve point once ``done`` of the epoch's ``steps`` batches pass the next tenth.

        Keras reports the epoch's running mean loss, so a point's own mean comes from the sums.
        """
        marked, marked_sum = self._curve_mark
        points = marked * CURVE_POINTS_PER_EPOCH // steps  # tenths of the epoch already recorded
        if done <= marked or done * CURVE_POINTS_PER_EPOCH < (points + 1) * steps:
            return
        total = loss * done
        self.loss_curve.append((self._epoch + done / steps, (total - marked_sum) / (done - marked)))
        self._curve_mark = (done, total)

    def on_train_batch_end(self, batch, logs=None):
        # ``batch``: the epoch's index of the last of the steps run since the previous call
        steps = (self.params or {}).get("steps")
        done = batch + 1 if not steps else min(batch + 1, steps)
        self.batches_run = self.batches_before_epoch + done
        if self.first_batch_end is None:
            self.first_batch_end = time.perf_counter()
            self.first_batches = max(1, self.batches_run)
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.reason = "loss became NaN or infinite"
            self.model.stop_training = True
            return
        if loss is not None and steps:
            self._record_loss(done, steps, float(loss))
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            self.model.stop_training = True
            if steps:
                self.epoch_fraction = done / steps

    # ------------------------------------------------------------------ epochs: progress, the epoch kept, patience
    def on_train_begin(self, logs=None):
        self._tell(0)

    def _tell(self, epochs_done: int) -> None:
        if self.on_epoch is not None:
            try:
                self.on_epoch(epochs_done, int((self.params or {}).get("epochs") or 0))
            except Exception as error:  # noqa: BLE001 - a progress display never fails a trial
                logger.debug("epoch listener failed: %s", error)

    def on_epoch_end(self, epoch, logs=None):
        self._tell(epoch + 1)
        if self.reason or not self.validated:
            return
        self.last_epoch = epoch
        if not self.keep_best:
            return
        loss = finite_or((logs or {}).get("val_loss"), math.inf)
        accuracy = finite_or((logs or {}).get("val_accuracy"), -math.inf)
        self.best.offer(epoch, (accuracy, -loss), self.model)
        if self.patience.exhausted(loss, accuracy):
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.keep_best:
            self.best.restore(self.model)
