"""Building a trained network's Keras model: Keras's initial values drawn then overwritten, against built from its weights.

Every child trial, the final fit and the export build a Keras model from a
graph whose weights are known. Keras creates each variable from its
initializer; under JAX that compiles a random-number program for every new
weight shape, only for the values to be overwritten at once.
``autonas.graph.keras_io`` now creates such variables from the graph's
weights. This benchmark builds the same graphs (random weights, drawn with
numpy) both ways, each in a fresh process (no compilation cache carries
over), alternated, and prints the seconds to build the model and to train it
one epoch on 2,048 random images (a child trial: building, compiling the
training step, one epoch), each measured in a process of its own, with the
ratios.

    KERAS_BACKEND=jax python benchmarks/model_build.py [--shape 28 28 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

GRAPHS = ("cnn", "resnet", "densenet")
WAYS = ("drawn, then overwritten", "from its weights")


def _with_random_weights(graph, seed: int = 0):
    """``graph`` with random weights drawn by numpy (no Keras, so no compilation before the timing)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for node in graph.nodes:
        shapes = graph.layer(node).weight_shapes(graph.input_shapes(node)) if graph.input_shapes(node) else []
        if shapes:
            graph.set_weights(node, [np.abs(rng.normal(0.1, 0.05, size=s)) + 0.5 for s in shapes])
    return graph


def one_process(graph_name: str, shape: tuple[int, ...], way: str, what: str) -> float:
    """Seconds to build ``graph_name``'s model from its weights, or to train it one epoch (``what``), in this
    fresh process."""
    from _small_data import timed_trial_on_random_images

    from autonas.graph import generators, keras_io

    if way == WAYS[0]:  # what graph_to_keras did before: Keras's initializers, then set_weights

        @contextmanager
        def drawn(layer, weights):
            yield False

        keras_io._starting_from = drawn
    graph = _with_random_weights(getattr(generators, graph_name)(shape, 10))
    if what == "build":
        start = time.perf_counter()
        graph.to_keras()
        return time.perf_counter() - start
    return timed_trial_on_random_images(graph)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=3, default=[28, 28, 1], help="image height, width, channels")
    parser.add_argument("--repeats", type=int, default=3, help="processes of each way, alternated; medians shown")
    parser.add_argument("--graphs", nargs="+", default=list(GRAPHS), choices=GRAPHS)
    parser.add_argument("--output", default=os.environ.get("OUT", "."), help="folder for model_build.json")
    parser.add_argument("--one", nargs=3, metavar=("GRAPH", "WAY", "WHAT"), help=argparse.SUPPRESS)  # a child
    args = parser.parse_args()
    shape = tuple(args.shape)
    if args.one:
        print(json.dumps(one_process(args.one[0], shape, WAYS[int(args.one[1])], args.one[2])))
        return

    import keras

    runs: dict[tuple[str, str, str], list[float]] = {}
    for _ in range(args.repeats):
        for graph in args.graphs:
            for what in ("build", "trial"):
                for index, way in enumerate(WAYS):
                    command = [sys.executable, __file__, "--shape", *map(str, shape), "--one", graph, str(index), what]
                    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                    runs.setdefault((graph, way, what), []).append(json.loads(output.strip().splitlines()[-1]))

    def median(graph: str, way: str, what: str) -> float:
        return statistics.median(runs[(graph, way, what)])

    print(f"backend {keras.config.backend()}, images {shape}, medians of {args.repeats} fresh processes")
    print(f"{'graph':10} {'build s: drawn':>15} {'from weights':>13} {'ratio':>6}   "
          f"{'1-epoch trial s: drawn':>23} {'from weights':>13} {'ratio':>6}")
    table = []
    for graph in args.graphs:
        build = [median(graph, way, "build") for way in WAYS]
        trial = [median(graph, way, "trial") for way in WAYS]
        print(f"{graph:10} {build[0]:15.2f} {build[1]:13.2f} {build[0] / build[1]:6.1f}   "
              f"{trial[0]:23.2f} {trial[1]:13.2f} {trial[0] / trial[1]:6.2f}")
        table.append({"graph": graph, "build": build, "trial": trial})
    path = Path(args.output) / "model_build.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"backend": keras.config.backend(), "shape": shape, "runs": {
        f"{g} / {w} / {what}": r for (g, w, what), r in runs.items()}, "table": table}, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
