"""Batches read from arrays a batch at a time, for data too large to hand to Keras whole or of one shape.

Given numpy arrays, ``model.fit`` may copy them whole into the backend (with
TensorFlow, ``tf.data.Dataset.from_tensors``). For memory-mapped arrays larger
than :data:`STREAM_BYTES`, and for data split over several arrays (training +
validation in the final fit), :func:`array_batches` reads one batch at a time.
It can also make every batch of an epoch the same shape, for backends that
compile the training step for each new shape
(:attr:`autonas.backend.Capabilities.compiles_each_batch_shape`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from autonas.backend import import_keras_quietly

__all__ = ["STREAM_BYTES", "array_batches", "epoch_rows", "should_stream"]

#: Memory-mapped images larger than this are read batch by batch instead of handed to Keras whole.
STREAM_BYTES = 1 << 30


def should_stream(x: np.ndarray | Sequence[np.ndarray]) -> bool:
    """Whether ``x`` (an array, or parts to join) is to be read a batch at a time."""
    if isinstance(x, (list, tuple)):
        return True
    return isinstance(x, np.memmap) and x.nbytes > STREAM_BYTES


def epoch_rows(rows: int, batch_size: int, steps_multiple: int = 1) -> int:
    """``rows`` rounded to the nearest whole number of ``steps_multiple`` full batches (at least one).

    Rounding to the nearest leaves out or repeats at most half a block of
    ``batch_size * steps_multiple`` rows an epoch.
    """
    block = max(1, int(batch_size)) * max(1, int(steps_multiple))
    return max(1, (int(rows) + block // 2) // block) * block


def array_batches(
    x_parts: Sequence[np.ndarray],
    y_parts: Sequence[np.ndarray],
    batch_size: int,
    shuffle: bool,
    seed: int | None = None,
    steps_multiple: int | None = None,
):
    """A ``keras.utils.PyDataset`` of ``(x, y)`` batches over the rows of several arrays, as if joined.

    Args:
        x_parts: Image arrays (e.g. memory-mapped), with equal shapes after the first axis.
        y_parts: Their labels, part by part.
        batch_size: Rows per batch (the last batch may be smaller, unless ``steps_multiple`` is given).
        shuffle: Draw the rows in a new random order every epoch (rows of a
            batch are read in file order, which keeps reads from disk sequential).
        seed: Seed of the order.
        steps_multiple: Make every batch full and the number of batches an
            epoch a multiple of this (``steps_per_execution``), so that all
            steps of an epoch have the same shapes: the rows of an epoch are
            rounded to the nearest such number (:func:`epoch_rows`), the rows
            left out or repeated drawn at random anew each epoch (so every
            row keeps the same expected weight). Needs ``shuffle``.
    """
    import_keras_quietly()
    import keras

    if steps_multiple is not None and not shuffle:
        raise ValueError("steps_multiple needs shuffle=True: the rows left out or repeated are drawn at random")

    class _ArrayBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.x_parts, self.y_parts = list(x_parts), list(y_parts)
            self.offsets = np.cumsum([0] + [len(part) for part in self.x_parts])
            self.total = int(self.offsets[-1])
            self.rows = self.total if steps_multiple is None else epoch_rows(self.total, batch_size, steps_multiple)
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(self.total)
            self.on_epoch_end()

        def __len__(self) -> int:
            return math.ceil(self.rows / batch_size)

        def __getitem__(self, index: int):
            rows = np.sort(self.order[index * batch_size:(index + 1) * batch_size])
            part = np.searchsorted(self.offsets, rows, side="right") - 1
            xs, ys = [], []
            for p in np.unique(part):
                local = rows[part == p] - self.offsets[p]
                xs.append(np.asarray(self.x_parts[p][local], dtype=np.float32))
                ys.append(np.asarray(self.y_parts[p][local]))
            return np.concatenate(xs), np.concatenate(ys)

        def on_epoch_end(self) -> None:
            if not shuffle:
                return
            total = self.total
            order = self.rng.permutation(total)
            if self.rows < total:
                order = order[:self.rows]
            elif self.rows > total:
                extra = self.rng.choice(total, self.rows - total, replace=self.rows - total > total)
                order = self.rng.permutation(np.concatenate([order, extra]))
            self.order = order

    return _ArrayBatches()
