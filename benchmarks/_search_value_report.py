"""The tables and the plot of ``benchmarks/search_value.py``: what its runs show, printed and drawn."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from _small_data import COMPARISON_DATASETS

__all__ = ["PAIRS", "front_figures", "plot", "print_table", "standard_error"]

#: The arms whose difference the table prints, when both ran.
PAIRS = [("bayesian", "random"), ("bayesian", "keras-tuner"), ("random", "keras-tuner"), ("bayesian", "more-training"),
         ("bayesian", "keras-tuner hyperband"), ("bayesian", "keras.io recipe"),
         ("bayesian, generations", "keras-tuner"), ("bayesian, generations", "keras-tuner hyperband"),
         ("bayesian, generations", "keras.io recipe"),
         ("bayesian, generations", "more-training, generations"), ("random, generations", "more-training, generations"),
         ("bayesian, generations", "random, generations"), ("bayesian, generations", "bayesian"),
         ("more-training, generations", "more-training"),
         ("bayesian, generations, growing only", "more-training, generations"),
         ("random, generations, growing only", "more-training, generations"),
         ("bayesian, generations, growing only", "bayesian, generations"),
         ("bayesian, generations", "bayesian, generations, fixed child limit"),
         ("bayesian, generations, fixed child limit", "more-training, generations"),
         ("bayesian, generations, halving", "more-training, generations, halving"),
         ("bayesian, generations, halving", "bayesian, generations"),
         ("bayesian, generations, halving", "more-training, generations"),
         ("more-training, generations, halving", "more-training, generations"),
         ("bayesian, generations, halving", "keras.io recipe"), ("bayesian", "bayesian, generations, halving"),
         ("bayesian", "bayesian, half-epoch children"), ("bayesian", "bayesian, 80-trial limit"),
         ("bayesian", "bayesian, 50-trial limit"), ("bayesian", "bayesian, 120-trial limit"),
         ("bayesian", "bayesian, fixed child limit"), ("bayesian", "bayesian, growth 3x"),
         ("bayesian", "bayesian, final fit 15 %"), ("bayesian", "bayesian, float32 trials"),
         ("bayesian", "bayesian, bfloat16 final fit 22 %"), ("bayesian", "bayesian, float32 final fit"),
         ("bayesian", "bayesian, stretch 2x")]


def front_figures(runs: list[dict], bar: float) -> dict[int, tuple[float, int | None]]:
    """Per multi-objective run: hypervolume (common bounds) and the smallest front model at the bar."""
    from autonas.objectives import hypervolume, objective_points

    points = [p for run in runs for p in run["result"]["front"]]
    bounds = {
        "val_accuracy": (0.0, 1.0),
        "energy_mj": (0.0, max(p["energy_mj"] or 0.0 for p in points) or 1.0),
        "params": (0.0, max(p["params"] or 0 for p in points) or 1.0),
    }
    figures = {}
    for index, run in enumerate(runs):
        front = run["result"]["front"]
        volume = hypervolume(objective_points(front, bounds=bounds), (1.0, 1.0, 1.0))
        good = [p["params"] for p in front if p["test_accuracy"] >= bar]
        figures[index] = (volume, min(good) if good else None)
    return figures


def standard_error(values: list[float]) -> float:
    """The standard error of the mean of ``values`` (NaN for fewer than two)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def print_table(runs: list[dict], args, arms: Sequence[str], multi_arms: Sequence[str]) -> None:
    """The tables of ``runs``: per arm (in the order of ``arms``), the differences of :data:`PAIRS`, the
    edit gains of generations arms and the fronts of the multi-objective ones (``multi_arms``)."""
    cores = sorted({run["cores"] for run in runs})
    seeds = sorted({run["seed"] for run in runs})
    data = (f"Fashion-MNIST, {args.train_images:,} training images, official test set" if args.dataset == "fashion"
            else COMPARISON_DATASETS[args.dataset])
    print(f"\n{data}; {args.budget:.0f} s per run, "
          f"seeds {seeds}; {cores} core(s) per run, {args.parallel} run(s) at once")
    print(f"{'arm':<42} {'test acc mean':>13} {'s.e.':>6} {'range':>15} {'trials (children)':>24} {'best params':>11} "
          f"{'epochs to best':>14}")
    by_arm: dict[str, list[dict]] = {}
    by_seed: dict[str, dict[int, float]] = {}
    for run in runs:
        by_arm.setdefault(run["arm"], []).append(run["result"])
        by_seed.setdefault(run["arm"], {})[run["seed"]] = run["result"]["test_accuracy"]
    accuracies: dict[str, list[float]] = {}
    for arm in [a for a in arms if a in by_arm]:  # every arm of this setting, kept runs included
        results = by_arm[arm]
        values = accuracies[arm] = [r["test_accuracy"] for r in results]
        trials = "/".join(f"{r['trials']} ({r['children']})" for r in results)
        params = "/".join(f"{r['params']:,}" for r in results)
        epochs = "/".join(str(r.get("best_trial_epochs", "-")) for r in results)
        print(f"{arm:<42} {np.mean(values):>13.4f} {standard_error(values):>6.4f} {min(values):>7.4f}–{max(values):<7.4f} "
              f"{trials:>24} {params:>11} {epochs:>14}")
    for a, b in PAIRS:
        if a in accuracies and b in accuracies:
            difference = np.mean(accuracies[a]) - np.mean(accuracies[b])
            error = np.hypot(standard_error(accuracies[a]), standard_error(accuracies[b]))
            print(f"{a} − {b}: {100 * difference:+.2f} points of mean test accuracy (s.e. of the difference "
                  f"{100 * error:.2f}){_paired(by_seed[a], by_seed[b])}")
    _print_gains(runs)
    _print_fronts([run for run in runs if run["arm"] in multi_arms], args.bar)


def _print_gains(runs: list[dict]) -> None:
    """The mean gain of each edit kind over the no-edit sibling, over the generations arms' runs."""
    gains: dict[str, list[float]] = {}
    for run in runs:
        for kind, values in run["result"].get("edit_gains", {}).items():
            gains.setdefault(kind, []).extend(values)
    if gains:
        print(f"\n{'edit kind':<14} {'children':>8} {'mean gain over the no-edit sibling (val acc points)':>52} {'s.e.':>6} "
              f"{'share > 0':>9}")
        for kind, values in sorted(gains.items(), key=lambda item: -np.mean(item[1])):
            print(f"{kind:<14} {len(values):>8} {100 * np.mean(values):>52.2f} {100 * standard_error(values):>6.2f} "
                  f"{np.mean(np.array(values) > 0):>9.2f}")


def _print_fronts(multi: list[dict], bar: float) -> None:
    """Per multi-objective run: its front's hypervolume and smallest model at the test-accuracy ``bar``."""
    if multi:
        figures = front_figures(multi, bar)
        print(f"\n{'multi-objective arm':<30} {'seed':>4} {'hypervolume':>11} {'front':>5} "
              f"{f'smallest at test ≥ {bar}':>22} {'largest trained':>15}")
        for index, run in enumerate(multi):
            volume, smallest = figures[index]
            shown = "none" if smallest is None else f"{smallest:,}"
            print(f"{run['arm']:<30} {run['seed']:>4} {volume:>11.4f} {len(run['result']['front']):>5} {shown:>22} "
                  f"{run['result']['max_params']:>15,}")


def _paired(a: dict[int, float], b: dict[int, float]) -> str:
    """The difference paired by seed, over the seeds both arms ran (two or more), as text to append."""
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return ""
    differences = [a[seed] - b[seed] for seed in seeds]
    return (f"; paired by seed over {len(seeds)} seeds: {100 * np.mean(differences):+.2f} "
            f"(s.e. {100 * standard_error(differences):.2f}; per seed "
            f"{', '.join(f'{100 * d:+.2f}' for d in differences)})")


def _mean_curve(curves: list[list[tuple[float, float]]], grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best-so-far curves (steps) on a common time grid: mean and standard error over the runs (0 before a
    run's first trial)."""
    values = np.zeros((len(curves), len(grid)))
    for row, curve in enumerate(curves):
        for seconds, best in curve:
            values[row, grid >= seconds] = best
    error = values.std(axis=0, ddof=1) / np.sqrt(len(curves)) if len(curves) > 1 else np.zeros(len(grid))
    return values.mean(axis=0), error


def plot(runs: list[dict], path: str, title: str = "Fashion-MNIST search") -> None:
    """Best validation accuracy so far against time, mean ± s.e. over the seeds, one line per arm."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    figure, axis = plt.subplots(figsize=(8, 5))
    horizon = max((t for run in runs for t, _ in run["result"]["curve"]), default=1.0)
    grid = np.linspace(0.0, horizon, 400)
    by_arm: dict[str, list] = {}
    for run in runs:
        if run["result"]["curve"]:
            by_arm.setdefault(run["arm"], []).append(run["result"]["curve"])
    # One colour per arm drawn (not per arm known: the palette has fewer colours than ARMS).
    colours = dict(zip(by_arm, itertools.cycle(plt.rcParams["axes.prop_cycle"].by_key()["color"])))
    floor = 1.0
    for arm, curves in by_arm.items():
        mean, error = _mean_curve(curves, grid)
        shown = mean > 0
        settled = shown & (grid >= 0.1 * horizon)  # the y axis starts below the curves after their first tenth
        floor = min(floor, float(mean[settled].min()) if settled.any() else 1.0)
        axis.plot(grid[shown], mean[shown], color=colours[arm], label=f"{arm} ({len(curves)} seeds)")
        axis.fill_between(grid[shown], (mean - error)[shown], (mean + error)[shown], color=colours[arm], alpha=0.2)
    axis.set(xlabel="seconds since the start", ylabel="best validation accuracy so far (mean ± s.e.)",
             title=title, ylim=(max(0.0, floor - 0.02), None))
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    print(f"plot: {path}")
