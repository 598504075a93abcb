"""Antialiased resizing as two matrix products, which ONNX and LiteRT run natively.

Keras's ``Resizing(antialias=True)`` becomes TensorFlow's ``ScaleAndTranslate``
op, which neither tf2onnx nor the LiteRT converter translates. The same
resampling, a triangle (bilinear) filter widened by the downscaling factor,
is a matrix per axis, built from the input size at run time:
``out = rows @ image @ columns^T``, with ``rows[i, j]`` the filter's weight of
input row ``j`` for output row ``i`` (each row of weights summing to 1).

For int8 quantisation the weights are computed in integers: the quantiser
gives every float tensor one range, calibrated on the training-size images, so
float coordinates (which grow with the input size) would saturate on larger
images; integer tensors are not quantised, and the normalised weights, the
first float tensor, lie in [0, 1] whatever the size.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["MatrixResize", "replace_antialiased_resizing"]


def _resampling_matrix(size_in, size_out: int):
    """The ``(size_out, size_in)`` weights of an antialiased bilinear resize along one axis (size_in: a tensor)."""
    size_in = ops.cast(size_in, "float32")
    inverse_scale = size_in / float(size_out)
    kernel_scale = ops.maximum(inverse_scale, 1.0)  # the filter widens when shrinking (antialiasing)
    centres = (ops.cast(ops.arange(size_out), "float32") + 0.5) * inverse_scale
    sources = ops.cast(ops.arange(ops.cast(size_in, "int32")), "float32") + 0.5
    distance = ops.abs(ops.expand_dims(sources, 0) - ops.expand_dims(centres, 1)) / kernel_scale
    weights = ops.maximum(1.0 - distance, 0.0)
    return weights / ops.sum(weights, axis=1, keepdims=True)


#: Fixed-point unit of the integer weights (2**16: inputs up to 16,383 pixels a side fit in int32).
_FIXED_POINT = 1 << 16


def _integer_resampling_matrix(size_in, size_out: int):
    """:func:`_resampling_matrix` computed in int32 up to the normalised weights (``1 / 2**16`` steps).

    In units of ``1 / (2 * size_out)`` input pixels, output ``i``'s centre is
    ``(2i + 1) * size_in`` and input ``j``'s ``(2j + 1) * size_out``; the
    filter's half-width is ``2 * max(size_in, size_out)``.
    """
    size_in = ops.cast(size_in, "int32")
    centres = (2 * ops.arange(size_out, dtype="int32") + 1) * size_in
    sources = (2 * ops.arange(size_in, dtype="int32") + 1) * size_out
    distance = ops.abs(ops.expand_dims(sources, 0) - ops.expand_dims(centres, 1))
    weights = ops.maximum(2 * ops.maximum(size_in, size_out) - distance, 0)
    fixed = ops.floor_divide(weights * _FIXED_POINT, ops.sum(weights, axis=1, keepdims=True))
    return ops.cast(fixed, "float32") / float(_FIXED_POINT)


class MatrixResize(keras.layers.Layer):
    """Resize ``(batch, height, width, channels)`` images to ``(height, width)`` like ``Resizing(antialias=True)``.

    Args:
        height: Output height.
        width: Output width.
        integer_weights: Compute the weights in int32 (for int8 quantisation;
            weights exact to ``2**-16``).
    """

    def __init__(self, height: int, width: int, integer_weights: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.height, self.width, self.integer_weights = int(height), int(width), bool(integer_weights)

    def call(self, images):
        images = ops.cast(images, "float32")
        shape = ops.shape(images)
        matrix = _integer_resampling_matrix if self.integer_weights else _resampling_matrix
        rows = matrix(shape[1], self.height)
        columns = matrix(shape[2], self.width)
        channels_first = ops.transpose(images, (0, 3, 1, 2))  # (batch, channels, height, width)
        resized = ops.matmul(ops.matmul(rows, channels_first), ops.transpose(columns))
        return ops.transpose(resized, (0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])

    def get_config(self) -> dict:
        return {
            **super().get_config(), "height": self.height, "width": self.width, "integer_weights": self.integer_weights
        }


def replace_antialiased_resizing(model, integer_weights: bool = False):
    """A functional ``model`` with each bilinear antialiased ``Resizing`` layer replaced by :class:`MatrixResize`.

    The other layers are shared with ``model`` (same weights, not copies).
    Returns ``model`` itself when it has no such layer at its top level.
    """

    def swap(layer):
        if _is_antialiased_bilinear(layer):
            config = layer.get_config()
            return MatrixResize(config["height"], config["width"], integer_weights, name=layer.name)
        return layer

    if not any(_is_antialiased_bilinear(layer) for layer in model.layers):
        return model
    return keras.models.clone_model(model, clone_function=swap)


def _is_antialiased_bilinear(layer) -> bool:
    if not isinstance(layer, keras.layers.Resizing):
        return False
    config = layer.get_config()
    return (
        config.get("antialias") and config.get("interpolation") == "bilinear"
        and not config.get("crop_to_aspect_ratio") and not config.get("pad_to_aspect_ratio")
    )

