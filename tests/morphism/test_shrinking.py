"""Shrinking edits (narrower, shallower, removing a skip) and inference-identity edits (dropout, augmentation)."""

import json

import keras
import numpy as np
import pytest

from autonas.execution.executor import TrainingData, TrialJob, run_job
from autonas.execution.settings import TrainingSettings
from autonas.graph import Graph, generators
from autonas.graph import layers as L
from autonas.morphism import (
    GROWING,
    REGULARISING,
    SHRINKING,
    AddDropout,
    AddSkip,
    Augment,
    ConcatSkip,
    Deeper,
    Narrower,
    Operation,
    RemoveSkip,
    Shallower,
    Wider,
    apply_operations,
    legal_operations,
    output_change,
    random_morph,
    to_narrower,
    to_removed_skip,
    to_shallower,
)
from autonas.objectives import graph_costs

from .conftest import outputs, perturbed

pytestmark = pytest.mark.slow  # trains networks or starts processes

GENERATORS = ["cnn", "resnet", "densenet", "mlp"]


def _colour_images(n: int = 6) -> np.ndarray:
    return np.random.default_rng(2).normal(size=(n, 8, 8, 3)).astype(np.float32)


def _replayable(parent: Graph, operation: Operation) -> Graph:
    """Apply ``operation``: the record round-trips JSON, replays on its parent, and the child round-trips JSON."""
    child = operation.apply(parent, rng=0)
    assert Operation.from_json(json.dumps(operation.to_config())) == operation
    assert apply_operations(parent, [operation], rng=0).fingerprint() == child.fingerprint()
    assert Graph.from_json(child.to_json()).fingerprint() == child.fingerprint()
    return child


def _trains_a_step(child: Graph, x: np.ndarray):
    """The child's Keras model, after one training step with a finite loss."""
    model = child.to_keras()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    loss = model.train_on_batch(x, np.arange(len(x)) % child.output_shape[-1])
    assert np.isfinite(loss)
    return model


def _check_child(parent: Graph, operation: Operation, x: np.ndarray) -> Graph:
    child = _replayable(parent, operation)
    _trains_a_step(child, x)
    return child


# ---------------------------------------------------------------- shrinking


@pytest.mark.parametrize("generator", GENERATORS)
def test_every_shrinking_edit_lowers_params_and_macs_as_graph_costs_counts(generator):
    input_shape = (8, 8, 3) if generator != "mlp" else (8, 8, 1)
    x = _colour_images() if generator != "mlp" else np.random.default_rng(1).random((6, 8, 8, 1)).astype(np.float32)
    parent = perturbed(getattr(generators, generator)(input_shape, 5))
    operations = legal_operations(parent, kinds=SHRINKING)
    assert any(op.kind == "narrower" for op in operations)
    before = graph_costs(parent)
    for i, operation in enumerate(operations):
        assert not operation.preserves_function
        child = _replayable(parent, operation)
        after = graph_costs(child)
        assert after["params"] <= before["params"] and after["macs"] <= before["macs"], operation
        if not isinstance(operation, RemoveSkip):  # dropping an identity shortcut removes no weight
            assert after["params"] < before["params"] and after["macs"] < before["macs"], operation
        if i % 3 == 0:  # building Keras models is the slow part: a third of them
            assert after["params"] == _trains_a_step(child, x).count_params()
            change = output_change(parent, child, x)
            assert np.isfinite(change) and 0.0 <= change <= 1.0


def test_narrower_drops_the_channels_with_the_smallest_l1_norm_and_keeps_the_rest_exactly():
    g = Graph()
    x = g.add_layer(L.Input((6, 6, 2)), name="input")
    x = g.add_layer(L.Conv2D(6), [x], name="conv")
    x = g.add_layer(L.BatchNormalization(), [x], name="bn")
    x = g.add_layer(L.Activation("relu"), [x], name="relu")
    x = g.add_layer(L.GlobalAveragePooling2D(), [x], name="gap")
    x = g.add_layer(L.Dense(3), [x], name="logits")
    g.add_layer(L.Activation("softmax"), [x], name="probs")
    perturbed(g)
    kernel = g.weights("conv")[0]
    kernel[..., [1, 4]] *= 1e-3  # the two least important channels
    g.set_weights("conv", [kernel, np.zeros(6)])
    child = to_narrower(g, "conv", 2)
    kept = [0, 2, 3, 5]
    np.testing.assert_array_equal(child.weights("conv")[0], kernel[..., kept])
    for parent_w, child_w in zip(g.weights("bn"), child.weights("bn")):
        np.testing.assert_array_equal(child_w, parent_w[kept])
    np.testing.assert_array_equal(child.weights("logits")[0], g.weights("logits")[0][kept])
    assert child.shape("conv") == (6, 6, 4)


def test_narrower_narrows_both_sides_of_an_add_and_concatenate_offsets():
    parent = perturbed(generators.resnet((8, 8, 3), 5))
    x = _colour_images()
    adds = [n for n in parent.nodes if isinstance(parent.layer(n), L.Add)]
    # the first residual block's second conv feeds an Add whose other side is the stem conv's block
    first_conv = next(n for n in parent.nodes if isinstance(parent.layer(n), L.Conv2D))
    child = _check_child(parent, Narrower(first_conv, 8, 16), x)
    for add in adds:
        assert len({child.shape(source) for source in child.inputs(add)}) == 1
    assert child.num_params() < parent.num_params()

    dense = perturbed(generators.densenet((8, 8, 3), 5))
    stem = next(n for n in dense.nodes if isinstance(dense.layer(n), L.Conv2D))
    narrowed = _check_child(dense, Narrower(stem, dense.shape(stem)[-1] // 2, None), x)
    concat = next(n for n in narrowed.nodes if isinstance(narrowed.layer(n), L.Concatenate))
    assert narrowed.shape(concat)[-1] == dense.shape(concat)[-1] - dense.shape(stem)[-1] // 2


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (lambda g: to_narrower(g, "probs", 1), "'probs'.*not Conv2D or Dense"),
        (lambda g: to_narrower(g, "conv", 4), "'conv' by 4 channels"),
        (lambda g: to_narrower(g, "conv", 0), "'conv' by 0 channels"),
        (lambda g: to_narrower(g, "logits", 1), "'logits'.*output"),
        (lambda g: to_shallower(g, "conv"), "'conv'.*keeps the shape"),
        (lambda g: to_shallower(g, "relu"), "'relu'.*not Conv2D or Dense"),
        (lambda g: to_removed_skip(g, "relu", "conv"), "'relu'.*not Add or Concatenate"),
        (lambda g: to_narrower(g, "ghost", 1), "ghost"),
    ],
)
def test_illegal_shrinking_requests_name_the_node(request_, message):
    g = Graph()
    x = g.add_layer(L.Input((8, 8, 1)), name="input")
    x = g.add_layer(L.Conv2D(4), [x], name="conv")
    x = g.add_layer(L.Activation("relu"), [x], name="relu")
    x = g.add_layer(L.Flatten(), [x], name="flatten")
    x = g.add_layer(L.Dense(3), [x], name="logits")
    g.add_layer(L.Activation("softmax"), [x], name="probs")
    with pytest.raises(ValueError, match=message):
        request_(g)


def test_shallower_and_remove_skip_undo_deeper_and_add_skip_exactly():
    parent = perturbed(generators.cnn((8, 8, 3), 5))
    x = _colour_images()
    relus = [n for n in parent.nodes if parent.layer(n).type == "Activation" and parent.layer(n).activation == "relu"]
    deeper = Deeper(relus[0]).apply(parent)
    new_conv = next(n for n in deeper.nodes if n not in parent)
    assert isinstance(deeper.layer(new_conv), L.Conv2D)
    back = Shallower(new_conv).apply(deeper)
    assert back.fingerprint() == parent.fingerprint()
    np.testing.assert_allclose(outputs(back, x), outputs(parent, x), atol=1e-6)

    skipped = AddSkip(relus[0], relus[1]).apply(parent)
    add = next(n for n in skipped.nodes if isinstance(skipped.layer(n), L.Add))
    projection = next(s for s in skipped.inputs(add) if s != relus[1])
    assert RemoveSkip(add, projection) in legal_operations(skipped, kinds=SHRINKING)
    removed = RemoveSkip(add, projection).apply(skipped)
    assert removed.fingerprint() == parent.fingerprint()
    assert removed.num_params() == parent.num_params()


def test_removing_a_concatenated_skip_drops_its_channels_downstream():
    parent = perturbed(generators.cnn((8, 8, 3), 5))
    x = _colour_images()
    relus = [n for n in parent.nodes if parent.layer(n).type == "Activation" and parent.layer(n).activation == "relu"]
    joined = ConcatSkip(relus[0], relus[1]).apply(parent)
    concat = next(n for n in joined.nodes if isinstance(joined.layer(n), L.Concatenate))
    pooled = next(s for s in joined.inputs(concat) if s != relus[1])
    back = RemoveSkip(concat, pooled).apply(joined)
    assert back.fingerprint() == parent.fingerprint()
    np.testing.assert_allclose(outputs(back, x), outputs(parent, x), atol=1e-5)


def test_a_skip_is_not_added_twice():
    parent = perturbed(generators.cnn((8, 8, 3), 5))
    relus = [n for n in parent.nodes if parent.layer(n).type == "Activation" and parent.layer(n).activation == "relu"]
    once = AddSkip(relus[0], relus[1]).apply(parent)
    with pytest.raises(ValueError, match="already joins"):
        AddSkip(relus[0], relus[1]).apply(once)
    assert AddSkip(relus[0], relus[1]) not in legal_operations(once)
    _, operations = random_morph(parent, 0, n=12, kinds={"add_skip", "concat_skip"})
    assert len(operations) == len(set(operations))


@pytest.mark.parametrize("generator", GENERATORS)
def test_random_shrinking_sequences_build_train_and_replay(generator):
    input_shape = (8, 8, 3) if generator != "mlp" else (8, 8, 1)
    x = _colour_images() if generator != "mlp" else np.random.default_rng(1).random((6, 8, 8, 1)).astype(np.float32)
    parent = perturbed(getattr(generators, generator)(input_shape, 5))
    for seed in range(3):
        child, operations = random_morph(parent, seed, n=4)
        assert apply_operations(parent, operations, rng=seed).fingerprint() == child.fingerprint()
        model = child.to_keras()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        assert np.isfinite(model.train_on_batch(x, np.arange(len(x)) % 5))


# ---------------------------------------------------------------- identities at inference


# The JAX pass keeps the cnn case only (resnet and densenet cost it about 2 min; TensorFlow runs all three).
@pytest.mark.parametrize("generator", [pytest.param("cnn", marks=pytest.mark.backend), "resnet", "densenet"])
def test_dropout_and_augmentation_are_identities_at_inference(generator):
    parent = perturbed(getattr(generators, generator)((8, 8, 3), 5))
    x = _colour_images()
    operations = legal_operations(parent, kinds=REGULARISING)
    assert {op.transform for op in operations if isinstance(op, Augment)} == set(L.AUGMENTATIONS)
    assert any(isinstance(op, AddDropout) for op in operations)
    expected = outputs(parent, x)
    child = parent
    for operation in operations:
        assert operation.preserves_function
        child = _replayable(child, operation)
    model = child.to_keras()  # every augmentation and a dropout after every ReLU
    assert np.max(np.abs(keras.ops.convert_to_numpy(model(x, training=False)) - expected)) < 1e-6
    # while training they do change what the network computes
    assert np.max(np.abs(keras.ops.convert_to_numpy(model(x, training=True)) - expected)) > 1e-3
    for operation in operations[::4]:
        assert np.max(np.abs(outputs(operation.apply(parent), x) - expected)) < 1e-6
    _trains_a_step(child, x)
    # every augmentation is there once, in canonical order, whatever order they were added in
    shuffled = apply_operations(parent, [Augment(t) for t in reversed(L.AUGMENTATIONS)])
    ordered = apply_operations(parent, [Augment(t) for t in L.AUGMENTATIONS])
    assert shuffled.fingerprint() == ordered.fingerprint()
    with pytest.raises(ValueError, match="already has it"):
        Augment("flip").apply(ordered)


@pytest.mark.backend
def test_augmented_model_exports_and_reloads_in_plain_keras(tmp_path):
    parent = perturbed(generators.cnn((8, 8, 3), 5))
    child = apply_operations(parent, [Augment("zoom"), Augment("contrast"), Augment("flip"), Augment("translate")])
    x = _colour_images()
    model = child.to_keras()
    path = tmp_path / "augmented.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), outputs(parent, x), atol=1e-6)
    assert Graph.from_keras(loaded).fingerprint() == child.fingerprint()


def test_illegal_regularising_requests_name_the_node():
    parent = generators.cnn((8, 8, 3), 5)
    with pytest.raises(ValueError, match=repr(parent.output)):
        AddDropout(parent.output, 0.5).apply(parent)
    relu = next(n for n in parent.nodes if parent.layer(n).type == "Activation")
    with pytest.raises(ValueError, match="already feeds a Dropout"):
        AddDropout(relu, 0.2).apply(AddDropout(relu, 0.2).apply(parent))
    with pytest.raises(ValueError, match="not an image"):
        Augment("flip").apply(_flat_net())
    with pytest.raises(ValueError, match="transform must be one of"):
        Augment("rotate").apply(parent)


def _flat_net() -> Graph:
    g = Graph()
    x = g.add_layer(L.Input((16,)), name="input")
    x = g.add_layer(L.Dense(8), [x], name="hidden")
    x = g.add_layer(L.Activation("relu"), [x], name="relu")
    x = g.add_layer(L.Dense(3), [x], name="logits")
    g.add_layer(L.Activation("softmax"), [x], name="probs")
    return g


# ---------------------------------------------------------------- kinds and the worker's record


def test_kinds_split_the_operations_and_bad_kinds_are_refused():
    parent = generators.resnet((8, 8, 3), 5)
    assert GROWING | SHRINKING | REGULARISING == {op.kind for op in legal_operations(parent)}
    assert {op.kind for op in legal_operations(parent, kinds=GROWING)} == GROWING
    with pytest.raises(ValueError, match="kinds: unknown operation kinds"):
        legal_operations(parent, kinds={"shrink"})


@pytest.mark.backend
def test_worker_records_each_edits_output_change():
    parent = perturbed(generators.cnn((8, 8, 3), 3))
    conv = next(n for n in parent.nodes if isinstance(parent.layer(n), L.Conv2D))
    relu = next(n for n in parent.nodes if parent.layer(n).type == "Activation")
    operations = (Wider(conv, 64, 32), Narrower(conv, 48, 64))
    child = apply_operations(parent, list(operations), rng=0)
    rng = np.random.default_rng(0)
    data = TrainingData(
        rng.normal(size=(40, 8, 8, 3)).astype(np.float32), rng.integers(0, 3, 40),
        rng.normal(size=(12, 8, 8, 3)).astype(np.float32), rng.integers(0, 3, 12),
    )
    settings = TrainingSettings(batch_size=16, max_epochs=1, patience=1)
    job = TrialJob(1, child, settings, seed=0, measure=False, reference=parent, operations=operations)
    result = run_job(job, data)
    assert result.status == "completed"
    changes = result.metrics["operation_changes"]
    assert len(changes) == 2 and all(np.isfinite(changes))
    assert changes[0] < 1e-5 < changes[1]  # widening keeps the function, narrowing by 3/4 does not
    plain = run_job(TrialJob(2, Deeper(relu).apply(parent), settings, seed=0, measure=False), data)
    assert "operation_changes" not in plain.metrics
