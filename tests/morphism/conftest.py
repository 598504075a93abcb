"""Helpers for the morphism tests."""

import math

import keras
import numpy as np
import pytest

from autonas.graph import Graph
from autonas.graph import layers as L


def perturbed(graph: Graph, seed: int = 0) -> Graph:
    """Give every weighted node random weights away from any initial value (in place); returns the graph."""
    rng = np.random.default_rng(seed)
    for node in graph.nodes:
        layer = graph.layer(node)
        shapes = layer.weight_shapes(graph.input_shapes(node))
        if not shapes:
            continue
        if isinstance(layer, L.BatchNormalization):
            (channels,) = shapes[0]
            weights = [rng.uniform(0.5, 1.5, channels), rng.normal(0, 0.2, channels),
                       rng.normal(0, 0.2, channels), rng.uniform(0.5, 1.5, channels)]
        else:
            fan_in = math.prod(shapes[0][:-1])
            weights = [rng.normal(0.0, 1.5 / math.sqrt(fan_in), shapes[0])]
            weights += [rng.normal(0.0, 0.1, shape) for shape in shapes[1:]]
        graph.set_weights(node, weights)
    return graph


def outputs(graph: Graph, x: np.ndarray) -> np.ndarray:
    """Inference-mode outputs of the graph's Keras model."""
    return keras.ops.convert_to_numpy(graph.to_keras()(x, training=False))


@pytest.fixture
def images():
    """Random inputs for 8×8×1 networks."""
    return np.random.default_rng(1).random((6, 8, 8, 1)).astype(np.float32)
