"""Helpers for the graph tests, exposed as fixtures."""

import math

import keras
import numpy as np
import pytest

from autonas.graph import Graph
from autonas.graph import layers as L


def _random_weights(graph: Graph, seed: int = 0) -> Graph:
    """Give every weighted node random, non-trivial weights (in place); returns the graph.

    Kernels are scaled by fan-in so activations stay moderate; BatchNormalization
    gets gamma and moving variance in [0.5, 1.5] (the variance must stay positive).
    """
    rng = np.random.default_rng(seed)
    for node in graph.nodes:
        layer = graph.layer(node)
        shapes = layer.weight_shapes(graph.input_shapes(node))
        if not shapes:
            continue
        if isinstance(layer, L.BatchNormalization):
            (channels,) = shapes[0]
            weights = [
                rng.uniform(0.5, 1.5, channels),
                rng.normal(0.0, 0.2, channels),
                rng.normal(0.0, 0.2, channels),
                rng.uniform(0.5, 1.5, channels),
            ]
        else:
            kernel = shapes[0]
            fan_in = math.prod(kernel[:-1])
            weights = [rng.normal(0.0, 1.5 / math.sqrt(fan_in), kernel)]
            weights += [rng.normal(0.0, 0.1, shape) for shape in shapes[1:]]
        graph.set_weights(node, weights)
    return graph


def _predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Inference-mode outputs of ``model`` on ``x`` as a numpy array."""
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture
def random_weights():
    """Function ``(graph, seed=0) -> graph`` setting random, non-trivial weights."""
    return _random_weights


@pytest.fixture
def predict():
    """Function ``(model, x) -> np.ndarray`` running a model in inference mode."""
    return _predict


@pytest.fixture(autouse=True)
def _seed():
    """Make Keras initialisation and numpy draws reproducible in every test."""
    keras.utils.set_random_seed(0)
