"""Does a morphed child inherit its parent's skill? Run by hand: ``python benchmarks/morphism.py``.

On scikit-learn's digits (70/30 stratified split, random_state=0; 20% of the
training part held out for validation), for each seed:

1. train a parent (``generators.cnn``) for ``--parent-epochs`` epochs;
2. morph it by ``--ops`` random legal operations: the child's validation
   accuracy before any training should equal the parent's;
3. train the child one more epoch;
4. train the same child architecture from scratch for parent epochs + 1.

Prints one row per seed and the means, all measured in this one run.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from autonas.datasets import load_digits  # noqa: E402
from autonas.graph import Graph, generators  # noqa: E402
from autonas.morphism import GROWING, random_morph  # noqa: E402


def _accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x, verbose=0, batch_size=256).argmax(axis=1) == y))


def _train(graph: Graph, data: dict, epochs: int, seed: int, learning_rate: float = 1e-3) -> tuple[keras.Model, float]:
    keras.utils.set_random_seed(seed)
    model = graph.to_keras()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(data["x_fit"], data["y_fit"], epochs=epochs, batch_size=32, verbose=0)
    return model, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--parent-epochs", type=int, default=5)
    parser.add_argument("--ops", type=int, default=2, help="random operations per child")
    parser.add_argument(
        "--child-lr", type=float, default=1e-4, help="learning rate of the child's extra epoch (scratch uses 1e-3)"
    )
    args = parser.parse_args()

    x_train, x_test, y_train, y_test = load_digits()
    x_train = x_train[..., None].astype("float32") / 255.0
    x_test = x_test[..., None].astype("float32") / 255.0
    cut = int(0.8 * len(x_train))
    data = {"x_fit": x_train[:cut], "y_fit": y_train[:cut], "x_val": x_train[cut:], "y_val": y_train[cut:]}

    header = (
        f"{'seed':>4} {'operations':<58} {'parent val':>10} {'child val':>9} {'child +1 ep':>11} "
        f"{'scratch':>8} {'child test':>10} {'scratch test':>12}"
    )
    print(f"digits, cnn parent trained {args.parent_epochs} epochs; scratch = child architecture trained "
          f"{args.parent_epochs + 1} epochs; accuracies on the validation split unless marked test")
    print(header)
    rows = []
    for seed in range(args.seeds):
        parent = generators.cnn((8, 8, 1), 10)
        parent_model, _ = _train(parent, data, args.parent_epochs, seed)
        parent.update_weights(parent_model)
        parent_val = _accuracy(parent_model, data["x_val"], data["y_val"])

        child, operations = random_morph(parent, np.random.default_rng(seed), n=args.ops, kinds=GROWING)
        child_model = child.to_keras()
        child_val = _accuracy(child_model, data["x_val"], data["y_val"])
        child_model, _ = _train(child, data, 1, seed, args.child_lr)
        child_trained = _accuracy(child_model, data["x_val"], data["y_val"])
        child_test = _accuracy(child_model, x_test, y_test)

        scratch = child.copy()
        scratch.clear_weights()
        scratch_model, _ = _train(scratch, data, args.parent_epochs + 1, seed)
        scratch_val = _accuracy(scratch_model, data["x_val"], data["y_val"])
        scratch_test = _accuracy(scratch_model, x_test, y_test)

        rows.append((parent_val, child_val, child_trained, scratch_val, child_test, scratch_test))
        ops = ", ".join(str(op) for op in operations)
        print(
            f"{seed:>4} {ops:<58.58} {parent_val:>10.4f} {child_val:>9.4f} {child_trained:>11.4f} "
            f"{scratch_val:>8.4f} {child_test:>10.4f} {scratch_test:>12.4f}",
            flush=True,
        )
    means = np.mean(rows, axis=0)
    print(
        f"{'mean':>4} {'':<58} {means[0]:>10.4f} {means[1]:>9.4f} {means[2]:>11.4f} "
        f"{means[3]:>8.4f} {means[4]:>10.4f} {means[5]:>12.4f}"
    )
    print(f"max |child val before training - parent val| = {max(abs(r[1] - r[0]) for r in rows):.4f}")
    print(f"child +1 epoch minus scratch (val): mean {means[2] - means[3]:+.4f}")


if __name__ == "__main__":
    main()
