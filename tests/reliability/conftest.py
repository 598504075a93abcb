"""Shared helpers of the reliability tests: small, fast searches in this process."""

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.datasets import load_digits
from autonas.execution import SerialExecutor


@pytest.fixture(scope="session")
def small_digits():
    """600 training and 300 test digits, uint8 (N, 8, 8), as users have them."""
    x_train, x_test, y_train, y_test = load_digits()
    return x_train[:600], x_test[:300], y_train[:600], y_test[:300]


def quick_classifier(directory, **kwargs):
    """A classifier that trains in this process, a few epochs per trial, quietly."""
    settings = {
        "directory": directory,
        "project_name": "p",
        "searcher": "random",
        "seed": 0,
        "verbose": 0,
        "executor": SerialExecutor(),
        **kwargs,
    }
    return AutoImageClassifier(**settings)


def accuracy(classifier, x, y):
    return float(np.mean(classifier.predict(x) == y))
