"""What a trial trains on: its training subset, the data arguments of ``model.fit``, checks that the data fit.

``x`` and ``y`` are arrays, or lists of arrays trained on as one (the final
fit's training and validation data, read a batch at a time).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonas.backend import capabilities, shuffled_batches
from autonas.execution.batches import array_batches, should_stream

__all__ = [
    "count_rows",
    "data_fits",
    "example_rows",
    "fit_inputs",
    "steps_per_epoch",
    "training_subset",
]



def compiles_each_batch_shape() -> bool:
    """Whether the running backend compiles its training step once per batch shape (the capability table)."""
    return capabilities().compiles_each_batch_shape

def fit_inputs(x, y, validation, batch_size: int, seed: int | None, per_execution: int = 1) -> dict[str, Any]:
    """``model.fit``'s data arguments: the backend's shuffled batches of the arrays where it has them
    (:func:`autonas.backend.shuffled_batches`), else the arrays themselves, or batches read a batch at a
    time (see :mod:`.batches`).

    Batches are read from the arrays when they are too large to hand over
    whole, and where the backend compiles the training step for each batch
    shape (:attr:`autonas.backend.Capabilities.compiles_each_batch_shape`) and the epoch
    would end with a short batch or a short execution of ``per_execution``
    steps: there every batch is made full, which saves compiling the step a
    second time.
    """
    stream = should_stream(x)
    rows = count_rows(x)
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


def example_rows(x, y, rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The first ``rows`` images and labels of ``x`` and ``y``."""
    if isinstance(x, (list, tuple)):
        x, y = x[0], y[0]
    return np.asarray(x[:rows]), np.asarray(y[:rows])


def training_subset(x, y, rows: int | None, seed: int | None):
    """``rows`` of the training images and their labels, drawn by ``seed``, in their stored order; all
    of them when ``rows`` is None or not fewer.
    """
    total = count_rows(x)
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


def count_rows(x) -> int:
    """Rows of ``x``."""
    return sum(len(part) for part in x) if isinstance(x, (list, tuple)) else len(x)


def steps_per_epoch(x, batch_size: int) -> int:
    """Batches in one epoch over ``x``."""
    return -(-count_rows(x) // max(1, int(batch_size)))


def data_fits(input_shape: tuple | None, classes: int | None, x, y) -> bool:
    """Whether images ``x`` have the network's ``input_shape`` (no batch axis; None: any size on that
    axis) and labels ``y`` are class indices in ``[0, classes)``: what a failed fit is checked against
    to tell bad data (:attr:`~autonas.execution.failures.FailureKind.DATA`) from a bad network.
    """
    parts_x = list(x) if isinstance(x, (list, tuple)) else [x]
    parts_y = list(y) if isinstance(y, (list, tuple)) else [y]
    for part in parts_x:
        shape = tuple(np.shape(part)[1:])
        if input_shape is not None and (
            len(shape) != len(input_shape) or any(want not in (None, got) for want, got in zip(input_shape, shape))
        ):
            return False
    for part in parts_y:
        labels = np.asarray(part)
        if labels.size and classes and (labels.min() < 0 or labels.max() >= classes):
            return False
    return True
