"""What a :class:`~autonas.graph.Graph` costs and how it is told apart: parameters, MACs,
fingerprint and summary table. The :class:`~autonas.graph.Graph` methods of the same names delegate here."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # graph.py imports this module: no import back
    from autonas.graph.graph import Graph

__all__ = ["fingerprint", "macs", "num_params", "summary"]


def num_params(graph: Graph) -> int:
    """Number of scalars in all weights of ``graph`` (equals Keras's ``count_params()``)."""
    shapes = graph.shapes()
    total = 0
    for node in graph.nodes:
        for shape in graph.layer(node).weight_shapes([shapes[s] for s in graph.inputs(node)]):
            total += int(np.prod(shape))
    return total


def macs(graph: Graph) -> int:
    """Multiply-accumulates per example of the Conv2D and Dense layers of ``graph``."""
    shapes = graph.shapes()
    return sum(graph.layer(n).macs([shapes[s] for s in graph.inputs(n)]) for n in graph.nodes)


def fingerprint(graph: Graph) -> str:
    """A hash of the architecture of ``graph``, independent of node names and insertion order.

    See :meth:`~autonas.graph.Graph.fingerprint` for how it is built.
    """
    node_hash: dict[str, str] = {}
    for node in graph.nodes:
        layer = graph.layer(node)
        inputs = [node_hash[s] for s in graph.inputs(node)]
        if layer.type == "Add":
            inputs.sort()
        text = json.dumps([layer.to_config(), inputs], sort_keys=True)
        node_hash[node] = hashlib.sha256(text.encode()).hexdigest()
    text = json.dumps([node_hash[graph.output], sorted(node_hash.values())])
    return hashlib.sha256(text.encode()).hexdigest()


def summary(graph: Graph) -> str:
    """A table of the nodes of ``graph``: name, layer, output shape, inputs; then params and MACs."""
    shapes = graph.shapes()
    rows = [f"{n:<28} {graph.layer(n).type:<24} {str(shapes[n]):<16} {', '.join(graph.inputs(n))}" for n in graph.nodes]
    header = f"{'node':<28} {'layer':<24} {'output shape':<16} inputs"
    footer = f"params: {graph.num_params():,}  MACs: {graph.macs():,}"
    return "\n".join([header, *rows, footer])
