"""A trial's start-up under TensorFlow: the training state built before ``fit`` against built while tracing.

Keras's TensorFlow trainer (without a distribution strategy) makes the
optimiser's and the metrics' variables while it first traces the training
step, and a ``tf.function`` that made variables on its first trace traces
again: every trial traced its training step twice. The runner now builds that
state before ``fit`` (``compiling._build_training_state``). This benchmark trains
each initial architecture in fresh processes, each pinned to one core with one
compute thread (as a worker of a search with one core per worker), once each
way, through ``runner.train_graph`` (cosine schedule, batch 64, validation
after every epoch, no cost measurement), and prints per network and data set
the median trial seconds, the seconds to the end of the first batch
(``startup_seconds``: tracing and compiling), the training-step traces, and
the ratio of the trial times. Usage::

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/trace_once.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

VARIANTS = ("built while tracing", "built before fit")
NETWORKS = ("cnn", "resnet", "densenet")
DATASETS = ("digits", "shapes")


def one_run(variant: str, network: str, dataset: str, epochs: int) -> dict:
    """Train ``network`` on ``dataset`` in this process; the trial's figures."""
    from autonas.execution import worker

    worker._configure_backend(worker.WorkerConfig("/tmp", intra_op_threads=1, inter_op_threads=1))
    from _small_data import small_dataset
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    from autonas.execution import compiling, runner
    from autonas.execution.settings import TrainingSettings
    from autonas.graph import generators

    traces = {"n": 0}
    train_step = TensorFlowTrainer.train_step

    def counted(self, data):  # Python runs only while tracing
        traces["n"] += 1
        return train_step(self, data)

    TensorFlowTrainer.train_step = counted
    if variant == "built while tracing":
        compiling._build_training_state = lambda *args, **kwargs: None
    x, y = small_dataset(dataset)
    x = (x.astype("float32") / float(x.max())).astype("float32")
    split = int(0.8 * len(x))
    graph = generators.BY_NAME[network](x.shape[1:], int(y.max()) + 1)
    settings = TrainingSettings(learning_rate=3e-3, batch_size=64, max_epochs=epochs, schedule="cosine")
    start = time.perf_counter()
    result = runner.train_graph(graph, x[:split], y[:split], settings, validation=(x[split:], y[split:]),
                                seed=0, measure=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "startup": result.metrics.get("startup_seconds"), "traces": traces["n"],
            "val_accuracy": result.metrics.get("val_accuracy"), "status": result.status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--core", type=int, default=0, help="the core every run is pinned to")
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--output", help="write every run as JSON here")
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)  # internal: variant network dataset
    args = parser.parse_args()
    if args.run:
        print(json.dumps(one_run(*args.run, args.epochs)))
        return
    runs = []
    for dataset in args.datasets:
        for network in args.networks:
            for _ in range(args.repeats):
                for variant in VARIANTS:  # alternated, so drift of the machine hits both alike
                    done = subprocess.run(
                        [sys.executable, __file__, "--run", variant, network, dataset, "--epochs", str(args.epochs)],
                        capture_output=True, text=True, check=True,
                        preexec_fn=lambda: os.sched_setaffinity(0, {args.core}),
                    )
                    run = json.loads(done.stdout.strip().splitlines()[-1])
                    runs.append({"variant": variant, "network": network, "dataset": dataset, **run})
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(runs, handle, indent=1)
    print(f"{args.epochs}-epoch trials, median of {args.repeats} fresh processes per cell, one pinned core")
    print(f"{'data':8} {'network':9} {'variant':22} {'trial s':>8} {'start-up s':>11} {'traces':>7} "
          f"{'val acc':>8} {'vs while tracing':>17}")
    for dataset in args.datasets:
        for network in args.networks:
            base = None
            for variant in VARIANTS:
                cell = [r for r in runs if (r["variant"], r["network"], r["dataset"]) == (variant, network, dataset)]
                seconds = statistics.median(r["seconds"] for r in cell)
                startup = statistics.median(r["startup"] or 0.0 for r in cell)
                accuracy = statistics.median(r["val_accuracy"] or 0.0 for r in cell)
                base = base or seconds
                print(f"{dataset:8} {network:9} {variant:22} {seconds:8.2f} {startup:11.2f} "
                      f"{max(r['traces'] for r in cell):7d} {accuracy:8.4f} {seconds / base:17.2f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
