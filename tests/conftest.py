"""Shared fixtures for the autonas test suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: What exercises a backend-specific code path (test folders, files, or ``file::test`` under tests/):
#: marked ``backend``, these run a second time under KERAS_BACKEND=jax in CI (.ci/run). Chosen to
#: cover each path once while keeping CI short: Keras models built from graphs and their weights,
#: function preservation, worker processes configuring the backend (threads, memory, progress),
#: the search loop, the classifier end to end, and the exported model that resizes images. Property
#: tests over many random edits, fault injection, validation and the command line run under
#: TensorFlow only: they add no backend-specific path.
BACKEND_SENSITIVE = (
    "graph/test_graph_roundtrip.py",
    "graph/test_augmentation.py",
    "morphism/test_growing.py",
    "morphism/test_digits_child.py",
    "morphism/test_shrinking.py::test_dropout_and_augmentation_are_identities_at_inference",
    "morphism/test_shrinking.py::test_augmented_model_exports_and_reloads_in_plain_keras",
    "morphism/test_shrinking.py::test_worker_records_each_edits_output_change",
    "execution/test_backend.py",
    "execution/test_local.py",
    "engine",
    "tasks/test_classifier.py::test_search_records_initial_and_morphed_trials",
    "tasks/test_classifier.py::test_exported_model_loads_without_autonas",
    "tasks/test_classifier.py::test_time_limit_is_honoured_and_tf_data_is_accepted",
    "tasks/test_image_folder_search.py::test_a_classifier_fitted_on_a_folder_predicts_files_and_arrays",
)

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


def _under(parts: tuple[str, ...], prefixes: tuple[str, ...], name: str = "") -> bool:
    """Whether the test ``name`` in the file at ``parts`` is under one of ``prefixes`` (folders, files, ``file::test``)."""
    path = "/".join(parts)
    for prefix in prefixes:
        file, _, test = prefix.partition("::")
        if test and path == file and name.startswith(test):
            return True
        if not test and (path == prefix or path.startswith(prefix + "/")):
            return True
    return False


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    for item in items:
        parts = Path(str(item.fspath)).relative_to(root).parts
        if _under(parts, BACKEND_SENSITIVE, item.name):
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
