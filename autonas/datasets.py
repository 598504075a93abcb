"""Data sets that ship offline, with the split the project's figures use."""

from __future__ import annotations

import numpy as np

__all__ = ["load_digits"]


def load_digits(test_size: float = 0.3, random_state: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits as uint8 images, split stratified into train and test.

    The pixel values (0–16) are rescaled to 0–255 so the images look like any
    other uint8 image data.

    Args:
        test_size: Fraction held out for testing.
        random_state: Seed of the split.

    Returns:
        ``(x_train, x_test, y_train, y_test)`` with x of shape (N, 8, 8), uint8.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return train_test_split(
        images, digits.target, test_size=test_size, stratify=digits.target, random_state=random_state
    )
