"""autonas's separable translation and zoom: Keras's transforms, cheaper where Keras has no native kernel."""

import keras
import numpy as np
import pytest

from autonas.backend import capabilities
from autonas.graph import Graph, generators
from autonas.graph.augmentation import SeparableRandomTranslation, SeparableRandomZoom
from autonas.morphism import to_augmented

pytestmark = pytest.mark.backend  # runs again under JAX in CI

HEIGHT, WIDTH = 13, 9  # not square, so a swapped axis shows


def _images(n=4, channels=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, HEIGHT, WIDTH, channels)).astype("float32")


def _keras_matrices(transform, draws_h, draws_w):
    """The ``affine_transform`` matrices Keras's RandomTranslation / RandomZoom build for the draws ``u``."""
    rows = []
    for u_h, u_w in zip(draws_h, draws_w):
        if transform == "translate":  # output(y, x) = input(y - u_h * height, x - u_w * width)
            rows.append([1, 0, -u_w * WIDTH, 0, 1, -u_h * HEIGHT, 0, 0])
        else:  # a zoom of 1 + u about the centre, one draw for both axes
            zoom = 1 + u_h
            rows.append([zoom, 0, (WIDTH - 1) / 2 * (1 - zoom), 0, zoom, (HEIGHT - 1) / 2 * (1 - zoom), 0, 0])
    return np.array(rows, "float32")


@pytest.mark.parametrize("transform", ["translate", "zoom"])
def test_separable_layers_compute_keras_affine_transform_for_their_draws(transform, monkeypatch):
    x = _images()
    draws_h = np.array([0.0, 0.23, -0.17, 0.061], "float32")  # whole and fractional pixels, both ways
    draws_w = np.array([-0.3, 0.11, 0.0, 0.27], "float32")
    layer = SeparableRandomTranslation(0.3) if transform == "translate" else SeparableRandomZoom(0.3)
    draws = iter([draws_h, draws_w])  # a translation draws the height's shifts, then the width's
    monkeypatch.setattr(layer, "_uniform", lambda batch: keras.ops.convert_to_tensor(next(draws)))
    ours = keras.ops.convert_to_numpy(layer(x, training=True))
    expected = keras.ops.convert_to_numpy(keras.ops.image.affine_transform(
        x, _keras_matrices(transform, draws_h, draws_w if transform == "translate" else draws_h),
        interpolation="bilinear", fill_mode="reflect",
    ))
    assert ours.shape == x.shape
    np.testing.assert_allclose(ours, expected, atol=1e-5)  # borders too: the same reflection
    assert np.abs(ours - x).max() > 0.1


@pytest.mark.parametrize("layer_class", [SeparableRandomTranslation, SeparableRandomZoom])
def test_separable_layers_draw_within_their_factor_and_are_identities_at_inference(layer_class):
    layer = layer_class(0.2, seed=7)
    x = _images(n=16)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    first = keras.ops.convert_to_numpy(layer(x, training=True))
    second = keras.ops.convert_to_numpy(layer(x, training=True))
    changed = np.abs(first - x).reshape(len(x), -1).max(axis=1)
    assert (changed > 1e-3).all()  # each image gets its own draw
    assert np.abs(first - second).max() > 1e-3  # and each call new ones
    scale_h, offset_h, scale_w, offset_w = (
        keras.ops.convert_to_numpy(t) for t in layer._transforms(4000, HEIGHT, WIDTH)
    )
    if layer_class is SeparableRandomTranslation:
        np.testing.assert_array_equal(scale_h, 1.0)
        for offset, size in ((offset_h, HEIGHT), (offset_w, WIDTH)):
            assert 0.19 * size < np.abs(offset).max() <= 0.2 * size
        assert abs(np.corrcoef(offset_h, offset_w)[0, 1]) < 0.1  # the two axes are drawn apart
    else:
        assert 0.8 <= scale_h.min() < 0.81 and 1.19 < scale_h.max() <= 1.2
        np.testing.assert_array_equal(scale_h, scale_w)  # the aspect ratio is kept
        np.testing.assert_allclose(offset_h, (HEIGHT - 1) / 2 * (1 - scale_h), atol=1e-5)


@pytest.mark.parametrize("factor", [0.0, 1.0, -0.1])
def test_separable_layers_reject_a_factor_outside_zero_one(factor):
    with pytest.raises(ValueError, match="factor must be in"):
        SeparableRandomZoom(factor)


def test_a_model_saved_with_separable_layers_loads_with_them(tmp_path):
    inputs = keras.Input((HEIGHT, WIDTH, 2))
    outputs = SeparableRandomZoom(0.15, name="zoom")(SeparableRandomTranslation(0.1, seed=3, name="shift")(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    shift, zoom = loaded.get_layer("shift"), loaded.get_layer("zoom")
    assert (type(shift), shift.factor, shift.seed) == (SeparableRandomTranslation, 0.1, 3)
    assert (type(zoom), zoom.factor) == (SeparableRandomZoom, 0.15)


def test_models_for_training_use_separable_layers_only_where_keras_has_no_native_transform():
    graph = generators.cnn((HEIGHT, WIDTH, 2), 3)
    for transform in ("translate", "zoom", "flip"):
        graph = to_augmented(graph, transform)
    kinds = {type(layer).__name__ for layer in graph.to_keras(for_training=True).layers}
    separable = {"SeparableRandomTranslation", "SeparableRandomZoom"}
    if capabilities().native_affine_transform:
        assert not kinds & separable
    else:
        assert separable <= kinds and not {"RandomTranslation", "RandomZoom"} & kinds
    assert {"RandomTranslation", "RandomZoom", "RandomFlip"} <= {type(layer).__name__ for layer in graph.to_keras().layers}
    for model in (graph.to_keras(for_training=True), graph.to_keras()):
        assert Graph.from_keras(model).fingerprint() == graph.fingerprint()
    model = graph.to_keras(for_training=True)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(_images(n=8), np.arange(8) % 3, epochs=1, batch_size=4, verbose=0)
    trained = graph.copy().update_weights(model)
    x = _images(n=5, seed=3)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(trained.to_keras()(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)), atol=1e-5,
    )
