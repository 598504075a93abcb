"""Training-time image translation and zoom by separable resampling.

Keras's ``RandomTranslation`` and ``RandomZoom`` apply a general affine map
(``keras.ops.image.affine_transform``). Under JAX that is
``jax.scipy.ndimage.map_coordinates`` over height, width *and* channels,
several times slower than the network's own step on CPU
(benchmarks/results/separable_augmentation.md). A translation and an aspect-preserving zoom move rows and columns
independently, so the same image is two one-dimensional linear
interpolations: two gathers along the height, two along the width, and
weighted sums, which JAX and PyTorch compile and run quickly.

:class:`SeparableRandomTranslation` and :class:`SeparableRandomZoom` draw
the transforms Keras's layers draw (the same ranges, linear interpolation,
``fill_mode="reflect"``: ``d c b a | a b c d | d c b a``), are the identity
at inference, and have no weights. autonas trains with them
(:meth:`Graph.to_keras(for_training=True) <autonas.graph.Graph.to_keras>`, where
``autonas.backend.capabilities().native_affine_transform`` is False) and exports Keras's own layers, so an exported model needs only Keras; both
layers are registered with Keras (package ``autonas``), so a model saved with
them loads where autonas is imported.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["SeparableRandomTranslation", "SeparableRandomZoom"]


def _reflect(index, size: int):
    """Indices folded back into ``[0, size)`` by mirroring at the edges (``d c b a | a b c d | d c b a``)."""
    index = ops.mod(index, 2 * size)
    return ops.where(index >= size, 2 * size - 1 - index, index)


def _resample_axis(images, axis: int, scale, offset):
    """``images`` resampled along ``axis`` (1: height, 2: width) by linear interpolation.

    Output position ``i`` of image ``b`` reads the input at ``scale[b] * i + offset[b]``.
    """
    size = images.shape[axis]
    positions = ops.arange(size, dtype="float32")
    source = ops.expand_dims(scale, 1) * ops.expand_dims(positions, 0) + ops.expand_dims(offset, 1)
    lower = ops.floor(source)
    weight = source - lower  # (batch, size): the share of the upper neighbour
    lower = ops.cast(lower, "int32")
    index_shape = (-1, size, 1, 1) if axis == 1 else (-1, 1, size, 1)
    weight = ops.cast(ops.reshape(weight, index_shape), images.dtype)

    def gather(index):
        return ops.take_along_axis(images, ops.reshape(_reflect(index, size), index_shape), axis=axis)

    below = gather(lower)
    return below + weight * (gather(lower + 1) - below)


class _SeparableResampling(keras.layers.Layer):
    """Base of the layers here: draws one ``(scale, offset)`` per image and axis while training."""

    def __init__(self, factor: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 < float(factor) < 1.0:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        self.factor = float(factor)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def _uniform(self, batch):
        return keras.random.uniform((batch,), -self.factor, self.factor, seed=self.seed_generator)

    def _transforms(self, batch, height: int, width: int):
        """``(scale_h, offset_h, scale_w, offset_w)``, each of shape ``(batch,)``."""
        raise NotImplementedError

    def call(self, inputs, training: bool | None = None):
        if not training:
            return inputs
        batch = ops.shape(inputs)[0]
        scale_h, offset_h, scale_w, offset_w = self._transforms(batch, inputs.shape[1], inputs.shape[2])
        return _resample_axis(_resample_axis(inputs, 1, scale_h, offset_h), 2, scale_w, offset_w)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


@keras.saving.register_keras_serializable(package="autonas")
class SeparableRandomTranslation(_SeparableResampling):
    """Shifts each image by up to ``factor`` of its height and of its width while training.

    Draws what ``keras.layers.RandomTranslation(factor, factor, fill_mode="reflect")`` draws.
    """

    def _transforms(self, batch, height, width):
        ones = ops.ones((batch,), "float32")  # output(i) = input(i - u * size), as Keras's
        return ones, -self._uniform(batch) * height, ones, -self._uniform(batch) * width


@keras.saving.register_keras_serializable(package="autonas")
class SeparableRandomZoom(_SeparableResampling):
    """Zooms each image in or out by up to ``factor``, keeping its aspect ratio, while training.

    Draws what ``keras.layers.RandomZoom(factor, None, fill_mode="reflect")``
    draws: a zoom of ``1 + u``, ``u`` uniform in ``[-factor, factor]``, about
    the image's centre (``u > 0`` zooms out).
    """

    def _transforms(self, batch, height, width):
        zoom = 1.0 + self._uniform(batch)
        return zoom, (height - 1) / 2 * (1.0 - zoom), zoom, (width - 1) / 2 * (1.0 - zoom)
