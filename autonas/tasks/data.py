"""Input checking and encoding for image classification.

Everything here runs before any training, so bad input fails fast with a
``ValueError`` that names the argument and says what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ImagePreprocessing", "LabelEncoder", "check_images", "check_labels", "from_dataset"]


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
    x = np.asarray(x)
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
    y = np.asarray(y)
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
    def fit(cls, x: np.ndarray) -> ImagePreprocessing:
        """Learn per-channel mean and variance of ``x`` (N, H, W, C)."""
        mean = x.mean(axis=(0, 1, 2), dtype=np.float64)
        variance = np.maximum(x.var(axis=(0, 1, 2), dtype=np.float64), 1e-12)
        return cls(tuple(mean.tolist()), tuple(variance.tolist()))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised float32 images."""
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.sqrt(np.asarray(self.variance, dtype=np.float32))
        return (x.astype(np.float32) - mean) / std
