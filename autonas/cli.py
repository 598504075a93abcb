"""The ``autonas`` command line."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    import numpy as np

    from autonas.datasets import load_digits
    from autonas.graph import generators

    x_train, x_test, y_train, y_test = load_digits()
    x_train = x_train[..., None].astype("float32") / 255.0
    x_test = x_test[..., None].astype("float32") / 255.0
    num_classes = int(y_train.max()) + 1
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of shape {x_train.shape[1:]}")
    graphs = {name: getattr(generators, name)(x_train.shape[1:], num_classes) for name in generators.__all__}
    for name, graph in graphs.items():
        print(f"  initial architecture {name:<9} {len(graph):>3} nodes {graph.num_params():>8,} params {graph.macs():>10,} MACs")

    import keras

    keras.utils.set_random_seed(args.seed)
    graph = graphs["cnn"]
    model = graph.to_keras()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        validation_split=0.2,
        epochs=args.epochs,
        batch_size=32,
        verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)],
    )
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(model.predict(x_test, verbose=0).argmax(axis=1) == y_test))
    graph.update_weights(model)
    print(f"trained the cnn for up to {args.epochs} epochs in {seconds:.1f} s: test accuracy {accuracy:.4f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``autonas`` command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="autonas", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train on scikit-learn's digits and print the test accuracy")
    demo.add_argument("--epochs", type=int, default=40, help="epoch cap (default 40)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    return args.run(args)
