"""Every installed Keras backend in processes of its own: seeded training repeats itself, and a worker
runs the backend and the threads it is given.

Each test starts a process per backend whatever this process's backend is, so the file is not marked
``backend``: it runs once, in the TensorFlow pass, and still trains under TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from autonas import backend
from autonas.execution import TrainingData, TrainingSettings, TrialJob
from autonas.execution.worker import WorkerConfig, WorkerProcess
from autonas.graph import generators

pytestmark = pytest.mark.slow  # starts processes that train networks

INSTALLED = [name for name in backend.BACKENDS if importlib.util.find_spec(name) is not None]
#: Every backend, a missing one as a visible skip (a failure under CI=true: tests/conftest.py).
EVERY_BACKEND = [
    pytest.param(name, marks=pytest.mark.skipif(name not in INSTALLED, reason=f"{name} is not installed"))
    for name in backend.BACKENDS
]


# ------------------------------------------------------------------ seeding
_SEEDED_TRAININGS = """
import json, sys
import numpy as np
from autonas.execution.runner import train_graph
from autonas.execution.settings import TrainingSettings
from autonas.graph import generators
rng = np.random.default_rng(0)
x, y = rng.normal(size=(64, 4, 4, 1)).astype("float32"), rng.integers(0, 3, size=64)
settings = TrainingSettings(max_epochs=2, batch_size=16)
losses = [
    train_graph(generators.mlp((4, 4, 1), 3, hidden_units=(8,)), x, y, settings, seed=seed, measure=False)
    .metrics["history"]["loss"]
    for seed in (5, 5, 6)
]
print(json.dumps({"losses": losses, "tensorflow": "tensorflow" in sys.modules}))
"""


@pytest.mark.parametrize("name", EVERY_BACKEND)
def test_a_seeded_training_repeats_itself_and_imports_tensorflow_only_under_tensorflow(name):
    """Every installed backend, in a fresh process: the same seed trains the same losses, another seed
    others; TensorFlow (1.6 s and 460 MB a worker) is imported only where it is the backend."""
    env = {**os.environ, "KERAS_BACKEND": name, "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run([sys.executable, "-c", _SEEDED_TRAININGS], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    first, again, other = report["losses"]
    assert first == again
    assert first != other
    assert report["tensorflow"] == (name == "tensorflow")


# ------------------------------------------------------------------ real workers
def test_each_worker_runs_the_backend_and_threads_it_was_given(digits, tmp_path):
    """Real worker processes, one per (backend, threads): each reports what its framework uses.

    1 and 3 threads both differ from the default of a 2-core machine (2); another
    installed backend than this process's checks the backend is passed, not inherited.
    """
    x_train, x_test, y_train, y_test = digits
    data = TrainingData(x_train[:200], y_train[:200], x_test[:100], y_test[:100])
    folder = _write(data, tmp_path)
    this = keras.config.backend()
    others = [name for name in INSTALLED if name != this]
    cases = [(this, 1), (this, 3)] + [(other, 1) for other in others]
    graph = generators.mlp((8, 8, 1), 10, hidden_units=(16,))
    settings = TrainingSettings(max_epochs=1, batch_size=32)
    workers = []
    try:
        for name, threads in cases:
            worker = WorkerProcess(WorkerConfig(folder, intra_op_threads=threads, inter_op_threads=1, backend=name))
            worker.connection.send(("job", TrialJob(1, graph, settings, measure=False)))
            workers.append(worker)
        for (name, threads), worker in zip(cases, workers):
            progress = []
            while True:
                assert worker.connection.poll(240), f"no answer from the {name} worker"
                kind, result, peak = worker.connection.recv()
                if kind != "progress":
                    break
                progress.append(result)
            assert kind == "result", result
            assert progress == [(1, 0, 1), (1, 1, 1)]  # the trial's start and its one epoch, reported first
            assert result.status == "completed", result.error
            assert result.metrics["backend"] == name
            assert result.metrics["intra_op_threads"] == threads
            assert peak is None  # no GPU here
    finally:
        for worker in workers:
            worker.kill()
            worker.join(5)
    if not others:
        pytest.skip("a second Keras backend is not installed: that a worker gets the backend it is given, not "
                    "its parent's, is not checked")


def _write(data: TrainingData, folder) -> str:
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.save(folder / f"{name}.npy", getattr(data, name))
    return str(folder)
