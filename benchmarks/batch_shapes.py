"""Compiling for one batch shape: a trial's training with a short last batch, as Keras reads arrays, against full batches.

Under JAX every new batch shape compiles the training step again, so an
epoch that ends on a short batch (or a short execution of
``steps_per_execution`` steps) compiles it twice. The runner reads such
trainings as full batches (:attr:`autonas.backend.Capabilities.compiles_each_batch_shape`,
``autonas.execution.batches.array_batches(steps_multiple=...)``). This
benchmark trains the same graphs on the same digits both ways, each training
in a fresh process (no compilation cache carries over), alternated, and
prints the training's seconds, its start-up (what the pace does not explain:
building and compiling) and its seconds an epoch, with the ratios. Under
TensorFlow and PyTorch both ways are the same code path (nothing to compare).

    KERAS_BACKEND=jax python benchmarks/batch_shapes.py [--rows 600] [--batch 32] [--epochs 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

GRAPHS = ("mlp", "cnn", "resnet")


def one_training(graph: str, rows: int, batch: int, epochs: int, full_batches: bool) -> dict:
    """Train ``graph`` once in this process; the runner's choice of inputs or, without ``full_batches``, plain arrays."""
    from autonas.datasets import load_digits
    from autonas.execution import inputs
    from autonas.execution.runner import train_graph
    from autonas.execution.settings import TrainingSettings
    from autonas.graph import generators

    if not full_batches:
        inputs.compiles_each_batch_shape = lambda: False  # what the runner did before: Keras reads the arrays
    x_train, x_test, y_train, y_test = load_digits()
    x = (x_train[:rows].astype("float32") / 16.0)[..., None]
    x_val = (x_test[:200].astype("float32") / 16.0)[..., None]
    settings = TrainingSettings(max_epochs=epochs, patience=epochs, batch_size=batch, learning_rate=3e-3)
    result = train_graph(getattr(generators, graph)((8, 8, 1), 10), x, y_train[:rows], settings,
                         validation=(x_val, y_test[:200]), seed=0, measure=False)
    return {"seconds": result.seconds, "startup": result.metrics["startup_seconds"],
            "per_epoch": result.metrics["seconds_per_epoch"], "val_accuracy": result.metrics["val_accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=600, help="training images (600 at batch 32: a last batch of 24)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="trainings of each way, alternated; medians shown")
    parser.add_argument("--graphs", nargs="+", default=list(GRAPHS), choices=GRAPHS)
    parser.add_argument("--output", default=os.environ.get("OUT", "."), help="folder for batch_shapes.json")
    parser.add_argument("--one", nargs=2, metavar=("GRAPH", "WAY"), help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.one:
        graph, way = args.one
        print(json.dumps(one_training(graph, args.rows, args.batch, args.epochs, way == "full")))
        return

    from autonas.backend import backend_name, capabilities

    print(f"backend {backend_name()} (compiles each batch shape: {capabilities().compiles_each_batch_shape}), "
          f"{args.rows} digits, batch {args.batch}, {args.epochs} epochs, {args.repeats} fresh processes a way")
    print(f"{'graph':7} {'way':7} {'seconds':>8} {'start-up':>8} {'s/epoch':>8} {'val acc':>7}")
    rows = []
    for graph in args.graphs:
        runs: dict[str, list[dict]] = {"ragged": [], "full": []}
        for _ in range(args.repeats):
            for way in runs:  # alternated, so a slow spell of the machine hits both
                command = [sys.executable, __file__, "--one", graph, way, "--rows", str(args.rows),
                           "--batch", str(args.batch), "--epochs", str(args.epochs)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                runs[way].append(json.loads(done.stdout.strip().splitlines()[-1]))
        medians = {way: {key: statistics.median(run[key] for run in found) for key in found[0]}
                   for way, found in runs.items()}
        for way, median in medians.items():
            print(f"{graph:7} {way:7} {median['seconds']:8.2f} {median['startup']:8.2f} {median['per_epoch']:8.3f} "
                  f"{median['val_accuracy']:7.3f}")
        ratio = medians["ragged"]["seconds"] / medians["full"]["seconds"]
        print(f"{graph:7} ratio of training seconds, short last batch / full batches: {ratio:.2f}", flush=True)
        rows.append({"graph": graph, "runs": runs, "ratio": ratio})
    Path(args.output).mkdir(parents=True, exist_ok=True)
    (Path(args.output) / "batch_shapes.json").write_text(json.dumps({"backend": backend_name(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
