"""Robust accuracy bought by ``Objective(robustness=...)``: the default search against the robust one. Run by hand.

``python benchmarks/robustness.py [--budget 600] [--seeds 0 1 2] [--train-images 10000] [--epsilon 0.1]
[--results benchmarks/results/robustness.json] [--plot benchmarks/results/robustness_front.png]``

Each run is one ``AutoImageClassifier`` search on the first ``--train-images`` Fashion-MNIST training
images (Debian's ``dataset-fashion-mnist``) for ``--budget`` seconds on the whole machine, one run at a
time. Arms:

* ``default``: ``AutoImageClassifier(time_limit=budget, seed=seed)``;
* ``robust``: the same with ``objective=Objective(robustness=1.0, epsilon=ε)``: trials and the final fit
  train on FGSM examples with a random start, each trial's robust accuracy (PGD, 10 steps, 256
  validation images) is part of its reward.

Both chosen models are scored on the first ``--test-images`` official test images: clean accuracy and
accuracy under PGD (L∞, ε on the [0, 1] pixel scale, random start, 10 steps; ART's, through
``classifier.robustness``). Prints a table (mean ± standard error over seeds, and the robust arm's gain
paired by seed), keeps every run in ``--results`` (runs already there are not run again) and plots the
robust run of the first seed: validation accuracy against robust accuracy, its Pareto front highlighted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _small_data import fashion_mnist_subset  # noqa: E402

ARMS = ("default", "robust")


def run(arm: str, seed: int, args: argparse.Namespace, folder: str) -> dict:
    """One search of ``arm``; its figures (and the classifier, for the plot)."""
    from autonas import AutoImageClassifier, Objective

    x_train, x_test, y_train, y_test = fashion_mnist_subset(args.train_images)
    x_test, y_test = x_test[: args.test_images], y_test[: args.test_images]
    objective = Objective(robustness=1.0, epsilon=args.epsilon) if arm == "robust" else None
    classifier = AutoImageClassifier(time_limit=args.budget, seed=seed, directory=folder, project_name=f"{arm}_{seed}",
                                     verbose=0, objective=objective)
    start = time.monotonic()
    classifier.fit(x_train, y_train)
    seconds = time.monotonic() - start
    attacked = classifier.robustness(x_test, y_test, attack="pgd", epsilon=args.epsilon, steps=10, seed=0)
    return {
        "arm": arm, "seed": seed, "clean_accuracy": attacked["clean_accuracy"],
        "robust_accuracy": attacked["robust_accuracy"], "attack_seconds": attacked["attack_seconds"],
        "trials": len(classifier.history_), "seconds": seconds, "params": classifier.best_graph_.num_params(),
        "fit_seconds": classifier.fit_seconds_,
    }, classifier


def _table(runs: list[dict]) -> str:
    lines = ["| arm | runs | test accuracy | robust accuracy (PGD) | trials |", "| --- | ---: | ---: | ---: | ---: |"]
    for arm in ARMS:
        chosen = [r for r in runs if r["arm"] == arm]
        if not chosen:
            continue
        cells = []
        for key in ("clean_accuracy", "robust_accuracy"):
            values = np.array([r[key] for r in chosen])
            error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
            cells.append(f"{values.mean():.4f} ± {error:.4f}")
        trials = ", ".join(str(r["trials"]) for r in chosen)
        lines.append(f"| {arm} | {len(chosen)} | {cells[0]} | {cells[1]} | {trials} |")
    by_seed = {(r["arm"], r["seed"]): r for r in runs}
    seeds = sorted({s for a, s in by_seed if a == "robust" and ("default", s) in by_seed})
    for key in ("clean_accuracy", "robust_accuracy"):
        gains = np.array([by_seed["robust", s][key] - by_seed["default", s][key] for s in seeds])
        if len(gains):
            error = gains.std(ddof=1) / np.sqrt(len(gains)) if len(gains) > 1 else float("nan")
            lines.append(f"\nrobust − default, {key}, paired over seeds {seeds}: "
                         f"{100 * gains.mean():+.2f} points (s.e. {100 * error:.2f})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per search (default 600)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--train-images", type=int, default=10_000)
    parser.add_argument("--test-images", type=int, default=1_000, help="official test images attacked (default 1,000)")
    parser.add_argument("--epsilon", type=float, default=0.1, help="ε on the [0, 1] pixel scale (default 0.1)")
    parser.add_argument("--results", default="robustness.json", help="JSON that keeps every run")
    parser.add_argument("--plot", default=None, help="PNG of the first seed's robust run (needs matplotlib)")
    args = parser.parse_args()

    path = Path(args.results)
    kept = json.loads(path.read_text()) if path.exists() else {"runs": []}
    kept["setting"] = {key: getattr(args, key) for key in ("budget", "train_images", "test_images", "epsilon")}
    kept["machine"] = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                       "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                                text=True).stdout.strip()}
    done = {(r["arm"], r["seed"]) for r in kept["runs"]}
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            for arm in args.arms:
                plotting = args.plot and arm == "robust" and seed == args.seeds[0]
                if (arm, seed) in done and not plotting:
                    continue
                figures, classifier = run(arm, seed, args, folder)
                print(json.dumps(figures), flush=True)
                kept["runs"] = [r for r in kept["runs"] if (r["arm"], r["seed"]) != (arm, seed)] + [figures]
                path.write_text(json.dumps(kept, indent=1))
                if plotting:
                    print(f"plot: {classifier.plot_pareto(args.plot, cost='robust_accuracy')}")
    print(_table(kept["runs"]))


if __name__ == "__main__":
    main()
