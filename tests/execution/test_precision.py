"""Trials in mixed bfloat16: which policy is chosen, how the model is built, what a trial hands back."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from autonas import backend
from autonas.backend import _training
from autonas.engine.recipe import Recipe
from autonas.execution import TrainingSettings, train_graph
from autonas.graph import generators
from autonas.graph import layers as L
from autonas.morphism import Augment, apply_operations

pytestmark = pytest.mark.backend  # builds and trains Keras models: runs again under JAX in CI

MIXED = "mixed_bfloat16"


# ------------------------------------------------------------------ which policy
def test_cpu_flags_are_read_from_the_first_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags\t\t: fpu avx2 amx_bf16 avx512f\nprocessor : 1\nflags : fpu\n")
    assert _training._cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16", "avx512f"}
    assert _training._cpu_flags(tmp_path / "missing") == frozenset()  # not Linux: no flags, so float32


@pytest.mark.parametrize("flags, expected", [({"avx2", "amx_bf16"}, MIXED), ({"avx2", "avx512_bf16"}, "float32")])
def test_only_tensorflow_on_a_cpu_with_amx_trains_in_mixed_bfloat16(monkeypatch, flags, expected):
    monkeypatch.setattr(_training, "_cpu_flags", lambda *args: frozenset(flags))
    assert backend.fast_dtype_policy("jax") == "float32"  # slower in bfloat16 on the same CPU (measured)
    assert backend.fast_dtype_policy("torch") == "float32"  # not measured
    tf = pytest.importorskip("tensorflow")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert backend.fast_dtype_policy("tensorflow") == expected
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert backend.fast_dtype_policy("tensorflow") == "float32"  # a GPU worker: not measured


@pytest.mark.parametrize("precision", ["float16", "bfloat16", "", None, 32])
def test_an_unknown_precision_is_refused_by_name(precision):
    with pytest.raises(ValueError, match="precision"):
        TrainingSettings(precision=precision)


def test_the_recipe_trains_trials_and_the_final_fit_in_the_fast_policy_each_of_which_can_be_float32():
    recipe = Recipe()
    assert recipe.initial_settings(8000).precision == "auto" and recipe.child_settings(8000).precision == "auto"
    assert recipe.final_settings(10000, time_limited=True).precision == "auto"
    assert Recipe(trial_precision="float32").child_settings(8000).precision == "float32"
    assert Recipe(final_precision="float32").final_settings(10000, time_limited=False).precision == "float32"


# ------------------------------------------------------------------ the model
def test_a_mixed_model_computes_in_bfloat16_keeps_float32_weights_and_output_and_agrees_with_float32():
    graph = generators.cnn((12, 12, 1), 5, filters=8, max_filters=16, hidden_units=16)
    plain = graph.to_keras()
    mixed = graph.update_weights(plain).to_keras(dtype_policy=MIXED)  # the same weights
    by_name = {layer.name: layer for layer in mixed.layers}
    for node in graph.nodes:
        if node == graph.input_node:
            continue
        expected = "float32" if node == graph.output else MIXED
        assert by_name[node].dtype_policy.name == expected, node
    assert all(np.asarray(w).dtype == np.float32 for w in mixed.get_weights())
    x = np.random.default_rng(0).normal(size=(16, 12, 12, 1)).astype("float32")
    mixed_out, plain_out = keras.ops.convert_to_numpy(mixed(x)), keras.ops.convert_to_numpy(plain(x))
    assert mixed_out.dtype == np.float32
    np.testing.assert_allclose(mixed_out.sum(axis=1), 1.0, atol=1e-5)  # a float32 softmax
    assert np.abs(mixed_out - plain_out).max() < 0.01  # bfloat16 keeps about 3 significant digits


def test_augmentations_stay_in_float32_in_a_mixed_model():
    plain = generators.cnn((12, 12, 1), 5, filters=8, max_filters=16, hidden_units=0)
    graph = apply_operations(plain, [Augment(transform) for transform in L.AUGMENTATIONS])
    model = graph.to_keras(for_training=True, dtype_policy=MIXED)
    added = [node for node in graph.nodes if isinstance(graph.layer(node), L.Augmentation)]
    assert len(added) == len(L.AUGMENTATIONS)
    assert {model.get_layer(node).dtype_policy.name for node in added} == {"float32"}
    assert model.get_layer(plain.output).dtype_policy.name == "float32"


# ------------------------------------------------------------------ a trial
def test_a_mixed_precision_trial_learns_and_hands_back_float32_weights_timed_in_float32(digits):
    x_train, _, y_train, _ = digits
    results = {}
    for precision in ("float32", MIXED):
        graph = generators.cnn((8, 8, 1), 10, filters=8, max_filters=16, hidden_units=0)
        settings = TrainingSettings(learning_rate=3e-3, batch_size=64, max_epochs=4, precision=precision)
        results[precision] = train_graph(graph, x_train[:1000], y_train[:1000], settings,
                                         validation=(x_train[1000:], y_train[1000:]), seed=0, timed=True)
        assert results[precision].status == "completed", results[precision].error
        assert results[precision].metrics["precision"] == precision
    mixed, plain = results[MIXED], results["float32"]
    assert mixed.metrics["val_accuracy"] > max(0.5, plain.metrics["val_accuracy"] - 0.05)
    assert all(w.dtype == np.float32 for node in mixed.graph.nodes for w in (mixed.graph.weights(node) or []))
    assert mixed.metrics["latency_ms"] > 0  # measured on the float32 model the search hands back
    # the trained weights run as a plain float32 model and score what the trial scored
    model = mixed.graph.to_keras()
    predicted = keras.ops.convert_to_numpy(model(x_train[1000:])).argmax(axis=1)
    assert abs(np.mean(predicted == y_train[1000:]) - mixed.metrics["val_accuracy"]) < 0.03


def test_auto_resolves_where_the_trial_runs(digits, monkeypatch):
    from autonas.execution import runner

    monkeypatch.setattr(runner, "fast_dtype_policy", lambda: MIXED)
    x_train, _, y_train, _ = digits
    graph = generators.cnn((8, 8, 1), 10, filters=8, max_filters=16, hidden_units=0)
    settings = TrainingSettings(learning_rate=3e-3, batch_size=64, max_epochs=1, precision="auto")
    result = train_graph(graph, x_train[:500], y_train[:500], settings, validation=(x_train[500:700], y_train[500:700]),
                         seed=0, measure=False)
    assert result.status == "completed" and result.metrics["precision"] == MIXED
