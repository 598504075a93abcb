"""Fingerprints identify architectures, independent of node names and insertion order."""

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autonas.graph import Graph, generators
from autonas.graph import layers as L


def _two_branch(names, *, conv_first, add_order, concat_order, filters=4):
    """input -> {conv3x3 -> relu, conv1x1} -> Add -> Concatenate with the input -> head.

    Args:
        names: Prefix of every node name.
        conv_first: Whether the 3x3 branch is inserted before the 1x1 branch.
        add_order: "wide-first" or "narrow-first" order of Add's inputs.
        concat_order: "merged-first" or "input-first" order of Concatenate's inputs.
        filters: Filters of the 3x3 convolution.
    """
    graph = Graph()
    x = graph.add_layer(L.Input((8, 8, 1)), name=f"{names}in")

    def wide():
        y = graph.add_layer(L.Conv2D(filters, 3), [x], name=f"{names}wide")
        return graph.add_layer(L.Activation("relu"), [y], name=f"{names}wide_relu")

    def narrow():
        return graph.add_layer(L.Conv2D(filters, 1), [x], name=f"{names}narrow")

    if conv_first:
        a, b = wide(), narrow()
    else:
        b, a = narrow(), wide()
    added = graph.add_layer(L.Add(), [a, b] if add_order == "wide-first" else [b, a], name=f"{names}add")
    merged = graph.add_layer(
        L.Concatenate(), [added, x] if concat_order == "merged-first" else [x, added], name=f"{names}cat"
    )
    pooled = graph.add_layer(L.GlobalAveragePooling2D(), [merged], name=f"{names}gap")
    graph.add_layer(L.Dense(10), [pooled], name=f"{names}head")
    return graph.validate()


def _reference(**overrides):
    options = dict(names="a_", conv_first=True, add_order="wide-first", concat_order="merged-first")
    return _two_branch(**{**options, **overrides})


def test_fingerprint_ignores_names_insertion_order_and_add_order():
    """Renaming nodes, inserting branches the other way round and swapping Add's inputs keep it."""
    reference = _reference().fingerprint()
    everything_changed = _two_branch("other.", conv_first=False, add_order="narrow-first", concat_order="merged-first")
    assert everything_changed.fingerprint() == reference
    assert _reference(names="zz").fingerprint() == reference
    assert _reference(conv_first=False).fingerprint() == reference
    assert _reference(add_order="narrow-first").fingerprint() == reference


def test_fingerprint_depends_on_concatenate_order():
    """Concatenate's inputs do not commute: swapping them is another architecture."""
    assert _reference(concat_order="input-first").fingerprint() != _reference().fingerprint()


def test_fingerprint_depends_on_layer_configuration():
    """One more filter, or another activation, changes the fingerprint."""
    reference = _reference().fingerprint()
    assert _reference(filters=5).fingerprint() != reference
    graph = _reference()
    graph.set_layer("a_wide_relu", L.Activation("tanh"))
    assert graph.fingerprint() != reference


def test_fingerprint_depends_on_wiring():
    """Same multiset of layers, different connections: different fingerprints."""

    def chain(first, second):
        graph = Graph()
        x = graph.add_layer(L.Input((8, 8, 1)))
        x = graph.add_layer(first, [x])
        x = graph.add_layer(second, [x])
        x = graph.add_layer(L.Flatten(), [x])
        graph.add_layer(L.Dense(3), [x])
        return graph

    relu_then_pool = chain(L.Activation("relu"), L.MaxPooling2D(2))
    pool_then_relu = chain(L.MaxPooling2D(2), L.Activation("relu"))
    assert relu_then_pool.fingerprint() != pool_then_relu.fingerprint()


def test_fingerprint_ignores_weights(random_weights):
    """Weights are not part of the fingerprint."""
    graph = generators.resnet((8, 8, 1), 10)
    before = graph.fingerprint()
    assert random_weights(graph).fingerprint() == before


@pytest.mark.parametrize("name", ["cnn", "resnet", "densenet", "mlp"])
def test_generators_differ_and_are_deterministic(name):
    """A generator is deterministic, and its output depends on its arguments."""
    make = getattr(generators, name)
    assert make((8, 8, 1), 10).fingerprint() == make((8, 8, 1), 10).fingerprint()
    assert make((8, 8, 1), 10).fingerprint() != make((8, 8, 1), 9).fingerprint()
    assert make((8, 8, 1), 10).fingerprint() != make((8, 8, 3), 10).fingerprint()


def _rebuilt(graph, rename, priority):
    """The same architecture rebuilt under new names, inserted in another topological order."""
    order = list(nx.lexicographical_topological_sort(graph.dag, key=lambda n: priority[n]))
    clone = Graph()
    for node in order:
        clone.add_layer(graph.layer(node), [rename[s] for s in graph.inputs(node)], name=rename[node])
    clone.output = rename[graph.output]
    return clone


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(["cnn", "resnet", "densenet", "mlp"]),
    data=st.data(),
)
def test_fingerprint_invariant_under_random_renaming_and_order(name, data):
    """Property: any renaming and any valid insertion order gives the same fingerprint."""
    graph = getattr(generators, name)((8, 8, 1), 10)
    nodes = graph.nodes
    label = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
    labels = data.draw(st.lists(label, min_size=len(nodes), max_size=len(nodes), unique=True))
    priorities = data.draw(st.permutations(range(len(nodes))))
    clone = _rebuilt(graph, dict(zip(nodes, labels)), dict(zip(nodes, priorities)))
    assert clone.fingerprint() == graph.fingerprint()
    assert Graph.from_json(clone.to_json()).fingerprint() == graph.fingerprint()
