"""How much does the final fit itself scatter? Run by hand (issue 57).

``python benchmarks/final_fit_noise.py [--dataset fashion] [--seeds 0 1] [--fit-seeds 0 1 2 3] [--budget 600]
[--final-seconds 180] [--parallel 2] [--work benchmarks/.noise] [--results benchmarks/results/final_fit_noise.json]``

The final fit is the truth that ``benchmarks/fidelity.py`` ranks a trial's signals against, from one
fit per network. Here the same network is final-fitted several times:

1. **Searches**: one default ``AutoImageClassifier(time_limit=--budget, seed=seed)`` search per seed,
   each in a process of its own on one core (``fidelity.py``'s searches, without a size penalty).
2. **Networks**: in each search, the two trials a searcher chooses between at the end: the best
   validation accuracy (the chosen trial) and the runner-up.
3. **Final fits**: each network trained on from its trial's weights as the classifier's final fit
   does (``fidelity.py``'s ``--final``), once for each ``--fit-seeds`` (the seed of the final fit's
   data order; the split of the images stays the search's), one core each, scored on the test set.
4. **Table**: per network the mean, standard deviation and range of the test accuracy; the pooled
   standard deviation of one final fit; per search the difference of the two networks' means with
   its standard error; and how often one fit of each (every pairing of fit seeds) orders the pair as
   their means do. A signal can order two networks no better than one final fit orders them.

Everything computed is kept in ``--results`` (a run again goes on where it stopped); ``--analyse``
only prints the table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _small_data import COMPARISON_DATASETS  # noqa: E402

import fidelity  # noqa: E402


def _fidelity_args(args: argparse.Namespace) -> list[str]:
    return ["--budget", str(args.budget), "--train-images", str(args.train_images), "--work", args.work,
            "--final-seconds", str(args.final_seconds), "--shrinking-seeds"]


def chosen_and_runner_up(work: str, dataset: str, seed: int, chosen: int) -> list[tuple[int, float]]:
    """``(trial, val_accuracy)`` of search ``(dataset, seed)``'s chosen trial and of the best other completed one."""
    from autonas.engine.project import Project

    project = Project.open_read_only(Path(work) / f"{dataset}_{seed}")
    scored = {r.id: float(r.metrics["val_accuracy"]) for r in project.load_trials()
              if r.status == "completed" and r.metrics.get("val_accuracy") is not None}
    others = sorted((pair for pair in scored.items() if pair[0] != chosen), key=lambda pair: -pair[1])
    return [(chosen, scored[chosen]), *others[:1]]


def run_all(args: argparse.Namespace) -> dict:
    path = Path(args.results)
    kept = json.loads(path.read_text()) if path.exists() else {"searches": {}, "fits": []}
    kept["setting"] = {k: getattr(args, k) for k in ("dataset", "budget", "train_images", "final_seconds")}
    kept["machine"] = fidelity.this_machine()

    def save() -> None:
        fidelity.save_results(path, kept)

    def searched(key: str, result: dict) -> None:
        seed = int(key.rsplit("_", 1)[1])
        result["networks"] = chosen_and_runner_up(args.work, args.dataset, seed, result["best_trial"])
        kept["searches"][key] = result
        save()
        print(f"search {key}: {result}", flush=True)

    searches = [(f"{args.dataset}_{s}", ["--search", args.dataset, str(s), *_fidelity_args(args)])
                for s in args.seeds if f"{args.dataset}_{s}" not in kept["searches"]]
    fidelity._run_queue(searches, args, searched)
    done = {(f["seed"], f["trial"], f["fit_seed"]) for f in kept["fits"]}
    fits = []
    for seed in args.seeds:
        for trial, _ in kept["searches"][f"{args.dataset}_{seed}"]["networks"]:
            for fit_seed in args.fit_seeds:
                if (seed, trial, fit_seed) not in done:
                    fits.append((f"{args.dataset}_{seed}_{trial}_{fit_seed}",
                                 ["--final", args.dataset, str(seed), str(trial), "--fit-seed", str(fit_seed),
                                  *_fidelity_args(args)]))

    def fitted(key: str, result: dict) -> None:
        seed, trial, fit_seed = map(int, key.split("_")[-3:])
        kept["fits"].append({"seed": seed, "trial": trial, "fit_seed": fit_seed,
                             "test_accuracy": result["test_accuracy"], "final_seconds": result["final_seconds"],
                             "val_accuracy": result["metrics"]["val_accuracy"]})
        save()
        print(f"final fit {key}: test accuracy {result['test_accuracy']:.4f} after {result['final_seconds']:.0f} s",
              flush=True)

    fidelity._run_queue(fits, args, fitted)
    return kept


def table(kept: dict) -> str:
    """The per-network and per-search tables of what ``kept`` holds (accuracies in points)."""
    by_network: dict[tuple[int, int], dict[int, float]] = {}
    for fit in kept["fits"]:
        by_network.setdefault((fit["seed"], fit["trial"]), {})[fit["fit_seed"]] = 100 * fit["test_accuracy"]
    lines = ["| search seed | trial | trial's val_accuracy | final fits | mean | s.d. | range |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    variances = []
    for seed_key, search in sorted(kept["searches"].items()):
        seed = int(seed_key.rsplit("_", 1)[1])
        for trial, score in search["networks"]:
            values = np.array(list(by_network.get((seed, trial), {}).values()))
            if len(values) < 2:
                continue
            variances.append(values.var(ddof=1))
            lines.append(f"| {seed} | {trial} | {score:.4f} | {len(values)} | {values.mean():.2f} | "
                         f"{values.std(ddof=1):.2f} | {values.min():.2f}–{values.max():.2f} |")
    if variances:
        lines.append(f"\nPooled s.d. of one final fit: {np.sqrt(np.mean(variances)):.2f} points "
                     f"({len(variances)} networks).")
    lines += ["", "| search seed | chosen − runner-up, mean (s.e.) | one fit each orders them as the means |",
              "| ---: | ---: | ---: |"]
    for seed_key, search in sorted(kept["searches"].items()):
        seed = int(seed_key.rsplit("_", 1)[1])
        if len(search["networks"]) < 2:
            continue
        first, second = (by_network.get((seed, trial), {}) for trial, _ in search["networks"])
        if len(first) < 2 or len(second) < 2:
            continue
        a, b = np.array(list(first.values())), np.array(list(second.values()))
        gap = a.mean() - b.mean()
        error = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        agree = [np.sign(x - y) == np.sign(gap) for x, y in itertools.product(a, b)]
        lines.append(f"| {seed} | {gap:+.2f} ({error:.2f}) | {sum(agree)}/{len(agree)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=tuple(COMPARISON_DATASETS), default="fashion")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="one search per seed")
    parser.add_argument("--fit-seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="final fits per network")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per search (default 600)")
    parser.add_argument("--train-images", type=int, default=10_000, help="Fashion-MNIST training images")
    parser.add_argument("--final-seconds", type=float, default=180.0, help="seconds of each final fit")
    parser.add_argument("--parallel", type=int, default=2, help="processes at once, one core each")
    here = Path(__file__).resolve().parent  # the defaults hold from whichever folder it is run
    parser.add_argument("--work", default=str(here / ".noise"), help="project folders and logs")
    parser.add_argument("--results", default=str(here / "results" / "final_fit_noise.json"))
    parser.add_argument("--analyse", action="store_true", help="print the table of what --results holds")
    args = parser.parse_args()
    args.work = str(Path(args.work).resolve())
    kept = json.loads(Path(args.results).read_text()) if args.analyse else run_all(args)
    print(table(kept))


if __name__ == "__main__":
    main()
