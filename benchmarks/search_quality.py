"""Bayesian vs random morphism search on synthetic objectives. Run by hand: ``python benchmarks/search_quality.py``.

No training: each objective is a known function of an architecture's depth,
widths and skip connections (read from :func:`autonas.search.describe`). Each
searcher starts from ``generators.cnn((16, 16, 1), 10, filters=8, stages=2)``
and gets ``--evaluations`` evaluations (the start included) per seed; the
table gives the mean best value over ``--seeds`` seeds with its standard error.

* ``smooth``: most edits help until a target depth, width and skip count.
* ``deceptive``: depth helps, width up to a point, every skip hurts, so most
  random edits are harmful (the case in a real search).
* ``quadratic``: a smooth bowl around a target depth, width and skip count.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from autonas.graph import Graph, generators
from autonas.search import BayesianSearcher, RandomSearcher, describe


def _features(graph: Graph) -> tuple[int, float, int]:
    descriptor = describe(graph)
    widths = [w for _, w, _ in descriptor.layers][:-1]  # the output layer is fixed
    return len(widths), float(np.mean(np.log2(widths))), len(descriptor.skips)


def smooth(graph: Graph) -> float:
    depth, width, skips = _features(graph)
    return 1 - 0.04 * abs(depth - 8) - 0.05 * abs(width - 6) - 0.03 * abs(skips - 3)


def deceptive(graph: Graph) -> float:
    depth, width, skips = _features(graph)
    return 1 - 0.05 * abs(depth - 10) - 0.1 * abs(width - 5) - 0.1 * skips


def quadratic(graph: Graph) -> float:
    depth, width, skips = _features(graph)
    return 1 - 0.005 * (depth - 9) ** 2 - 0.02 * (width - 6) ** 2 - 0.01 * (skips - 2) ** 2


def best_value(searcher, objective: Callable[[Graph], float], evaluations: int) -> float:
    root = generators.cnn((16, 16, 1), 10, filters=8, stages=2)
    best = objective(root)
    searcher.tell("t0", root, best)
    for i in range(1, evaluations):
        proposal = searcher.ask()
        if proposal is None:
            break
        value = objective(proposal.graph)
        best = max(best, value)
        searcher.tell(f"t{i}", proposal.graph, value)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evaluations", type=int, default=30)
    args = parser.parse_args()
    searchers = {
        "bayesian": lambda seed: BayesianSearcher(seed=seed),
        "bayesian (bourgain)": lambda seed: BayesianSearcher(seed=seed, embedding="bourgain"),
        "random": lambda seed: RandomSearcher(seed=seed),
    }
    print(f"{'objective':>10} | {'searcher':>20} | {'mean best':>9} | {'std err':>7} | {'seconds':>7}")
    for objective in (smooth, deceptive, quadratic):
        means = {}
        for name, make in searchers.items():
            start = time.perf_counter()
            bests = [best_value(make(seed), objective, args.evaluations) for seed in range(args.seeds)]
            means[name] = float(np.mean(bests))
            print(f"{objective.__name__:>10} | {name:>20} | {means[name]:>9.4f} | "
                  f"{np.std(bests) / np.sqrt(len(bests)):>7.4f} | {time.perf_counter() - start:>7.1f}")
        print(f"{'':>10} | {'bayesian - random':>20} | {means['bayesian'] - means['random']:>+9.4f} |")


if __name__ == "__main__":
    main()
