"""autonas against its peers on the same data and wall-clock budget. Run by hand.

``python benchmarks/peers.py [--time-limit 300] [--datasets digits fashion_mnist] [--methods ...] [--plot peers.png]``

For each data set, one after the other in this process with the same budget:

* ``autonas``: ``AutoImageClassifier`` (Bayesian searcher, defaults);
* ``autonas (random)``: the same with random morphism search;
* ``keras-tuner``: ``keras_tuner.BayesianOptimization`` over a hand-written CNN
  space (1–3 conv–BN–ReLU blocks of 16–128 filters with pooling, optional dense
  layer of 32–256 units, dropout, learning rate), each trial trained with early
  stopping (best epoch restored); its best model is scored as it is (no refit);
* ``keras-tuner hyperband``: ``keras_tuner.Hyperband`` over the same space
  (``max_epochs=27``, ``factor=3``, brackets repeated until the budget ends);
* ``keras.io recipe``: what a user would write instead of a search, keras.io's
  "Simple MNIST convnet" (two convolution and pooling blocks of 32 and 64
  filters, dropout 0.5, Adam, batch 128, 10 % validation split) trained for the
  whole budget, its best validation epoch restored;
* ``strong recipe``: what a skilled practitioner writes instead (``run_strong_recipe``): a small
  residual CNN with batch normalisation, flip and translation augmentation, AdamW, label smoothing
  0.1 and a cosine learning rate annealed on the wall clock to zero at the budget, on all images.

Data: scikit-learn's digits (uint8 8×8, 70/30 stratified split,
random_state=0) and Fashion-MNIST (``autonas.datasets.fashion_mnist``; Debian
package ``dataset-fashion-mnist``, official split; ``--fashion-train`` limits
the training images to keep the budget meaningful on CPU). Prints test
accuracy, parameters, trials completed and seconds per method, and writes a
best-validation-accuracy-so-far versus time plot (matplotlib).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from autonas import AutoImageClassifier  # noqa: E402
from _small_data import comparison_data  # noqa: E402


def _run_autonas(data, searcher: str, budget: float, folder: str):
    x_train, x_test, y_train, y_test = data
    start = time.monotonic()
    classifier = AutoImageClassifier(time_limit=budget, searcher=searcher, directory=folder, seed=0, verbose=0)
    classifier.fit(x_train, y_train)
    seconds = time.monotonic() - start
    curve, best = [], 0.0
    elapsed = 0.0
    for record in classifier.history_:
        elapsed += record.seconds
        if record.status == "completed":
            best = max(best, record.metrics["val_accuracy"])
        curve.append((elapsed, best))
    return classifier.score(x_test, y_test), classifier.best_graph_.num_params(), len(classifier.history_), seconds, curve


def _scaled(images: np.ndarray) -> np.ndarray:
    """uint8 images as float32 in [0, 1], with a channel axis (grey images have none)."""
    x = images.astype("float32") / 255.0
    return x[..., None] if x.ndim == 3 else x


def run_keras_tuner(data, budget: float, folder: str, seed: int = 0, tuner: str = "bayesian"):
    """keras-tuner's BayesianOptimization (or ``tuner="hyperband"``: Hyperband) over a hand-written CNN space,
    within ``budget`` seconds.

    Returns ``(test accuracy, params, trials, seconds, [(seconds, best validation accuracy so far)])``.
    """
    import keras
    import keras_tuner

    keras.utils.set_random_seed(seed)

    x_train, x_test, y_train, y_test = data
    x, xt = _scaled(x_train), _scaled(x_test)
    n_val = len(x) // 5
    classes = int(y_train.max()) + 1
    start = time.monotonic()
    deadline = start + budget
    curve: list[tuple[float, float]] = []

    def build(hp):
        inputs = keras.Input(x.shape[1:])
        h = inputs
        for block in range(hp.Int("blocks", 1, 3)):
            h = keras.layers.Conv2D(hp.Choice(f"filters_{block}", [16, 32, 64, 128]), 3, padding="same")(h)
            h = keras.layers.BatchNormalization()(h)
            h = keras.layers.ReLU()(h)
            if h.shape[1] >= 4:
                h = keras.layers.MaxPooling2D()(h)
        h = keras.layers.GlobalAveragePooling2D()(h)
        if hp.Boolean("dense"):
            h = keras.layers.Dense(hp.Choice("units", [32, 64, 128, 256]), activation="relu")(h)
        h = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.25))(h)
        outputs = keras.layers.Dense(classes, activation="softmax")(h)
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("lr", [3e-3, 1e-3, 3e-4])),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    class Budget(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if time.monotonic() > deadline - 0.15 * budget:
                self.model.stop_training = True
                search.oracle.max_trials = len(search.oracle.trials)  # no new trial (Hyperband's brackets)

    class Curve(keras.callbacks.Callback):
        best = 0.0

        def on_train_end(self, logs=None):
            Curve.best = max(Curve.best, max(self.model.history.history.get("val_accuracy", [0.0])))
            curve.append((time.monotonic() - start, Curve.best))

    callbacks = [keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True), Budget(), Curve()]
    fit = dict(x=x[n_val:], y=y_train[n_val:], validation_data=(x[:n_val], y_train[:n_val]), verbose=0,
               callbacks=callbacks)
    if tuner == "hyperband":
        search = keras_tuner.Hyperband(
            build, objective="val_accuracy", max_epochs=27, factor=3, hyperband_iterations=None, seed=seed,
            directory=folder, project_name="kt", overwrite=True,
        )
        search.search(**fit)  # until Budget stops it
    else:
        search = keras_tuner.BayesianOptimization(
            build, objective="val_accuracy", max_trials=1, seed=seed, directory=folder, project_name="kt",
            overwrite=True,
        )
        while time.monotonic() < deadline - 0.2 * budget:  # one trial per call: the budget is checked between trials
            search.search(epochs=30, **fit)
            search.oracle.max_trials = len(search.oracle.trials) + 1
    trials = len(search.oracle.trials)
    model = search.get_best_models(1)[0]  # trained on the training part, best epoch restored
    accuracy = float(np.mean(model.predict(xt, verbose=0).argmax(1) == y_test))
    return accuracy, model.count_params(), trials, time.monotonic() - start, curve


def run_keras_io_recipe(data, budget: float, seed: int = 0):
    """keras.io's "Simple MNIST convnet" trained for ``budget`` seconds, its best validation epoch restored.

    Returns what :func:`run_keras_tuner` returns (one trial).
    """
    import keras

    keras.utils.set_random_seed(seed)
    x_train, x_test, y_train, y_test = data
    x, xt = _scaled(x_train), _scaled(x_test)
    classes = int(y_train.max()) + 1
    start = time.monotonic()
    curve: list[tuple[float, float]] = []
    model = keras.Sequential([
        keras.Input(x.shape[1:]),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(classes, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    class Clock(keras.callbacks.Callback):
        best = 0.0

        def on_epoch_end(self, epoch, logs=None):
            Clock.best = max(Clock.best, float((logs or {}).get("val_accuracy", 0.0)))
            elapsed = time.monotonic() - start
            curve.append((elapsed, Clock.best))
            if elapsed * (epoch + 2) / (epoch + 1) > 0.98 * budget:  # another epoch would outlast the budget
                self.model.stop_training = True

    best_epoch = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=10**9, restore_best_weights=True)
    model.fit(x, y_train, batch_size=128, epochs=10**6, validation_split=0.1, verbose=0, callbacks=[Clock(), best_epoch])
    accuracy = float(np.mean(model.predict(xt, verbose=0).argmax(1) == y_test))
    return accuracy, model.count_params(), 1, time.monotonic() - start, curve


def _residual_block(keras, x, filters: int, stride: int):
    """Two 3×3 conv–BN layers with a shortcut (a strided 1×1 conv–BN where the shape changes), then ReLU."""
    layers = keras.layers
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.Activation("relu")(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    return layers.Activation("relu")(layers.Add()([shortcut, y]))


def strong_recipe_model(keras, input_shape: tuple[int, ...], classes: int, width: int = 32):
    """A small residual CNN: a conv–BN–ReLU stem, three stages of one residual block (``width``, 2×, 4×
    filters, the last two strided), flip and translation augmentation, global average pooling."""
    layers = keras.layers
    inputs = keras.Input(input_shape)
    x = layers.RandomFlip("horizontal")(inputs)
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="reflect")(x)
    x = layers.Activation("relu")(layers.BatchNormalization()(layers.Conv2D(width, 3, padding="same", use_bias=False)(x)))
    for stage, filters in enumerate((width, 2 * width, 4 * width)):
        x = _residual_block(keras, x, filters, 1 if stage == 0 else 2)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def run_strong_recipe(data, budget: float, seed: int = 0, learning_rate: float = 3e-3, batch_size: int = 128):
    """What a skilled practitioner writes instead of a search, sized for the budget.

    :func:`strong_recipe_model` trained on every training image (no validation split) with AdamW
    (weight decay 5e-4), label smoothing 0.1 and a cosine learning rate annealed on the wall clock: it
    reaches zero when the budget (less a 3 % margin for scoring) is spent, where training stops.
    Returns what :func:`run_keras_tuner` returns (one trial; no validation curve).
    """
    import math

    import keras

    keras.utils.set_random_seed(seed)
    x_train, x_test, y_train, y_test = data
    x, xt = _scaled(x_train), _scaled(x_test)
    classes = int(y_train.max()) + 1
    start = time.monotonic()
    model = strong_recipe_model(keras, x.shape[1:], classes)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate, weight_decay=5e-4),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        metrics=["accuracy"],
    )
    end = start + 0.97 * budget

    class WallClockCosine(keras.callbacks.Callback):
        """The learning rate on half a cosine over the time from the first batch's end to ``end``."""

        began: float | None = None

        def on_train_batch_begin(self, batch, logs=None):
            now = time.monotonic()
            progress = 0.0 if self.began is None else min(1.0, (now - self.began) / max(end - self.began, 1e-9))
            self.model.optimizer.learning_rate.assign(learning_rate * 0.5 * (1 + math.cos(math.pi * progress)))
            if now >= end:
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            if self.began is None:
                self.began = time.monotonic()

    history = model.fit(x, keras.utils.to_categorical(y_train, classes), batch_size=batch_size, epochs=10**6,
                        verbose=0, callbacks=[WallClockCosine()])
    accuracy = float(np.mean(model.predict(xt, verbose=0, batch_size=512).argmax(1) == y_test))
    # the epochs it had (the last one cut short by the clock), in the run's log
    print(f"strong recipe: {len(history.epoch)} epochs of {len(x):,} images in {time.monotonic() - start:.0f} s, "
          f"test accuracy {accuracy:.4f}", file=sys.stderr, flush=True)
    return accuracy, model.count_params(), 1, time.monotonic() - start, []


_METHODS = ("autonas", "autonas (random)", "keras-tuner", "keras-tuner hyperband", "keras.io recipe", "strong recipe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion_mnist"], choices=["digits", "fashion_mnist"])
    parser.add_argument("--fashion-train", type=int, default=10000, help="training images of Fashion-MNIST used")
    parser.add_argument("--plot", default="peers.png")
    parser.add_argument("--methods", nargs="+", default=list(_METHODS), choices=_METHODS)
    args = parser.parse_args()

    rows, curves = [], {}
    for dataset in args.datasets:
        data = comparison_data(dataset, args.fashion_train)
        for method in args.methods:
            with tempfile.TemporaryDirectory() as folder:
                if method.startswith("keras-tuner"):
                    result = run_keras_tuner(data, args.time_limit, folder, tuner=method.split()[-1])
                elif method == "keras.io recipe":
                    result = run_keras_io_recipe(data, args.time_limit)
                elif method == "strong recipe":
                    result = run_strong_recipe(data, args.time_limit)
                else:
                    result = _run_autonas(data, "random" if "random" in method else "bayesian", args.time_limit, folder)
            rows.append((dataset, method, *result[:4]))
            curves[(dataset, method)] = result[4]
            print(f"{dataset} / {method}: test accuracy {result[0]:.4f} in {result[3]:.0f} s", flush=True)

    print(f"\nsame wall-clock budget {args.time_limit:.0f} s per method, {os.cpu_count()} CPUs, one run each")
    print(f"{'data':<14} {'method':<17} {'test acc':>8} {'params':>9} {'trials':>6} {'seconds':>7}")
    for dataset, method, accuracy, params, trials, seconds in rows:
        print(f"{dataset:<14} {method:<17} {accuracy:>8.4f} {params:>9,} {trials:>6} {seconds:>7.0f}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    figure, axes = plt.subplots(1, len(args.datasets), figsize=(6 * len(args.datasets), 4), squeeze=False)
    for axis, dataset in zip(axes[0], args.datasets):
        for (name, method), curve in curves.items():
            if name == dataset and curve:
                times, values = zip(*curve)
                axis.step(times, values, where="post", label=method)
        axis.set(title=dataset, xlabel="seconds (training time so far)", ylabel="best validation accuracy")
        axis.legend()
    figure.tight_layout()
    figure.savefig(args.plot)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
