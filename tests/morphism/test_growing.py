"""Each morphism operator: function preserved, shapes as promised, illegal requests refused."""

import keras
import numpy as np
import pytest

from autonas.graph import Graph, generators
from autonas.graph import layers as L
from autonas.morphism import (
    AddSkip,
    ConcatSkip,
    Deeper,
    Operation,
    Wider,
    legal_operations,
    morph,
    to_add_skip,
    to_concat_skip,
    to_deeper,
    to_wider,
)

from .conftest import outputs, perturbed

pytestmark = pytest.mark.backend  # runs again under JAX in CI


def _nodes_of(graph: Graph, layer_type: str) -> list[str]:
    return [n for n in graph.nodes if graph.layer(n).type == layer_type]


def _assert_same_function(parent: Graph, child: Graph, x: np.ndarray) -> None:
    np.testing.assert_allclose(outputs(child, x), outputs(parent, x), atol=1e-5, rtol=0)


def _flatten_net() -> Graph:
    """Input → conv(4) → BN → ReLU → maxpool → Flatten → Dense(16) → ReLU → Dense(3) → softmax."""
    g = Graph()
    x = g.add_layer(L.Input((8, 8, 1)), name="input")
    x = g.add_layer(L.Conv2D(4), [x], name="conv")
    x = g.add_layer(L.BatchNormalization(), [x], name="bn")
    x = g.add_layer(L.Activation("relu"), [x], name="relu")
    x = g.add_layer(L.MaxPooling2D(2), [x], name="pool")
    x = g.add_layer(L.Flatten(), [x], name="flatten")
    x = g.add_layer(L.Dense(16), [x], name="hidden")
    x = g.add_layer(L.Activation("relu"), [x], name="hidden_relu")
    x = g.add_layer(L.Dense(3), [x], name="logits")
    g.add_layer(L.Activation("softmax"), [x], name="probs")
    return perturbed(g)


# ---------------------------------------------------------------- deeper


def test_deeper_on_conv_inserts_identity_block_after_its_relu(images):
    parent = perturbed(generators.cnn((8, 8, 1), 10))
    conv = _nodes_of(parent, "Conv2D")[0]
    child = to_deeper(parent, conv)
    assert len(child) == len(parent) + 3
    assert len(_nodes_of(child, "Conv2D")) == len(_nodes_of(parent, "Conv2D")) + 1
    _assert_same_function(parent, child, images)
    assert parent.fingerprint() != child.fingerprint()


def test_deeper_on_dense_inserts_dense_relu(images):
    parent = _flatten_net()
    child = to_deeper(parent, "hidden")
    assert len(_nodes_of(child, "Dense")) == 3
    _assert_same_function(parent, child, images)


@pytest.mark.parametrize("kernel_size", [1, 5])
def test_deeper_kernel_sizes(kernel_size, images):
    parent = _flatten_net()
    child = to_deeper(parent, "relu", kernel_size=kernel_size)
    assert child.layer(_nodes_of(child, "Conv2D")[1]).kernel_size == (kernel_size, kernel_size)
    _assert_same_function(parent, child, images)


def test_deeper_refuses_input_that_may_be_negative():
    graph = _flatten_net()
    with pytest.raises(ValueError, match="'bn'.*non-negative"):
        to_deeper(graph, "bn")
    resnet = generators.resnet((8, 8, 1), 10)
    add = _nodes_of(resnet, "Add")[0]
    conv_before_add = resnet.inputs(resnet.inputs(add)[1])[0]  # conv → BN → Add: no ReLU in its block
    with pytest.raises(ValueError, match=conv_before_add):
        to_deeper(resnet, conv_before_add)
    with pytest.raises(ValueError, match="odd"):
        to_deeper(graph, "relu", kernel_size=2)


def test_deeper_noise_changes_function_by_a_bounded_amount(images):
    parent = _flatten_net()
    exact = outputs(parent, images)
    noisy = outputs(to_deeper(parent, "relu", noise=1e-2, rng=0), images)
    difference = np.abs(noisy - exact).max()
    assert 0 < difference < 1e-2


# ---------------------------------------------------------------- wider


def test_wider_conv_through_bn_pool_and_flatten(images):
    parent = _flatten_net()
    child = to_wider(parent, "conv", 7, rng=0)
    assert child.layer("conv").filters == 7
    assert child.shape("flatten") == (4 * 4 * 7,)
    assert [w.shape for w in child.weights("bn")] == [(7,)] * 4
    _assert_same_function(parent, child, images)


def test_wider_dense_hidden_layer(images):
    parent = _flatten_net()
    child = to_wider(parent, "hidden", 40, rng=1)
    assert child.layer("hidden").units == 40
    _assert_same_function(parent, child, images)


def test_wider_noise_breaks_symmetry_and_keeps_function(images):
    parent = _flatten_net()
    child = to_wider(parent, "hidden", 32, noise=0.1, rng=2)
    _assert_same_function(parent, child, images)
    rows = child.weights("logits")[0]
    assert len({tuple(np.round(r, 6)) for r in rows}) == 32  # no two outgoing rows alike


def test_wider_through_concatenate_offsets(images):
    parent = perturbed(generators.densenet((8, 8, 1), 10))
    for conv in _nodes_of(parent, "Conv2D")[:4]:
        width = parent.shape(conv)[-1]
        child = to_wider(parent, conv, width + 5, rng=3)
        _assert_same_function(parent, child, images)


def test_wider_widens_both_sides_of_an_add(images):
    parent = perturbed(generators.resnet((8, 8, 1), 10))
    add = _nodes_of(parent, "Add")[0]  # stem ReLU + block: identity shortcut
    conv_in_block = parent.inputs(parent.inputs(add)[1])[0]
    child = to_wider(parent, conv_in_block, 24, rng=4)
    assert child.shape(add)[-1] == 24
    stem = _nodes_of(parent, "Conv2D")[0]
    assert child.layer(stem).filters == 24  # the identity shortcut's producer widened alike
    _assert_same_function(parent, child, images)


def test_wider_refuses_add_with_an_unwidenable_side():
    g = Graph()
    x = g.add_layer(L.Input((8, 8, 4)), name="input")
    y = g.add_layer(L.Conv2D(4), [x], name="conv")
    s = g.add_layer(L.Add(), [x, y], name="sum")
    s = g.add_layer(L.GlobalAveragePooling2D(), [s])
    s = g.add_layer(L.Dense(3), [s])
    g.add_layer(L.Activation("softmax"), [s])
    with pytest.raises(ValueError, match="'conv'"):
        to_wider(g, "conv", 8)


@pytest.mark.parametrize(
    ("node", "width", "message"),
    [
        ("logits", 6, "output"),  # widening the output layer
        ("conv", 3, "larger"),  # shrinking
        ("conv", 4, "larger"),  # same width
        ("relu", 8, "not Conv2D or Dense"),
        ("nowhere", 8, "'nowhere' does not exist"),
    ],
)
def test_wider_illegal_requests(node, width, message):
    with pytest.raises(ValueError, match=message):
        to_wider(_flatten_net(), node, width)


# ---------------------------------------------------------------- skips


def test_add_skip_same_size_and_downsampled(images):
    parent = perturbed(generators.cnn((8, 8, 1), 10))
    relus = [n for n in _nodes_of(parent, "Activation") if parent.layer(n).activation == "relu"]
    for src, dst in [(relus[0], relus[1]), (relus[0], relus[2]), (relus[2], relus[3])]:
        child = to_add_skip(parent, src, dst)
        assert len(_nodes_of(child, "Add")) == 1
        _assert_same_function(parent, child, images)


def test_concat_skip_adds_channels_and_keeps_function(images):
    parent = perturbed(generators.cnn((8, 8, 1), 10))
    relus = [n for n in _nodes_of(parent, "Activation") if parent.layer(n).activation == "relu"]
    child = to_concat_skip(parent, relus[0], relus[1])
    concat = _nodes_of(child, "Concatenate")[0]
    assert child.shape(concat)[-1] == parent.shape(relus[1])[-1] + parent.shape(relus[0])[-1]
    _assert_same_function(parent, child, images)
    child = to_concat_skip(parent, relus[1], relus[3])  # image into the flat head: global pooling
    _assert_same_function(parent, child, images)


@pytest.mark.parametrize("operator", [to_add_skip, to_concat_skip])
def test_skip_illegal_requests(operator):
    graph = _flatten_net()
    with pytest.raises(ValueError, match="'hidden_relu'.*'relu'"):
        operator(graph, "hidden_relu", "relu")  # from a later node to an earlier one
    with pytest.raises(ValueError, match="'relu'"):
        operator(graph, "relu", "relu")
    with pytest.raises(ValueError, match="output node 'probs'"):
        operator(graph, "relu", "probs")
    with pytest.raises(ValueError, match="'ghost' does not exist"):
        operator(graph, "ghost", "relu")


# ---------------------------------------------------------------- records and Keras


def test_operations_print_serialise_and_replay(images):
    parent = _flatten_net()
    operations = [Wider("conv", 8, 4), Deeper("relu"), AddSkip("relu", "hidden_relu"), ConcatSkip("pool", "relu")]
    assert str(operations[0]) == "Wider(conv, 4→8)"
    assert str(operations[2]) == "AddSkip(relu → hidden_relu)"
    graph = parent
    for operation in operations[:3]:
        assert Operation.from_json(operation.to_json()) == operation
        graph = operation.apply(graph, rng=0)
    _assert_same_function(parent, graph, images)
    with pytest.raises(ValueError, match="unknown operation kind"):
        Operation.from_config({"kind": "shrink", "node": "conv"})


def test_legal_operations_all_apply_and_never_widen_the_output():
    graph = perturbed(generators.resnet((8, 8, 1), 10))
    operations = legal_operations(graph)
    kinds = {op.kind for op in operations}
    assert kinds == {"deeper", "wider", "add_skip", "concat_skip", "narrower", "shallower", "remove_skip", "dropout", "augment"}
    output_dense = graph.inputs(graph.output)[0]
    assert not any(isinstance(op, Wider) and op.node == output_dense for op in operations)
    for operation in operations:
        operation.apply(graph).validate()


def test_morph_a_users_keras_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv_a"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b"),
            keras.layers.Flatten(),
            keras.layers.Dense(5, activation="softmax", name="out"),
        ]
    )
    x = np.random.default_rng(0).random((4, 8, 8, 3)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    for operation in [Deeper("conv_a"), Wider("conv_a", 12), Wider("conv_b", 9), AddSkip("conv_a_relu", "conv_b_relu")]:
        morphed = morph(model, operation, rng=0)
        np.testing.assert_allclose(morphed.predict(x, verbose=0), expected, atol=1e-5)
    with pytest.raises(ValueError, match="'out'"):
        morph(model, Wider("out", 10))
