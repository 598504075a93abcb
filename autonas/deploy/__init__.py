"""Files to deploy a Keras model with: ``.keras``, TensorFlow SavedModel, ONNX and LiteRT (float or int8).

:func:`check_export` refuses a bad request (unknown format, a format the
Keras backend cannot write, a missing converter package, a quantisation the
format lacks, a wrong file name or calibration sample) before any work;
:func:`export_file` checks the same and writes the file. The converters are
those made for the job (tested with TensorFlow 2.21, Keras 3.15.1, tf2onnx
1.17.0, onnx 1.23.2; runtimes onnxruntime 1.32.0 and ai-edge-litert 2.3.0;
``pip install autonas[deploy]``):

* ``"keras"``: ``model.save``; ``"saved_model"``: Keras's
  ``model.export(format="tf_saved_model")``.
* ``"onnx"``: tf2onnx on the model's frozen TensorFlow graph (Keras's own
  ``model.export(format="onnx")`` turns constants the model captures, such as
  a ``Normalization`` layer's mean, into extra graph inputs).
* ``"litert"``: Keras's ``model.export(format="litert")`` (TensorFlow's Lite
  converter), builtin ops only, so the file runs in the plain LiteRT
  interpreter; ``quantize="int8"``: post-training quantisation of weights and
  activations calibrated on ``calibration_data`` (float input and output kept,
  float kernels where an op has no int8 one).

Antialiased ``Resizing`` layers (classifiers fitted on image folders) are
written as two matrix products (:class:`~autonas.deploy.resize.MatrixResize`),
which both runtimes run, since neither converter translates TensorFlow's
``ScaleAndTranslate`` op.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from autonas.backend import backend_name, check_backend_writes

__all__ = ["FORMATS", "QUANTIZATIONS", "calibration_images", "check_export", "export_file"]

#: The formats :func:`export_file` writes, and the file name each needs (None: a folder).
FORMATS: dict[str, str | None] = {"keras": ".keras", "saved_model": None, "onnx": ".onnx", "litert": ".tflite"}

#: The ``quantize`` values each format takes.
QUANTIZATIONS: dict[str, tuple[str, ...]] = {"keras": (), "saved_model": (), "onnx": (), "litert": ("int8",)}

#: Python packages each format's converter imports (module names).
_CONVERTERS: dict[str, tuple[str, ...]] = {
    "keras": (),
    "saved_model": ("tensorflow",),
    "onnx": ("tensorflow", "tf2onnx", "onnx"),
    "litert": ("tensorflow",),
}

_INSTALL = "pip install autonas[deploy]"


def check_export(
    format: Any,
    path: str | os.PathLike,
    quantize: Any = None,
    calibration_data: Any = None,
    image_shape: tuple | None = None,
    check_calibration: bool = True,
) -> Path:
    """Refuse a bad export request before any work.

    Args:
        format: One of :data:`FORMATS`.
        path: The file to write (a folder for ``"saved_model"``).
        quantize: None, or a value :data:`QUANTIZATIONS` lists for ``format``.
        calibration_data: Images for ``quantize="int8"``: an array (N, ...)
            of the model's raw input, or a list of images.
        image_shape: The shape of one input image (None entries: any size),
            to check ``calibration_data`` against.
        check_calibration: False leaves ``calibration_data`` unchecked (the
            caller reads it later and checks it then).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: naming the argument and what it may be.
        ImportError: naming the package to install when a converter is missing.
    """
    if not isinstance(format, str) or format not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {format!r}")
    if quantize is not None and quantize not in QUANTIZATIONS[format]:
        allowed = QUANTIZATIONS[format]
        hint = f"None or one of {list(allowed)}" if allowed else "None (only format='litert' takes quantize='int8')"
        raise ValueError(f"quantize for format={format!r} must be {hint}, got {quantize!r}")
    check_backend_writes(
        format,
        f"format={format!r}",
        f"save the model with format='keras', or run the export with KERAS_BACKEND=tensorflow "
        f"(e.g. KERAS_BACKEND=tensorflow autonas export PROJECT --format {format})",
        backend=backend_name(),
    )
    missing = [name for name in _CONVERTERS[format] if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"format={format!r} needs the package(s) {missing}: {_INSTALL}")
    path = _check_path(format, path)
    if quantize is not None and check_calibration:
        calibration_images(calibration_data, image_shape)
    return path


def _check_path(format: str, path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file name (str or os.PathLike), got {path!r}")
    path = Path(path)
    suffix = FORMATS[format]
    if suffix is not None and path.suffix != suffix:
        raise ValueError(f"path for format={format!r} must end in {suffix}, got {str(path)!r}")
    if suffix is not None and path.is_dir():
        raise ValueError(f"path {str(path)!r} is a folder; give a file name ending in {suffix}")
    if suffix is None and path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ValueError(f"path for format='saved_model' must be a new or empty folder, got {str(path)!r}")
    return path


def calibration_images(calibration_data: Any, image_shape: tuple | None = None) -> list[np.ndarray]:
    """``calibration_data`` as a list of float32 images, checked.

    Args:
        calibration_data: An array (N, ...) of images, or a list of images
            (sizes may differ where ``image_shape`` has None).
        image_shape: The shape of one image the model takes (None entries: any size).

    Raises:
        ValueError: naming ``calibration_data`` when it is missing, empty, not
            numeric or of the wrong shape.
    """
    if calibration_data is None:
        raise ValueError("quantize='int8' needs calibration_data: a sample of training images (N, ...)")
    try:
        images = [np.asarray(image) for image in calibration_data]
    except TypeError:
        raise ValueError(f"calibration_data must be an array or a list of images, got {calibration_data!r}") from None
    if not images or any(image.dtype.kind not in "uif" for image in images):
        raise ValueError("calibration_data must hold at least one numeric image")
    for image in images:
        if image_shape is not None and (
            image.ndim != len(image_shape) or any(e is not None and e != s for e, s in zip(image_shape, image.shape))
        ):
            shown = tuple("any" if e is None else e for e in image_shape)
            raise ValueError(f"calibration_data must hold images of shape {shown}, got one of shape {image.shape}")
    return [image.astype(np.float32) for image in images]


def export_file(
    model,
    path: str | os.PathLike,
    format: str,
    quantize: str | None = None,
    calibration_data: Any = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write ``model`` (a functional Keras model with one input) as a file for its runtime.

    Args:
        model: The Keras model.
        path: The file to write (a new or empty folder for ``"saved_model"``).
        format: ``"keras"``, ``"saved_model"``, ``"onnx"`` or ``"litert"``.
        quantize: None (float32), or ``"int8"`` for ``"litert"``.
        calibration_data: Raw input images the int8 quantisation is
            calibrated on (up to 200 used), e.g. a sample of the training images.
        metadata: Strings stored in the file where the format has a place for
            them (ONNX's ``metadata_props``); ignored otherwise.

    Returns:
        The path written.

    Raises:
        ValueError, ImportError: as :func:`check_export`, before any work.
    """
    from autonas.deploy import converters

    image_shape = tuple(model.inputs[0].shape[1:])
    path = check_export(format, path, quantize, calibration_data, image_shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "keras":
        model.save(path)
    elif format == "saved_model":
        converters.to_saved_model(model, path)
    elif format == "onnx":
        converters.to_onnx(model, path, metadata or {})
    else:
        converters.to_litert(model, path, None if quantize is None else calibration_images(calibration_data))
    return path
