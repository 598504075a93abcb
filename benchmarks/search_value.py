"""What the search is worth on real images, at one wall-clock budget. Run by hand.

``python benchmarks/search_value.py [--budget 600] [--seeds 0 1] [--parallel 2] [--train-images 10000]``

Fashion-MNIST (``autonas.datasets.fashion_mnist``: Debian's ``dataset-fashion-mnist``),
``--train-images`` training images drawn once (the same for every arm and seed) and the
official 10,000 test images. Each arm runs once per seed with the same budget:

* ``bayesian``: ``AutoImageClassifier()`` (Bayesian optimisation over morphisms, defaults);
* ``random``: the same with ``searcher="random"``;
* ``keras-tuner``: ``keras_tuner.BayesianOptimization`` over the hand-written CNN space of
  ``benchmarks/peers.py``;
* ``more-training``: the control. After the same initial architectures, each "child" is the
  best trained model so far with *no* edit, trained on from its weights with the settings a
  function-preserving child gets (same epochs, fine-tuning learning rate). What
  ``bayesian`` gains over it is what the edits add beyond more training;
* ``multi-objective`` and ``multi-objective, no shrinking``: ``Objective(beta, gamma)``
  (default 0.05 and 0.05), the Bayesian searcher with every edit, and with the shrinking
  edits left out (``kinds=GROWING | REGULARISING``).

Each run is a separate process. ``--parallel N`` runs N at once, each pinned to its own
share of the cores (``os.sched_setaffinity``), so arms never compete for a core; the table
says how many cores each run had.

Prints: per arm, test accuracy mean and range over the seeds, trials (children), best
model's parameters; for the multi-objective arms the hypervolume of the Pareto front
(validation accuracy, energy, parameters, normalised by the largest value over both arms)
and the smallest front model reaching the test-accuracy bar (``--bar``, default 0.85).
Writes ``search_value.png`` (best validation accuracy so far against seconds since the
start), ``search_value.json`` (every run's figures) and each run's log in ``search_value-logs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from _small_data import fashion_mnist_subset  # noqa: E402

ARMS = ("bayesian", "random", "keras-tuner", "more-training", "multi-objective", "multi-objective, no shrinking")
_MULTI = ("multi-objective", "multi-objective, no shrinking")


def more_training_searcher():
    """The control searcher: proposes the best trained model again, unchanged (ties: the earliest)."""
    from autonas.search import Proposal, Searcher

    class MoreTraining(Searcher):
        def __init__(self) -> None:
            self._trained: dict[str, tuple[float, int, object]] = {}
            self._busy: set[str] = set()

        def tell(self, trial_id, graph, accuracy) -> None:
            self._busy.discard(graph.fingerprint())
            if accuracy is not None:
                self._trained[str(trial_id)] = (float(accuracy), len(self._trained), graph)

        def ask(self):
            free = [(acc, -order, tid) for tid, (acc, order, g) in self._trained.items() if g.fingerprint() not in self._busy]
            if not free:
                return None
            parent_id = max(free)[2]
            parent = self._trained[parent_id][2]
            self._busy.add(parent.fingerprint())
            return Proposal(parent_id, (), parent.copy(), parent)

    return MoreTraining()


def _classifier(arm: str, seed: int, budget: float, folder: str, beta: float, gamma: float):
    from autonas import AutoImageClassifier, Objective

    settings: dict = {}
    if arm == "random":
        settings["searcher"] = "random"
    elif arm == "more-training":
        settings["searcher"] = more_training_searcher()
    elif arm in _MULTI:
        objective = Objective(beta=beta, gamma=gamma)
        settings["objective"] = objective
        if arm == "multi-objective, no shrinking":
            from autonas.morphism import GROWING, REGULARISING
            from autonas.search import BayesianSearcher

            settings["searcher"] = BayesianSearcher(
                seed=seed, objective=objective.predicted_reward, kinds=GROWING | REGULARISING
            )
    return AutoImageClassifier(time_limit=budget, directory=folder, seed=seed, verbose=0, **settings)


def run_arm(arm: str, seed: int, budget: float, train_images: int, beta: float, gamma: float) -> dict:
    """One run of one arm; the figures the table needs, as plain JSON values."""
    data = fashion_mnist_subset(train_images)
    x_train, x_test, y_train, y_test = data
    with tempfile.TemporaryDirectory() as folder:
        if arm == "keras-tuner":
            from peers import run_keras_tuner

            accuracy, params, trials, seconds, curve = run_keras_tuner(data, budget, folder, seed)
            return dict(test_accuracy=accuracy, params=params, trials=trials, children=0, seconds=seconds, curve=curve)
        start_wall, start = time.time(), time.monotonic()
        classifier = _classifier(arm, seed, budget, folder, beta, gamma).fit(x_train, y_train)
        seconds = time.monotonic() - start
        history = classifier.history_
        curve, best = [], 0.0
        for record in sorted(history, key=lambda r: r.metrics.get("finished_at", 0.0)):
            if record.status == "completed":
                best = max(best, record.metrics["val_accuracy"])
                curve.append((record.metrics["finished_at"] - start_wall, best))
        result = dict(
            test_accuracy=classifier.score(x_test, y_test),
            params=classifier.best_graph_.num_params(),
            trials=len(history),
            children=sum(r.parent is not None for r in history),
            seconds=seconds,
            curve=curve,
            best_trial=classifier.best_trial_.id,
            best_trial_epochs=sum(r.epochs for r in _lineage(history, classifier.best_trial_.id)),
        )
        if arm in _MULTI:
            front = []
            for record in classifier.pareto_front():
                predictions = classifier.export_model(record.id).predict(x_test.astype(np.float32), verbose=0)
                test = float(np.mean(classifier.classes_[predictions.argmax(1)] == y_test))
                front.append({key: record.metrics.get(key) for key in ("val_accuracy", "energy_mj", "params")} | {"test_accuracy": test})
            result["front"] = front
            result["max_params"] = max(r.metrics.get("params", 0) for r in history if r.status == "completed")
        return result


def _lineage(history, trial_id: int):
    """The trial and its ancestors (their epochs add up to the chosen model's training)."""
    by_id = {r.id: r for r in history}
    chain, current = [], by_id.get(trial_id)
    while current is not None:
        chain.append(current)
        current = by_id.get(current.parent) if current.parent is not None else None
    return chain


def _front_figures(runs: list[dict], bar: float) -> dict[int, tuple[float, int | None]]:
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


def _launch(arm: str, seed: int, cores: list[int], args) -> subprocess.Popen:
    logs = Path(f"{args.output}-logs")
    logs.mkdir(exist_ok=True)
    command = [
        sys.executable, __file__, "--one", arm, "--seeds", str(seed), "--budget", str(args.budget),
        "--train-images", str(args.train_images), "--beta", str(args.beta), "--gamma", str(args.gamma),
    ]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=(logs / f"{arm.replace(', ', '-').replace(' ', '-')}-{seed}.log").open("w"),
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, cores),
    )


def run_all(args) -> list[dict]:
    """Every (arm, seed) in its own process, ``--parallel`` at a time on separate cores."""
    cores = sorted(os.sched_getaffinity(0))
    share = max(1, len(cores) // args.parallel)
    slots = [cores[i * share : (i + 1) * share] for i in range(min(args.parallel, len(cores)))]
    queue = [(arm, seed) for seed in args.seeds for arm in args.arms]
    running: dict[int, tuple[subprocess.Popen, str, int]] = {}
    runs = []
    while queue or running:
        for slot in range(len(slots)):
            if slot not in running and queue:
                arm, seed = queue.pop(0)
                running[slot] = (_launch(arm, seed, slots[slot], args), arm, seed)
        time.sleep(2)
        for slot, (process, arm, seed) in list(running.items()):
            if process.poll() is None:
                continue
            del running[slot]
            output = process.stdout.read().strip().splitlines()
            if process.returncode != 0 or not output:
                print(f"{arm} seed {seed}: failed (exit {process.returncode})", flush=True)
                continue
            result = json.loads(output[-1])
            runs.append(dict(arm=arm, seed=seed, cores=len(slots[slot]), result=result))
            print(f"{arm} seed {seed}: test accuracy {result['test_accuracy']:.4f}, {result['trials']} trials, "
                  f"{result['seconds']:.0f} s", flush=True)
    return runs


def print_table(runs: list[dict], args) -> None:
    cores = sorted({run["cores"] for run in runs})
    print(f"\nFashion-MNIST, {args.train_images:,} training images, official test set; {args.budget:.0f} s per run, "
          f"seeds {args.seeds}; {cores} core(s) per run, {args.parallel} run(s) at once")
    print(f"{'arm':<30} {'test acc mean':>13} {'range':>15} {'trials (children)':>18} {'best params':>11} "
          f"{'epochs to best':>14}")
    by_arm: dict[str, list[dict]] = {}
    for run in runs:
        by_arm.setdefault(run["arm"], []).append(run["result"])
    means = {}
    for arm in args.arms:
        results = by_arm.get(arm, [])
        if not results:
            continue
        accuracies = [r["test_accuracy"] for r in results]
        means[arm] = float(np.mean(accuracies))
        trials = "/".join(f"{r['trials']} ({r['children']})" for r in results)
        params = "/".join(f"{r['params']:,}" for r in results)
        epochs = "/".join(str(r.get("best_trial_epochs", "-")) for r in results)
        print(f"{arm:<30} {means[arm]:>13.4f} {min(accuracies):>7.4f}–{max(accuracies):<7.4f} {trials:>18} "
              f"{params:>11} {epochs:>14}")
    for a, b in [("bayesian", "random"), ("bayesian", "keras-tuner"), ("random", "keras-tuner"),
                 ("bayesian", "more-training")]:
        if a in means and b in means:
            print(f"{a} − {b}: {100 * (means[a] - means[b]):+.2f} points of mean test accuracy")
    multi = [run for run in runs if run["arm"] in _MULTI]
    if multi:
        figures = _front_figures(multi, args.bar)
        print(f"\n{'multi-objective arm':<30} {'seed':>4} {'hypervolume':>11} {'front':>5} "
              f"{f'smallest at test ≥ {args.bar}':>22} {'largest trained':>15}")
        for index, run in enumerate(multi):
            volume, smallest = figures[index]
            shown = "none" if smallest is None else f"{smallest:,}"
            print(f"{run['arm']:<30} {run['seed']:>4} {volume:>11.4f} {len(run['result']['front']):>5} {shown:>22} "
                  f"{run['result']['max_params']:>15,}")


def plot(runs: list[dict], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    figure, axis = plt.subplots(figsize=(8, 5))
    colours = dict(zip(ARMS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for run in runs:
        if run["result"]["curve"]:
            times, values = zip(*run["result"]["curve"])
            axis.step(times, values, where="post", color=colours[run["arm"]],
                      linestyle="-" if run["seed"] == runs[0]["seed"] else "--", label=f"{run['arm']} (seed {run['seed']})")
    axis.set(xlabel="seconds since the start", ylabel="best validation accuracy so far", title="Fashion-MNIST search")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    print(f"plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per run (default 600)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--parallel", type=int, default=1, help="runs at once, each on its own cores (default 1)")
    parser.add_argument("--train-images", type=int, default=10_000, help="Fashion-MNIST training images (default 10,000)")
    parser.add_argument("--beta", type=float, default=0.05)
    parser.add_argument("--gamma", type=float, default=0.05)
    parser.add_argument("--bar", type=float, default=0.85, help="test accuracy a front model must reach")
    parser.add_argument("--output", default="search_value", help="stem of the .png and .json written")
    parser.add_argument("--one", choices=ARMS, help=argparse.SUPPRESS)  # internal: one run, JSON on stdout
    args = parser.parse_args()
    if args.one:
        result = run_arm(args.one, args.seeds[0], args.budget, args.train_images, args.beta, args.gamma)
        print(json.dumps(result))
        return
    runs = run_all(args)
    Path(f"{args.output}.json").write_text(json.dumps(runs, indent=1))
    print_table(runs, args)
    plot(runs, f"{args.output}.png")


if __name__ == "__main__":
    main()
