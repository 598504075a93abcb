"""Shared fixtures for the autonas test suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: What trains or executes through Keras (test folders and files under tests/): marked ``backend``,
#: these run a second time under KERAS_BACKEND=jax in CI (.ci/run). The classifier's end-to-end
#: tests stand for tasks/; input validation, constraints, the keras-tuner wrapper and the command
#: line add no backend-specific code path and run under TensorFlow only.
BACKEND_SENSITIVE = ("graph", "morphism", "execution", "engine", "tasks/test_classifier.py")

#: What trains networks or starts processes (test folders and files under tests/): marked ``slow``.
#: ``make test-quick`` runs the rest (graph, morphism, search, objectives and validation checks).
SLOW = (
    "reliability",
    "tasks",
    "engine",
    "execution",
    "integrations",
    "test_cli.py",
    "test_tutorials.py",
    "test_docs.py",
    "test_datasets.py",
    "graph/test_graph_digits.py",
    "morphism/test_digits_child.py",
    "morphism/test_properties.py",
    "morphism/test_shrinking.py",
)


def _under(parts: tuple[str, ...], prefixes: tuple[str, ...]) -> bool:
    path = "/".join(parts)
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    for item in items:
        parts = Path(str(item.fspath)).relative_to(root).parts
        if _under(parts, BACKEND_SENSITIVE):
            item.add_marker(pytest.mark.backend)
        if _under(parts, SLOW):
            item.add_marker(pytest.mark.slow)


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
