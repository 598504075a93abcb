"""Narrowing a layer whose channels reach an Add through a Concatenate (issue 27).

The other inputs of that Add are wider than the narrowed layer: only their
channels at its offset in the Concatenate are tied to it and go with it.
"""

import numpy as np

from autonas.graph import Graph, generators
from autonas.graph import layers as L
from autonas.morphism import GROWING, REGULARISING, Narrower, legal_operations, random_morph, to_narrower
from autonas.morphism._channels import tied_channels

from .conftest import perturbed


def _concat_into_add() -> Graph:
    """``conv_a`` (4) and ``conv_b`` (3) concatenated (7), added to ``conv_c`` (7), pooled into the logits."""
    g = Graph()
    x = g.add_layer(L.Input((6, 6, 2)), name="input")
    a = g.add_layer(L.Conv2D(4), [x], name="conv_a")
    a = g.add_layer(L.Activation("relu"), [a], name="relu_a")
    b = g.add_layer(L.Conv2D(3), [x], name="conv_b")
    b = g.add_layer(L.Activation("relu"), [b], name="relu_b")
    c = g.add_layer(L.Conv2D(7), [x], name="conv_c")
    joined = g.add_layer(L.Concatenate(), [b, a], name="concat")  # conv_a's channels at offset 3
    y = g.add_layer(L.Add(), [joined, c], name="add")
    y = g.add_layer(L.GlobalAveragePooling2D(), [y], name="gap")
    y = g.add_layer(L.Dense(3), [y], name="logits")
    g.add_layer(L.Activation("softmax"), [y], name="probs")
    return perturbed(g)


def test_the_wider_add_input_is_tied_at_the_concatenate_offset():
    tied = tied_channels(_concat_into_add(), "conv_a", 4)
    assert set(tied) == {"conv_a", "conv_c"}
    np.testing.assert_array_equal(tied["conv_a"], [0, 1, 2, 3])
    np.testing.assert_array_equal(tied["conv_c"], [-1, -1, -1, 0, 1, 2, 3])


def test_narrowing_behind_a_concatenate_drops_the_tied_channels_by_their_summed_norms():
    g = _concat_into_add()
    kernel_a = np.ones_like(g.weights("conv_a")[0])  # conv_a alone cannot choose: all columns alike
    g.set_weights("conv_a", [kernel_a, g.weights("conv_a")[1]])
    kernel_c = g.weights("conv_c")[0].copy()
    kernel_c[..., [4, 5]] *= 1e-3  # conv_c's columns tied to conv_a's channels 1 and 2
    g.set_weights("conv_c", [kernel_c, g.weights("conv_c")[1]])

    child = to_narrower(g, "conv_a", 2)

    np.testing.assert_array_equal(child.weights("conv_a")[0], kernel_a[..., [0, 3]])
    kept_c = [0, 1, 2, 3, 6]  # conv_b's part of the Add untouched, conv_a's channels 0 and 3
    np.testing.assert_array_equal(child.weights("conv_c")[0], kernel_c[..., kept_c])
    np.testing.assert_array_equal(child.weights("logits")[0], g.weights("logits")[0][kept_c])
    assert child.shape("add") == (6, 6, 5)
    assert child.weights("conv_b")[0].shape == g.weights("conv_b")[0].shape


def test_the_issues_narrowing_of_a_grown_resnet_applies():
    """Issue 27's reproduction: resnet grown by 20 function-preserving edits, then each listed narrowing."""
    parent = perturbed(generators.resnet((12, 12, 3), 5), seed=1)
    grown, _ = random_morph(parent, np.random.default_rng(1), n=20, kinds=GROWING | REGULARISING)
    narrowings = legal_operations(grown, kinds={"narrower"})
    assert narrowings
    for operation in narrowings:
        child = operation.apply(grown, rng=0)
        assert child.shape(operation.node)[-1] == grown.shape(operation.node)[-1] - operation.n, operation
        assert child.num_params() < grown.num_params()
    assert any(isinstance(op, Narrower) and op.node == "conv2d_2" for op in narrowings)
