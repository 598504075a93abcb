"""The wait at the start of each training epoch under TensorFlow: Keras's pipeline for arrays against autonas's.

Each run is a fresh process pinned to one core with one compute thread (as a
worker of a search with one core per worker), training the initial CNN
(16-64 filters, 32 hidden units) on 8,000 Fashion-MNIST images at batch 64,
validating on 2,000 after every epoch. Inputs:

* ``keras arrays``: the arrays handed to ``model.fit`` (Keras's own tf.data
  pipeline for arrays, with tf.data's autotuning);
* ``autonas batches``: what the runner hands over (``_fit_inputs``: under
  TensorFlow, :func:`autonas.backend.shuffled_batches`);
* ``keras arrays, no validation``: the reference without the validation passes.

Printed: seconds an epoch (epochs 2 on, the first compiles) and the time from
an epoch's start to the end of its first step, median over the runs, and the
ratio of the epoch times. Usage::

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/epoch_start.py --repeats 3 --epochs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

VARIANTS = ("keras arrays", "autonas batches", "keras arrays, no validation")


def one_run(variant: str, epochs: int) -> dict:
    """Train in this process; per epoch ``(seconds, seconds to the first step's end)``."""
    from autonas.execution import worker

    worker._configure_backend(worker.WorkerConfig("/tmp", intra_op_threads=1, inter_op_threads=1))
    import keras
    from _small_data import fashion_mnist_subset

    from autonas.execution.compiling import compile_for_training
    from autonas.execution.inputs import fit_inputs
    from autonas.execution.schedule import steps_per_execution_for
    from autonas.graph import generators

    x_train, _, y_train, _ = fashion_mnist_subset(10_000)
    x, y, x_val, y_val = x_train[:8000], y_train[:8000], x_train[8000:], y_train[8000:]
    model = generators.cnn(x.shape[1:], 10, filters=16, max_filters=64, hidden_units=32).to_keras()
    per_execution = steps_per_execution_for(-(-len(x) // 64))
    compile_for_training(model, 3e-3, "adam", per_execution)
    validation = None if variant.endswith("no validation") else (x_val, y_val)
    if variant == "autonas batches":
        inputs = fit_inputs(x, y, validation, 64, 0, per_execution)
    else:
        inputs = {"x": x, "y": y, "batch_size": 64, "validation_data": validation}
    epochs_seen: list[tuple[float, float]] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.first = time.perf_counter(), None

        def on_train_batch_end(self, batch, logs=None):
            if self.first is None:
                self.first = time.perf_counter() - self.start

        def on_epoch_end(self, epoch, logs=None):
            epochs_seen.append((time.perf_counter() - self.start, self.first))

    model.fit(**inputs, epochs=epochs, verbose=0, callbacks=[Clock()])
    return {"epochs": epochs_seen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--core", type=int, default=0, help="the core every run is pinned to")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: one run of this variant
    args = parser.parse_args()
    if args.run:
        print(json.dumps(one_run(args.run, args.epochs)))
        return
    rows = {}
    for variant in VARIANTS:
        later, waits = [], []
        for _ in range(args.repeats):
            done = subprocess.run(
                [sys.executable, __file__, "--run", variant, "--epochs", str(args.epochs)],
                capture_output=True, text=True, check=True, preexec_fn=lambda: os.sched_setaffinity(0, {args.core}),
            )
            epochs = json.loads(done.stdout.strip().splitlines()[-1])["epochs"]
            later += [seconds for seconds, _ in epochs[1:]]
            waits += [first for _, first in epochs[1:]]
        rows[variant] = (statistics.median(later), statistics.median(waits), min(later), max(later))
    base = rows["keras arrays"][0]
    print(f"{'inputs':30} {'s/epoch (epochs 2+)':>20} {'to 1st step end':>16} {'range':>14} {'vs keras arrays':>16}")
    for variant, (epoch, wait, low, high) in rows.items():
        print(f"{variant:30} {epoch:20.2f} {wait:16.2f} {f'{low:.2f}-{high:.2f}':>14} {epoch / base:16.2f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
