"""Wall time of the same trials with 1 and 2 local workers. Run by hand: ``python benchmarks/parallel.py``.

On scikit-learn's digits (70/30 stratified split, random_state=0, 20% of the
training part for validation), ``--trials`` fixed architectures (CNNs of
growing width and MLPs, no searcher involved, so every run trains exactly the
same trials) each train ``--epochs`` epochs (no early stopping). Runs, one
after the other in this process:

* ``serial``: :class:`~autonas.execution.SerialExecutor`, in this process;
* ``local x1`` and ``local x2``: :class:`~autonas.execution.LocalExecutor`
  with 1 and 2 worker processes.

Prints the wall time, its ratio to ``local x1`` and the overhead: the part
of the worker-time (wall × workers) not spent inside ``model.fit`` (process
start, TensorFlow import, data loading, measuring, the search loop itself, and
workers left idle at the end because no trial was left for them). The
``tail`` column is that last part: for each worker beyond the one that
finished last, the time from the completion before the last ones to the end;
``overhead w/o tail`` leaves it out.
Targets (issue 7): ``local x2`` ≤ 0.6 × ``local x1`` on 2 cores; search overhead < 5 %.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from autonas.datasets import load_digits  # noqa: E402
from autonas.engine import Project, SearchBudget, run_search  # noqa: E402
from autonas.execution import LocalExecutor, SerialExecutor, TrainingData, TrainingSettings  # noqa: E402
from autonas.graph import generators  # noqa: E402
from autonas.search import RandomSearcher  # noqa: E402


def _architectures(count: int) -> list:
    shapes = (8, 8, 1)
    graphs = []
    for i in range(count):
        if i % 3 == 2:
            graphs.append((f"mlp-{i}", generators.mlp(shapes, 10, hidden_units=(64 + 32 * i, 64))))
        else:
            graphs.append((f"cnn-{i}", generators.cnn(shapes, 10, filters=8 + 4 * i, hidden_units=32)))
    return graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()

    x_train, _, y_train, _ = load_digits()
    x = (x_train.astype(np.float32) / 255.0)[..., None]
    n_val = len(x) // 5
    data = TrainingData(x[n_val:], y_train[n_val:], x[:n_val], y_train[:n_val])
    settings = TrainingSettings(max_epochs=args.epochs, patience=args.epochs, batch_size=32)
    rows = []
    for name, make in (
        ("serial", SerialExecutor),
        ("local x1", lambda: LocalExecutor(max_workers=1)),
        ("local x2", lambda: LocalExecutor(max_workers=2)),
    ):
        executor = make()
        finished_at = []
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            history = run_search(
                project=Project(folder),
                searcher=RandomSearcher(seed=0),
                data=data,
                initial=_architectures(args.trials),
                settings=settings,
                fine_tune_settings=settings,
                budget=SearchBudget(max_trials=args.trials, deadline=None),
                seed=0,
                executor=executor,
                on_trial=lambda record, history: finished_at.append(time.perf_counter() - start),
            )
            wall = time.perf_counter() - start
        training = sum(r.seconds for r in history)
        workers = executor.max_workers
        failed = sum(r.status != "completed" for r in history)
        # the last `workers` completions end each worker's last trial: the others idle until the end
        tail = sum(wall - t for t in sorted(finished_at)[-workers:-1]) if workers > 1 else 0.0
        overhead = 1 - training / (wall * workers)
        rows.append((name, workers, wall, training, overhead, tail, 1 - training / (wall * workers - tail), failed))
        print(f"{name}: {wall:.1f} s", flush=True)
    reference = rows[1][2]
    print(f"\n{args.trials} trials x {args.epochs} epochs on digits, {os.cpu_count()} CPUs, one run of each")
    print(
        f"{'executor':<10} {'workers':>7} {'wall s':>7} {'vs x1':>6} {'fit s (sum)':>11} {'overhead':>8} "
        f"{'tail s':>6} {'overhead w/o tail':>17} {'failed':>6}"
    )
    for name, workers, wall, training, overhead, tail, steady, failed in rows:
        print(
            f"{name:<10} {workers:>7} {wall:>7.1f} {wall / reference:>6.2f} {training:>11.1f} {overhead:>8.1%} "
            f"{tail:>6.1f} {steady:>17.1%} {failed:>6}"
        )


if __name__ == "__main__":
    main()
