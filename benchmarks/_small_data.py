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
