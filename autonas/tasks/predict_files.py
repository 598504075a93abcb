"""Predictions of a saved model on image files or an ``.npz`` array, written as CSV (``autonas predict``)."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import numpy as np

from autonas.backend import import_keras_quietly
from autonas.tasks.export import read_classifier_info
from autonas.tasks.folders import batches_by_shape, read_images

__all__ = ["load_inputs", "predict_images", "predict_to_csv"]


def _load_model(path: str | os.PathLike):
    """The Keras model saved at ``path``.

    Raises:
        ValueError: naming ``--model`` when the file is missing, not a ``.keras``
            archive, or a zip archive Keras cannot read a model from (another
            program's zip, a damaged ``config.json``).
    """
    if not os.path.isfile(path):
        raise ValueError(f"--model {str(path)!r} does not exist")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"--model {str(path)!r} is not a .keras file (the zip archive model.save writes)")
    import_keras_quietly()
    import keras

    try:
        return keras.models.load_model(path)
    except (KeyError, ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"--model {str(path)!r} is not a model Keras can load (a .keras file saved by autonas fit or "
            f"model.save): {type(error).__name__}: {error}"
        ) from None


def _read_info(path: str | os.PathLike) -> tuple:
    """The class names and training scale autonas saved with the model (see :func:`read_classifier_info`).

    Raises:
        ValueError: naming ``--model`` when that entry of the file is damaged.
    """
    try:
        return read_classifier_info(path)
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"--model {str(path)!r}: its class names (saved by autonas fit) cannot be read: "
            f"{type(error).__name__}: {error}"
        ) from None


def load_inputs(data: str | os.PathLike, image_shape: tuple) -> tuple[list[str], list[np.ndarray]]:
    """Names and images of ``data`` for a model of input ``image_shape`` (no batch axis).

    Args:
        data: An ``.npz`` file with an array ``x`` (its rows are named
            ``file.npz[i]``), an image file, or a folder of image files.
        image_shape: The model's input shape; ``None`` sides accept any size.

    Raises:
        ValueError: naming ``--data`` for a missing path, an ``.npz`` without
            ``x``, or images whose shape the model does not take.
    """
    path = Path(data)
    if path.suffix.lower() != ".npz":
        paths, images = read_images(path, image_shape, "--data")
        return [str(p) for p in paths], images
    if not path.is_file():
        raise ValueError(f"--data {str(data)!r} does not exist")
    with np.load(path, allow_pickle=False) as archive:
        if "x" not in archive.files:
            raise ValueError(f"--data {str(data)!r} must hold an array x; it holds {archive.files}")
        x = archive["x"]
    fixed = [(i, side) for i, side in enumerate(image_shape) if side is not None]
    if x.ndim != len(image_shape) + 1 or any(x.shape[i + 1] != side for i, side in fixed):
        shown = tuple("any" if side is None else side for side in image_shape)
        raise ValueError(f"--data {str(data)!r}: x has images of shape {x.shape[1:]}, the model takes {shown}")
    return [f"{data}[{i}]" for i in range(len(x))], list(x)


def predict_images(model, images: list[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """``model.predict`` on images of several shapes: stacked by shape, answers in the input order."""
    probabilities = None
    for indices, batch in batches_by_shape(images, batch_size):
        answer = np.asarray(model.predict(batch.astype(np.float32), verbose=0, batch_size=len(batch)))
        if probabilities is None:
            probabilities = np.zeros((len(images), answer.shape[-1]), dtype=answer.dtype)
        probabilities[indices] = answer
    return probabilities


def predict_to_csv(
    model_path: str | os.PathLike, data: str | os.PathLike, output: str | os.PathLike, batch_size: int = 64
) -> int:
    """Write ``output``: one row per image with its name, predicted class and the probability of each class.

    The class names come from the model file when autonas saved it
    (``AutoImageClassifier.save_model``, ``autonas fit``), else they are the
    class indices. Image files are decoded as :func:`read_images` does, and
    divided by 255 when the model was trained on floats in [0, 1].

    Returns:
        The number of rows written.

    Raises:
        ValueError: naming the argument, for a bad model, data or batch size.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"--batch-size must be a positive int, got {batch_size!r}")
    model = _load_model(model_path)
    classes, scale = _read_info(model_path)
    image_shape = tuple(model.input_shape[1:])
    names, images = load_inputs(data, image_shape)
    from_files = Path(data).suffix.lower() != ".npz"
    if scale is not None and from_files and scale.unit:
        images = [image / np.float32(255.0) for image in images]
    elif scale is not None and not from_files:
        scale.check(np.stack(images), "--data")
    probabilities = predict_images(model, images, batch_size)
    classes = classes or [str(i) for i in range(probabilities.shape[1])]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "predicted_class", *classes])
        for name, row in zip(names, probabilities):
            writer.writerow([name, classes[int(np.argmax(row))], *(f"{p:.9g}" for p in row)])
    return len(names)
