"""The exported model: a plain Keras model with the preprocessing inside."""

from __future__ import annotations

from collections.abc import Sequence

from autonas.graph import Graph
from autonas.tasks.data import ImagePreprocessing

__all__ = ["export_classifier"]


def export_classifier(graph: Graph, image_shape: Sequence[int], preprocessing: ImagePreprocessing):
    """A Keras model taking the raw images ``fit`` took and returning class probabilities.

    A channel axis is added to 2-D images, the training images' per-channel
    standardisation is a ``Normalization`` layer, and ``graph`` is the network
    after it. ``model.save("model.keras")`` writes a file plain Keras loads
    without importing autonas.

    Args:
        graph: The trained network (with weights).
        image_shape: The shape of one raw image, as ``fit`` saw it (no batch axis).
        preprocessing: The standardisation learned from the training images.
    """
    import keras

    network = graph.to_keras(name="network")
    raw = keras.Input(shape=tuple(image_shape), name="image")
    x = raw
    if len(image_shape) == 2:
        x = keras.layers.Reshape((*image_shape, 1), name="add_channel")(x)
    x = keras.layers.Normalization(
        axis=-1, mean=list(preprocessing.mean), variance=list(preprocessing.variance), name="standardize"
    )(x)
    return keras.Model(raw, network(x), name="autonas_image_classifier")
