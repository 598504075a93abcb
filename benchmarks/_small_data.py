"""Small image data sets the benchmarks share: all ship offline or are generated."""

from __future__ import annotations

import numpy as np

#: Names accepted by :func:`small_dataset`.
SMALL_DATASETS = ("shapes", "digits", "fashion")


def small_dataset(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training images (N, H, W, C) and labels of a small data set.

    ``shapes``: 2,100 generated 32×32×3 colour shapes (70 % kept for training);
    ``digits``: scikit-learn's digits (70 %); ``fashion``: 2,000 random Fashion-MNIST
    training images (Debian's ``dataset-fashion-mnist``), drawn with ``seed``.
    """
    from autonas import datasets

    if name == "shapes":
        x, _, y, _ = datasets.colour_shapes(n_samples=2100, image_size=32)
    elif name == "digits":
        x, _, y, _ = datasets.load_digits()
        x = x[..., None]
    elif name == "fashion":
        x, _, y, _ = datasets.fashion_mnist()
        keep = np.random.default_rng(seed).choice(len(x), 2000, replace=False)
        x, y = x[keep][..., None], y[keep]
    else:
        raise ValueError(f"unknown data set {name!r}; expected one of {SMALL_DATASETS}")
    return x, y


def fashion_mnist_subset(train_images: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST's ``(x_train, x_test, y_train, y_test)`` with ``train_images`` training images.

    The training images are drawn by a fixed generator (the same for every benchmark and run);
    the test set is the official 10,000 images.
    """
    from autonas.datasets import fashion_mnist

    x_train, x_test, y_train, y_test = fashion_mnist()
    keep = np.random.default_rng(0).permutation(len(x_train))[:train_images]
    return x_train[keep], x_test, y_train[keep], y_test


def standardised_split(x: np.ndarray, y: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(x_train, y_train, x_val, y_val, *others)``: a stratified 80/20 split of grey images ``x`` (N, H, W).

    Images become float32 (N, H, W, 1) in [0, 1], standardised by the training part's mean and
    standard deviation; ``others`` (e.g. a test set) are scaled and standardised alike. Labels are int64.
    """
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    parts = [part[..., None].astype("float32") / 255.0 for part in (x_train, x_val, *others)]
    mean, std = float(parts[0].mean()), float(parts[0].std()) or 1.0
    x_train, x_val, *others = ((part - mean) / std for part in parts)
    return (x_train, y_train.astype(np.int64), x_val, y_val.astype(np.int64), *others)


#: The comparisons' data sets (:func:`comparison_data`) in words, for tables and plot titles.
COMPARISON_DATASETS = {
    "fashion": "Fashion-MNIST",
    "digits": "scikit-learn's digits (70 % for training, 30 % held out)",
    "shapes": "colour shapes (autonas.datasets.colour_shapes(), 70 % for training, 30 % held out)",
    "hard_shapes": "hard colour shapes (autonas.datasets.hard_colour_shapes(), 70 % for training, 30 % held out)",
}


def comparison_data(name: str, train_images: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, x_test, y_train, y_test)`` (uint8 images) of the search comparisons' data sets.

    ``fashion``: :func:`fashion_mnist_subset` with ``train_images`` training images;
    ``digits``: scikit-learn's digits (70 % for training, 30 % held out);
    ``shapes``: :func:`autonas.datasets.colour_shapes` as a user gets it (70 % / 30 %);
    ``hard_shapes``: :func:`autonas.datasets.hard_colour_shapes` (6,000 images of 48×48, ten classes, 70 % / 30 %).
    """
    from autonas import datasets

    if name == "fashion":
        return fashion_mnist_subset(train_images)
    if name == "digits":
        return datasets.load_digits()
    if name == "shapes":
        return datasets.colour_shapes()
    if name == "hard_shapes":
        return datasets.hard_colour_shapes()
    raise ValueError(f"unknown data set {name!r}; expected one of {sorted(COMPARISON_DATASETS)}")


def timed_trial_on_random_images(graph, epochs: int = 1, images: int = 2048):
    """``(seconds, result)`` of ``train_graph`` on ``images`` random images of ``graph``'s input shape.

    A trial's recipe at batch 64 (learning rate 1e-3, seed 0, no cost measurement), validated on the
    first 256 images; the seconds cover the call only. Raises if the trial did not complete.
    """
    import time

    from autonas.execution import runner
    from autonas.execution.settings import TrainingSettings

    rng = np.random.default_rng(1)
    x = rng.normal(size=(images, *graph.input_shape)).astype("float32")
    y = rng.integers(0, 10, size=images)
    settings = TrainingSettings(max_epochs=epochs, patience=epochs, batch_size=64, learning_rate=1e-3)
    start = time.perf_counter()
    result = runner.train_graph(graph, x, y, settings, validation=(x[:256], y[:256]), seed=0, measure=False)
    assert result.status == "completed", result.error
    return time.perf_counter() - start, result
