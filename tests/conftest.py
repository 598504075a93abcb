"""Shared fixtures for the autonas test suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """The digits split as float32 images in [0, 1] with a channel axis.

    Returns:
        ``(x_train, x_test, y_train, y_test)``; x has shape (N, 8, 8, 1).
    """
    from autonas.datasets import load_digits

    x_train, x_test, y_train, y_test = load_digits()
    x_train = (x_train.astype(np.float32) / 255.0)[..., None]
    x_test = (x_test.astype(np.float32) / 255.0)[..., None]
    return x_train, x_test, y_train, y_test
