"""The host's cost per training step: one step per callback call against autonas's ``steps_per_execution``.

Keras hands every execution's logs to the callbacks (autonas's trial guard
reads the loss there, which waits for the device); with ``steps_per_execution``
> 1 that happens once for several steps. This benchmark trains the same
models on the same Fashion-MNIST images twice in one process, once with one
step per execution and once with what the runner chooses
(:func:`autonas.execution.schedule.steps_per_execution_for`), each with the
runner's trial guard, and prints the seconds an epoch takes after compilation
(the mean of the epochs after the first) and their ratio; with ``--repeats N`` each
setting runs N times, alternated, and the medians (and ranges) are shown.

Run it under each backend (``KERAS_BACKEND=jax python benchmarks/epoch_overhead.py``);
on a GPU it also shows how far the epoch is from the device's own pace.

    python benchmarks/epoch_overhead.py [--train-images 20000] [--epochs 3] [--batches 32 256] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _small_data import fashion_mnist_subset  # noqa: E402

#: The models timed: a softmax layer on the pixels (all overhead) and autonas's initial CNN.
MODELS = ("softmax", "cnn")


def build(name: str, shape: tuple[int, ...]):
    """A fresh Keras model called ``name`` (see :data:`MODELS`)."""
    import keras

    from autonas.graph import generators

    if name == "softmax":
        return keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    return generators.cnn(shape, 10).to_keras()


def epoch_seconds(name: str, x, y, batch: int, per_execution: int, epochs: int) -> float:
    """Mean seconds of the epochs after the first (which compiles), with the runner's guard."""
    import keras

    from autonas.execution.guard import TrialGuard
    from autonas.execution.compiling import compile_for_training

    keras.utils.set_random_seed(0)
    model = build(name, x.shape[1:])
    compile_for_training(model, 1e-3, "adam", per_execution)
    times: list[float] = []

    class EpochClock(keras.callbacks.Callback):
        async_safe = True

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    guard = TrialGuard(patience=epochs, deadline=None, validated=True)
    validation = (x[:1000], y[:1000])
    model.fit(x, y, batch_size=batch, epochs=epochs, validation_data=validation, callbacks=[guard, EpochClock()], verbose=0)
    later = times[1:] or times
    return sum(later) / len(later)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-images", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each setting, alternated; medians shown")
    parser.add_argument("--output", default=os.environ.get("OUT", "."), help="folder for epoch_overhead.json")
    args = parser.parse_args()

    from autonas.backend import backend_name, import_keras_quietly
    from autonas.execution.inputs import steps_per_epoch
    from autonas.execution.schedule import steps_per_execution_for

    import_keras_quietly()
    x, _, y, _ = fashion_mnist_subset(args.train_images)
    x = x[..., None].astype("float32") / 255.0  # (N, 28, 28) uint8 → (N, 28, 28, 1) in [0, 1]
    rows = []
    print(f"backend {backend_name()}, {len(x)} Fashion-MNIST images, {args.epochs} epochs per run")
    print(f"{'model':8} {'batch':>5} {'steps/epoch':>11} {'per exec':>8} {'s/epoch at 1':>12} {'s/epoch chosen':>14} {'ratio':>6}")
    for name in args.models:
        for batch in args.batches:
            steps = steps_per_epoch(x, batch)
            chosen = steps_per_execution_for(steps)
            ones, manys = [], []
            for _ in range(args.repeats):  # alternated, so a slow spell of the machine hits both
                ones.append(epoch_seconds(name, x, y, batch, 1, args.epochs))
                manys.append(epoch_seconds(name, x, y, batch, chosen, args.epochs) if chosen > 1 else ones[-1])
            one, many = statistics.median(ones), statistics.median(manys)
            rows.append(dict(model=name, batch=batch, steps=steps, per_execution=chosen, seconds_at_1=ones,
                             seconds_chosen=manys, ratio=one / many))
            spread = f"  ({min(ones):.2f}-{max(ones):.2f} / {min(manys):.2f}-{max(manys):.2f})" if args.repeats > 1 else ""
            print(f"{name:8} {batch:5d} {steps:11d} {chosen:8d} {one:12.3f} {many:14.3f} {one / many:6.2f}{spread}",
                  flush=True)
    Path(args.output).mkdir(parents=True, exist_ok=True)
    (Path(args.output) / "epoch_overhead.json").write_text(json.dumps({"backend": backend_name(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
