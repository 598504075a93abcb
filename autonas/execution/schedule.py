"""When a trial's training steps run and at what learning rate: steps per execution, cosine annealing."""

from __future__ import annotations

import math
import time

from autonas.backend import capabilities, import_keras_quietly

__all__ = ["CHECKS_PER_EPOCH", "cosine_annealing", "steps_per_execution_for"]

#: Callback calls an epoch keeps at least: the deadline and NaN checks run there. Also what keeps
#: short epochs at one step a call: under TensorFlow the multi-step function costs more to trace,
#: which a few epochs of fewer than ~100 steps do not win back (benchmarks/results/steps_per_execution.md).
CHECKS_PER_EPOCH = 50


def steps_per_execution_for(steps_per_epoch: int | None, backend: str | None = None) -> int:
    """Training steps Keras runs between two callback calls, for an epoch of ``steps_per_epoch`` batches.

    As many as the backend allows (:attr:`autonas.backend.Capabilities.max_steps_per_execution`:
    the host's cost per step falls, a GPU runs ahead), but never fewer than
    :data:`CHECKS_PER_EPOCH` calls an epoch, so a trial still notices its
    deadline or a NaN loss within a fiftieth of an epoch (and an epoch of
    fewer than 100 steps keeps one step a call). 1 when the epoch's length
    is unknown.
    """
    if not steps_per_epoch or steps_per_epoch <= 0:
        return 1
    return max(1, min(capabilities(backend).max_steps_per_execution, int(steps_per_epoch) // CHECKS_PER_EPOCH))


def cosine_annealing(learning_rate: float, total_steps: int, deadline: float | None):
    """A callback setting the learning rate on half a cosine from ``learning_rate`` to zero.

    The schedule's progress is the share of ``total_steps`` done or, when a
    ``deadline`` (``time.monotonic()``) is given, the share of the time from
    the first step's end (compilation left out) to the deadline, whichever is
    further: a trial that the clock cuts short still ends annealed, not at a
    high rate (budgeted training). The rate is set before every execution of
    steps (under JAX, Keras writes its training state back to the variables
    when a callback reads ``self.model``, so the assignment reaches the step).

    Returns:
        A ``keras.callbacks.Callback``.
    """
    import_keras_quietly()
    import keras

    class _CosineAnnealing(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.epoch = 0
            self.started: float | None = None  # monotonic() after the first execution

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            params = self.params or {}
            steps, epochs = params.get("steps"), params.get("epochs")
            # the steps fit runs, when it knows them (under JAX an epoch may be a whole number of full batches)
            total = steps * epochs if steps and epochs else total_steps
            steps = steps or max(1, total_steps // max(1, epochs or 1))
            progress = (self.epoch * steps + batch) / max(1, total)
            if deadline is not None and self.started is not None:
                progress = max(progress, (time.monotonic() - self.started) / max(1e-6, deadline - self.started))
            progress = min(1.0, max(0.0, progress))
            self.model.optimizer.learning_rate = learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))

        def on_train_batch_end(self, batch, logs=None):
            if self.started is None:
                self.started = time.monotonic()

    return _CosineAnnealing()
