"""Graph utilities (copy, update_weights, summary) and generator arguments."""

import keras
import numpy as np
import pytest

from autonas.graph import Graph, generators
from autonas.graph import layers as L

GENERATORS = ["cnn", "resnet", "densenet", "mlp"]


def _weighted_nodes(graph):
    return [n for n in graph.nodes if graph.weights(n) is not None]


def test_copy_is_deep(random_weights):
    """Changing the copy's weights (in place or replaced) or structure leaves the original alone."""
    original = random_weights(generators.cnn((8, 8, 1), 10))
    snapshot = {n: [w.copy() for w in original.weights(n)] for n in _weighted_nodes(original)}
    fingerprint, size = original.fingerprint(), len(original)

    clone = original.copy()
    assert clone.fingerprint() == fingerprint
    first, second = _weighted_nodes(clone)[:2]
    clone.weights(first)[0][...] += 1.0  # in place
    clone.set_weights(second, [np.zeros_like(w) for w in clone.weights(second)])
    clone.set_layer(clone.output, L.Activation("sigmoid"))
    clone.add_layer(L.Activation("relu"), [clone.output], name="extra")

    for node, weights in snapshot.items():
        for before, now in zip(weights, original.weights(node)):
            np.testing.assert_array_equal(before, now)
    assert original.fingerprint() == fingerprint
    assert len(original) == size
    assert "extra" not in original


def test_copy_keeps_the_output_and_validates():
    """A copy has the same output node and is a valid graph on its own."""
    graph = generators.resnet((8, 8, 1), 10)
    clone = graph.copy().validate()
    assert clone.output == graph.output
    assert clone.nodes == graph.nodes


def test_update_weights_after_training(digits, predict):
    """update_weights copies trained weights into the graph, reproducing the trained model."""
    x_train, x_test, y_train, _ = digits
    graph = generators.cnn((8, 8, 1), 10, stages=2, filters=8, hidden_units=16)
    model = graph.to_keras()
    graph.update_weights(model)
    assert graph.has_weights
    before = {n: [w.copy() for w in graph.weights(n)] for n in _weighted_nodes(graph)}

    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x_train[:256], y_train[:256], epochs=1, batch_size=32, verbose=0)
    returned = graph.update_weights(model)

    assert returned is graph
    for node, weights in before.items():
        changed = any(not np.allclose(old, new) for old, new in zip(weights, graph.weights(node)))
        assert changed, f"weights of {node!r} did not change"
    x = x_test[:32]
    assert np.max(np.abs(predict(model, x) - predict(graph.to_keras(), x))) < 1e-6


def test_summary_lists_every_node():
    """summary() has one row per node, with its layer type, and the totals."""
    graph = generators.densenet((8, 8, 1), 10)
    text = graph.summary()
    lines = text.splitlines()
    for node in graph.nodes:
        rows = [line for line in lines if line.split()[:1] == [node]]
        assert len(rows) == 1, node
        assert graph.layer(node).type in rows[0]
    assert f"{graph.num_params():,}" in text


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_reject_too_few_classes(name):
    """num_classes below 2 is a ValueError."""
    make = getattr(generators, name)
    for bad in (1, 0):
        with pytest.raises(ValueError, match="num_classes"):
            make((8, 8, 1), bad)


@pytest.mark.parametrize("name", ["cnn", "resnet", "densenet"])
@pytest.mark.parametrize("shape", [(8,), (2, 8, 8, 1), (8, 8, 0), (0, 8)], ids=str)
def test_image_generators_reject_bad_input_shapes(name, shape):
    """Image generators need (h, w) or (h, w, c) of positive sizes."""
    with pytest.raises(ValueError, match="input_shape"):
        getattr(generators, name)(shape, 10)


@pytest.mark.parametrize("shape", [(), (8, 0), (-1,)], ids=str)
def test_mlp_rejects_bad_input_shapes(shape):
    """mlp accepts any rank, but not an empty shape or non-positive sizes."""
    with pytest.raises(ValueError):
        generators.mlp(shape, 10)


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_accept_2d_shapes_as_one_channel(name):
    """(h, w) means one channel for image generators."""
    make = getattr(generators, name)
    if name == "mlp":
        assert make((8, 8), 10).input_shape == (8, 8)
    else:
        assert make((8, 8), 10).fingerprint() == make((8, 8, 1), 10).fingerprint()


@pytest.mark.parametrize("shape", [(32, 32, 3), (28, 28, 1)], ids=str)
@pytest.mark.parametrize("name", GENERATORS)
def test_generators_build_for_larger_inputs(name, shape, predict):
    """Larger inputs give valid graphs whose Keras models output class probabilities."""
    graph = getattr(generators, name)(shape, 7)
    assert graph.input_shape == shape
    assert graph.output_shape == (7,)
    model = graph.to_keras()
    assert tuple(model.output_shape) == (None, 7)
    x = np.random.default_rng(0).random((2, *shape)).astype(np.float32)
    probabilities = predict(model, x)
    assert probabilities.shape == (2, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_generators_downsample_large_inputs():
    """A conv generator on 32x32 shrinks the feature map before global pooling."""
    graph = generators.cnn((32, 32, 3), 10)
    spatial = [graph.shape(n)[:2] for n in graph.nodes if len(graph.shape(n)) == 3]
    assert spatial[0] == (32, 32)
    assert min(h for h, _ in spatial) <= 8


def test_add_layer_names_are_unique():
    """Automatic node names never collide, even after explicit names."""
    graph = Graph()
    x = graph.add_layer(L.Input((4,)), name="dense_2")
    names = [x]
    for _ in range(4):
        x = graph.add_layer(L.Dense(3), [x])
        names.append(x)
    assert len(set(names)) == len(names)
    with pytest.raises(ValueError, match="dense_2"):
        graph.add_layer(L.Dense(3), [x], name="dense_2")
