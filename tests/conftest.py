"""Shared fixtures for the autonas test suite."""

import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: What sizes a backend's compute threads before it starts: OpenMP's pool (PyTorch, oneDNN), BLAS's
#: (numpy) and TensorFlow's intra-op pool. XLA's CPU pool (JAX's ``PJRT_NPROC``) is left alone: its
#: CI pass took 249 s with one thread per test process and 219 s with the default (2 cores, 2026-12-08).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def _share_the_cores_between_test_processes() -> None:
    """Under pytest-xdist, give each test process's backend its share of the cores, not all of them.

    Every backend sizes its thread pools to the whole machine; two test processes on two cores then
    run four busy threads, and PyTorch's OpenMP threads spin while they wait: its CI pass took 218 s
    with two threads per process and 72 s with one (2 cores, 2026-12-08). Variables already set win;
    worker processes the tests start set their own threads (``autonas.backend``).
    """
    processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if processes > 1:
        threads = str(max(1, (os.cpu_count() or 1) // processes))
        for name in _THREAD_VARIABLES:
            os.environ.setdefault(name, threads)


_share_the_cores_between_test_processes()


import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: Skip reasons that mean a package, data set or browser is missing. `.ci/run` installs all of them,
#: so under ``CI=true`` such a skip fails the test instead of hiding that CI checked less than it says.
MISSING_INSTALL = re.compile(r"could not import|not installed|no module named|no headless chromium", re.IGNORECASE)


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true, turn a skip for something CI must install (see MISSING_INSTALL) into a failure."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and _under_ci() and isinstance(report.longrepr, tuple)):
        return
    reason = str(report.longrepr[2])
    if MISSING_INSTALL.search(reason) and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"CI=true and this test was skipped for a missing install ({reason}): .ci/run must install it"

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
