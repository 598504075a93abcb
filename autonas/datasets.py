"""Data sets that ship offline, with the split the project's figures use."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["FASHION_MNIST_CLASSES", "SHAPE_CLASSES", "colour_shapes", "fashion_mnist", "hard_colour_shapes", "load_digits",
           "read_idx"]

#: The classes of :func:`colour_shapes` (its ``classes`` first ones; six by default).
SHAPE_CLASSES = ("disc", "square", "triangle", "ring", "horizontal stripes", "vertical stripes",
                 "cross", "diamond", "hollow square", "half disc")

#: Where Debian's ``dataset-fashion-mnist`` package puts the files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_digits(test_size: float = 0.3, random_state: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits as uint8 images, split stratified into train and test.

    The pixel values (0–16) are rescaled to 0–255 so the images look like any
    other uint8 image data.

    Args:
        test_size: Fraction held out for testing.
        random_state: Seed of the split.

    Returns:
        ``(x_train, x_test, y_train, y_test)`` with x of shape (N, 8, 8), uint8.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return train_test_split(
        images, digits.target, test_size=test_size, stratify=digits.target, random_state=random_state
    )


def colour_shapes(
    n_samples: int = 2100,
    image_size: int = 32,
    test_size: float = 0.3,
    random_state: int = 0,
    *,
    classes: int = 6,
    clutter: int = 0,
    occlusion: float = 0.0,
    noise: float = 12.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Generated small colour images of shapes (:data:`SHAPE_CLASSES`), split into train and test.

    Each image has a random background and shape colour (at least 60 levels
    apart in one channel), a random position and size, and pixel noise, so
    colour says nothing about the class. Made for checks that need RGB data
    without a download. The defaults are easy (a search reaches 0.998 or more);
    :func:`hard_colour_shapes` sets the harder options.

    Args:
        n_samples: Images in all (classes balanced, in random order).
        image_size: Height and width in pixels (at least 12).
        test_size: Fraction held out for testing.
        random_state: Seed of the images and the split.
        classes: How many of :data:`SHAPE_CLASSES` (2 to 10).
        clutter: Distractor strokes per image (0 to 3 at random, up to this many): short thick line
            segments in random colours, drawn before the shape.
        occlusion: Largest share of the shape's box a random-coloured rectangle drawn over the shape
            may cover (0 for none, below 1).
        noise: Standard deviation of the Gaussian pixel noise, in levels.

    Returns:
        ``(x_train, x_test, y_train, y_test)`` with x of shape (N, size, size, 3), uint8.

    Raises:
        ValueError: for fewer than 12 pixels a side, fewer than two samples a class, or an option
            out of its range.
    """
    from sklearn.model_selection import train_test_split

    if int(image_size) < 12:
        raise ValueError(f"image_size must be at least 12, got {image_size!r}")
    if not 2 <= int(classes) <= len(SHAPE_CLASSES):
        raise ValueError(f"classes must be from 2 to {len(SHAPE_CLASSES)}, got {classes!r}")
    if int(n_samples) < 2 * int(classes):
        raise ValueError(f"n_samples must be at least {2 * int(classes)}, got {n_samples!r}")
    if int(clutter) < 0:
        raise ValueError(f"clutter must be 0 or more, got {clutter!r}")
    if not 0.0 <= float(occlusion) < 1.0:
        raise ValueError(f"occlusion must be in [0, 1), got {occlusion!r}")
    if not float(noise) >= 0.0:
        raise ValueError(f"noise must be 0 or more, got {noise!r}")
    rng = np.random.default_rng(random_state)
    size = int(image_size)
    labels = rng.permutation(np.arange(int(n_samples)) % int(classes))
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    images = np.empty((len(labels), size, size, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        background = rng.uniform(0, 255, 3)
        foreground = rng.uniform(0, 255, 3)
        channel = rng.integers(3)
        while abs(foreground[channel] - background[channel]) < 60:
            foreground[channel] = rng.uniform(0, 255)
        radius = rng.uniform(0.2, 0.35) * size
        cy, cx = rng.uniform(radius, size - radius, 2)
        mask = _shape_mask(int(label), rows - cy, cols - cx, radius, rng)
        image = np.broadcast_to(background, (size, size, 3)).copy()
        for _ in range(rng.integers(0, int(clutter) + 1) if clutter else 0):
            image[_stroke(rows, cols, size, rng)] = rng.uniform(0, 255, 3)
        image[mask] = foreground
        if occlusion:
            side = np.sqrt(rng.uniform(0.0, float(occlusion))) * 2 * radius
            offset_y, offset_x = rng.uniform(0, 2 * radius - side, 2)
            top, left = cy - radius + offset_y, cx - radius + offset_x
            cover = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
            image[cover] = rng.uniform(0, 255, 3)
        image = image + rng.normal(0, float(noise), (size, size, 3))
        images[i] = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return train_test_split(images, labels, test_size=test_size, stratify=labels, random_state=random_state)


def hard_colour_shapes(
    n_samples: int = 6000, test_size: float = 0.3, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`colour_shapes` made hard: all ten classes, 48×48 pixels, up to three distractor strokes,
    a rectangle over up to 30 % of the shape's box, pixel noise σ = 24 levels.

    For comparisons where the easy defaults saturate (every method at 0.995 or more).

    Args:
        n_samples: Images in all (classes balanced).
        test_size: Fraction held out for testing.
        random_state: Seed of the images and the split.

    Returns:
        ``(x_train, x_test, y_train, y_test)`` with x of shape (N, 48, 48, 3), uint8.
    """
    return colour_shapes(n_samples, 48, test_size, random_state, classes=len(SHAPE_CLASSES), clutter=3,
                         occlusion=0.3, noise=24.0)


def _shape_mask(label: int, dy: np.ndarray, dx: np.ndarray, radius: float, rng: np.random.Generator) -> np.ndarray:
    """The pixels of shape ``label`` (:data:`SHAPE_CLASSES`) of ``radius`` at offsets ``(dy, dx)`` from its centre."""
    inside = (np.abs(dy) <= radius) & (np.abs(dx) <= radius)
    width = max(1.0, 0.25 * radius)
    if label == 0:
        return dy**2 + dx**2 <= radius**2
    if label == 1:
        return inside & (np.abs(dy) <= 0.8 * radius) & (np.abs(dx) <= 0.8 * radius)
    if label == 2:
        return inside & (dy >= -radius) & (np.abs(dx) <= (dy + radius) / 2)
    if label == 3:
        return np.abs(np.sqrt(dy**2 + dx**2) - 0.75 * radius) <= width
    if label in (4, 5):
        period = rng.uniform(3.0, 5.0)
        wave = dy if label == 4 else dx
        return inside & (np.mod(wave, 2 * period) < period)
    if label == 6:
        return inside & ((np.abs(dy) <= width) | (np.abs(dx) <= width))
    if label == 7:
        return np.abs(dy) + np.abs(dx) <= radius
    if label == 8:
        return inside & ((np.abs(dy) >= 0.8 * radius - width) | (np.abs(dx) >= 0.8 * radius - width)) & (
            np.abs(dy) <= 0.8 * radius) & (np.abs(dx) <= 0.8 * radius)
    return (dy**2 + dx**2 <= radius**2) & (dy <= 0)


def _stroke(rows: np.ndarray, cols: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random thick line segment's pixels: a length of 0.2 to 0.5 of the image, 1 to 3 pixels wide."""
    y0, x0 = rng.uniform(0, size, 2)
    angle = rng.uniform(0, np.pi)
    length, half_width = rng.uniform(0.2, 0.5) * size, rng.uniform(0.5, 1.5)
    uy, ux = np.sin(angle), np.cos(angle)
    along = (rows - y0) * uy + (cols - x0) * ux
    across = -(rows - y0) * ux + (cols - x0) * uy
    return (along >= 0) & (along <= length) & (np.abs(across) <= half_width)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    Raises:
        ValueError: if the file is not a well-formed IDX file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtype, rank = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * rank
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: header says shape {shape} ({expected} bytes), file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def fashion_mnist(directory: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017) from local IDX files; nothing is downloaded.

    Args:
        directory: Folder with ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
            ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]``. Default: the
            ``AUTONAS_FASHION_MNIST`` environment variable, else ``/usr/share/datasets/fashion-mnist``
            where Debian's package ``dataset-fashion-mnist`` installs them.

    Returns:
        ``(x_train, x_test, y_train, y_test)``: uint8 images (60000, 28, 28) and (10000, 28, 28),
        int64 labels 0-9 (names in :data:`FASHION_MNIST_CLASSES`); the official split.

    Raises:
        FileNotFoundError: when the files are missing, saying how to install them.
    """
    folder = Path(directory or os.environ.get("AUTONAS_FASHION_MNIST") or FASHION_MNIST_DIR)
    arrays = []
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        candidates = [folder / f"{stem}.gz", folder / stem]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise FileNotFoundError(
                f"Fashion-MNIST file {stem}[.gz] not found in {folder}. On Debian or Ubuntu install it with "
                "`sudo apt-get install dataset-fashion-mnist` (files in /usr/share/datasets/fashion-mnist), "
                "or put the four IDX files of https://github.com/zalandoresearch/fashion-mnist in a folder "
                "and pass it as `directory` or in the AUTONAS_FASHION_MNIST environment variable."
            )
        arrays.append(read_idx(found))
    x_train, x_test, y_train, y_test = arrays
    return x_train, x_test, y_train.astype(np.int64), y_test.astype(np.int64)
