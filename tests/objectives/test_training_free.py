"""The training-free NASWOT score: activation codes and log |det K|."""

import numpy as np
import pytest

from autonas.graph import Graph, generators
from autonas.graph import layers as L
from autonas.objectives.training_free import activation_codes, naswot_score

pytestmark = pytest.mark.slow  # builds Keras models


def _images(n=16):
    return np.random.default_rng(0).normal(size=(n, 8, 8, 1)).astype(np.float32)


def test_codes_cover_every_relu_unit_and_are_binary():
    graph = generators.cnn((8, 8, 1), 10)
    codes = activation_codes(graph, _images())
    relu_units = sum(
        int(np.prod(graph.shape(n)))
        for n in graph.nodes
        if isinstance(graph.layer(n), L.Activation) and graph.layer(n).activation == "relu"
    )
    assert codes.shape == (16, relu_units) and codes.dtype == bool


def test_score_matches_the_agreement_matrix_and_is_seeded():
    graph = generators.cnn((8, 8, 1), 10)
    x = _images()
    codes = activation_codes(graph, x).astype(float)
    expected = np.linalg.slogdet(codes @ codes.T + (1 - codes) @ (1 - codes).T)[1]
    assert naswot_score(graph, x) == pytest.approx(expected)
    assert naswot_score(graph, x, seed=0) == pytest.approx(naswot_score(graph, x, seed=0))


def test_a_network_that_cannot_tell_images_apart_scores_lowest():
    g = Graph()
    x = g.add_layer(L.Input((8, 8, 1)), name="input")
    x = g.add_layer(L.Flatten(), [x], name="flatten")
    x = g.add_layer(L.Dense(4), [x], name="hidden")
    x = g.add_layer(L.Activation("relu"), [x], name="relu")
    x = g.add_layer(L.Dense(3), [x], name="logits")
    g.add_layer(L.Activation("softmax"), [x], name="probs")
    g.set_weights("hidden", [np.zeros((64, 4)), np.ones(4)])  # every unit on for every image
    g.set_weights("logits", [np.zeros((4, 3)), np.zeros(3)])
    assert naswot_score(g, _images()) == float("-inf")
    assert np.isfinite(naswot_score(generators.cnn((8, 8, 1), 10), _images()))
    with pytest.raises(ValueError, match="no ReLU"):
        naswot_score(Graph.from_json(_no_relu().to_json()), _images())


def _no_relu() -> Graph:
    g = Graph()
    x = g.add_layer(L.Input((8, 8, 1)), name="input")
    x = g.add_layer(L.Flatten(), [x], name="flatten")
    x = g.add_layer(L.Dense(3), [x], name="logits")
    g.add_layer(L.Activation("softmax"), [x], name="probs")
    return g
