"""A trial's pace on CPU against its batch size, its precision, and (TensorFlow) with its graph optimiser off or XLA on.

Issue 28 asked for the batch size that trains fastest per epoch on the
machine a trial runs on, and a trial's fixed start-up (build, trace, first
batch) is a fifth of a child's time on Fashion-MNIST. This benchmark trains
each initial architecture once per variant in fresh processes, each pinned
to one core with one compute thread (a worker of a search with one core per
worker), through ``runner.train_graph`` as a trial does: the recipe's
cosine schedule from 3e-3, 8,000 Fashion-MNIST images, validation on 2,000
after each epoch, no cost measurement. Variants: batch 32, 64 (the recipe's),
128 and 256; under TensorFlow also batch 64 with grappler, TensorFlow's graph
optimiser, switched off (``disable_meta_optimizer``), which might shorten
the start-up, and batch 64 compiled by XLA (``jit_compile=True``, which
Keras leaves off on a machine without a GPU), which might fuse the small
layers' kernels; on every backend batch 64 in mixed bfloat16
(``TrainingSettings(precision="mixed_bfloat16")``: bfloat16 arithmetic, which
oneDNN runs on a CPU's AMX units). Networks: the initial CNN and ResNet, a
grown CNN (the CNN after four random deeper and wider edits, seed 1: a child
such as the search grows, about three times the CNN's multiply-adds) and the
DenseNet generator (not an initial architecture); the default is the first
two. It prints per network and variant the median trial seconds,
start-up seconds (to the end of the first batch), seconds an epoch,
validation accuracy and the trial time as a ratio of batch 64's. Variants
are alternated within each repeat, so drift of the machine hits all alike.
Usage::

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/trial_pace.py --repeats 3 --epochs 1
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/trial_pace.py --repeats 3 --epochs 2 \
        --networks cnn resnet "grown cnn" densenet --variants "64, mixed bfloat16"
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

NETWORKS = ("cnn", "resnet", "grown cnn", "densenet")
BATCHES = (32, 64, 128, 256)
NO_GRAPPLER = "64, grappler off"
XLA = "64, XLA"
MIXED = "64, mixed bfloat16"


def variants() -> list[str]:
    """The variants this backend runs (grappler and the XLA switch are TensorFlow's)."""
    from autonas import backend

    names = [str(batch) for batch in BATCHES] + [MIXED]
    return names + [NO_GRAPPLER, XLA] if backend.backend_name() == "tensorflow" else names


def network_graph(network: str, input_shape: tuple, classes: int):
    """The graph of ``network``: a generator's, or ``"grown cnn"``, the CNN after four random growing edits."""
    from autonas.graph import generators
    from autonas.morphism import random_morph

    if network == "grown cnn":
        graph, _ = random_morph(generators.cnn(input_shape, classes), 1, n=4, kinds=["deeper", "wider"])
        return graph
    return generators.BY_NAME[network](input_shape, classes)


def one_run(variant: str, network: str, epochs: int) -> dict:
    """Train ``network`` with ``variant`` in this process; the trial's figures."""
    from autonas.execution import worker

    worker._configure_backend(worker.WorkerConfig("/tmp", intra_op_threads=1, inter_op_threads=1))
    if variant == NO_GRAPPLER:
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    if variant == XLA:
        import keras

        compile_model = keras.Model.compile

        def compile_with_xla(model, *args, **kwargs):
            return compile_model(model, *args, **{**kwargs, "jit_compile": True})

        keras.Model.compile = compile_with_xla
    from _small_data import fashion_mnist_subset

    from autonas.execution import runner
    from autonas.execution.settings import TrainingSettings

    x, _, y, _ = fashion_mnist_subset(10_000)
    x = (x[..., None].astype("float32") / 255.0) if x.ndim == 3 else x.astype("float32") / 255.0
    graph = network_graph(network, x.shape[1:], 10)
    batch = int(variant.split(",")[0])
    settings = TrainingSettings(learning_rate=3e-3, batch_size=batch, max_epochs=epochs, schedule="cosine",
                                precision="mixed_bfloat16" if variant == MIXED else "float32")
    start = time.perf_counter()
    result = runner.train_graph(graph, x[:8000], y[:8000], settings, validation=(x[8000:], y[8000:]),
                                seed=0, measure=False)
    return {"seconds": time.perf_counter() - start, "startup": result.metrics.get("startup_seconds") or 0.0,
            "pace": result.metrics.get("seconds_per_epoch") or 0.0,
            "val_accuracy": result.metrics.get("val_accuracy") or 0.0, "status": result.status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per trial (1: a child's, 8,000 images)")
    parser.add_argument("--core", type=int, default=0, help="the core every run is pinned to")
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS[:2]), choices=NETWORKS)
    parser.add_argument("--variants", nargs="+", help="the variants to run (default: all of this backend's; "
                        "64 is always among them, the reference of the ratios)")
    parser.add_argument("--output", help="write every run as JSON here")
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)  # internal: variant network
    args = parser.parse_args()
    if args.run:
        print(json.dumps(one_run(*args.run, args.epochs)))
        return
    names, runs = variants(), []
    if args.variants:
        unknown = sorted(set(args.variants) - set(names))
        if unknown:
            parser.error(f"--variants: unknown {unknown}; this backend has {names}")
        names = [name for name in names if name in {"64", *args.variants}]
    for network in args.networks:
        for _ in range(args.repeats):
            for variant in names:
                done = subprocess.run(
                    [sys.executable, __file__, "--run", variant, network, "--epochs", str(args.epochs)],
                    capture_output=True, text=True, check=True,
                    preexec_fn=lambda: os.sched_setaffinity(0, {args.core}),
                )
                runs.append({"variant": variant, "network": network, **json.loads(done.stdout.strip().splitlines()[-1])})
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(runs, handle, indent=1)
    print(f"{args.epochs}-epoch trials on 8,000 Fashion-MNIST images, median of {args.repeats} fresh processes, "
          "one pinned core")
    print(f"{'network':9} {'batch':18} {'trial s':>8} {'start-up s':>11} {'s/epoch':>8} {'val acc':>8} {'vs 64':>6}")
    for network in args.networks:
        cells = {v: [r for r in runs if (r["variant"], r["network"]) == (v, network)] for v in names}
        medians = {v: {k: statistics.median(r[k] for r in cell) for k in ("seconds", "startup", "pace", "val_accuracy")}
                   for v, cell in cells.items()}
        for variant, m in medians.items():
            print(f"{network:9} {variant:18} {m['seconds']:8.2f} {m['startup']:11.2f} {m['pace']:8.2f} "
                  f"{m['val_accuracy']:8.4f} {m['seconds'] / medians['64']['seconds']:6.2f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
