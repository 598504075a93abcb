"""From what a user passes to ``fit`` to the arrays a search trains on.

Checks and encodes the input, holds out the validation set and learns the
standardisation, for arrays and datasets (:func:`prepare_arrays`) and for a
folder of image files (:func:`prepare_folder`). Every check runs before any
training; nothing here knows about the search.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autonas.backend import import_keras_quietly
from autonas.execution.executor import TrainingData
from autonas.execution.shared_data import remove_stale_copies
from autonas.tasks.data import (
    ImagePreprocessing,
    LabelEncoder,
    PixelScale,
    as_array,
    check_images,
    check_labels,
    from_dataset,
    split_keeping_every_class,
)
from autonas.tasks.folders import (
    CHUNK_IMAGES,
    MAX_DEFAULT_SIDE,
    default_image_size,
    scan_image_folder,
    write_image_array,
)

__all__ = [
    "PreparedImages",
    "check_image_size",
    "prepare_arrays",
    "prepare_folder",
    "resize_images",
    "split_for_validation",
    "training_size",
]

#: Scratch folders of images read from a folder: ``<directory>/.autonas-images-<host>-<pid>-XXXX``.
SCRATCH_PREFIX = ".autonas-images-"


def _host_scratch_prefix() -> str:
    """The scratch folders' name up to the pid, for this machine.

    The host is in the name because ``directory`` may be on a disk that other
    machines share: a stale folder is one whose pid is gone *on this host*,
    and the folders of searches running elsewhere are left alone. Dashes in
    the host's name become ``_``, so that no host's prefix starts another's.
    """
    return f"{SCRATCH_PREFIX}{re.sub(r'[^A-Za-z0-9.]', '_', socket.gethostname())}-"


@dataclass
class PreparedImages:
    """The split, standardised data and what ``fit`` learned about the input.

    Attributes:
        data: Standardised training and validation arrays, class indices as labels.
        encoder: Class labels to indices and back.
        pixel_scale: The training images' value range (new images are checked against it).
        image_shape: Shape of one image as predictions take it (None: any size; a folder's
            model resizes). Where it differs from ``input_shape``, the model resizes too.
        input_shape: Shape of one image as the networks take it.
        preprocessing: The standardisation learned on the training part.
        scratch: Folder holding the arrays on disk (images read from a folder), else None;
            the caller removes it when done.
    """

    data: TrainingData
    encoder: LabelEncoder
    pixel_scale: PixelScale
    image_shape: tuple[int | None, ...]
    input_shape: tuple[int, ...]
    preprocessing: ImagePreprocessing
    scratch: Path | None = None


def check_image_size(size: Any) -> tuple[int, int] | None:
    """``image_size`` as ``(height, width)``.

    Raises:
        ValueError: naming ``image_size`` unless it is None, a positive int or a pair of them.
    """
    if size is None:
        return None
    pair = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in pair)
    ):
        raise ValueError(f"image_size must be None, a positive int or a pair (height, width) of them, got {size!r}")
    return int(pair[0]), int(pair[1])


def split_for_validation(
    x: np.ndarray,
    y: np.ndarray,
    validation_split: Any,
    validation_data: Any,
    encoder: LabelEncoder,
    pixel_scale: PixelScale,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, x_val, y_train, y_val)``: ``validation_data`` checked and encoded, or a split of ``x``.

    The split is stratified when every class can have an example on both sides;
    otherwise every class keeps a training example (with a warning).

    Args:
        x: Checked images (or indices of them), one row per example.
        y: Class indices of ``x``.
        validation_split: Fraction held out when ``validation_data`` is None.
        validation_data: ``(x_val, y_val)`` as the user gave them, or None.
        encoder: The fitted label encoder (``validation_data``'s labels must be among its classes).
        pixel_scale: The training images' range (``validation_data`` must match it).
        seed: Seed of the split (None: 0).

    Raises:
        ValueError: naming ``validation_data`` or ``validation_split`` when it is malformed.
    """
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        x_val = check_images(validation_data[0], "validation_data[0]")
        pixel_scale.check(x_val, "validation_data[0]")
        y_val = check_labels(validation_data[1], len(x_val), "validation_data[1]")
        if x_val.shape[1:] != x.shape[1:]:
            raise ValueError(f"validation_data[0] has images of shape {x_val.shape[1:]}, but x has {x.shape[1:]}")
        return x, x_val, y, encoder.transform(y_val, "validation_data[1]")
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)):
        raise ValueError(f"validation_split must be a float in (0, 1), got {validation_split!r}")
    n_val = int(round(len(y) * validation_split))
    if not 0 < validation_split < 1 or not 0 < n_val < len(y):
        raise ValueError(
            f"validation_split must be a float in (0, 1) leaving examples on both sides, got {validation_split!r}"
        )
    from sklearn.model_selection import train_test_split

    classes = len(encoder.classes_)
    if min(n_val, len(y) - n_val) >= classes:
        return train_test_split(x, y, test_size=n_val, stratify=y, random_state=seed or 0)
    # too few examples for a stratified split: keep every class in training
    train, val = split_keeping_every_class(y, n_val, seed or 0)
    missing = classes - len(np.unique(y[val]))
    if len(val) < n_val or missing:
        warnings.warn(
            f"validation_split={validation_split}: with {len(y)} examples of {classes} classes, every class "
            f"keeps a training example; the validation set has {len(val)} examples (not {n_val}) and "
            f"{missing} classes have no validation example. Pass validation_data or more examples per class "
            "for a more reliable search",
            UserWarning,
            stacklevel=5,
        )
    return x[train], x[val], y[train], y[val]


def training_size(
    height: int, width: int, image_size: tuple[int, int] | None, name: str = "x"
) -> tuple[int, int]:
    """The size arrays of ``height`` x ``width`` images are trained at: the rule folders follow.

    ``image_size`` if given, else :func:`~autonas.tasks.folders.default_image_size`
    (at most :data:`~autonas.tasks.folders.MAX_DEFAULT_SIDE` pixels on the longer side),
    said in a warning naming ``image_size`` when that shrinks the images.
    """
    if image_size is not None:
        return tuple(image_size)
    if max(height, width) <= MAX_DEFAULT_SIDE:  # arrays are only ever shrunk by default
        return height, width
    size = default_image_size([(width, height)])
    if size != (height, width):
        warnings.warn(
            f"{name} has images of {height}x{width} pixels: they are trained at {size[0]}x{size[1]} (the default "
            f"for images over {MAX_DEFAULT_SIDE} pixels a side, as for image folders); the exported model takes "
            f"{height}x{width} images and resizes them inside. Pass image_size=({height}, {width}) to train at "
            "full size, or another size",
            UserWarning,
            stacklevel=5,
        )
    return size


def resize_images(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(N, H, W, C)`` images resized to ``size`` as float32, a chunk at a time.

    Bilinear and antialiased, as the exported model's ``Resizing`` layer does it, so that
    training and prediction see the same pixels.
    """
    if tuple(x.shape[1:3]) == tuple(size):
        return x
    import_keras_quietly()
    import keras

    out = np.empty((len(x), *size, x.shape[-1]), dtype=np.float32)
    for start in range(0, len(x), CHUNK_IMAGES):
        chunk = np.asarray(x[start : start + CHUNK_IMAGES], dtype=np.float32)
        resized = keras.ops.image.resize(chunk, size, interpolation="bilinear", antialias=True)
        out[start : start + len(chunk)] = keras.ops.convert_to_numpy(resized)
    return out


def prepare_arrays(
    x: Any,
    y: Any,
    validation_split: Any,
    validation_data: Any,
    seed: int | None,
    image_size: tuple[int, int] | None = None,
) -> PreparedImages:
    """Check and encode arrays (or a ``tf.data.Dataset`` of pairs), split them, learn the standardisation.

    Images are trained at :func:`training_size` (the exported model resizes to it inside).

    Raises:
        ValueError: naming the argument at fault.
    """
    if y is None and hasattr(x, "element_spec"):
        x, y = from_dataset(x)
    elif y is None:
        raise ValueError("y is required unless x is a tf.data.Dataset of (image, label) pairs")
    raw = as_array(x, "x")
    x = check_images(raw, "x")
    y = check_labels(y, len(x), "y")
    pixel_scale = PixelScale.of(x)
    encoder = LabelEncoder().fit(y, "y")
    x_train, x_val, y_train, y_val = split_for_validation(
        x, encoder.transform(y), validation_split, validation_data, encoder, pixel_scale, seed
    )
    size = training_size(int(x.shape[1]), int(x.shape[2]), image_size)
    x_train, x_val = resize_images(x_train, size), resize_images(x_val, size)
    preprocessing = ImagePreprocessing.fit(x_train)
    transform = preprocessing.transform
    return PreparedImages(
        data=TrainingData(transform(x_train), y_train, transform(x_val), y_val),
        encoder=encoder,
        pixel_scale=pixel_scale,
        image_shape=tuple(int(s) for s in raw.shape[1:]),
        input_shape=tuple(int(s) for s in x_train.shape[1:]),
        preprocessing=preprocessing,
    )


def prepare_folder(
    path: Any,
    y: Any,
    validation_split: Any,
    validation_data: Any,
    seed: int | None,
    scratch_parent: str | Path,
    image_size: tuple[int, int] | None = None,
) -> PreparedImages:
    """Read a class-per-subfolder tree into arrays on disk (a chunk at a time), split and standardise them.

    The arrays live in a new scratch folder in ``scratch_parent`` (``PreparedImages.scratch``;
    removed here if reading fails, by the caller otherwise). Its name carries this
    host and process id; scratch folders there of processes of this host that died
    without removing theirs (killed) are removed first.

    Raises:
        ValueError: for ``y`` or ``validation_data`` given with a folder, or a folder without images.
    """
    if y is not None:
        raise ValueError("y must be None when x is a folder: its subfolders name the classes")
    if validation_data is not None:
        raise ValueError("validation_data is not supported with a folder x; use validation_split")
    listing = scan_image_folder(path, "x")
    Path(scratch_parent).mkdir(parents=True, exist_ok=True)
    remove_stale_copies(scratch_parent, _host_scratch_prefix())
    scratch = Path(tempfile.mkdtemp(prefix=f"{_host_scratch_prefix()}{os.getpid()}-", dir=scratch_parent))
    try:
        read = write_image_array(listing, scratch / "images.npy", image_size)
        labels = np.asarray(read.class_names)[read.labels]
        encoder = LabelEncoder().fit(labels, "x (the class subfolders)")
        pixel_scale = PixelScale("uint8", 0.0, 255.0)  # what decoding gives, whatever the file held
        index = np.arange(len(labels))
        train, val, y_train, y_val = split_for_validation(
            index, encoder.transform(labels), validation_split, None, encoder, pixel_scale, seed
        )
        train_order, val_order = np.argsort(train), np.argsort(val)  # file order: sequential reads
        train, y_train, val, y_val = train[train_order], y_train[train_order], val[val_order], y_val[val_order]
        preprocessing = ImagePreprocessing.fit(read.images, train)
        x_train = preprocessing.transform_to_file(read.images, train, scratch / "x_train.npy")
        x_val = preprocessing.transform_to_file(read.images, val, scratch / "x_val.npy")
        channels, input_shape = read.images.shape[-1], tuple(int(s) for s in read.images.shape[1:])
        del read
        (scratch / "images.npy").unlink()
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return PreparedImages(
        data=TrainingData(x_train, y_train, x_val, y_val),
        encoder=encoder,
        pixel_scale=pixel_scale,
        image_shape=(None, None, channels),  # the exported model resizes any image
        input_shape=input_shape,
        preprocessing=preprocessing,
        scratch=scratch,
    )
