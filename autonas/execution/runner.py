"""Training one trial: build the graph's Keras model, fit it, measure it.

The runner knows nothing about how the graph was chosen. By default a trial
trains a fixed number of epochs on a cosine schedule that ends annealed (the
learning rate falls to zero), and its score is the end-of-schedule snapshot:
trials trained for the same number of epochs are compared at equal budgets.
With ``schedule="constant"`` it trains at one learning rate with early
stopping instead (patience counts epochs in which neither the validation loss
fell nor the validation accuracy rose; the epoch of best validation accuracy
is restored). Either way it stops at a wall-clock deadline and turns failures
(NaN loss, out of memory, any other exception) into a failed result instead
of raising.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from autonas.backend import (
    compiles_each_batch_shape,
    fast_dtype_policy,
    import_keras_quietly,
    is_out_of_memory,
    max_steps_per_execution,
    set_random_seed,
    shuffled_batches,
)
from autonas._checks import check_int
from autonas.errors import FatalError
from autonas.execution.batches import array_batches, should_stream
from autonas.graph import Graph

__all__ = [
    "FINE_TUNE_FACTOR",
    "TrainingSettings",
    "TrialResult",
    "build_training_state",
    "compile_for_training",
    "smoothed_sparse_crossentropy",
    "steps_per_execution_for",
    "training_subset",
    "train_graph",
]

#: A morphed child's learning rate as a fraction of the initial one (docs/morphism.md, "Fine-tuning a child").
FINE_TUNE_FACTOR = 0.1


def compile_for_training(
    model,
    learning_rate: float,
    optimizer: str = "adam",
    steps_per_execution: int = 1,
    example=None,
    label_smoothing: float = 0.0,
) -> None:
    """Compile ``model`` the way every trial trains: the optimiser at ``learning_rate``,
    sparse categorical cross-entropy on class indices, accuracy as the metric.

    Args:
        model: A Keras model.
        learning_rate: The optimiser's (starting) learning rate.
        optimizer: A Keras optimiser's name.
        steps_per_execution: Training steps between two callback calls (see
            :func:`steps_per_execution_for`).
        example: ``(images, labels)``, a few training rows: with them the
            optimiser's and the metrics' variables are made now
            (:func:`_build_training_state`), not while the training step is
            first traced.
        label_smoothing: With more than 0, the cross-entropy's target gives
            the true class ``1 - label_smoothing`` and spreads the rest evenly
            over all classes (:func:`smoothed_sparse_crossentropy`).
    """
    import_keras_quietly()
    import keras

    model.compile(
        optimizer=keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}}),
        loss=smoothed_sparse_crossentropy(label_smoothing) if label_smoothing else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    if example is not None:
        _build_training_state(model, *example)


def smoothed_sparse_crossentropy(label_smoothing: float) -> Callable:
    """Categorical cross-entropy on class indices, with labels smoothed by ``label_smoothing``.

    Keras's sparse cross-entropy has no label smoothing; this one-hot encodes
    the indices and uses the categorical one's, on every backend.

    Args:
        label_smoothing: In [0, 1): the target is ``1 - label_smoothing`` on
            the true class plus ``label_smoothing / classes`` on every class.

    Returns:
        A loss ``(y_true, y_pred) -> per-example loss`` for ``model.compile``,
        ``y_pred`` being class probabilities.
    """
    _check_label_smoothing(label_smoothing)
    import_keras_quietly()
    import keras
    from keras import ops

    def loss(y_true, y_pred):
        classes = ops.shape(y_pred)[-1]
        target = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(target, y_pred, label_smoothing=float(label_smoothing))

    loss.__name__ = "smoothed_sparse_crossentropy"
    return loss


def _check_label_smoothing(value) -> None:
    """Raise ValueError unless ``value`` is a number (not a bool) in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1), got {value!r}")


def _build_training_state(model, images, labels) -> None:
    """Make ``model``'s optimiser and metric variables from a few example rows, before ``fit``.

    Without a distribution strategy, Keras's TensorFlow trainer makes them
    while it first traces the training step; a ``tf.function`` that made
    variables on its first trace traces a second time, so every trial traced
    its training step twice (``benchmarks/trace_once.py``: building first
    about halves a trial's start-up, 0.8–3.6 s a trial). The other backends'
    trainers build the same way at the start of ``fit``. This uses Keras's
    ``_symbolic_build`` (symbolic: nothing is computed); where a Keras
    version lacks it or it fails, the variables are made in ``fit`` as before.
    """
    build = getattr(model, "_symbolic_build", None)
    if build is None:
        return
    try:
        build(data_batch=(images, labels, None))
    except Exception:  # noqa: BLE001 - an optimisation only: fit builds what is missing
        logger.debug("building the training state before fit failed", exc_info=True)


def build_training_state(model, x, y) -> None:
    """Build a compiled ``model``'s optimiser and metric variables from the first rows of ``x`` and ``y``
    before ``fit`` (so that TensorFlow traces the training step once, not twice); inputs other than
    arrays (a dataset, a generator) are left to ``fit``, which builds as before.
    """
    if not all(hasattr(v, "shape") and hasattr(v, "__getitem__") for v in (x, y)):
        return
    try:
        example = _example_rows(x, y)
    except Exception:  # noqa: BLE001 - an optimisation only: fit builds what is missing
        logger.debug("reading example rows to build the training state failed", exc_info=True)
        return
    if len(example[0]):
        _build_training_state(model, *example)


#: Callback calls an epoch keeps at least: the deadline and NaN checks run there. Also what keeps
#: short epochs at one step a call: under TensorFlow the multi-step function costs more to trace
#: (about 0.8 s, estimated from 3-epoch trainings of the initial CNN at 100 steps an epoch on 2 CPU
#: cores), which a few epochs of fewer than ~100 steps do not win back (benchmarks/epoch_overhead.py).
CHECKS_PER_EPOCH = 50


def steps_per_execution_for(steps_per_epoch: int | None, backend: str | None = None) -> int:
    """Training steps Keras runs between two callback calls, for an epoch of ``steps_per_epoch`` batches.

    As many as the backend allows (:func:`autonas.backend.max_steps_per_execution`:
    the host's cost per step falls, a GPU runs ahead), but never fewer than
    :data:`CHECKS_PER_EPOCH` calls an epoch, so a trial still notices its
    deadline or a NaN loss within a fiftieth of an epoch (and an epoch of
    fewer than 100 steps keeps one step a call). 1 when the epoch's length
    is unknown.
    """
    if not steps_per_epoch or steps_per_epoch <= 0:
        return 1
    return max(1, min(max_steps_per_execution(backend), int(steps_per_epoch) // CHECKS_PER_EPOCH))


logger = logging.getLogger(__name__)

#: Characters of a traceback kept in a failed trial's metrics (``traceback``): its start and its end.
_TRACEBACK_CHARS = 4000


def _traceback_text() -> str:
    """The traceback being handled, its middle cut when it is longer than :data:`_TRACEBACK_CHARS`."""
    text = traceback.format_exc()
    if len(text) <= _TRACEBACK_CHARS:
        return text
    head = _TRACEBACK_CHARS // 4
    return f"{text[:head]}\n[... {len(text) - _TRACEBACK_CHARS} characters cut ...]\n{text[-(_TRACEBACK_CHARS - head):]}"


#: Learning-rate schedules a trial can train on.
SCHEDULES = ("cosine", "constant")

#: Dtype policies a trial can train in (``"auto"``: :func:`autonas.backend.fast_dtype_policy`).
PRECISIONS = ("float32", "mixed_bfloat16", "auto")


@dataclass(frozen=True)
class TrainingSettings:
    """How a trial trains.

    Attributes:
        learning_rate: The optimiser's learning rate (with ``"cosine"``, where
            the schedule starts).
        batch_size: Examples per step.
        max_epochs: Epochs to train (with ``"constant"``, the cap before early stopping).
        patience: With ``"constant"``: epochs without progress (a lower
            validation loss or a higher validation accuracy) before stopping.
            Not used by ``"cosine"``, which always runs its epochs.
        optimizer: Optimiser name known to ``keras.optimizers.get``.
        schedule: ``"cosine"`` (default): the learning rate falls from
            ``learning_rate`` to zero over ``max_epochs`` epochs (half a cosine,
            step by step; faster when a deadline would cut it, so that it
            still ends annealed) and the last epoch's weights are kept, so the
            trial ends annealed and its score is comparable with any other
            trial of the same length; ``"constant"``: one learning rate, early stopping,
            the best epoch restored.
        subset_rows: Train on this many of the training images, drawn by the
            trial's seed (the same seed, the same images); None: on all of
            them (a length under one epoch). Its ``seconds_per_epoch`` is
            still reported for an epoch over all the images.
        label_smoothing: Label smoothing of the cross-entropy, in [0, 1)
            (:func:`smoothed_sparse_crossentropy`); 0: none.
        precision: The Keras dtype policy the model trains in: ``"float32"``,
            ``"mixed_bfloat16"`` (bfloat16 arithmetic, float32 weights; the
            output layer stays float32), or ``"auto"``: the faster of the two
            where the trial runs (:func:`autonas.backend.fast_dtype_policy`).
            The trained weights are float32 either way.
    """

    learning_rate: float = 1e-3
    batch_size: int = 32
    max_epochs: int = 30
    patience: int = 4
    optimizer: str = "adam"
    schedule: str = "cosine"
    subset_rows: int | None = None
    label_smoothing: float = 0.0
    precision: str = "float32"

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        check_int(self.subset_rows, "subset_rows", optional=True)
        if self.subset_rows is not None and self.subset_rows < 1:
            raise ValueError(f"subset_rows must be 1 or more images, or None, got {self.subset_rows!r}")
        _check_label_smoothing(self.label_smoothing)

    def data_epochs(self, rows: int) -> float:
        """Passes over all of ``rows`` training images that :attr:`max_epochs` epochs make (fewer on a subset)."""
        rows = max(1, int(rows))
        return self.max_epochs * min(rows, self.subset_rows or rows) / rows

    @property
    def early_stopping(self) -> bool:
        """Whether training stops on patience and restores its best epoch (``"constant"`` schedule)."""
        return self.schedule == "constant"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        error: Why it failed.
    """

    status: str
    graph: Graph | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0
    error: str | None = None


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


def _annealing(learning_rate: float, total_steps: int, deadline: float | None):
    """A callback setting the learning rate on half a cosine from ``learning_rate`` to zero.

    The schedule's progress is the share of ``total_steps`` done or, when a
    ``deadline`` (``time.monotonic()``) is given, the share of the time from
    the first step's end (compilation left out) to the deadline, whichever is
    further: a trial that the clock cuts short still ends annealed, not at a
    high rate (budgeted training). The rate is set before every execution of
    steps (under JAX, Keras writes its training state back to the variables
    when a callback reads ``self.model``, so the assignment reaches the step).
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


def _fit_inputs(x, y, validation, batch_size: int, seed: int | None, per_execution: int = 1) -> dict[str, Any]:
    """``model.fit``'s data arguments: the backend's shuffled batches of the arrays where it has them
    (:func:`autonas.backend.shuffled_batches`), else the arrays themselves, or batches read a batch at a
    time (see :mod:`.batches`).

    Batches are read from the arrays when they are too large to hand over
    whole, and where the backend compiles the training step for each batch
    shape (:func:`autonas.backend.compiles_each_batch_shape`) and the epoch
    would end with a short batch or a short execution of ``per_execution``
    steps: there every batch is made full, which saves compiling the step a
    second time.
    """
    stream = should_stream(x)
    rows = _rows(x)
    same_shapes = (
        compiles_each_batch_shape() and rows > batch_size and rows % (batch_size * max(1, per_execution)) != 0
    )
    if not stream and not same_shapes:
        batches = shuffled_batches(x, y, batch_size, seed)
        if batches is None:
            return {"x": x, "y": y, "validation_data": validation, "batch_size": batch_size}
        # shuffled there: Keras's own shuffling does not apply to a dataset (and says so)
        return {"x": batches, "shuffle": False, "validation_data": validation, "validation_batch_size": batch_size}
    parts = (list(x), list(y)) if isinstance(x, (list, tuple)) else ([x], [y])
    inputs = {"x": array_batches(*parts, batch_size, shuffle=True, seed=seed,
                                 steps_multiple=per_execution if same_shapes else None)}
    if validation is not None and stream:
        validation = array_batches([validation[0]], [validation[1]], batch_size, shuffle=False)
    elif validation is not None:
        inputs["validation_batch_size"] = batch_size
    inputs["validation_data"] = validation
    return inputs


def _example_rows(x, y, rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The first ``rows`` images and labels of ``x`` and ``y`` (arrays, or lists of arrays trained on as one)."""
    if isinstance(x, (list, tuple)):
        x, y = x[0], y[0]
    return np.asarray(x[:rows]), np.asarray(y[:rows])


def training_subset(x, y, rows: int | None, seed: int | None):
    """``rows`` of the training images and their labels, drawn by ``seed``, in their stored order; all
    of them when ``rows`` is None or not fewer (``x``, ``y``: arrays, or lists of arrays trained on as one).
    """
    total = _rows(x)
    if rows is None or rows >= total:
        return x, y
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=int(rows), replace=False))
    if not isinstance(x, (list, tuple)):
        return x[chosen], y[chosen]
    parts_x, parts_y, offset = [], [], 0
    for part_x, part_y in zip(x, y):
        mine = chosen[(chosen >= offset) & (chosen < offset + len(part_x))] - offset
        if len(mine):
            parts_x.append(part_x[mine])
            parts_y.append(part_y[mine])
        offset += len(part_x)
    return parts_x, parts_y


def _rows(x) -> int:
    """Rows of ``x`` (an array, or a list of arrays trained on as one)."""
    return sum(len(part) for part in x) if isinstance(x, (list, tuple)) else len(x)


def _steps_per_epoch(x, batch_size: int) -> int:
    """Batches in one epoch over ``x`` (an array, or a list of arrays trained on as one)."""
    return -(-_rows(x) // max(1, int(batch_size)))


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
        A :class:`TrialResult`; failures of the architecture (out of memory,
        NaN loss, an error while fitting) are reported in it, not raised, with
        the traceback under ``metrics["traceback"]``.

    Raises:
        autonas.errors.FatalError: when the graph's Keras model cannot be built
            (other than for lack of memory): a bug, not a bad architecture.
    """
    import_keras_quietly()
    start = time.perf_counter()
    train_deadline = _training_deadline(deadline, measure and bool(timed))
    if seed is not None:
        set_random_seed(seed)
    precision = fast_dtype_policy() if settings.precision == "auto" else settings.precision
    model = _build_model(graph, start, precision)
    if isinstance(model, TrialResult):
        return model
    all_rows = _rows(x)
    x, y = training_subset(x, y, settings.subset_rows, seed)
    try:
        history, guard = _fit(
            model, x, y, settings, validation, epochs or settings.max_epochs, seed, train_deadline, on_epoch
        )
    except Exception as error:  # noqa: BLE001 - a failed trial is recorded (with its traceback), the search goes on
        return _failed_fit(error, start)
    fit_end = time.perf_counter()
    seconds = fit_end - start
    epochs_run = len(history.history.get("loss", []))
    if guard.reason:
        return TrialResult("failed", error=guard.reason, epochs=epochs_run, seconds=seconds)
    if validation is not None and guard.best_epoch < 0:
        return TrialResult("failed", error="stopped before the first epoch ended", epochs=epochs_run, seconds=seconds)
    trained = graph.copy().update_weights(model)
    metrics = _training_metrics(trained, history.history, guard, validation is not None, seconds, fit_end, precision)
    _report_subset(metrics, _rows(x), all_rows)
    if measure:
        costs = _measured_costs(trained, model, seconds, deadline, timed, precision)
        if isinstance(costs, str):  # not deployable where its latency must be measured
            return TrialResult("failed", error=costs, epochs=epochs_run, seconds=seconds,
                               metrics={"traceback": _traceback_text()})
        metrics.update(costs)
    return TrialResult("completed", trained, metrics, epochs_run, seconds)


def _failed_fit(error: Exception, start: float) -> TrialResult:
    """The failed trial for an error raised while fitting (out of memory named as such)."""
    reason = f"out of memory: {error}" if is_out_of_memory(error) else f"{type(error).__name__}: {error}"
    logger.warning("trial failed: %s", reason)
    return TrialResult("failed", error=reason[:2000], seconds=time.perf_counter() - start,
                       metrics={"traceback": _traceback_text()})


def _report_subset(metrics: dict, rows: int, all_rows: int) -> None:
    """With a training subset: its size, and the pace of an epoch over all the images, as every trial reports it."""
    if rows < all_rows:
        metrics["seconds_per_epoch"] *= all_rows / rows
        metrics["subset_rows"] = rows


def _training_deadline(deadline: float | None, timed: bool) -> float | None:
    """When training must stop: a tenth of the time left (at most 10 s) is kept for timing the model."""
    if deadline is None or not timed:
        return deadline
    return deadline - min(10.0, 0.1 * max(0.0, deadline - time.monotonic()))


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
            return TrialResult("failed", error=f"out of memory: {error}"[:2000], seconds=time.perf_counter() - start,
                               metrics={"traceback": _traceback_text()})
        raise FatalError(
            f"building the Keras model of a graph failed; this is a bug in autonas, not a bad architecture:\n"
            f"{_traceback_text()}"
        ) from error


def _fit(model, x, y, settings: TrainingSettings, validation, epochs: int, seed, deadline, on_epoch):
    """Compile and fit ``model`` for ``epochs`` (cosine schedule or early stopping); ``(history, guard)``."""
    steps = _steps_per_epoch(x, settings.batch_size)
    per_execution = steps_per_execution_for(steps)
    compile_for_training(model, settings.learning_rate, settings.optimizer, per_execution, _example_rows(x, y),
                         label_smoothing=settings.label_smoothing)
    from autonas.execution.guard import TrialGuard

    guard = TrialGuard(settings.patience, deadline, validation is not None, on_epoch, keep_best=settings.early_stopping)
    callbacks = [guard]
    if settings.schedule == "cosine":
        callbacks.insert(0, _annealing(settings.learning_rate, steps * epochs, deadline))
    history = model.fit(
        **_fit_inputs(x, y, validation, settings.batch_size, seed, per_execution),
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
    metrics["seconds_per_epoch"], metrics["startup_seconds"] = training_pace(
        seconds, len(history.get("loss", [])), guard.batches_run, (guard.params or {}).get("steps"),
        None if guard.first_batch_end is None else fit_end - guard.first_batch_end, guard.first_batches,
    )
    metrics["stopped_at_time_limit"] = guard.timed_out
    if guard.timed_out and guard.epoch_fraction < 1.0:
        metrics["last_epoch_fraction"] = guard.epoch_fraction
    return metrics


def _measured_costs(
    trained: Graph, model, seconds: float, deadline: float | None, timed: bool | str, precision: str = "float32"
) -> dict[str, Any] | str:
    """:func:`autonas.objectives.measure_costs` within what is left of the deadline (why it failed, for a
    model that cannot run in the latency runtime).

    A model trained in another ``precision`` than float32 is timed as a
    float32 one, as the search hands it back and exports it.

    The budget bounds the timing; converting the model for a latency runtime
    other than Keras comes on top of it (seconds, after training has ended).
    """
    from autonas.objectives import measure_costs
    from autonas.objectives.latency import LatencyRuntimeError

    budget = max(1.0, 0.05 * seconds)  # timing large models on large images takes seconds a call
    if deadline is not None:
        budget = max(0.5, min(budget, deadline - time.monotonic()))
    # short of time, time batch 1 only, after one warm-up call (large images: seconds a call)
    quick = {} if budget >= 5.0 else {"batch_sizes": (1,), "warmup": 1, "repeats": 5}
    runtime = timed if isinstance(timed, str) else "keras"
    model = model if precision == "float32" else None  # measure_costs builds the float32 one
    try:
        return measure_costs(trained, model, max_latency_seconds=budget, timed=bool(timed), latency_runtime=runtime,
                             **quick)
    except LatencyRuntimeError as error:
        logger.warning("trial failed: %s", error)
        return str(error)[:2000]
