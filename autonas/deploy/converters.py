"""The converters behind :func:`autonas.deploy.export_file` (TensorFlow backend; arguments already checked)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autonas.deploy.resize import replace_antialiased_resizing

__all__ = ["CALIBRATION_IMAGES", "ONNX_OPSET", "to_litert", "to_onnx", "to_saved_model"]

#: ONNX operator set written (onnxruntime 1.17 and later run it).
ONNX_OPSET = 17
#: Most calibration images the int8 quantisation runs.
CALIBRATION_IMAGES = 200


@contextlib.contextmanager
def _quiet_converters() -> Iterator[None]:
    """TensorFlow's and tf2onnx's Python loggers at ERROR while converting (deprecation notes, progress)."""
    loggers = [logging.getLogger(name) for name in ("tensorflow", "tf2onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _input_spec(model):
    import tensorflow as tf

    source = model.inputs[0]
    return tf.TensorSpec(tuple(source.shape), tf.float32, name=_input_name(model))


def _input_name(model) -> str:
    return str(getattr(model.inputs[0], "name", None) or "input").split(":")[0]


def to_saved_model(model, path: Path) -> None:
    """Keras's ``model.export(format="tf_saved_model")``: a folder with a ``serve`` signature."""
    with _quiet_converters():
        model.export(str(path), format="tf_saved_model", verbose=False)


def to_onnx(model, path: Path, metadata: dict[str, str]) -> None:
    """An ONNX file: the model's TensorFlow graph, variables and captured constants frozen, through tf2onnx.

    The input keeps the Keras input's name and its dynamic axes (batch; height
    and width for a model that resizes); the output is named ``"output"``.
    """
    import onnx
    import tensorflow as tf
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model = replace_antialiased_resizing(model)
    with _quiet_converters():
        function = tf.function(lambda images: model(images, training=False))
        frozen = convert_variables_to_constants_v2(function.get_concrete_function(_input_spec(model)))
        inputs, outputs = [t.name for t in frozen.inputs], [t.name for t in frozen.outputs]
        proto, _ = tf2onnx.convert.from_graph_def(
            frozen.graph.as_graph_def(), input_names=inputs, output_names=outputs, opset=ONNX_OPSET,
            tensors_to_rename={inputs[0]: _input_name(model), outputs[0]: "output"},
        )
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))


def to_litert(model, path: Path, calibration: list[np.ndarray] | None) -> None:
    """A LiteRT (``.tflite``) file of builtin ops; int8 when ``calibration`` images are given (up to 200 used)."""
    import tensorflow as tf

    model = replace_antialiased_resizing(model, integer_weights=calibration is not None)
    options = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    if calibration is not None:
        sample = calibration[:CALIBRATION_IMAGES]

        def representative_dataset():
            for image in sample:
                yield [image[None]]

        options.update(optimizations=[tf.lite.Optimize.DEFAULT], representative_dataset=representative_dataset)
    with _quiet_converters():
        model.export(str(path), format="litert", verbose=False, **options)
