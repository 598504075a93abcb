"""Training with translation or zoom: Keras's layers against autonas's separable ones.

Keras's ``RandomTranslation`` and ``RandomZoom`` go through
``keras.ops.image.affine_transform``, native under TensorFlow, general gathers
under JAX and PyTorch. autonas trains with
:mod:`autonas.graph.augmentation`'s separable layers where the backend has no
native kernel (``autonas.backend.Capabilities.native_affine_transform``). This
benchmark trains the initial CNN with each augmentation (and none), both
ways, each trial in a fresh process (no compilation cache carries over),
alternated: ``train_graph`` for 2 epochs on 2,048 random images at batch 64,
and prints the trial's seconds, its start-up (building, compiling, the first
steps: ``startup_seconds``) and its seconds per epoch, medians, with ratios.

    KERAS_BACKEND=jax python benchmarks/augmentation.py [--shape 28 28 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

AUGMENTATIONS = ("none", "translate", "zoom")
WAYS = ("keras", "separable")


def one_process(augmentation: str, shape: tuple[int, ...], way: str) -> dict[str, float]:
    """Train the augmented initial CNN in this fresh process with Keras's layers or the separable ones."""
    import dataclasses

    from _small_data import timed_trial_on_random_images

    from autonas.backend import capabilities
    from autonas.graph import generators, keras_io
    from autonas.morphism import to_augmented

    row = dataclasses.replace(capabilities(), native_affine_transform=way == "keras")
    keras_io.capabilities = lambda backend=None: row
    graph = generators.cnn(shape, 10)
    if augmentation != "none":
        graph = to_augmented(graph, augmentation)
    seconds, result = timed_trial_on_random_images(graph, epochs=2)
    return {"trial": seconds, "startup": result.metrics["startup_seconds"], "epoch": result.metrics["seconds_per_epoch"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=3, default=[28, 28, 1], help="image height, width, channels")
    parser.add_argument("--repeats", type=int, default=3, help="processes of each way, alternated; medians shown")
    parser.add_argument("--output", default=os.environ.get("OUT", "."), help="folder for augmentation.json")
    parser.add_argument("--one", nargs=2, metavar=("AUGMENTATION", "WAY"), help=argparse.SUPPRESS)  # a child
    args = parser.parse_args()
    shape = tuple(args.shape)
    if args.one:
        print(json.dumps(one_process(args.one[0], shape, args.one[1])))
        return

    import keras

    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for augmentation in AUGMENTATIONS:
            for way in WAYS if augmentation != "none" else WAYS[:1]:
                command = [sys.executable, __file__, "--shape", *map(str, shape), "--one", augmentation, way]
                output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                runs.setdefault((augmentation, way), []).append(json.loads(output.strip().splitlines()[-1]))

    def median(augmentation: str, way: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[(augmentation, way)])

    print(f"backend {keras.config.backend()}, images {shape}, initial CNN, 2 epochs of 2,048 images at batch 64, "
          f"medians of {args.repeats} fresh processes")
    print(f"{'augmentation':12} {'layers':10} {'trial s':>8} {'start-up s':>11} {'s/epoch':>8}")
    table = []
    for augmentation in AUGMENTATIONS:
        for way in WAYS if augmentation != "none" else WAYS[:1]:
            row = {key: median(augmentation, way, key) for key in ("trial", "startup", "epoch")}
            print(f"{augmentation:12} {way if augmentation != 'none' else '-':10} {row['trial']:8.2f} "
                  f"{row['startup']:11.2f} {row['epoch']:8.3f}")
            table.append({"augmentation": augmentation, "layers": way, **row})
    print("ratios, Keras's layers / separable (trial, start-up, s/epoch):")
    for augmentation in AUGMENTATIONS[1:]:
        ratios = [median(augmentation, "keras", k) / median(augmentation, "separable", k)
                  for k in ("trial", "startup", "epoch")]
        print(f"  {augmentation:10} " + "  ".join(f"{r:.2f}" for r in ratios))
    path = Path(args.output) / "augmentation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"backend": keras.config.backend(), "shape": shape, "runs": {
        f"{a} / {w}": r for (a, w), r in runs.items()}, "table": table}, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
