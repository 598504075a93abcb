"""Architectures and a synthetic objective for the search tests (no training anywhere)."""

import numpy as np
import pytest

from autonas.graph import Graph, generators
from autonas.morphism import random_morph
from autonas.search import describe


def morphed_graphs(count: int, seed: int = 0) -> list[Graph]:
    """``count`` architectures: the four generators and random morphism chains from them."""
    rng = np.random.default_rng(seed)
    roots = [
        generators.cnn((8, 8, 1), 10, filters=8),
        generators.resnet((8, 8, 1), 10),
        generators.densenet((8, 8, 1), 10),
        generators.mlp((8, 8, 1), 10),
    ]
    graphs = list(roots)
    while len(graphs) < count:
        root = roots[len(graphs) % len(roots)]
        graphs.append(random_morph(root, rng, n=int(rng.integers(1, 6)))[0])
    return graphs


def deceptive_objective(graph: Graph) -> float:
    """A known function of depth, widths and skips, standing in for accuracy.

    Best at 10 hidden weighted layers of mean width 32 and no skips: depth
    helps, width helps up to a point, and every skip hurts, so most random
    morphisms are harmful, as in a real search.
    """
    descriptor = describe(graph)
    widths = [width for _, width, _ in descriptor.layers][:-1]  # the output layer is fixed
    depth_term = 0.05 * abs(len(widths) - 10)
    width_term = 0.1 * abs(float(np.mean(np.log2(widths))) - 5.0)
    return 1.0 - depth_term - width_term - 0.1 * len(descriptor.skips)


@pytest.fixture(scope="module")
def graphs() -> list[Graph]:
    """40 architectures, generators and morphed children, without weights."""
    return morphed_graphs(40)
