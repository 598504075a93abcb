"""What one child's training adds to its parent, by its length and starting rate: can a child look cheaper?

A search's network improves along its line of descent: each child trains on
from its parent's weights for :attr:`autonas.engine.recipe.Recipe.child_examples`
examples on a restarted cosine schedule. A cheaper child (fewer examples)
means more trials per budget, but only helps if a child still adds to its
parent. This benchmark trains an initial architecture as a search does (5
epochs of 8,000 Fashion-MNIST images, cosine from 3e-3, batch 64, seed 0),
then **no-edit children** of it (the same network trained on, so only the
training differs) for each setting of examples (one epoch on that many of the
images, drawn by the child's seed) and starting rate, over ``--child-seeds``
seeds, and prints each setting's mean gain in validation accuracy over the
parent (2,000 held-out images), its standard error and the child's seconds.
Each network runs in its own process pinned to one core with one compute
thread (a worker of a search with one core per worker). Usage::

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/child_length.py --networks cnn resnet --child-seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SETTINGS = ((4000, 3e-3), (4000, 1e-3), (4000, 3e-4), (8000, 3e-3), (8000, 1e-3))


def one_network(network: str, child_seeds: list[int]) -> dict:
    """Train ``network`` and its no-edit children in this process; the figures per setting."""
    from autonas.execution import worker

    worker._configure_backend(worker.WorkerConfig("/tmp", intra_op_threads=1, inter_op_threads=1))
    from _small_data import fashion_mnist_subset

    from autonas.engine.spec import initial_architectures
    from autonas.execution import TrainingSettings, train_graph

    x, _, y, _ = fashion_mnist_subset(10_000)
    x = x.astype("float32")
    x = x / 255.0 if x.max() > 2 else x
    x = x[..., None] if x.ndim == 3 else x
    x_train, y_train, validation = x[:8000], y[:8000], (x[8000:], y[8000:])
    graph = dict(initial_architectures(x.shape[1:], 10))[network]
    initial = TrainingSettings(learning_rate=3e-3, batch_size=64, max_epochs=5, schedule="cosine")
    parent = train_graph(graph, x_train, y_train, initial, validation=validation, seed=0, measure=False)
    rows = []
    for examples, rate in SETTINGS:
        settings = TrainingSettings(learning_rate=rate, batch_size=64, max_epochs=1, schedule="cosine",
                                    subset_rows=examples if examples < len(x_train) else None)
        for seed in child_seeds:
            start = time.perf_counter()
            child = train_graph(parent.graph, x_train, y_train, settings, validation=validation, seed=seed,
                                measure=False)
            rows.append({"examples": examples, "rate": rate, "seed": seed, "seconds": time.perf_counter() - start,
                         "gain": 100 * (child.metrics["val_accuracy"] - parent.metrics["val_accuracy"])})
    return {"network": network, "parent": parent.metrics["val_accuracy"], "parent_seconds": parent.seconds,
            "children": rows}


def _table(results: list[dict]) -> str:
    lines = ["| network (parent's val. acc.) | child examples | starting rate | mean gain, points | s.e. | "
             "gains by seed | child s |", "| --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for result in results:
        for examples, rate in SETTINGS:
            cell = [c for c in result["children"] if (c["examples"], c["rate"]) == (examples, rate)]
            gains = [c["gain"] for c in cell]
            error = statistics.stdev(gains) / len(gains) ** 0.5 if len(gains) > 1 else float("nan")
            lines.append(
                f"| {result['network']} ({result['parent']:.4f}) | {examples:,} | {rate:g} | "
                f"{statistics.mean(gains):+.2f} | {error:.2f} | {', '.join(f'{g:+.2f}' for g in gains)} | "
                f"{statistics.median(c['seconds'] for c in cell):.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=["cnn", "resnet"])
    parser.add_argument("--child-seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--output", help="write the figures as JSON here")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: one network
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_network(args.one, args.child_seeds)))
        return
    procs = []
    for core, network in enumerate(args.networks):
        command = [sys.executable, __file__, "--one", network, "--child-seeds", *map(str, args.child_seeds)]
        if hasattr(os, "sched_setaffinity"):
            command = ["taskset", "-c", str(core % os.cpu_count()), *command]
        procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                                      cwd=os.path.dirname(os.path.abspath(__file__))))
    results = [json.loads(proc.communicate()[0].strip().splitlines()[-1]) for proc in procs]
    print(f"No-edit children of each initial network, Fashion-MNIST 8,000/2,000, seeds {args.child_seeds}, "
          f"one core per network, {len(procs)} at once")
    print(_table(results))
    if args.output:
        with open(args.output, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
