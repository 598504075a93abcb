"""Shape inference and the structural checks behind :meth:`~autonas.graph.Graph.shapes`
and :meth:`~autonas.graph.Graph.validate`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from autonas.graph.layers import Input, LayerSpec, Shape, ShapeError

if TYPE_CHECKING:  # graph.py imports this module: no import back
    from autonas.graph.graph import Graph

__all__ = ["check_weights", "infer_shapes"]


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    """Output shape of every node of ``graph`` (no batch axis), checking its structure on the way.

    Raises:
        ValueError: naming the offending node, for a cycle, an empty graph, a
            missing input, a shape mismatch or a dangling node.
    """
    order = graph.nodes  # raises on a cycle, naming a node on it
    if not order:
        raise ValueError("the graph is empty")
    for node in order:
        if not isinstance(graph.layer(node), LayerSpec):
            raise ValueError(f"node {node!r}: unknown layer {graph.layer(node)!r}")
        for source in graph.inputs(node):
            if source not in graph:
                raise ValueError(f"node {node!r}: input node {source!r} does not exist")
    source = graph.input_node
    output = graph.output
    shapes: dict[str, Shape] = {}
    for node in order:
        layer = graph.layer(node)
        if not isinstance(layer, Input) and not graph.inputs(node):
            raise ValueError(f"node {node!r} ({layer.type}) has no inputs")
        try:
            shapes[node] = layer.output_shape([shapes[s] for s in graph.inputs(node)])
        except ShapeError as error:
            raise ValueError(f"node {node!r} ({layer.type}): {error}") from None
    _check_connected(graph, order, source, output)
    return shapes


def _check_connected(graph: Graph, order: list[str], source: str, output: str) -> None:
    """Refuse a node that does not reach ``output`` or is not fed by ``source``."""
    dag = graph.dag
    reaches_output = nx.ancestors(dag, output) | {output}
    fed_by_input = nx.descendants(dag, source) | {source}
    for node in order:
        if node not in reaches_output:
            raise ValueError(f"dangling node {node!r}: its output never reaches the output node {output!r}")
        if node not in fed_by_input:
            raise ValueError(f"dangling node {node!r}: it is not fed by the input node {source!r}")


def check_weights(graph: Graph) -> None:
    """Check that every node's weights (where it has some) have the shapes its layer expects.

    Raises:
        ValueError: naming the first node whose weights do not fit, or a
            structural error (see :func:`infer_shapes`).
    """
    graph.shapes()  # the structure first, even where no node has weights
    for node in graph.nodes:
        weights = graph.weights(node)
        if weights is None:
            continue
        layer = graph.layer(node)
        expected = [tuple(s) for s in layer.weight_shapes(graph.input_shapes(node))]
        actual = [tuple(w.shape) for w in weights]
        if actual != expected:
            raise ValueError(f"node {node!r} ({layer.type}): weights have shapes {actual}, expected {expected}")
