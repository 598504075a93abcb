"""Where a trial's time goes: each phase of one trial, timed in a fresh worker-like process.

For two trials, a first trial of the initial CNN (``generators.cnn`` with 16 to
64 filters and 32 hidden units) and a child (that CNN after one
function-preserving Deeper, with the weights of a 2-epoch training), on
digits (70 % of scikit-learn's digits, a fifth of them for validation) and
Fashion-MNIST 10k (8,000 training, 2,000 validation images), standardised by
scalar mean and deviation, this times in a fresh process per (data set,
trial, repeat), pinned to one core with one compute thread (a worker of a
2-worker search on 2 cores), under the backend ``KERAS_BACKEND`` names:

* process start and imports: spawn to the backend configured as a worker
  configures it (``worker._configure_backend``) and the executor imported;
* data load: the memory-mapped ``.npy`` files ``share_data`` writes;
* then the trial trains as a worker trains it (``run_job``, ``measure=False``;
  batch 64, the runner's default cosine schedule, its callbacks), timed by
  wrapping ``Graph.to_keras`` and ``keras.Model.fit``: model build (seeding and
  ``graph.to_keras(for_training=True)``); compilation (``compile_for_training``,
  the first training step and the first validation step: the steps that
  compile); each epoch (the rest of it, validation included; and, within
  them, the waits from an epoch's start to its first step's end); the end of
  ``fit`` after the last epoch; weights back into the graph (the rest of
  ``train_graph``);
* ``model.evaluate`` on the validation images, ``measure_costs`` untimed and
  timed (with the latency budget ``train_graph`` gives it),
  ``Project.save_trial`` (files and checksums) and ``TensorBoardLog.trial``
  (its configuration written, untimed, beforehand).

The child's graph is read before the clock starts (a worker receives it with
the job). Prints a markdown table of the medians over ``--repeats`` runs
(alternated) with each phase's share of the whole trial (timed costs
counted, untimed ones not), then the whole trial's seconds; ``--output``
writes every run's phases as JSON.

    KERAS_BACKEND=jax python benchmarks/trial_anatomy.py [--datasets digits fashion] [--repeats 3]
        [--epochs 6] [--child-epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATASETS = ("digits", "fashion")
TRIALS = ("initial", "child")
BATCH = 64
UNTIMED = "costs, untimed"
WAITS = "(of the epochs: waits before their first steps)"
NAMES = ("x_train", "y_train", "x_val", "y_val")  # the files share_data writes


def load_split(name: str):
    """``TrainingData`` of ``name``: standardised float32 images (N, H, W, 1), stratified 80/20 split."""
    from _small_data import fashion_mnist_subset, standardised_split
    from autonas import datasets
    from autonas.execution.executor import TrainingData

    x, _, y, _ = datasets.load_digits() if name == "digits" else fashion_mnist_subset(10000)
    return TrainingData(*standardised_split(x, y))


def initial_graph(shape):
    """The small initial CNN: 16 filters doubling up to 64, 32 hidden units, 10 classes."""
    from autonas.graph import generators

    return generators.cnn(shape, 10, filters=16, max_filters=64, hidden_units=32)


def start_worker(folder: str):
    """Configure this process's backend as a 1-thread CPU worker does and import what a worker imports."""
    from autonas.execution import worker

    worker._configure_backend(worker.WorkerConfig(folder, intra_op_threads=1, inter_op_threads=1))
    import numpy as np  # noqa: F401 - what worker_main imports next

    from autonas.execution.executor import TrainingData, run_job  # noqa: F401


def prepare_child(folder: str, epochs: int) -> None:
    """Train the initial CNN ``epochs`` epochs, morph it by a Deeper and write the child into ``folder``."""
    start_worker(folder)
    import numpy as np

    from autonas.execution import runner
    from autonas.execution.settings import TrainingSettings
    from autonas.morphism import operations

    x_train, y_train, x_val, y_val = (np.load(Path(folder) / f"{n}.npy") for n in NAMES)
    settings = TrainingSettings(batch_size=BATCH, max_epochs=epochs)
    result = runner.train_graph(initial_graph(x_train.shape[1:]), x_train, y_train, settings,
                                validation=(x_val, y_val), seed=0, measure=False)
    assert result.status == "completed", result.error
    operation = operations.candidate_operations(result.graph, kinds={"deeper"})[1]  # after the 2nd ReLU
    child = operation.apply(result.graph, rng=0)
    (Path(folder) / "child.json").write_text(child.to_json())
    child.save_weights(Path(folder) / "child.npz")
    (Path(folder) / "operation.json").write_text(operation.to_json())


def one_trial(folder: str, trial: str, epochs: int, spawned: float) -> list[tuple[str, float]]:
    """The phases of one trial in this fresh process, as ``(phase, seconds)``.

    The trial trains through ``run_job`` (what a worker runs), with ``measure=False``; the
    model build, the fit and its steps are timed by wrapping ``Graph.to_keras`` and
    ``keras.Model.fit``, so the runner's own schedule and callbacks are what is timed.

    Args:
        folder: The data ``share_data`` wrote (and, for a child, its graph).
        trial: ``"initial"`` or ``"child"``.
        epochs: Epochs to train.
        spawned: ``time.time()`` just before the parent started this process.
    """
    start_worker(folder)
    phases = [("process start and imports", time.time() - spawned)]
    import keras
    import numpy as np

    from autonas.engine.project import Project, TrialRecord
    from autonas.execution.executor import TrainingData, TrialJob, run_job
    from autonas.execution.settings import TrainingSettings
    from autonas.graph import Graph
    from autonas.objectives import as_objective, measure_costs
    from autonas.tasks.tensorboard_log import TensorBoardLog

    if trial == "child":
        graph = Graph.from_json((Path(folder) / "child.json").read_text()).load_weights(Path(folder) / "child.npz")
        operations = [json.loads((Path(folder) / "operation.json").read_text())]
    else:
        graph, operations = initial_graph(np.load(Path(folder) / "x_val.npy", mmap_mode="r").shape[1:]), []

    class Stopwatch(keras.callbacks.Callback):
        """When the model was built (set by the wrapper below), its first steps ended and each epoch ended."""

        def __init__(self) -> None:
            super().__init__()
            self.built = self.model_built = self.first_step = self.test_begin = self.first_test_step = None
            self.fit_end = self.epoch_begin = None
            self.epoch_ends: list[float] = []
            self.waits = 0.0  # from an epoch's start to its first step's end, epochs after the first

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_begin = time.perf_counter() if epoch else None

        def on_train_batch_end(self, batch, logs=None):
            self.first_step = self.first_step or time.perf_counter()
            if self.epoch_begin is not None:
                self.waits, self.epoch_begin = self.waits + time.perf_counter() - self.epoch_begin, None

        def on_test_begin(self, logs=None):
            self.test_begin = self.test_begin or time.perf_counter()

        def on_test_batch_end(self, batch, logs=None):
            self.first_test_step = self.first_test_step or time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_ends.append(time.perf_counter())

    watch, to_keras, fit = Stopwatch(), Graph.to_keras, keras.Model.fit

    def timed_to_keras(self, *args, **kwargs):
        watch.model_built = to_keras(self, *args, **kwargs)
        watch.built = time.perf_counter()
        return watch.model_built

    def timed_fit(self, *args, callbacks=None, **kwargs):
        history = fit(self, *args, callbacks=[*(callbacks or []), watch], **kwargs)
        watch.fit_end = time.perf_counter()
        return history

    Graph.to_keras, keras.Model.fit = timed_to_keras, timed_fit
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases.append((name, now - clock))
        clock = now

    data = TrainingData(*(np.load(Path(folder) / f"{n}.npy", mmap_mode="r") for n in NAMES))
    lap("data load")
    settings = TrainingSettings(batch_size=BATCH, max_epochs=epochs)  # cosine, the runner's default
    result = run_job(TrialJob(1 + (trial == "child"), graph, settings, seed=0, measure=False), data)
    assert result.status == "completed", result.error
    first_validation = watch.first_test_step - watch.test_begin
    phases.append(("model build", watch.built - clock))
    phases.append(("compilation (first training and validation steps)",
                   watch.first_step - watch.built + first_validation))
    for epoch, end in enumerate(watch.epoch_ends):
        begin = watch.first_step + first_validation if epoch == 0 else watch.epoch_ends[epoch - 1]
        phases.append((f"epoch {epoch + 1}", end - begin))
    phases.append((WAITS, watch.waits))
    phases.append(("end of fit (after the last epoch)", watch.fit_end - watch.epoch_ends[-1]))
    clock = watch.fit_end
    lap("weights back into the graph")  # the rest of train_graph
    model, metrics = watch.model_built, result.metrics
    model.evaluate(data.x_val, data.y_val, batch_size=BATCH, verbose=0)
    lap("evaluation")
    measure_costs(result.graph, model, timed=False)
    lap(UNTIMED)
    budget = max(1.0, 0.05 * result.seconds)  # what train_graph gives the timed measurement
    quick = {} if budget >= 5.0 else {"batch_sizes": (1,), "warmup": 1, "repeats": 5}
    metrics.update(measure_costs(result.graph, model, timed=True, max_latency_seconds=budget, **quick))
    lap("costs, timed")
    with tempfile.TemporaryDirectory() as scratch:
        project, log = Project(scratch), TensorBoardLog(scratch, as_objective(None))
        log.start()
        record = TrialRecord(id=1 + (trial == "child"), parent=1 if trial == "child" else None,
                             operations=operations, fingerprint=graph.fingerprint(), metrics=metrics,
                             epochs=result.epochs, seconds=result.seconds, hyperparameters=settings.to_dict(),
                             name=trial)
        clock = time.perf_counter()
        project.save_trial(record, result.graph)
        lap("saving with checksums")
        log.trial(record)
        lap("TensorBoard log")
    return phases


def run_child(args: list[str], core: int) -> str:
    """Run this script with ``args`` in a fresh process pinned to ``core``; its last line of output."""
    command = [sys.executable, __file__, *args]
    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--repeats", type=int, default=3, help="processes per (data set, trial); medians shown")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of the initial trial")
    parser.add_argument("--child-epochs", type=int, default=2, help="epochs of the child (and of its parent)")
    parser.add_argument("--core", type=int, default=max(os.sched_getaffinity(0)), help="the core runs are pinned to")
    parser.add_argument("--output", help="a JSON file for every run's phases (default: none)")
    parser.add_argument("--one", nargs=4, metavar=("FOLDER", "TRIAL", "EPOCHS", "SPAWNED"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs=2, metavar=("FOLDER", "EPOCHS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_trial(args.one[0], args.one[1], int(args.one[2]), float(args.one[3]))))
        return
    if args.prepare:
        prepare_child(args.prepare[0], int(args.prepare[1]))
        return

    from autonas.backend import backend_name
    from autonas.execution.shared_data import share_data

    load_before = os.getloadavg()
    folders = {name: share_data(load_split(name)) for name in args.datasets}
    try:
        for folder in folders.values():
            run_child(["--prepare", folder, str(args.child_epochs)], args.core)
        runs: dict[tuple[str, str], list[list[tuple[str, float]]]] = {}
        for repeat in range(args.repeats):
            for name in args.datasets:
                for trial in TRIALS if repeat % 2 == 0 else TRIALS[::-1]:
                    epochs = args.epochs if trial == "initial" else args.child_epochs
                    line = run_child(["--one", folders[name], trial, str(epochs), repr(time.time())], args.core)
                    runs.setdefault((name, trial), []).append(json.loads(line))
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
    print(f"backend {backend_name()}, one core (#{args.core}) and one thread per run, medians of {args.repeats} "
          f"fresh processes; load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after\n")
    print("| data set | trial | phase | seconds | share |\n| --- | --- | --- | ---: | ---: |")
    wholes = []
    for (name, trial), trial_runs in runs.items():
        phases = [phase for phase, _ in trial_runs[0]]
        medians = {phase: statistics.median(dict(run)[phase] for run in trial_runs) for phase in phases}
        whole = sum(seconds for phase, seconds in medians.items() if phase not in (UNTIMED, WAITS))
        epochs = args.epochs if trial == "initial" else args.child_epochs
        label = f"{trial} ({epochs} epoch{'s' * (epochs != 1)})"
        for phase in phases:
            seconds = f"{medians[phase]:.3f}" if medians[phase] < 0.1 else f"{medians[phase]:.2f}"
            print(f"| {name} | {label} | {phase} | {seconds} | {100 * medians[phase] / whole:.0f} % |")
        wholes.append(f"{name} {label}: {whole:.1f} s")
    if args.output:
        Path(args.output).write_text(json.dumps({"backend": backend_name(), "runs": {
            f"{name} / {trial}": trial_runs for (name, trial), trial_runs in runs.items()}}, indent=1))
    print(f"\nwhole trial (sum of the medians; timed costs counted, untimed ones and the waits, counted in the "
          f"epochs, not): {'; '.join(wholes)}")


if __name__ == "__main__":
    main()
