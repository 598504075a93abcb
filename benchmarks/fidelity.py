"""Does a trial's signal rank networks as the final fit does? Run by hand (issue 57, item 1).

``python benchmarks/fidelity.py [--datasets fashion shapes] [--seeds 0 1 2] [--budget 600] [--networks 60]
[--shares 1 1] [--final-seconds 180] [--parallel 2] [--work benchmarks/.fidelity] [--results benchmarks/results/fidelity.json]``

1. **Searches**: one ``AutoImageClassifier(time_limit=--budget, seed=seed)`` search per data set and
   seed, each in a process of its own on one core (``fashion``: the first 10,000 Fashion-MNIST
   training images of ``_small_data.fashion_mnist_subset``, the official test set; ``shapes``:
   ``autonas.datasets.colour_shapes()``, 30 % held out). The ``--shrinking-seeds`` (default 2) search
   with a size penalty (``Objective(gamma=0.05)``), so that shrinking children are among the
   networks; the others with the defaults. Each project folder (every trial's record, graph and
   weights) is kept under ``--work``.
2. **Networks**: ``--networks`` completed trials drawn from them (shared over the data sets by ``--shares``,
   evenly by default; within a data set as even as
   the trials allow over the searches and over the kinds: initial networks, growing, shrinking and
   regularising children, no-edit siblings), each search's chosen trial always among them.
3. **Final fits**: each network trained on from its trial's weights as the classifier's final fit does
   (``autonas.engine.final_fit`` with ``Recipe().final_settings``, training and validation images, a
   deadline ``--final-seconds`` away: by default the 30 % of a 600-s limit a search keeps), one core, then
   scored on the test images.
4. **Table**: per data set, for every signal of ``autonas.search.signals.SIGNALS``, the lineage's
   epochs and fitted combinations (ridge regression on standardised signals, predicted for each search
   from the other searches' networks), Spearman ρ and Kendall τ with the final-fit test accuracy, a
   95 % bootstrap interval of ρ minus the validation accuracy's, whether the signal's top 3 holds the
   final-fit best, the mean ρ inside a search, the regret of each search's top pick, and how many
   pairs of siblings (same parent, read from the kept projects) the signal orders as the final fit.

Everything computed is kept: searches in ``--work``, final fits in ``--results`` (a run again goes on
where it stopped). ``--analyse`` only prints the table of what is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _small_data import COMPARISON_DATASETS, comparison_data  # noqa: E402

KINDS = ("initial", "growing", "shrinking", "regularising", "no edit")
#: ``Objective(gamma=...)`` of the ``--shrinking-seeds`` searches: a size penalty, so that the searcher
#: proposes shrinking edits too (a default search proposes growing and regularising ones only).
SIZE_PENALTY = 0.05
#: What the results file keeps of each network's trial record (enough to compute every signal again).
_KEPT_METRICS = ("val_accuracy", "val_loss", "params", "macs", "history", "loss_curve", "best_epoch")
#: Signal sets fitted together (ridge regression, leave one search out).
COMBINATIONS = {
    "val_accuracy + capacity": ("val_accuracy", "params", "macs"),
    "all signals": ("val_accuracy", "val_loss", "training_loss", "late_training_loss", "extrapolated_loss", "params",
                    "macs", "lineage_epochs"),
}


# ---------------------------------------------------------------------------------------------- one process's work
def search(dataset: str, seed: int, args: argparse.Namespace) -> dict:
    """One default search; its chosen trial and test accuracy (the project stays in ``--work``)."""
    from autonas import AutoImageClassifier, Objective

    x_train, x_test, y_train, y_test = comparison_data(dataset, args.train_images)
    objective = Objective(gamma=SIZE_PENALTY) if seed in args.shrinking_seeds else None
    classifier = AutoImageClassifier(time_limit=args.budget, seed=seed, directory=args.work, objective=objective,
                                     project_name=f"{dataset}_{seed}", verbose=0, overwrite=True)
    classifier.fit(x_train, y_train)
    return {"best_trial": classifier.best_trial_.id, "test_accuracy": classifier.score(x_test, y_test),
            "trials": len(classifier.history_)}


def final_fit_of(dataset: str, seed: int, trial: int, args: argparse.Namespace) -> dict:
    """Trial ``trial`` of search ``(dataset, seed)`` trained on as the final fit does; its test accuracy.

    The final fit's own seed (data order) is the search's unless ``args.fit_seed`` names another.
    """
    from autonas.backend import import_keras_quietly
    from autonas.engine import Recipe
    from autonas.engine.final_fit import final_fit
    from autonas.engine.project import Project
    from autonas.tasks.data import check_images
    from autonas.tasks.prepare import prepare_arrays, resize_images
    from autonas.tasks.short_limits import trained_epochs

    import_keras_quietly()
    x_train, x_test, y_train, y_test = comparison_data(dataset, args.train_images)
    prepared = prepare_arrays(x_train, y_train, 0.2, None, seed)  # the split the search's classifier made
    data = prepared.data
    project = Project.open_read_only(Path(args.work) / f"{dataset}_{seed}")
    by_id = {r.id: r for r in project.load_trials()}
    record = by_id[trial]
    settings = Recipe().final_settings(len(data.x_train) + len(data.x_val), time_limited=True)
    start = time.monotonic()
    trained = project.load_graph(trial)
    fit_seed = seed if getattr(args, "fit_seed", None) is None else args.fit_seed
    graph = final_fit(trained, record, data, settings, start + args.final_seconds, fit_seed)
    seconds = time.monotonic() - start
    x = prepared.preprocessing.transform(resize_images(check_images(x_test, "x_test"), prepared.input_shape[:2]))
    predicted = graph.to_keras().predict(x.astype(np.float32), verbose=0, batch_size=256).argmax(1)
    accuracy = float(np.mean(prepared.encoder.classes_[predicted] == y_test))
    kept = {key: record.metrics.get(key) for key in _KEPT_METRICS}
    return {"test_accuracy": accuracy, "final_seconds": seconds, "final_fit_trained": graph is not trained,
            "kind": edit_kind(record), "lineage_epochs": trained_epochs(record, list(by_id.values())),
            "epochs": record.epochs,
            "metrics": kept}


# ---------------------------------------------------------------------------------------------- choosing networks
def edit_kind(record) -> str:
    """The kind of a trial's network: initial, no edit, or the kind of its first operation."""
    from autonas.morphism import GROWING, REGULARISING, SHRINKING

    if record.parent is None:
        return "initial"
    if not record.operations:
        return "no edit"
    kind = record.operations[0].get("kind", "")
    for name, kinds in (("growing", GROWING), ("shrinking", SHRINKING), ("regularising", REGULARISING)):
        if kind in kinds:
            return name
    return "other"


def networks_per_dataset(args: argparse.Namespace) -> dict[str, int]:
    """How many of the ``--networks`` each data set gets: in proportion to ``--shares`` (even by default)."""
    shares = np.asarray(args.shares or [1.0] * len(args.datasets), dtype=float)
    if len(shares) != len(args.datasets) or np.any(shares <= 0):
        raise SystemExit(f"--shares needs one positive number per data set ({len(args.datasets)}), got {args.shares}")
    counts = np.floor(args.networks * shares / shares.sum()).astype(int)
    counts[: args.networks - counts.sum()] += 1
    return dict(zip(args.datasets, counts.tolist()))


def choose_networks(args: argparse.Namespace, searches: dict) -> list[dict]:
    """``--networks`` trials to final-fit, spread over data sets, searches and kinds (chosen trials first)."""
    from autonas.engine.project import Project

    rng = np.random.default_rng(0)
    chosen = []
    for dataset, per_dataset in networks_per_dataset(args).items():
        pools: dict[tuple[int, str], list] = {}
        picked = []
        for seed in args.seeds:
            project = Project.open_read_only(Path(args.work) / f"{dataset}_{seed}")
            for record in project.load_trials():
                if record.status != "completed":
                    continue
                if record.id == searches[f"{dataset}_{seed}"]["best_trial"]:
                    picked.append((dataset, seed, record.id))
                else:
                    pools.setdefault((seed, edit_kind(record)), []).append(record.id)
        for pool in pools.values():
            rng.shuffle(pool)
        while len(picked) < per_dataset and any(pools.values()):
            for key in sorted(pools):
                if pools[key] and len(picked) < per_dataset:
                    picked.append((dataset, key[0], pools[key].pop()))
        chosen += [{"dataset": d, "seed": s, "trial": t} for d, s, t in picked]
    return chosen


# ---------------------------------------------------------------------------------------------- the table
def network_signals(network: dict) -> dict:
    """Every signal of a network's trial (from the metrics the results file keeps) and the lineage's epochs."""
    from autonas.search.signals import signal_values

    values = {name: series[0] for name, series in signal_values([network["metrics"]]).items()}
    values["lineage_epochs"] = network["lineage_epochs"]
    return values


def _combined(rows: list[dict], names: tuple[str, ...]) -> list[float | None]:
    """Ridge predictions of the final-fit accuracy from ``names``, each search predicted from the others."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    usable = [i for i, row in enumerate(rows) if all(row["signals"].get(n) is not None for n in names)]
    predictions: list[float | None] = [None] * len(rows)
    seeds = sorted({rows[i]["seed"] for i in usable})
    for seed in seeds:
        train = [i for i in usable if rows[i]["seed"] != seed]
        test = [i for i in usable if rows[i]["seed"] == seed]
        if len(train) < len(names) + 2 or not test:
            continue
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
        model.fit([[rows[i]["signals"][n] for n in names] for i in train], [rows[i]["test_accuracy"] for i in train])
        for i, value in zip(test, model.predict([[rows[i]["signals"][n] for n in names] for i in test])):
            predictions[i] = float(value)
    return predictions


def rank_agreement(values: list, truth: list[float]) -> dict:
    """Spearman ρ, Kendall τ and whether the top 3 by ``values`` hold the best by ``truth`` (None values left out)."""
    from scipy.stats import kendalltau, spearmanr

    pairs = [(v, t) for v, t in zip(values, truth) if v is not None]
    if len(pairs) < 3:
        return {"n": len(pairs)}
    v, t = np.array(pairs).T
    best = float(t.max())
    top3 = np.argsort(-v, kind="stable")[:3]
    return {"n": len(pairs), "spearman": float(spearmanr(v, t).statistic), "kendall": float(kendalltau(v, t).statistic),
            "top3_holds_best": bool(np.any(t[top3] >= best))}


def within_searches(values: list, truth: list[float], searches: list) -> dict:
    """What a searcher sees: Spearman ρ inside each search (mean over searches of ≥ 4 networks) and the
    regret of each search's top pick by ``values`` (final-fit best minus the pick's, mean, in points)."""
    from scipy.stats import spearmanr

    rhos, regrets = [], []
    for search in sorted(set(searches)):
        pairs = [(v, t) for v, t, s in zip(values, truth, searches) if s == search and v is not None]
        if len(pairs) < 4:
            continue
        v, t = np.array(pairs).T
        if np.ptp(v) > 0 and np.ptp(t) > 0:
            rhos.append(float(spearmanr(v, t).statistic))
        regrets.append(100 * float(t.max() - t[int(np.argmax(v))]))
    return {"within_spearman": float(np.mean(rhos)) if rhos else None,
            "regret": float(np.mean(regrets)) if regrets else None}


def rho_gain(values: list, baseline: list, truth: list[float], draws: int = 2000) -> tuple[float, float] | None:
    """95 % bootstrap interval (networks resampled) of Spearman ρ of ``values`` minus that of ``baseline``."""
    from scipy.stats import spearmanr

    rows = np.array([(v, b, t) for v, b, t in zip(values, baseline, truth) if v is not None and b is not None])
    if len(rows) < 5:
        return None
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(draws):
        v, b, t = rows[rng.integers(0, len(rows), len(rows))].T
        if np.ptp(v) > 0 and np.ptp(b) > 0 and np.ptp(t) > 0:
            gains.append(spearmanr(v, t).statistic - spearmanr(b, t).statistic)
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(low), float(high)


def sibling_order(values: list, truth: list[float], parents: list) -> tuple[int, int]:
    """``(pairs in the final fit's order, pairs)`` over pairs of networks with the same parent (ties left out)."""
    agree = pairs = 0
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            if parents[i] is None or parents[i] != parents[j] or values[i] is None or values[j] is None:
                continue
            if truth[i] == truth[j] or values[i] == values[j]:
                continue
            pairs += 1
            agree += (values[i] > values[j]) == (truth[i] > truth[j])
    return agree, pairs


def _parents(rows: list[dict], args: argparse.Namespace) -> list:
    """Each row's parent trial, ``(dataset, seed, parent id)``, read from the kept project folders (None without)."""
    from autonas.engine.project import Project

    found: dict[tuple[str, int], dict] = {}
    parents = []
    for row in rows:
        key = (row["dataset"], row["seed"])
        if key not in found:
            folder = Path(args.work) / f"{key[0]}_{key[1]}"
            found[key] = ({r.id: r.parent for r in Project.open_read_only(folder).load_trials()}
                          if (folder / "project.json").exists() else {})
        parent = found[key].get(row["trial"])
        parents.append(None if parent is None else (*key, parent))
    return parents


def table(kept: dict, args: argparse.Namespace) -> str:
    """The markdown table of every signal's agreement with the final fit, per data set."""
    from autonas.search.signals import SIGNALS

    lines = []
    for dataset in args.datasets:
        rows = [dict(n, signals=network_signals(n)) for n in kept["networks"] if n["dataset"] == dataset
                and n.get("test_accuracy") is not None]
        if not rows:
            continue
        truth = [r["test_accuracy"] for r in rows]
        kinds = {k: sum(r["kind"] == k for r in rows) for k in KINDS + ("other",) if any(r["kind"] == k for r in rows)}
        lines += [f"\n### {dataset}: {len(rows)} networks ({', '.join(f'{k} {v}' for k, v in kinds.items())}), "
                  f"final-fit test accuracy {min(truth):.4f}–{max(truth):.4f}\n",
                  "| signal | n | Spearman ρ | Kendall τ | ρ − val_accuracy's (95 % bootstrap) | top 3 holds the best | "
                  "ρ within a search (mean) | regret of each search's top pick (points, mean) | sibling pairs in order |",
                  "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
        searches = [r["seed"] for r in rows]
        parents = _parents(rows, args)
        columns = {name: [r["signals"].get(name) for r in rows] for name in list(SIGNALS) + ["lineage_epochs"]}
        columns.update({f"ridge: {name}": _combined(rows, names) for name, names in COMBINATIONS.items()})
        for name, values in columns.items():
            result = rank_agreement(values, truth)
            if "spearman" not in result:
                lines.append(f"| {name} | {result['n']} |" + " – |" * 7)
                continue
            inside = within_searches(values, truth, searches)
            within = "–" if inside["within_spearman"] is None else f"{inside['within_spearman']:+.3f}"
            regret = "–" if inside["regret"] is None else f"{inside['regret']:.2f}"
            gain = None if name == "val_accuracy" else rho_gain(values, columns["val_accuracy"], truth)
            gain_text = "–" if gain is None else f"{gain[0]:+.2f} to {gain[1]:+.2f}"
            agree, pairs = sibling_order(values, truth, parents)
            siblings = f"{agree}/{pairs}" if pairs else "–"
            lines.append(f"| {name} | {result['n']} | {result['spearman']:+.3f} | {result['kendall']:+.3f} | {gain_text} | "
                         f"{'yes' if result['top3_holds_best'] else 'no'} | {within} | {regret} | {siblings} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- driving processes
def _launch(command: list[str], core: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *command], stdout=subprocess.PIPE, stderr=log.open("w"),
                            text=True, preexec_fn=lambda: os.sched_setaffinity(0, [core]))


def _run_queue(jobs: list[tuple[str, list[str]]], args: argparse.Namespace, done) -> None:
    """Run ``(key, command)`` jobs ``--parallel`` at a time, one core each; ``done(key, result)`` for each."""
    cores = sorted(os.sched_getaffinity(0))[: args.parallel]
    logs = Path(args.work) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    running: dict[int, tuple[subprocess.Popen, str]] = {}
    while jobs or running:
        for core in cores:
            if core not in running and jobs:
                key, command = jobs.pop(0)
                running[core] = (_launch(command, core, logs / f"{key}.log"), key)
        time.sleep(2)
        for core, (process, key) in list(running.items()):
            if process.poll() is None:
                continue
            del running[core]
            output = process.stdout.read().strip().splitlines()
            if process.returncode != 0 or not output:
                print(f"{key}: failed (exit {process.returncode}; {logs / (key + '.log')})", flush=True)
                continue
            done(key, json.loads(output[-1]))


def _common(args: argparse.Namespace) -> list[str]:
    return ["--budget", str(args.budget), "--train-images", str(args.train_images), "--work", args.work,
            "--final-seconds", str(args.final_seconds), "--shrinking-seeds", *map(str, args.shrinking_seeds)]


def this_machine() -> dict:
    """What a results file records of the machine and the code that ran it."""
    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip()}


def save_results(path: Path, kept: dict) -> None:
    """Write ``kept`` to ``path`` whole or not at all (through a temporary file beside it)."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(kept, indent=1))
    temporary.replace(path)


def run_all(args: argparse.Namespace) -> dict:
    path = Path(args.results)
    kept = json.loads(path.read_text()) if path.exists() else {"searches": {}, "networks": []}
    kept["setting"] = {k: getattr(args, k) for k in ("budget", "train_images", "final_seconds", "networks", "shares")}
    kept["machine"] = this_machine()

    def save() -> None:
        save_results(path, kept)

    def searched(key: str, result: dict) -> None:
        kept["searches"][key] = result
        save()
        print(f"search {key}: {result}", flush=True)

    searches = [(f"{d}_{s}", ["--search", d, str(s), *_common(args)]) for d in args.datasets for s in args.seeds
                if f"{d}_{s}" not in kept["searches"]]
    _run_queue(searches, args, searched)
    if not kept["networks"]:
        kept["networks"] = choose_networks(args, kept["searches"])
        save()
    by_key = {f"{n['dataset']}_{n['seed']}_{n['trial']}": n for n in kept["networks"]}

    def fitted(key: str, result: dict) -> None:
        by_key[key].update(result)
        save()
        print(f"final fit {key} ({result['kind']}): test accuracy {result['test_accuracy']:.4f} "
              f"after {result['final_seconds']:.0f} s (trial's validation accuracy "
              f"{result['metrics']['val_accuracy']:.4f})", flush=True)

    fits = [(key, ["--final", n["dataset"], str(n["seed"]), str(n["trial"]), *_common(args)])
            for key, n in by_key.items() if n.get("test_accuracy") is None]
    _run_queue(fits, args, fitted)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=tuple(COMPARISON_DATASETS), default=["fashion", "shapes"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--shrinking-seeds", type=int, nargs="*", default=[2],
                        help="seeds whose searches penalise size (Objective(gamma=0.05)): shrinking children too")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per search (default 600)")
    parser.add_argument("--train-images", type=int, default=10_000, help="Fashion-MNIST training images")
    parser.add_argument("--networks", type=int, default=60, help="networks final-fitted, over all data sets")
    parser.add_argument("--shares", type=float, nargs="+",
                        help="each data set's share of --networks, in --datasets order (default: even)")
    parser.add_argument("--final-seconds", type=float, default=180.0, help="seconds of each final fit")
    parser.add_argument("--parallel", type=int, default=2, help="processes at once, one core each")
    parser.add_argument("--work", default="benchmarks/.fidelity", help="project folders and logs")
    parser.add_argument("--results", default="benchmarks/results/fidelity.json")
    parser.add_argument("--analyse", action="store_true", help="print the table of what --results holds")
    parser.add_argument("--search", nargs=2, metavar=("DATASET", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--final", nargs=3, metavar=("DATASET", "SEED", "TRIAL"), help=argparse.SUPPRESS)
    parser.add_argument("--fit-seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work = str(Path(args.work).resolve())
    if args.search:
        print(json.dumps(search(args.search[0], int(args.search[1]), args)))
        return
    if args.final:
        print(json.dumps(final_fit_of(args.final[0], int(args.final[1]), int(args.final[2]), args)))
        return
    kept = json.loads(Path(args.results).read_text()) if args.analyse else run_all(args)
    print(table(kept, args))


if __name__ == "__main__":
    main()
