"""The neural-network edit distance: metric properties, invariances and its growth with edits."""

import numpy as np
import pytest

from autonas.graph import Graph, generators
from autonas.morphism import AddSkip, ConcatSkip, Deeper, Wider, random_morph
from autonas.search import describe, edit_distance, pairwise_distances
from tests.search.conftest import morphed_graphs


@pytest.fixture(scope="module")
def matrix(graphs):
    return pairwise_distances(graphs, graphs)


def test_distance_is_zero_on_itself_and_only_there(graphs, matrix):
    assert np.allclose(np.diag(matrix), 0.0)
    fingerprints = [g.fingerprint() for g in graphs]
    for i in range(len(graphs)):
        for j in range(len(graphs)):
            if fingerprints[i] != fingerprints[j]:
                assert matrix[i, j] > 0, (i, j)


def test_distance_is_symmetric_and_non_negative(matrix):
    assert matrix.shape == (40, 40)
    assert np.all(matrix >= 0)
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-12)


def test_pairwise_matches_single_calls(graphs, matrix):
    rng = np.random.default_rng(3)
    for i, j in rng.integers(0, len(graphs), size=(15, 2)):
        assert edit_distance(graphs[i], graphs[j]) == pytest.approx(matrix[i, j])
        assert edit_distance(describe(graphs[i]), graphs[j]) == pytest.approx(matrix[i, j])


def test_distance_ignores_node_names_and_insertion_order():
    graph = generators.cnn((8, 8, 1), 10, filters=8)
    renamed = Graph.from_json(graph.to_json().replace("conv2d_", "renamed_conv_"))
    assert renamed.nodes != graph.nodes
    assert edit_distance(graph, renamed) == 0.0


def test_distance_grows_with_the_number_of_edits():
    rng = np.random.default_rng(0)
    by_edits = {k: [] for k in range(1, 6)}
    for root in morphed_graphs(4):
        for _ in range(6):
            graph = root
            for k in range(1, 6):
                graph, operations = random_morph(graph, rng, n=1)
                assert operations
                by_edits[k].append(edit_distance(root, graph))
    means = [np.mean(by_edits[k]) for k in range(1, 6)]
    assert all(a < b for a, b in zip(means, means[1:])), means


def test_each_kind_of_edit_has_the_expected_cost():
    graph = generators.cnn((8, 8, 1), 10, filters=8, stages=2)
    convs = [n for n in graph.nodes if n.startswith("conv2d")]
    relus = [n for n in graph.nodes if n.startswith("activation")]
    first, second = relus[0], relus[1]
    # a new layer is one insertion
    assert edit_distance(graph, Deeper(first).apply(graph)) == pytest.approx(1.0)
    # widening 8 -> 12 changes one matched layer by |8 - 12| / 12
    assert edit_distance(graph, Wider(convs[0], 12).apply(graph)) == pytest.approx(4 / 12)
    assert edit_distance(graph, Wider(convs[0], 16).apply(graph)) > edit_distance(graph, Wider(convs[0], 12).apply(graph))
    # a skip is one unmatched skip connection (its projection belongs to the skip)
    added = AddSkip(first, second).apply(graph)
    assert edit_distance(graph, added) == pytest.approx(1.0)
    # add and concatenate skips over the same span differ by their kind
    concatenated = ConcatSkip(first, second).apply(graph)
    assert edit_distance(added, concatenated) > 0.0


def test_skip_weight_scales_only_the_skip_term():
    graph = generators.cnn((8, 8, 1), 10, filters=8, stages=2)
    relus = [n for n in graph.nodes if n.startswith("activation")]
    skipped = AddSkip(relus[0], relus[1]).apply(graph)
    deeper = Deeper(relus[0]).apply(graph)
    assert edit_distance(graph, skipped, skip_weight=3.0) == pytest.approx(3.0)
    assert edit_distance(graph, deeper, skip_weight=3.0) == pytest.approx(1.0)


def test_layer_order_matters():
    """An order-free matching would call [8, 16, 32] and [32, 16, 8] the same network."""
    from autonas.search.distance import Descriptor

    rising = Descriptor(layers=((0, 8, 0), (0, 16, 0), (0, 32, 0)), skips=())
    falling = Descriptor(layers=((0, 32, 0), (0, 16, 0), (0, 8, 0)), skips=())
    assert edit_distance(rising, falling) > 1.0
