"""Hypervolume of the (accuracy, energy, size) front found by three searches. Run by hand.

``python benchmarks/multi_objective.py [--time-limit 240] [--dataset digits|fashion_mnist]``
on scikit-learn's digits (70/30 stratified split, random_state=0) or
Fashion-MNIST (``--fashion-train`` random training images, official test
set; ``autonas.datasets.fashion_mnist``), each search with the same time
limit, one after the other in this process:

(a) multi-objective: ``Objective(alpha=1, beta, gamma)`` with the references
    set to the default CNN's estimated energy and parameter count;
(b) accuracy only (the default objective), Bayesian searcher;
(c) random morphism search, accuracy only;
(d) accuracy under the hard constraint ``max_params=20_000`` (issue 6): the
    largest parameter count of any trained model is printed beside it.

All fronts are normalised with the same bounds (accuracy in [0, 1]; energy and
parameters divided by the largest value over all three runs) and measured
against the reference point (1, 1, 1). Energy is the figure each trial recorded,
with its source printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _small_data import fashion_mnist_subset  # noqa: E402

from autonas import AutoImageClassifier  # noqa: E402
from autonas.datasets import load_digits  # noqa: E402
from autonas.graph import generators  # noqa: E402
from autonas.objectives import Objective, graph_costs, hypervolume, objective_points  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=240.0)
    parser.add_argument("--beta", type=float, default=0.05, help="weight of normalised energy (default 0.05)")
    parser.add_argument("--gamma", type=float, default=0.05, help="weight of normalised size (default 0.05)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default="digits", choices=["digits", "fashion_mnist"])
    parser.add_argument("--fashion-train", type=int, default=10000, help="training images of Fashion-MNIST used")
    args = parser.parse_args()

    if args.dataset == "digits":
        x_train, x_test, y_train, y_test = load_digits()
    else:
        x_train, x_test, y_train, y_test = fashion_mnist_subset(args.fashion_train)
    reference = graph_costs(generators.cnn((*x_train.shape[1:3], 1), 10))
    runs = {
        "(a) multi-objective": dict(
            searcher="bayesian",
            objective=Objective(
                alpha=1.0,
                beta=args.beta,
                gamma=args.gamma,
                energy_reference=reference["energy_mj"],
                size_reference=reference["params"],
            ),
        ),
        "(b) accuracy only": dict(searcher="bayesian"),
        "(c) random morphism": dict(searcher="random"),
        "(d) max_params=20000": dict(searcher="bayesian", max_params=20_000),
    }
    results = {}
    for name, kwargs in runs.items():
        with tempfile.TemporaryDirectory() as directory:
            start = time.monotonic()
            classifier = AutoImageClassifier(
                time_limit=args.time_limit, directory=directory, seed=args.seed, verbose=0, **kwargs
            ).fit(x_train, y_train)
            results[name] = (classifier, time.monotonic() - start, classifier.score(x_test, y_test))
            print(f"{name}: {len(classifier.history_)} trials in {results[name][1]:.0f} s", flush=True)

    everything = [r for classifier, _, _ in results.values() for r in classifier.history_]
    bounds = {
        "val_accuracy": (0.0, 1.0),
        "energy_mj": (0.0, max(r.metrics.get("energy_mj", 0.0) for r in everything)),
        "params": (0.0, max(r.metrics.get("params", 0) for r in everything)),
    }
    sources = sorted({str(r.metrics.get("energy_source")) for r in everything if r.status == "completed"})
    print(f"\n{args.dataset}, time limit {args.time_limit:.0f} s each, {os.cpu_count()} CPUs; energy source: {', '.join(sources)}")
    print(f"{'search':<22} {'hypervolume':>11} {'front':>5} {'trials':>6} {'test acc':>8} {'best params':>11} "
          f"{'max trained params':>18} {'seconds':>7}")
    for name, (classifier, seconds, accuracy) in results.items():
        front = classifier.pareto_front()
        trained = [r.metrics.get("params", 0) for r in classifier.history_ if r.status == "completed"]
        volume = hypervolume(objective_points(front, bounds=bounds), (1.0, 1.0, 1.0))
        print(
            f"{name:<22} {volume:>11.4f} {len(front):>5} {len(classifier.history_):>6} {accuracy:>8.4f} "
            f"{classifier.best_graph_.num_params():>11,} {max(trained):>18,} {seconds:>7.0f}"
        )


if __name__ == "__main__":
    main()
