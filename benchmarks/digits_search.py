"""The product's claim on digits. Run by hand: ``python benchmarks/digits_search.py [--time-limit 300]``.

``--executors local serial`` runs each search with the default executor
(``LocalExecutor()``, one worker per core) and in-process (``SerialExecutor()``).

scikit-learn's digits as uint8 (N, 8, 8) images, 70/30 stratified split with
random_state=0 (``autonas.datasets.load_digits``). Runs, in one process and
one after the other: scikit-learn's SVC (RBF kernel, default settings, on the
flattened pixels scaled to [0, 1]) as the baseline, and an AutoImageClassifier
search per searcher with the same time limit. Prints a table: test accuracy,
wall-clock seconds, trials (and how many were morphed children), best params.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from autonas import AutoImageClassifier  # noqa: E402
from autonas.datasets import load_digits  # noqa: E402
from autonas.execution import SerialExecutor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--searchers", nargs="+", default=["bayesian"], choices=["bayesian", "random"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--executors", nargs="+", default=["local"], choices=["local", "serial"])
    args = parser.parse_args()

    x_train, x_test, y_train, y_test = load_digits()
    rows = []
    start = time.monotonic()
    svc = SVC().fit(x_train.reshape(len(x_train), -1) / 255.0, y_train)
    accuracy = float(np.mean(svc.predict(x_test.reshape(len(x_test), -1) / 255.0) == y_test))
    rows.append(("SVC (rbf, defaults)", accuracy, time.monotonic() - start, "-", "-", "-"))
    for searcher, executor in [(s, e) for s in args.searchers for e in args.executors]:
        with tempfile.TemporaryDirectory() as directory:
            start = time.monotonic()
            classifier = AutoImageClassifier(
                time_limit=args.time_limit,
                searcher=searcher,
                directory=directory,
                seed=args.seed,
                verbose=1,
                executor=SerialExecutor() if executor == "serial" else None,
            ).fit(x_train, y_train)
            seconds = time.monotonic() - start
            accuracy = classifier.score(x_test, y_test)
            history = classifier.history_
            children = sum(r.parent is not None for r in history)
            rows.append(
                (f"autonas ({searcher}, {executor})", accuracy, seconds, len(history), children, classifier.best_graph_.num_params())
            )
    print(f"\ndigits, 70/30 stratified split (random_state=0), time limit {args.time_limit:.0f} s, {os.cpu_count()} CPUs")
    print(f"{'method':<30} {'test acc':>8} {'seconds':>8} {'trials':>6} {'children':>8} {'params':>9}")
    for name, accuracy, seconds, trials, children, params in rows:
        print(f"{name:<30} {accuracy:>8.4f} {seconds:>8.1f} {trials!s:>6} {children!s:>8} {params!s:>9}")


if __name__ == "__main__":
    main()
