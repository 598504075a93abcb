"""How long does the Bayesian searcher take to propose? Run by hand: ``python benchmarks/search_overhead.py``.

For 50, 100 and 200 observed trials (architectures grown by random morphism
chains from ``generators.cnn`` and ``generators.resnet`` for 32×32×3 inputs,
told with a synthetic accuracy; no training), it times:

* ``tell``: the mean time to record one trial while the history grows
  (incremental Cholesky updates, with the periodic refits included);
* ``ask``: the median time of ``--asks`` proposals at that history size
  (edit distances of the candidates to the observed trials, the GP
  prediction and the tree search).

Target (issue 4): ``ask`` under 2 s at 200 trials on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from autonas.graph import Graph, generators
from autonas.morphism import random_morph
from autonas.search import BayesianSearcher, describe


def synthetic_accuracy(graph: Graph, rng: np.random.Generator) -> float:
    """A smooth function of depth, widths and skips plus noise, standing in for accuracy."""
    descriptor = describe(graph)
    widths = [w for _, w, _ in descriptor.layers][:-1]
    value = 0.9 - 0.01 * abs(len(widths) - 12) - 0.02 * abs(np.mean(np.log2(widths)) - 6) + 0.005 * len(descriptor.skips)
    return float(np.clip(value + rng.normal(0, 0.005), 0, 1))


def history(count: int, seed: int) -> list[Graph]:
    """``count`` distinct architectures, each a random morphism child of an earlier one."""
    rng = np.random.default_rng(seed)
    graphs = [generators.cnn((32, 32, 3), 10), generators.resnet((32, 32, 3), 10)]
    seen = {g.fingerprint() for g in graphs}
    while len(graphs) < count:
        parent = graphs[int(rng.integers(len(graphs)))]
        child, _ = random_morph(parent, rng, n=int(rng.integers(1, 4)))
        if child.fingerprint() not in seen:
            seen.add(child.fingerprint())
            graphs.append(child)
    return graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--asks", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    graphs = history(max(args.sizes), args.seed)
    print(f"built {len(graphs)} architectures in {time.perf_counter() - start:.1f} s "
          f"(largest: {max(len(describe(g).layers) for g in graphs)} weighted layers)")
    rng = np.random.default_rng(args.seed)
    searcher = BayesianSearcher(seed=args.seed)
    told, tell_seconds, medians = 0, [], {}
    print(f"{'trials':>6} | {'tell mean (s)':>13} | {'ask median (s)':>14} | {'ask max (s)':>11}")
    for size in sorted(args.sizes):
        while told < size:
            graph = graphs[told]
            tick = time.perf_counter()
            searcher.tell(f"t{told}", graph, synthetic_accuracy(graph, rng))
            tell_seconds.append(time.perf_counter() - tick)
            told += 1
        asks = []
        for _ in range(args.asks):
            tick = time.perf_counter()
            proposal = searcher.ask()
            asks.append(time.perf_counter() - tick)
            assert proposal is not None
        medians[size] = statistics.median(asks)
        # the asked proposals stay in flight, as in a parallel search; they are not told
        print(f"{size:>6} | {statistics.fmean(tell_seconds):>13.4f} | {statistics.median(asks):>14.3f} | {max(asks):>11.3f}")
    smallest, largest = min(medians), max(medians)
    print(f"ask({largest}) / ask({smallest}) = {medians[largest] / medians[smallest]:.2f} "
          f"(history {largest / smallest:.0f}x larger); target ask(200) < 2 s. One run, this machine.")


if __name__ == "__main__":
    main()
