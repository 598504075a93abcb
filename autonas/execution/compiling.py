"""Compiling a model the way every trial trains: the optimiser, the (smoothed) loss, the training state."""

from __future__ import annotations

import logging
from collections.abc import Callable

from autonas.backend import import_keras_quietly
from autonas.execution.inputs import example_rows
from autonas.execution.settings import check_label_smoothing

__all__ = ["build_training_state", "compile_for_training", "smoothed_sparse_crossentropy"]

logger = logging.getLogger(__name__)


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
            :func:`~autonas.execution.schedule.steps_per_execution_for`).
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
    check_label_smoothing(label_smoothing)
    import_keras_quietly()
    import keras
    from keras import ops

    def loss(y_true, y_pred):
        classes = ops.shape(y_pred)[-1]
        target = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(target, y_pred, label_smoothing=float(label_smoothing))

    loss.__name__ = "smoothed_sparse_crossentropy"
    return loss


def _build_training_state(model, images, labels) -> None:
    """Make ``model``'s optimiser and metric variables from a few example rows, before ``fit``.

    Without a distribution strategy, Keras's TensorFlow trainer makes them
    while it first traces the training step; a ``tf.function`` that made
    variables on its first trace traces a second time, so every trial traced
    its training step twice; building first saves that second trace
    (benchmarks/results/trace_once.md). The other backends' trainers build
    the same way at the start of ``fit``. This uses Keras's
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
        example = example_rows(x, y)
    except Exception:  # noqa: BLE001 - an optimisation only: fit builds what is missing
        logger.debug("reading example rows to build the training state failed", exc_info=True)
        return
    if len(example[0]):
        _build_training_state(model, *example)
