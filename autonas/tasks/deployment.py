"""A classifier's model as a deployment file, from a fitted classifier or from its project folder.

What a project folder needs for that is written by ``fit`` beside the final
model (``final/info.json``, :func:`export_info`): the raw image shape, the
standardisation, the training images' scale and the class names.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autonas.deploy import check_export, export_file
from autonas.engine.project import Project
from autonas.graph import Graph
from autonas.tasks.data import ImagePreprocessing, PixelScale
from autonas.tasks.export import export_classifier, save_classifier
from autonas.tasks.prepare import resize_images

__all__ = [
    "CALIBRATION_SIZE", "ClassifierFace", "calibration_sample", "export_info", "export_project", "read_calibration",
    "write_export",
]

#: Training images a fitted classifier keeps to calibrate int8 quantisation.
CALIBRATION_SIZE = 200


@dataclass(frozen=True)
class ClassifierFace:
    """What turns a trained network into the classifier's model: its input and its classes."""

    image_shape: tuple[int | None, ...]
    preprocessing: ImagePreprocessing
    pixel_scale: PixelScale
    classes: tuple[str, ...]

    def model(self, graph: Graph):
        return export_classifier(graph, self.image_shape, self.preprocessing)


def calibration_sample(x_standardised: np.ndarray, face: ClassifierFace, seed: int | None) -> np.ndarray:
    """Up to :data:`CALIBRATION_SIZE` training images, raw (as the exported model takes them), picked at random.

    Args:
        x_standardised: The standardised training images (N, H, W, C).
        face: The classifier's input description (to undo the standardisation).
        seed: Seed of the pick.
    """
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(x_standardised), size=min(CALIBRATION_SIZE, len(x_standardised)), replace=False))
    std = np.sqrt(np.asarray(face.preprocessing.variance, dtype=np.float32))
    raw = np.asarray(x_standardised[rows], dtype=np.float32) * std + np.asarray(face.preprocessing.mean, np.float32)
    size = tuple(face.image_shape[:2])
    if None not in size and size != raw.shape[1:3]:  # arrays trained smaller: back to the size the model takes
        raw = resize_images(raw, size)
    if len(face.image_shape) == 2:  # (N, H, W) images: the model adds the channel axis
        raw = raw[..., 0]
    return raw


def export_info(face: ClassifierFace) -> dict[str, Any]:
    """The JSON-ready description of ``face``, stored beside a project's final model."""
    return {
        "image_shape": list(face.image_shape),
        "preprocessing": {"mean": list(face.preprocessing.mean), "variance": list(face.preprocessing.variance)},
        "pixel_scale": asdict(face.pixel_scale),
        "classes": list(face.classes),
    }


def write_export(
    model, face: ClassifierFace, path: str | os.PathLike, format: str, quantize: str | None, calibration_data: Any
) -> Path:
    """Write the classifier's ``model`` as ``format`` (class names inside where the format has room)."""
    if format == "keras":
        check_export(format, path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return save_classifier(model, path, face.classes, face.pixel_scale)
    metadata = {"classes": json.dumps(list(face.classes)), "pixel_scale": json.dumps(asdict(face.pixel_scale))}
    return export_file(model, path, format, quantize, calibration_data, metadata)


def _face(info: dict[str, Any], project: Path) -> ClassifierFace:
    if "preprocessing" not in info:
        raise ValueError(
            f"project {str(project)!r} was fitted by an earlier autonas, which kept no export details; run fit "
            "again on it (it resumes) or export from Python with classifier.export(...)"
        )
    return ClassifierFace(
        image_shape=tuple(info["image_shape"]),
        preprocessing=ImagePreprocessing(tuple(info["preprocessing"]["mean"]), tuple(info["preprocessing"]["variance"])),
        pixel_scale=PixelScale(**info["pixel_scale"]),
        classes=tuple(info["classes"]),
    )


def read_calibration(path: str | os.PathLike, face: ClassifierFace, name: str = "--calibration-data") -> list[np.ndarray]:
    """Up to :data:`CALIBRATION_SIZE` images for int8 calibration from an ``.npz`` (array ``x``) or a folder of images.

    Folder images are decoded as ``autonas predict`` decodes them (divided by
    255 for a classifier trained on floats in [0, 1]); an ``.npz``'s ``x`` must
    be on the training images' scale. An even spread of the images is kept.

    Raises:
        ValueError: naming ``name`` for a missing or unreadable path, or images on another scale.
    """
    from autonas.tasks.folders import read_images

    path = Path(path)
    if path.is_file() and path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                images = list(archive["x"])
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"{name} {str(path)!r}: cannot read an array x from it ({error})") from None
    else:
        images = read_images(path, face.image_shape, name)[1]
        if face.pixel_scale.unit:
            images = [image / np.float32(255.0) for image in images]
    keep = np.unique(np.linspace(0, len(images) - 1, min(CALIBRATION_SIZE, len(images))).astype(int))
    images = [np.asarray(images[i]) for i in keep]
    for image in images:
        face.pixel_scale.check(image, name)
    return images


def export_project(
    project: str | os.PathLike,
    path: str | os.PathLike,
    format: str,
    trial_id: int | None = None,
    quantize: str | None = None,
    calibration_data: Any = None,
) -> Path:
    """Write the final model of a fitted project folder (or one of its trials) as ``format``.

    The project is read without being changed (it may be searching). Arguments
    as :meth:`~autonas.AutoImageClassifier.export`; ``calibration_data`` is
    needed for ``quantize="int8"`` (the folder keeps no training images).

    Raises:
        ValueError: for a folder that is not a fitted autonas project, a trial
            that does not exist, or a bad request (before any conversion).
        ImportError: naming the package to install for a missing converter.
    """
    opened = Project.open_read_only(project)
    info = opened.load_final_info()
    if info is None:
        raise ValueError(f"project {str(opened.path)!r} has no final model yet: fit must finish first")
    face = _face(info, opened.path)
    from_path = isinstance(calibration_data, (str, os.PathLike))
    check_export(format, path, quantize, calibration_data, face.image_shape, check_calibration=not from_path)
    if quantize is not None and from_path:
        calibration_data = read_calibration(calibration_data, face)
        check_export(format, path, quantize, calibration_data, face.image_shape)
    if trial_id is None:
        graph = Graph.load(opened.final_path)
    else:
        completed = {r.id for r in opened.load_trials() if r.status == "completed"}
        if trial_id not in completed:
            raise ValueError(f"trial {trial_id!r} is not a completed trial of project {str(opened.path)!r}")
        graph = opened.load_graph(trial_id)
    return write_export(face.model(graph), face, path, format, quantize, calibration_data)
