"""Batches read from arrays on disk, for data too large to hand to Keras whole.

Given numpy arrays, ``model.fit`` may copy them whole into the backend (with
TensorFlow, ``tf.data.Dataset.from_tensors``). For memory-mapped arrays larger
than :data:`STREAM_BYTES`, and for data split over several arrays (training +
validation in the final fit), :func:`array_batches` reads one batch at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from autonas.backend import import_keras_quietly

__all__ = ["STREAM_BYTES", "array_batches", "should_stream"]

#: Memory-mapped images larger than this are read batch by batch instead of handed to Keras whole.
STREAM_BYTES = 1 << 30


def should_stream(x: np.ndarray | Sequence[np.ndarray]) -> bool:
    """Whether ``x`` (an array, or parts to join) is to be read a batch at a time."""
    if isinstance(x, (list, tuple)):
        return True
    return isinstance(x, np.memmap) and x.nbytes > STREAM_BYTES


def array_batches(
    x_parts: Sequence[np.ndarray],
    y_parts: Sequence[np.ndarray],
    batch_size: int,
    shuffle: bool,
    seed: int | None = None,
):
    """A ``keras.utils.PyDataset`` of ``(x, y)`` batches over the rows of several arrays, as if joined.

    Args:
        x_parts: Image arrays (e.g. memory-mapped), with equal shapes after the first axis.
        y_parts: Their labels, part by part.
        batch_size: Rows per batch (the last batch may be smaller).
        shuffle: Draw the rows in a new random order every epoch (rows of a
            batch are read in file order, which keeps reads from disk sequential).
        seed: Seed of the order.
    """
    import_keras_quietly()
    import keras

    class _ArrayBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.x_parts, self.y_parts = list(x_parts), list(y_parts)
            self.offsets = np.cumsum([0] + [len(part) for part in self.x_parts])
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(self.offsets[-1])
            self.on_epoch_end()

        def __len__(self) -> int:
            return math.ceil(self.offsets[-1] / batch_size)

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
            if shuffle:
                self.order = self.rng.permutation(self.offsets[-1])

    return _ArrayBatches()
