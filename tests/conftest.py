"""Shared fixtures for the autonas test suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Markers live in the test files themselves (``pytestmark`` for a whole file, a decorator for one
# test), so a renamed or moved file keeps them (pytest.ini lists them):
# - ``backend``: exercises a backend-specific code path, so it runs a second time under
#   KERAS_BACKEND=jax in CI (.ci/run). Chosen to cover each path once while keeping CI short: Keras
#   models built from graphs and their weights, function preservation, worker processes
#   configuring the backend (threads, memory, progress), the search loop, the classifier end to end,
#   and the exported model that resizes images. Property tests over many random edits, fault
#   injection, validation and the command line run under TensorFlow only.
# - ``slow``: trains networks or starts processes; ``make test-quick`` runs the rest.


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
