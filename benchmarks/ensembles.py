"""Would an ensemble beat the one network a search hands back? Run by hand.

A search ends with one network trained on by the final fit. This benchmark
asks whether averaging the class probabilities of several networks would do
better at the same budget, in the two ways an ensemble could be had:

* from what the search already trained, at no extra cost: the final model
  with the next-best trials as they are (``final + k next``; ``2·final + k
  next`` counts the final model twice), or a greedy ensemble selection on the
  validation images (Caruana et al. 2004: ten steps with replacement, starting
  from the best trial, whose probabilities the final model's then replace);
* from two final fits of half the final fit's time each: the best network
  twice with two data orders (``A + B``), or the best network and the best
  trial of another architecture (``A + C``).

Per seed, one process pinned to one core: ``AutoImageClassifier(time_limit=
--budget, seed=seed)`` on Fashion-MNIST 10k (``_small_data.fashion_mnist_subset``;
validation: a stratified 20 % drawn with the seed, passed as
``validation_data`` so the trials' validation predictions can be scored), its
project kept until the run ends; then the trials' predictions and the two
half-length final fits (``autonas.engine.final_fit``, half the seconds the
search's own final fit took). Prints per combination the test accuracy
(official 10,000 test images), mean over the seeds, and the paired difference
from the final model with its standard error.

    python benchmarks/ensembles.py [--seeds 0 1] [--budget 600] [--parallel 2] [--results FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _accuracy(probabilities, labels) -> float:
    import numpy as np

    return float(np.mean(probabilities.argmax(1) == labels))


def greedy_selection(probabilities, labels, steps: int, start: int) -> list[int]:
    """Caruana's ensemble selection with replacement: indices into ``probabilities`` (members, rows, classes).

    Each step adds the member that makes the average most accurate on ``labels``
    (ties: the lower log loss), starting from ``start``.
    """
    import numpy as np

    chosen = [start]
    rows = np.arange(len(labels))
    for _ in range(steps):
        total = probabilities[chosen].sum(0)
        averages = (total[None] + probabilities) / (len(chosen) + 1)
        accuracy = (averages.argmax(2) == labels[None]).mean(1)
        log_loss = -np.log(np.clip(averages[:, rows, labels], 1e-12, 1.0)).mean(1)
        chosen.append(int(np.lexsort((log_loss, -np.round(accuracy, 6)))[0]))
    return chosen


def one_run(seed: int, budget: float) -> dict:
    """One search, then every ensemble's test accuracy next to the final model's."""
    import numpy as np
    from _small_data import fashion_mnist_subset
    from sklearn.model_selection import train_test_split

    from autonas import AutoImageClassifier
    from autonas.engine.final_fit import final_fit
    from autonas.engine.project import Project
    from autonas.tasks.export import export_classifier
    from autonas.tasks.prepare import prepare_arrays

    x, x_test, y, y_test = fashion_mnist_subset(10_000)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    with tempfile.TemporaryDirectory() as folder:
        classifier = AutoImageClassifier(time_limit=budget, directory=folder, seed=seed, verbose=0)
        classifier.fit(x_train, y_train, validation_data=(x_val, y_val))
        labels_val, labels_test = classifier.encoder_.transform(y_val), classifier.encoder_.transform(y_test)
        final = classifier.predict_proba(x_test)
        trials = sorted((r for r in classifier.history_ if r.status == "completed"),
                        key=lambda r: -r.metrics["val_accuracy"])
        best = next(i for i, r in enumerate(trials) if r.id == classifier.best_trial_.id)
        val, test = [], []
        for record in trials:
            model = classifier.export_model(record.id)
            val.append(model.predict(x_val.astype(np.float32), verbose=0, batch_size=256))
            test.append(model.predict(x_test.astype(np.float32), verbose=0, batch_size=256))
        val, test = np.stack(val), np.stack(test)
        figures = {"final": _accuracy(final, labels_test), "best trial, before the final fit": _accuracy(test[best], labels_test)}
        others = [i for i in range(len(trials)) if i != best]
        for k in (1, 2, 3):
            figures[f"final + {k} next"] = _accuracy(final + test[others[:k]].sum(0), labels_test)
            figures[f"2·final + {k} next"] = _accuracy(2 * final + test[others[:k]].sum(0), labels_test)
        members = [final if i == best else test[i] for i in greedy_selection(val, labels_val, 10, best)]
        figures["greedy selection"] = _accuracy(np.mean(members, 0), labels_test)

        # two final fits of half the time each
        half = classifier.fit_seconds_["final_fit"] / 2
        data = prepare_arrays(x_train, y_train, None, (x_val, y_val), seed).data  # what the search trained on
        settings = classifier.training_settings_["final"]
        project = Project.open_read_only(classifier.project_path_)
        other = next((r for r in trials if r.metrics.get("params") != classifier.best_trial_.metrics.get("params")), None)
        halves = {}
        fits = [("A", classifier.best_trial_, seed), ("B", classifier.best_trial_, seed + 100)]
        for name, record, fit_seed in fits + ([] if other is None else [("C", other, seed)]):
            graph = final_fit(project.load_graph(record.id), record, data, settings, time.monotonic() + half, fit_seed)
            exported = export_classifier(graph, classifier.image_shape_, classifier.preprocessing_)
            halves[name] = exported.predict(x_test.astype(np.float32), verbose=0, batch_size=256)
        figures["one half-length final fit (A)"] = _accuracy(halves["A"], labels_test)
        figures["A + B: the best network, two data orders"] = _accuracy(halves["A"] + halves["B"], labels_test)
        if other is not None:  # None: every trial had the best one's size (a very short search)
            figures["A + C: the best network and another architecture"] = _accuracy(halves["A"] + halves["C"], labels_test)
    return dict(seed=seed, budget=budget, trials=len(trials), half_seconds=half, figures=figures)


def _mean_se(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0] if values else float("nan")), float("nan")
    return statistics.mean(values), statistics.stdev(values) / len(values) ** 0.5


def table(runs: list[dict]) -> str:
    """Per combination: mean test accuracy, per-seed figures and the paired difference from the final model."""
    lines = ["| prediction | test acc., mean | per seed | − final model, points ± s.e. (paired) |",
             "| --- | --- | --- | --- |"]
    names = list(dict.fromkeys(name for r in runs for name in r["figures"]))
    for name in names:
        mine = [r for r in runs if name in r["figures"]]
        values = [r["figures"][name] for r in mine]
        diff = "" if name == "final" else "{:+.2f} ± {:.2f}".format(
            *_mean_se([100 * (r["figures"][name] - r["figures"]["final"]) for r in mine]))
        lines.append(f"| {name} | {statistics.mean(values):.4f} | {', '.join(f'{v:.4f}' for v in values)} | {diff} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--budget", type=float, default=600.0, help="the search's time limit (default 600 s)")
    parser.add_argument("--parallel", type=int, default=2, help="runs at once, one core each (default 2)")
    parser.add_argument("--results", help="a JSON file that keeps every run: runs already in it are not run again")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one seed, JSON on stdout
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_run(args.one, args.budget)))
        return
    path = Path(args.results) if args.results else None
    runs = json.loads(path.read_text()) if path and path.exists() else []
    done = {r["seed"] for r in runs if r["budget"] == args.budget}
    todo = [s for s in args.seeds if s not in done]
    cores = sorted(os.sched_getaffinity(0))
    running: list[tuple[subprocess.Popen, int]] = []
    while todo or running:
        while todo and len(running) < max(1, args.parallel):
            seed = todo.pop(0)
            core = next(c for c in cores if c not in {k for _, k in running})
            command = [sys.executable, __file__, "--one", str(seed), "--budget", str(args.budget)]
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                       preexec_fn=lambda core=core: os.sched_setaffinity(0, [core]))
            running.append((process, core))
        time.sleep(1.0)
        for entry in [e for e in running if e[0].poll() is not None]:
            running.remove(entry)
            output = entry[0].stdout.read().strip().splitlines()
            if entry[0].returncode or not output:
                print(f"a run failed (exit {entry[0].returncode})", file=sys.stderr)
                continue
            runs.append(json.loads(output[-1]))
            if path:
                path.write_text(json.dumps(runs, indent=1))
    mine = [r for r in runs if r["budget"] == args.budget]
    if mine:
        print(table(mine))


if __name__ == "__main__":
    main()
