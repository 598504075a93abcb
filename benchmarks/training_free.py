"""Does the NASWOT score predict trained accuracy better than the parameter count?

A pool of initial-architecture variants (depths and widths of the generators)
is scored without training (``naswot_score`` on 64 training images, mean of 3
initialisations) and then trained with the default recipe for a fixed number of
epochs (Adam 1e-3, batch 32, standardised images, 20 % stratified validation).
The table gives each variant's score, parameters and validation accuracy, and
the Spearman correlation of the score and of the parameter count with the
accuracy (the parameter count is a known strong baseline predictor).

Usage: ``python benchmarks/training_free.py [--datasets digits shapes] [--epochs 8]``
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from _small_data import small_dataset  # noqa: E402

VARIANTS = (
    ("cnn", {"filters": 8, "stages": 1}),
    ("cnn", {"filters": 8}),
    ("cnn", {"filters": 16, "hidden_units": 0}),
    ("cnn", {}),
    ("cnn", {"filters": 64, "stages": 1}),
    ("resnet", {"filters": 4}),
    ("resnet", {"filters": 8}),
    ("resnet", {}),
    ("resnet", {"blocks_per_stage": 2}),
    ("densenet", {"growth_rate": 3, "initial_filters": 6}),
    ("densenet", {"growth_rate": 6, "initial_filters": 12}),
    ("densenet", {}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "shapes"])
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    import keras
    from scipy.stats import spearmanr
    from sklearn.model_selection import train_test_split

    from autonas.execution.compiling import compile_for_training
    from autonas.graph import generators
    from autonas.objectives.training_free import naswot_score
    from autonas.tasks.data import ImagePreprocessing

    summary = []
    for name in args.datasets:
        x, y = small_dataset(name)
        train, val = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)
        preprocessing = ImagePreprocessing.fit(x[train])
        x_train, x_val = preprocessing.transform(x[train]), preprocessing.transform(x[val])
        classes = int(y.max()) + 1
        print(f"\n{name}: {len(train)} training images {x_train.shape[1:]}, {args.epochs} epochs each")
        print("| variant | NASWOT score | params | val acc | train s |")
        print("| --- | --- | --- | --- | --- |")
        rows = []
        for generator, kwargs in VARIANTS:
            graph = generators.BY_NAME[generator](x_train.shape[1:], classes, **kwargs)
            score = float(np.mean([naswot_score(graph, x_train[:64], seed=s) for s in range(3)]))
            keras.utils.set_random_seed(0)
            model = graph.to_keras()
            compile_for_training(model, 1e-3)
            start = time.perf_counter()
            history = model.fit(x_train, y[train], validation_data=(x_val, y[val]), epochs=args.epochs,
                                batch_size=32, verbose=0)
            seconds = time.perf_counter() - start
            accuracy = max(history.history["val_accuracy"])
            rows.append((score, graph.num_params(), accuracy))
            label = f"{generator} {kwargs}" if kwargs else generator
            print(f"| {label} | {score:.1f} | {graph.num_params():,} | {accuracy:.4f} | {seconds:.0f} |", flush=True)
        scores, params, accuracies = map(np.array, zip(*rows))
        rho_score = spearmanr(scores, accuracies).statistic
        rho_params = spearmanr(params, accuracies).statistic
        summary.append((name, rho_score, rho_params))
    print("\n| data | Spearman(NASWOT, val acc) | Spearman(params, val acc) |")
    print("| --- | --- | --- |")
    for name, rho_score, rho_params in summary:
        print(f"| {name} | {rho_score:+.3f} | {rho_params:+.3f} |")


if __name__ == "__main__":
    main()
