"""The exported model: a plain Keras model with the preprocessing inside."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from autonas.graph import Graph
from autonas.tasks.data import ImagePreprocessing, PixelScale

__all__ = ["CLASSES_ENTRY", "export_classifier", "read_classifier_info", "save_classifier"]

#: The entry of a ``.keras`` file (a zip archive) that holds the class names; Keras ignores it when loading.
CLASSES_ENTRY = "autonas.json"


def export_classifier(graph: Graph, image_shape: Sequence[int], preprocessing: ImagePreprocessing):
    """A Keras model taking the raw images ``fit`` took and returning class probabilities.

    A channel axis is added to 2-D images; images of any size (``None`` in
    ``image_shape``, for a classifier trained on image files) or of another
    size than the network's input (arrays trained smaller) are resized to
    the network's input size with a ``Resizing`` layer (bilinear,
    antialiased); the training images' per-channel standardisation is a
    ``Normalization`` layer, and ``graph`` is the network after it.
    ``model.save("model.keras")`` writes a file plain Keras loads without
    importing autonas.

    Args:
        graph: The trained network (with weights).
        image_shape: The shape of one raw image, as ``fit`` saw it (no batch
            axis); ``(None, None, channels)`` for images of any size.
        preprocessing: The standardisation learned from the training images.
    """
    import keras

    network = graph.to_keras(name="network")
    raw = keras.Input(shape=tuple(image_shape), name="image")
    x = raw
    if len(image_shape) == 2:
        x = keras.layers.Reshape((*image_shape, 1), name="add_channel")(x)
    height, width = graph.input_shape[:2]
    if tuple(image_shape[:2]) != (height, width):  # any size (None), or arrays trained smaller
        x = keras.layers.Resizing(height, width, interpolation="bilinear", antialias=True, name="resize")(x)
    x = keras.layers.Normalization(
        axis=-1, mean=list(preprocessing.mean), variance=list(preprocessing.variance), name="standardize"
    )(x)
    return keras.Model(raw, network(x), name="autonas_image_classifier")


def save_classifier(
    model, path: str | os.PathLike, class_names: Sequence, pixel_scale: PixelScale | None = None
) -> Path:
    """``model.save(path)`` with the class names (and the training images' scale) inside the ``.keras`` file.

    The file still loads in plain Keras, which ignores the extra entry; :func:`read_classifier_info` reads it.
    """
    path = Path(path)
    model.save(path)
    info: dict = {"classes": [str(c) for c in class_names]}
    if pixel_scale is not None:
        info["pixel_scale"] = asdict(pixel_scale)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(CLASSES_ENTRY, json.dumps(info))
    return path


def read_classifier_info(path: str | os.PathLike) -> tuple[list[str] | None, PixelScale | None]:
    """The class names and training scale :func:`save_classifier` put in a ``.keras`` file (None, None otherwise)."""
    with zipfile.ZipFile(path) as archive:
        if CLASSES_ENTRY not in archive.namelist():
            return None, None
        info = json.loads(archive.read(CLASSES_ENTRY))
    scale = info.get("pixel_scale")
    return list(info["classes"]), None if scale is None else PixelScale(**scale)
