"""Do the initial architectures stall? Training curves of cnn, resnet and densenet, and two stopping rules.

Each initial architecture trains with the default recipe (Adam 1e-3, batch 32, the
classifier's standardisation and a stratified 20 % validation split) for the full
epoch cap without early stopping; the per-epoch validation loss and accuracy are
kept, and each stopping rule is replayed on those curves:

* ``loss``: stop after ``patience`` epochs without a lower validation loss, keep the
  best-loss epoch (the rule before this benchmark);
* ``loss or accuracy``: an epoch counts as progress when either the validation loss
  falls or the validation accuracy rises; keep the epoch of best accuracy (ties: lower loss).

Usage: ``python benchmarks/initial_training.py [--datasets shapes digits fashion] [--epochs 30]``
Prints one table: data set, architecture, best accuracy of the full run, and per rule
the epoch it stops at and the accuracy it keeps.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from _small_data import small_dataset  # noqa: E402


def _curves(graph, x_train, y_train, x_val, y_val, epochs: int, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    model = graph.to_keras()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=32, verbose=0)
    return np.array(history.history["val_loss"]), np.array(history.history["val_accuracy"])


def stop_on_loss(loss: np.ndarray, accuracy: np.ndarray, patience: int) -> tuple[int, float]:
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, value in enumerate(loss):
        if value < best:
            best, best_epoch, wait = value, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch + 1, float(accuracy[best_epoch])
    return len(loss), float(accuracy[best_epoch])


def stop_on_loss_or_accuracy(loss: np.ndarray, accuracy: np.ndarray, patience: int) -> tuple[int, float]:
    best_loss, best_accuracy, kept, wait = np.inf, -np.inf, 0, 0
    for epoch, (value, acc) in enumerate(zip(loss, accuracy)):
        progress = value < best_loss or acc > best_accuracy
        if acc > accuracy[kept] or (acc == accuracy[kept] and value < loss[kept]) or epoch == 0:
            kept = epoch
        best_loss, best_accuracy = min(best_loss, value), max(best_accuracy, acc)
        if progress:
            wait = 0
        else:
            wait += 1
            if wait >= patience:
                return epoch + 1, float(accuracy[kept])
    return len(loss), float(accuracy[kept])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["shapes", "digits", "fashion"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from autonas.graph import generators
    from sklearn.model_selection import train_test_split

    from autonas.tasks.data import ImagePreprocessing

    print("| data | architecture | best val acc (all epochs) | loss: stop epoch | loss: kept acc | "
          "loss or acc: stop epoch | loss or acc: kept acc | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.datasets:
        x, y = small_dataset(name, args.seed)
        train, val = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=args.seed)
        preprocessing = ImagePreprocessing.fit(x[train])
        x_train, x_val = preprocessing.transform(x[train]), preprocessing.transform(x[val])
        for architecture in ("cnn", "resnet", "densenet"):
            graph = getattr(generators, architecture)(x_train.shape[1:], int(y.max()) + 1)
            start = time.perf_counter()
            loss, accuracy = _curves(graph, x_train, y[train], x_val, y[val], args.epochs, args.seed)
            seconds = time.perf_counter() - start
            old = stop_on_loss(loss, accuracy, args.patience)
            new = stop_on_loss_or_accuracy(loss, accuracy, args.patience)
            print(f"| {name} | {architecture} | {accuracy.max():.4f} | {old[0]} | {old[1]:.4f} | "
                  f"{new[0]} | {new[1]:.4f} | {seconds:.0f} |", flush=True)
            print("    val_loss " + " ".join(f"{v:.3f}" for v in loss), flush=True)
            print("    val_acc  " + " ".join(f"{v:.3f}" for v in accuracy), flush=True)


if __name__ == "__main__":
    main()
