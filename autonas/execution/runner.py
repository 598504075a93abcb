"""Training one trial: build the graph's Keras model, fit it, measure it.

The runner knows nothing about how the graph was chosen. By default a trial
trains a fixed number of epochs on a cosine schedule that ends annealed (the
learning rate falls to zero), and its score is the end-of-schedule snapshot:
trials trained for the same number of epochs are compared at equal budgets.
With ``schedule="constant"`` it trains at one learning rate with early
stopping instead (patience counts epochs in which neither the validation loss
fell nor the validation accuracy rose; the epoch of best validation accuracy
is restored). Either way it stops at a wall-clock deadline and turns failures
(NaN loss, out of memory, any other exception) into a failed result, with its
:class:`~autonas.execution.failures.FailureKind`, instead of raising.

Its parts live beside it: how a trial trains (:mod:`.settings`), compiling
the model (:mod:`.compiling`), the schedule (:mod:`.schedule`), the data
handed to ``fit`` (:mod:`.inputs`), timing the costs (:mod:`.costs`), why a
trial failed (:mod:`.failures`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autonas.backend import fast_dtype_policy, import_keras_quietly, is_out_of_memory, set_random_seed
from autonas.errors import FatalError
from autonas.execution.compiling import compile_for_training
from autonas.execution.costs import measured_costs, training_deadline
from autonas.execution.failures import FailureKind, error_text, traceback_text
from autonas.execution.inputs import count_rows, data_fits, example_rows, fit_inputs, steps_per_epoch, training_subset
from autonas.execution.schedule import cosine_annealing, steps_per_execution_for
from autonas.execution.settings import TrainingSettings
from autonas.graph import Graph

__all__ = ["EpochListener", "TrialResult", "train_graph", "training_pace"]

logger = logging.getLogger(__name__)


@dataclass
class TrialResult:
    """What training one graph gave.

    Attributes:
        status: ``"completed"`` or ``"failed"``.
        graph: The graph with its trained weights (None when failed).
        metrics: ``val_accuracy``, ``val_loss`` (of the restored best epoch),
            ``params``, ``macs``, ``stopped_at_time_limit`` (whether the
            deadline cut training short) and, when measured, the costs of
            :func:`autonas.objectives.measure_costs`.
        epochs: Epochs run.
        seconds: Wall-clock training time.
        error: Why it failed, for people (at most
            :data:`~autonas.execution.failures.ERROR_CHARS` characters).
        failure_kind: Why it failed, for code; a failed result given none
            (or a name) gets :attr:`FailureKind.OTHER` (or that kind).
    """

    status: str
    graph: Graph | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0
    error: str | None = None
    failure_kind: FailureKind | None = None

    def __post_init__(self) -> None:
        self.failure_kind = FailureKind.parse(self.failure_kind)
        if self.status == "failed" and self.failure_kind is None:
            self.failure_kind = FailureKind.OTHER


#: ``on_epoch(epochs_done, epochs_planned)``: called when training starts (0) and after every epoch.
EpochListener = Callable[[int, int], None]


def training_pace(
    seconds: float,
    epochs: int,
    batches: int,
    steps: int | None,
    after_first_batch: float | None,
    first_batches: int = 1,
) -> tuple[float, float]:
    """``(seconds_per_epoch, startup_seconds)`` of a training run, compilation kept apart.

    The first execution (``first_batches`` batches, one callback call)
    carries the one-off compilation of the training step (seconds under JAX,
    even on CPU), so the pace is taken from the batches after it (validation
    passes included) and scaled to ``steps`` batches an epoch; what the pace
    does not explain (building the model, compiling) is the start-up, paid
    once by every training run. With no batch after the first execution, or
    without ``steps``, the pace is ``seconds / epochs`` and the start-up 0.

    Args:
        seconds: The whole training time (model building and fitting).
        epochs: Epochs run (a cut-off last epoch counts as one).
        batches: Training batches run.
        steps: Batches in one epoch.
        after_first_batch: Seconds from the end of the first execution to the end of fitting.
        first_batches: Batches of the first execution (``steps_per_execution``).
    """
    later = batches - max(1, first_batches)
    if later >= 1 and steps and after_first_batch is not None:
        per_batch = after_first_batch / later
        return per_batch * steps, max(0.0, seconds - per_batch * batches)
    return seconds / max(epochs, 1), 0.0


def train_graph(
    graph: Graph,
    x: np.ndarray,
    y: np.ndarray,
    settings: TrainingSettings,
    *,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int | None = None,
    deadline: float | None = None,
    seed: int | None = None,
    measure: bool = True,
    timed: bool | str = True,
    on_epoch: EpochListener | None = None,
) -> TrialResult:
    """Train ``graph`` (from its weights, if any) and measure it.

    Args:
        graph: The architecture; nodes without weights start from Keras's initialisation.
        x: Preprocessed float32 images (N, H, W, C), or a list of such arrays
            to train on as one (read a batch at a time, like memory-mapped
            arrays larger than :data:`~autonas.execution.batches.STREAM_BYTES`).
        y: Class indices (a list of arrays when ``x`` is a list).
        settings: Optimiser, learning rate, batch size, epoch cap, patience.
        validation: ``(x_val, y_val)``, scored each epoch (with the
            ``"constant"`` schedule: early stopping, the best epoch restored).
        epochs: Epochs to run (default ``settings.max_epochs``).
        deadline: ``time.monotonic()`` value at which training stops early.
        seed: Seed for Keras's initialisation and shuffling.
        measure: Add :func:`autonas.objectives.measure_costs` to the metrics.
        timed: With ``measure``, time the trained model (latency, measured
            energy; a tenth of the time left, at most 10 s, is kept for it);
            False: graph costs and the energy estimate only; a runtime name
            (``"onnxruntime"``, ``"litert"``): ``latency_ms`` measured there
            (a model it cannot take fails the trial).
        on_epoch: Told ``(epochs_done, epochs_planned)`` when training starts
            and after each epoch (a progress display; its errors are ignored).

    Returns:
        A :class:`TrialResult`; failures of the architecture (out of memory, NaN loss, an error while
        fitting) are reported in it with their kind, not raised, the traceback under ``metrics["traceback"]``.

    Raises:
        autonas.errors.FatalError: when the graph's Keras model cannot be built
            (other than for lack of memory): a bug, not a bad architecture.
    """
    import_keras_quietly()
    start = time.perf_counter()
    train_deadline = training_deadline(deadline, measure and bool(timed))
    if seed is not None:
        set_random_seed(seed)
    precision = fast_dtype_policy() if settings.precision == "auto" else settings.precision
    model = _build_model(graph, start, precision)
    if isinstance(model, TrialResult):
        return model
    all_rows = count_rows(x)
    x, y = training_subset(x, y, settings.subset_rows, seed)
    try:
        history, guard = _fit(
            model, x, y, settings, validation, epochs or settings.max_epochs, seed, train_deadline, on_epoch
        )
    except Exception as error:  # noqa: BLE001 - a failed trial is recorded (with its traceback), the search goes on
        return _failed_fit(error, start, graph, [(x, y), validation])
    fit_end = time.perf_counter()
    seconds = fit_end - start
    epochs_run = len(history.history.get("loss", []))
    if (failed := _unscored(guard, validation is not None)) is not None:
        return replace(failed, epochs=epochs_run, seconds=seconds)
    trained = graph.copy().update_weights(model)
    metrics = _training_metrics(trained, history.history, guard, validation is not None, seconds, fit_end, precision)
    _report_subset(metrics, count_rows(x), all_rows)
    if measure:
        costs = measured_costs(trained, model, seconds, deadline, timed, precision)
        if isinstance(costs, str):  # not deployable where its latency must be measured
            return TrialResult("failed", error=costs, epochs=epochs_run, seconds=seconds,
                               metrics={"traceback": traceback_text()}, failure_kind=FailureKind.CONVERSION)
        metrics.update(costs)
    return TrialResult("completed", trained, metrics, epochs_run, seconds)


def _unscored(guard, validated: bool) -> TrialResult | None:
    """The failed trial when training left no epoch to score (a NaN loss, or stopped before an epoch ended)."""
    if guard.reason:
        return TrialResult("failed", error=guard.reason, failure_kind=FailureKind.NON_FINITE_LOSS)
    if validated and guard.best_epoch < 0:
        # no epoch ended, or every epoch's validation figures were NaN
        kind = FailureKind.DEADLINE if guard.timed_out else FailureKind.NON_FINITE_LOSS
        return TrialResult("failed", error="stopped before the first epoch ended", failure_kind=kind)
    return None


def _failed_fit(error: Exception, start: float, graph: Graph, data: list) -> TrialResult:
    """The failed trial for an error raised while fitting on ``data`` (``(x, y)`` pairs; None: none).

    Out of memory is named as such; an error on data that do not fit the
    network (:func:`~autonas.execution.inputs.data_fits`) is
    :attr:`FailureKind.DATA`, any other :attr:`FailureKind.OTHER`.
    """
    out_of_memory = is_out_of_memory(error)
    reason = f"out of memory: {error}" if out_of_memory else f"{type(error).__name__}: {error}"
    logger.warning("trial failed: %s", reason)
    metrics = {"traceback": traceback_text()}
    kind = FailureKind.OUT_OF_MEMORY if out_of_memory else _fit_failure_kind(graph, data)
    return TrialResult("failed", error=error_text(reason), seconds=time.perf_counter() - start, metrics=metrics,
                       failure_kind=kind)


def _fit_failure_kind(graph: Graph, data: list) -> FailureKind:
    """:attr:`FailureKind.DATA` when some of ``data`` does not fit ``graph``'s input or classes, else OTHER."""
    try:
        shape, classes = graph.input_shape, graph.output_shape[-1]
        fits = all(data_fits(shape, classes, *pair) for pair in data if pair is not None)
    except Exception:  # noqa: BLE001 - a diagnosis only: the trial has failed either way
        logger.debug("checking the data of a failed trial failed", exc_info=True)
        return FailureKind.OTHER
    return FailureKind.OTHER if fits else FailureKind.DATA


def _report_subset(metrics: dict, rows: int, all_rows: int) -> None:
    """With a training subset: its size, and the pace of an epoch over all the images, as every trial reports it."""
    if rows < all_rows:
        metrics["seconds_per_epoch"] *= all_rows / rows
        metrics["subset_rows"] = rows


def _build_model(graph: Graph, start: float, precision: str = "float32"):
    """The graph's Keras model for training in ``precision`` (a dtype policy); a failed
    :class:`TrialResult` when memory runs out.

    Raises:
        autonas.errors.FatalError: for any other error (a bug, not a bad architecture).
    """
    try:
        return graph.to_keras(for_training=True, dtype_policy=None if precision == "float32" else precision)
    except Exception as error:  # noqa: BLE001 - sorted below: out of memory fails the trial, the rest is ours
        if is_out_of_memory(error):
            return TrialResult("failed", error=error_text(f"out of memory: {error}"),
                               seconds=time.perf_counter() - start, metrics={"traceback": traceback_text()},
                               failure_kind=FailureKind.OUT_OF_MEMORY)
        raise FatalError(
            f"building the Keras model of a graph failed; this is a bug in autonas, not a bad architecture:\n"
            f"{traceback_text()}"
        ) from error


def _fit(model, x, y, settings: TrainingSettings, validation, epochs: int, seed, deadline, on_epoch):
    """Compile and fit ``model`` for ``epochs`` (cosine schedule or early stopping); ``(history, guard)``."""
    steps = steps_per_epoch(x, settings.batch_size)
    per_execution = steps_per_execution_for(steps)
    compile_for_training(model, settings.learning_rate, settings.optimizer, per_execution, example_rows(x, y),
                         label_smoothing=settings.label_smoothing)
    if settings.adversarial is not None:
        settings.adversarial.apply(model, seed)
    from autonas.execution.guard import TrialGuard

    guard = TrialGuard(settings.patience, deadline, validation is not None, on_epoch, keep_best=settings.early_stopping)
    callbacks = [guard]
    if settings.schedule == "cosine":
        callbacks.insert(0, cosine_annealing(settings.learning_rate, steps * epochs, deadline))
    history = model.fit(
        **fit_inputs(x, y, validation, settings.batch_size, seed, per_execution),
        epochs=epochs,
        callbacks=callbacks,
        verbose=0,
    )
    return history, guard


def _training_metrics(
    trained: Graph, history: dict, guard, validated: bool, seconds: float, fit_end: float, precision: str
) -> dict[str, Any]:
    """Size, the scored epoch's validation figures, the curves, the pace, the precision and how training ended."""
    metrics: dict[str, Any] = {"params": trained.num_params(), "macs": trained.macs(), "precision": precision}
    if validated:
        metrics["val_loss"] = float(history["val_loss"][guard.best_epoch])
        metrics["val_accuracy"] = float(history["val_accuracy"][guard.best_epoch])
        metrics["best_epoch"] = guard.best_epoch + 1
    metrics["history"] = {  # per-epoch curves (TensorBoard logs, reports)
        key: [round(float(v), 6) for v in values] for key, values in history.items()
        if key in ("loss", "accuracy", "val_loss", "val_accuracy")
    }
    if guard.loss_curve:  # within-epoch training loss (learning-curve signals: autonas.search.signals)
        metrics["loss_curve"] = [[round(at, 4), round(loss, 6)] for at, loss in guard.loss_curve]
    metrics["seconds_per_epoch"], metrics["startup_seconds"] = training_pace(
        seconds, len(history.get("loss", [])), guard.batches_run, (guard.params or {}).get("steps"),
        None if guard.first_batch_end is None else fit_end - guard.first_batch_end, guard.first_batches,
    )
    metrics["stopped_at_time_limit"] = guard.timed_out
    if guard.timed_out and guard.epoch_fraction < 1.0:
        metrics["last_epoch_fraction"] = guard.epoch_fraction
    return metrics
