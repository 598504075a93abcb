"""Is ``time_limit`` kept when other work shares the machine? Run by hand.

``python benchmarks/deadlines.py [--limits 30 60] [--busy 1] [--repeats 2]``

scikit-learn's digits (``autonas.datasets.load_digits``), ``AutoImageClassifier(time_limit=T)``
with default settings (a fresh project each run), while ``--busy`` other processes spin a CPU
core each (a busy loop, started before the search and stopped after it). Each search runs in a
fresh process, so the start of a search (imports) is what a user's first ``fit`` pays too; the
seconds measured are those of ``fit`` alone. Prints, per limit: each run's wall seconds, their ratio
to the limit, trials, and test accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def one_search(limit: float) -> dict:
    """One default search on digits with ``time_limit=limit``; its figures."""
    from autonas import AutoImageClassifier
    from autonas.datasets import load_digits

    x_train, x_test, y_train, y_test = load_digits()
    with tempfile.TemporaryDirectory() as folder:
        start = time.monotonic()
        classifier = AutoImageClassifier(time_limit=limit, directory=folder, seed=0, verbose=0).fit(x_train, y_train)
        seconds = time.monotonic() - start
        return {
            "seconds": seconds,
            "trials": len(classifier.history_),
            "test_accuracy": classifier.score(x_test, y_test),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limits", type=float, nargs="+", default=[30.0, 60.0])
    parser.add_argument("--busy", type=int, default=1, help="CPU-bound processes running beside the search")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # internal: one search, JSON on stdout
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_search(args.one)))
        return
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    rows = []
    try:
        for limit in args.limits:
            for _ in range(args.repeats):
                output = subprocess.run(
                    [sys.executable, __file__, "--one", str(limit)], capture_output=True, text=True, check=True
                ).stdout
                rows.append((limit, json.loads(output.strip().splitlines()[-1])))
    finally:
        for process in busy:
            process.kill()
    print(f"\ndigits, default AutoImageClassifier, {args.busy} busy process(es) beside it, {os.cpu_count()} CPUs")
    print("| time_limit s | fit s | fit / limit | trials | test accuracy |")
    print("| --- | --- | --- | --- | --- |")
    for limit, row in rows:
        print(f"| {limit:g} | {row['seconds']:.1f} | {row['seconds'] / limit:.2f} | {row['trials']} | {row['test_accuracy']:.4f} |")


if __name__ == "__main__":
    main()
