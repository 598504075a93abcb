"""Round trips Graph -> Keras -> Graph and Graph -> JSON (+ weights) -> Graph, and reading hand-written Keras models."""

import json

import keras
import numpy as np
import pytest

from autonas.graph import Graph, generators

pytestmark = pytest.mark.backend  # runs again under JAX in CI

GENERATORS = ["cnn", "resnet", "densenet", "mlp"]
SHAPES = [(8, 8, 1), (12, 12, 3)]
TOL = 1e-6


def _generated(name, shape, random_weights):
    return random_weights(getattr(generators, name)(shape, 10), seed=1)


def _inputs(shape, n=16, seed=2):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", GENERATORS)
def test_keras_round_trip_preserves_outputs_and_fingerprint(name, shape, random_weights, predict):
    """Graph -> Keras -> Graph -> Keras computes the same function and keeps the fingerprint."""
    graph = _generated(name, shape, random_weights)
    x = _inputs(shape)

    model = graph.to_keras()
    again = Graph.from_keras(model)
    model_again = again.to_keras()
    out, out_again = predict(model, x), predict(model_again, x)

    assert out.shape == (len(x), 10)
    assert np.max(np.abs(out - out_again)) < TOL
    assert again.fingerprint() == graph.fingerprint()
    assert Graph.from_keras(model_again).fingerprint() == graph.fingerprint()
    assert again.num_params() == graph.num_params()
    # The test could catch lost weights: a build with Keras's initialisation differs.
    fresh = graph.copy()
    fresh.clear_weights()
    assert np.max(np.abs(predict(fresh.to_keras(), x) - out)) > 1e-3


@pytest.mark.parametrize("name", GENERATORS)
def test_to_keras_uses_the_graph_weights(name, random_weights):
    """Every Keras layer carries exactly the weights of its node."""
    graph = _generated(name, (8, 8, 1), random_weights)
    model = graph.to_keras()
    weighted = [n for n in graph.nodes if graph.weights(n) is not None]
    assert weighted
    for node in weighted:
        keras_weights = model.get_layer(node).get_weights()
        assert len(keras_weights) == len(graph.weights(node))
        for ours, theirs in zip(graph.weights(node), keras_weights):
            np.testing.assert_array_equal(ours, theirs)


def test_layers_with_known_weights_start_from_them_and_keep_keras_initializers(
    monkeypatch, tmp_path, random_weights, predict
):
    """A graph with weights builds without drawing initial values (under JAX each new shape would compile
    a random-number program), and the model's config still names Keras's initializers, so it saves and loads."""
    graph = _generated("resnet", (8, 8, 1), random_weights)
    x = _inputs((8, 8, 1))

    def no_drawing(self, shape, dtype=None):
        raise AssertionError(f"{type(self).__name__} drew values for a weight the graph has")

    for initializer in (keras.initializers.GlorotUniform, keras.initializers.Zeros, keras.initializers.Ones):
        monkeypatch.setattr(initializer, "__call__", no_drawing)
    model = graph.to_keras()
    monkeypatch.undo()

    for node in (n for n in graph.nodes if graph.weights(n) is not None):
        for ours, theirs in zip(graph.weights(node), model.get_layer(node).get_weights(), strict=True):
            np.testing.assert_array_equal(ours, theirs)
    conv = next(n for n in graph.nodes if type(graph.layer(n)).__name__ == "Conv2D")
    assert model.get_layer(conv).get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), atol=TOL)
    # Without weights, Keras initialises as usual.
    fresh = graph.copy()
    fresh.clear_weights()
    for initializer in (keras.initializers.GlorotUniform, keras.initializers.Zeros, keras.initializers.Ones):
        monkeypatch.setattr(initializer, "__call__", no_drawing)
    with pytest.raises(AssertionError, match="drew values"):
        fresh.to_keras()


def test_layers_get_their_own_weights_if_keras_lists_them_in_another_order(monkeypatch, random_weights):
    """Should a Keras release create a layer's weights in another order than the one assumed, every
    layer still ends with exactly its node's weights (they are set after the build instead)."""
    from autonas.graph import keras_io

    monkeypatch.setitem(keras_io._INITIALIZER_ATTRIBUTES, keras.layers.Conv2D, ("bias_initializer", "kernel_initializer"))
    monkeypatch.setitem(
        keras_io._INITIALIZER_ATTRIBUTES,
        keras.layers.BatchNormalization,
        ("beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer"),
    )
    graph = _generated("resnet", (8, 8, 1), random_weights)
    model = graph.to_keras()
    for node in (n for n in graph.nodes if graph.weights(n) is not None):
        for ours, theirs in zip(graph.weights(node), model.get_layer(node).get_weights(), strict=True):
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", GENERATORS)
def test_json_and_npz_round_trip(name, shape, tmp_path, random_weights, predict):
    """to_json/from_json plus save_weights/load_weights rebuild the same network."""
    graph = _generated(name, shape, random_weights)
    x = _inputs(shape)
    text = graph.to_json()
    json.loads(text)  # plain JSON
    graph.save_weights(tmp_path / "weights.npz")

    architecture_only = Graph.from_json(text)
    assert architecture_only.fingerprint() == graph.fingerprint()
    assert not architecture_only.has_weights
    loaded = architecture_only.load_weights(tmp_path / "weights.npz")

    assert loaded.has_weights
    assert loaded.fingerprint() == graph.fingerprint()
    assert loaded.to_json() == text
    diff = np.max(np.abs(predict(graph.to_keras(), x) - predict(loaded.to_keras(), x)))
    assert diff < TOL


@pytest.mark.parametrize("name", GENERATORS)
def test_save_and_load_folder(name, tmp_path, random_weights, predict):
    """save/load of a folder keeps architecture and weights."""
    graph = _generated(name, (12, 12, 3), random_weights)
    x = _inputs((12, 12, 3))
    graph.save(tmp_path / "model")
    loaded = Graph.load(tmp_path / "model")
    assert loaded.fingerprint() == graph.fingerprint()
    assert loaded.has_weights
    assert np.max(np.abs(predict(graph.to_keras(), x) - predict(loaded.to_keras(), x))) < TOL


def test_save_without_weights_loads_architecture_only(tmp_path):
    """A graph saved before it has weights loads back without weights."""
    graph = generators.cnn((8, 8, 1), 10)
    graph.save(tmp_path / "arch")
    loaded = Graph.load(tmp_path / "arch")
    assert loaded.fingerprint() == graph.fingerprint()
    assert not loaded.has_weights


def _perturb_keras(model, seed=3):
    """Replace every weight of ``model`` by a random one (BN variances kept positive)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = weights
            weights = [
                rng.uniform(0.5, 1.5, gamma.shape),
                rng.normal(0, 0.2, beta.shape),
                rng.normal(0, 0.2, mean.shape),
                rng.uniform(0.5, 1.5, var.shape),
            ]
        else:
            weights = [w + rng.normal(0, 0.2, w.shape) for w in weights]
        layer.set_weights(weights)
    return model


def test_from_keras_sequential_cnn(predict):
    """A hand-written Sequential CNN is read with its outputs and parameter count intact."""
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
            keras.layers.AveragePooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(16),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    _perturb_keras(model)
    x = _inputs((8, 8, 1))

    graph = Graph.from_keras(model)

    assert graph.input_shape == (8, 8, 1)
    assert graph.output_shape == (10,)
    assert graph.num_params() == model.count_params()
    types = [graph.layer(n).type for n in graph.nodes]
    for expected in ("Conv2D", "BatchNormalization", "MaxPooling2D", "AveragePooling2D", "Flatten", "Dropout"):
        assert expected in types
    activations = [graph.layer(n).activation for n in graph.nodes if graph.layer(n).type == "Activation"]
    assert activations == ["relu", "relu", "softmax"]
    assert np.max(np.abs(predict(model, x) - predict(graph.to_keras(), x))) < TOL


def test_from_keras_fused_activation_equals_separate_node():
    """Conv2D(activation='relu') reads as the same architecture as Conv2D followed by ReLU."""
    fused = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu")])
    separate = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.ReLU()])
    assert Graph.from_keras(fused).fingerprint() == Graph.from_keras(separate).fingerprint()


def test_from_keras_functional_with_add_and_concatenate(predict):
    """A functional model with Add and Concatenate (order matters) is reproduced exactly."""
    inputs = keras.Input((8, 8, 2))
    a = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    b = keras.layers.Conv2D(4, 1, activation="tanh")(inputs)
    s = keras.layers.Add()([a, b])
    s = keras.layers.Activation("relu")(s)
    c = keras.layers.Conv2D(4, 3, padding="same")(s)
    merged = keras.layers.Concatenate()([c, s, inputs])  # 4 + 4 + 2 channels
    merged = keras.layers.BatchNormalization()(merged)
    pooled = keras.layers.GlobalAveragePooling2D()(merged)
    outputs = keras.layers.Dense(3, activation="softmax")(pooled)
    model = _perturb_keras(keras.Model(inputs, outputs))
    x = _inputs((8, 8, 2))

    graph = Graph.from_keras(model)

    assert graph.output_shape == (3,)
    assert graph.num_params() == model.count_params()
    rebuilt = graph.to_keras()
    assert np.max(np.abs(predict(model, x) - predict(rebuilt, x))) < TOL
    assert Graph.from_keras(rebuilt).fingerprint() == graph.fingerprint()
