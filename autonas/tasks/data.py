"""Input checking and encoding for image classification.

Everything here runs before any training, so bad input fails fast with a
``ValueError`` that names the argument and says what was expected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ImagePreprocessing",
    "LabelEncoder",
    "PixelScale",
    "as_array",
    "check_images",
    "check_labels",
    "from_dataset",
    "split_keeping_every_class",
]

#: Bytes of float64 working memory per chunk when statistics or copies are made a chunk at a time.
CHUNK_BYTES = 8 << 20


def _chunk_rows(x: np.ndarray) -> int:
    """Images per chunk of ``x``: :data:`CHUNK_BYTES` of float64 values, at least one image."""
    return max(1, CHUNK_BYTES // (8 * max(1, int(np.prod(x.shape[1:])))))


def as_array(x: Any, name: str) -> np.ndarray:
    """``np.asarray(x)``, with a ``ValueError`` naming ``name`` for ragged sequences.

    Raises:
        ValueError: if ``x`` is a sequence of arrays of different shapes.
    """
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{name} must be an array of equally shaped images (N, height, width[, channels]); "
            f"its elements differ in shape ({error})"
        ) from None


def from_dataset(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Read a ``tf.data.Dataset`` of ``(image, label)`` pairs into numpy arrays.

    A dataset whose image spec has an unknown first dimension is taken as
    batched (as ``dataset.batch(n)`` makes it); otherwise elements are single
    examples.

    Raises:
        ValueError: if the elements are not ``(image, label)`` pairs or there are none.
    """
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError("x: a tf.data.Dataset must yield (image, label) pairs")
    batched = len(spec[0].shape) > 0 and spec[0].shape[0] is None
    images, labels = [], []
    for image, label in dataset.as_numpy_iterator():
        images.append(image)
        labels.append(label)
    if not images:
        raise ValueError("x: the dataset is empty")
    join = np.concatenate if batched else np.stack
    return join(images), join(labels)


def check_images(x: Any, name: str = "x") -> np.ndarray:
    """Check images and return them as ``(N, H, W, C)`` (a channel axis is added to ``(N, H, W)``).

    Raises:
        ValueError: for a wrong rank, an empty array, a non-numeric dtype or NaN/inf values.
    """
    x = as_array(x, name)
    if x.dtype == object:
        raise ValueError(f"{name} must hold numbers (uint8 or float) in an array of equally shaped images, got dtype object")
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} must have shape (N, height, width) or (N, height, width, channels), got {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating) or x.dtype == bool):
        raise ValueError(f"{name} must hold numbers (uint8 or float), got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if x.ndim == 4 and x.shape[-1] > 4:
        raise ValueError(f"{name} must be channels-last with 1 to 4 channels, got shape {x.shape}")
    return x if x.ndim == 4 else x[..., None]


def check_labels(y: Any, num_examples: int, name: str = "y") -> np.ndarray:
    """Check labels: a vector of ints or strings, or one-hot rows; returns a 1-D array of labels.

    Raises:
        ValueError: for a length that differs from ``num_examples``, NaN, or a bad shape.
    """
    if isinstance(y, (list, tuple)):  # numpy would silently turn [0, "a"] into strings
        try:
            y = np.asarray(y, dtype=object)
        except ValueError:
            y = as_array(y, name)
    y = as_array(y, name)
    if y.dtype == object:
        y = _object_labels(y, name)
    if y.ndim == 2 and y.shape[1] > 1:
        if not np.all((y == 0) | (y == 1)) or not np.all(y.sum(axis=1) == 1):
            raise ValueError(f"{name} with 2 dimensions must be one-hot rows (one 1 per row), got shape {y.shape}")
        y = y.argmax(axis=1)
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be a vector of labels or one-hot rows, got shape {y.shape}")
    if len(y) != num_examples:
        raise ValueError(f"{name} has {len(y)} labels but x has {num_examples} images (len(x) != len(y))")
    if y.size == 0:
        raise ValueError(f"{name} is empty")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if not np.all(y == np.round(y)):
            raise ValueError(f"{name} holds non-integer numbers; classification labels must be ints or strings")
        y = y.astype(np.int64)
    return y


def _object_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Labels given as Python objects (a list mixing types, None, ...) as a plain array.

    Raises:
        ValueError: for None / NaN labels or labels of mixed kinds (numbers and strings).
    """
    flat = y.ravel()
    missing = [i for i, label in enumerate(flat) if label is None or (isinstance(label, float) and label != label)]
    if missing:
        raise ValueError(f"{name} contains missing labels (None or NaN) at positions {missing[:10]}")
    kinds = {"string" if isinstance(label, (str, bytes)) else "number" for label in flat}
    if len(kinds) > 1:
        raise ValueError(f"{name} mixes numbers and strings; give every label the same type")
    try:
        return np.asarray(flat.tolist()).reshape(y.shape)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} must be a vector of labels (ints or strings), got {error}") from None


def split_keeping_every_class(
    y: np.ndarray, n_val: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)`` of a random split with at least one training example per class.

    Used when a stratified split is impossible (fewer validation or training
    examples than classes). Every class keeps one training example; the
    validation set is drawn from the rest (it may be smaller than ``n_val``
    when the rest is smaller).
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    _, first = np.unique(y[order], return_index=True)
    keep = order[first]  # one random example of each class
    rest = np.setdiff1d(order, keep, assume_unique=True)
    rest = rng.permutation(rest)
    val = np.sort(rest[:n_val])
    train = np.sort(np.concatenate([keep, rest[n_val:]]))
    return train, val


@dataclass(frozen=True)
class PixelScale:
    """The value range of the training images, to refuse images on another scale.

    The rule (documented for users): images given to ``predict``, ``score``
    and the exported model must be on the training images' scale. A factor of
    255 between the two (uint8 0–255 images against floats in [0, 1]) is the
    common mistake; it is refused with a ``ValueError`` instead of giving
    near-random predictions.

    Attributes:
        dtype: The training images' dtype.
        low: Their smallest value.
        high: Their largest value.
    """

    dtype: str
    low: float
    high: float

    @classmethod
    def of(cls, x: np.ndarray) -> PixelScale:
        return cls(str(x.dtype), float(np.min(x)), float(np.max(x)))

    @property
    def unit(self) -> bool:
        """Whether the training images were floats in [0, 1]."""
        return np.issubdtype(np.dtype(self.dtype), np.floating) and self.high <= 1.0

    def box(self) -> tuple[float, float]:
        """The ends of the images' scale, what an attack's ε (on the [0, 1] scale) is a fraction of.

        ``(0, 1)`` for floats in [0, 1]; an unsigned integer type's range (``(0, 255)``
        for uint8, ``(0, 65535)`` for uint16); ``(0, 255)`` for other non-negative
        images up to 255; else the training images' own ``(low, high)``.
        """
        dtype = np.dtype(self.dtype)
        if self.unit and self.low >= 0.0:
            return 0.0, 1.0
        if np.issubdtype(dtype, np.unsignedinteger):
            return 0.0, float(np.iinfo(dtype).max)
        if self.low >= 0.0 and self.high <= 255.0:
            return 0.0, 255.0
        return self.low, max(self.high, self.low + 1e-6)

    def check(self, x: np.ndarray, name: str = "x") -> None:
        """Refuse ``x`` when it is on another scale than the training images.

        Raises:
            ValueError: for floats in [0, 1] when the training images were
                non-negative and went above 1.5 (e.g. uint8 0–255), or values
                above 1.5 when the training images were floats in [0, 1].
        """
        if x.size == 0:
            return
        low, high = float(np.min(x)), float(np.max(x))
        floats = np.issubdtype(x.dtype, np.floating)
        pixel_counts = self.low >= 0.0 and self.high > 1.5  # e.g. uint8 0–255, not standardised values
        if pixel_counts and floats and low >= 0.0 and 0.0 < high <= 1.0:
            raise ValueError(
                f"{name} holds floats in [0, 1], but the classifier was trained on images in "
                f"[{self.low:g}, {self.high:g}] ({self.dtype}); pass images on the training scale "
                f"(e.g. x * 255 for uint8-like images)"
            )
        if self.unit and high > 1.5:
            raise ValueError(
                f"{name} holds values up to {high:g}, but the classifier was trained on floats in [0, 1]; "
                f"pass images on the training scale (e.g. x / 255 for uint8 images)"
            )


class LabelEncoder:
    """Maps the user's labels to class indices 0..K-1 and back (``classes_`` sorted)."""

    def fit(self, y: np.ndarray, name: str = "y") -> LabelEncoder:
        """Learn the classes.

        Raises:
            ValueError: for fewer than 2 classes or a class with a single example.
        """
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise ValueError(f"{name} must hold at least 2 classes, got {len(classes)}: {classes.tolist()}")
        single = classes[counts < 2]
        if len(single):
            raise ValueError(f"{name}: classes {single.tolist()[:10]} have a single example; each needs at least 2")
        self.classes_ = classes
        return self

    def transform(self, y: np.ndarray, name: str = "y") -> np.ndarray:
        """Class indices of ``y``.

        Raises:
            ValueError: for labels not seen in ``fit``.
        """
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(f"{name} holds labels not in the training labels: {np.unique(y[unknown]).tolist()[:10]}")
        return index.astype(np.int64)

    def inverse_transform(self, index: np.ndarray) -> np.ndarray:
        """The user's labels for class indices."""
        return self.classes_[np.asarray(index)]


@dataclass(frozen=True)
class ImagePreprocessing:
    """Per-channel standardisation of raw images, learned from training data.

    The exported model applies the same thing with plain Keras layers, so it
    takes the raw arrays ``fit`` took.
    """

    mean: tuple[float, ...]
    variance: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray, rows: np.ndarray | None = None) -> ImagePreprocessing:
        """Learn per-channel mean and variance of ``x`` (N, H, W, C), or of its ``rows``.

        Reads :data:`CHUNK_BYTES` worth of images at a time (``x`` may be
        memory-mapped from a file larger than memory); the chunks' statistics
        are merged exactly (Chan et al.'s pairwise update).
        """
        rows = np.arange(len(x)) if rows is None else np.asarray(rows)
        step = _chunk_rows(x)
        count, mean, squares = 0, np.zeros(x.shape[-1]), np.zeros(x.shape[-1])
        for start in range(0, len(rows), step):
            part = np.asarray(x[rows[start:start + step]], dtype=np.float64).reshape(-1, x.shape[-1])
            part_mean = part.mean(axis=0)
            np.square(np.subtract(part, part_mean, out=part), out=part)  # in place: one chunk of memory
            part_squares = part.sum(axis=0)
            total = count + len(part)
            delta = part_mean - mean
            squares = squares + part_squares + delta**2 * count * len(part) / total
            mean = mean + delta * len(part) / total
            count = total
        variance = np.maximum(squares / max(count, 1), 1e-12)
        return cls(tuple(mean.tolist()), tuple(variance.tolist()))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised float32 images."""
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.sqrt(np.asarray(self.variance, dtype=np.float32))
        return (x.astype(np.float32) - mean) / std

    def transform_to_file(self, x: np.ndarray, rows: np.ndarray, path: str | os.PathLike) -> np.ndarray:
        """The standardised ``x[rows]`` written to the ``.npy`` file ``path`` a chunk at a time.

        Returns:
            The result, memory-mapped read-only.
        """
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(rows), *x.shape[1:]))
        step = _chunk_rows(x)
        for start in range(0, len(rows), step):
            out[start:start + step] = self.transform(np.asarray(x[rows[start:start + step]]))
        out.flush()
        del out
        return np.load(path, mmap_mode="r")
