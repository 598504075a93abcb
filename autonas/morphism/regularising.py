"""Edits that are identities at inference: dropout and data augmentation.

Dropout and Keras's random image layers change what a network sees while it
trains and nothing at inference, so adding one is an exact morphism of the
trained function; whether it helps (flips are wrong for digits and text) is
for the search to find out.
"""

from __future__ import annotations

from autonas.graph import Graph
from autonas.graph import layers as L

__all__ = ["DEFAULT_FACTORS", "augmentation_chain", "dropout_rate", "to_augmented", "to_dropout"]

#: Strength of each augmentation the search proposes.
DEFAULT_FACTORS = {"flip": 0.1, "translate": 0.1, "zoom": 0.1, "contrast": 0.2}


def dropout_rate(graph: Graph, node: str) -> float:
    """The rate proposed after ``node``: 0.5 on flat tensors, 0.2 on images."""
    return 0.5 if len(graph.shape(node)) == 1 else 0.2


def to_dropout(graph: Graph, node: str, rate: float) -> Graph:
    """Insert ``Dropout(rate)`` after ``node``: every consumer of ``node`` reads the dropout.

    Raises:
        ValueError: naming ``node`` if it is the input or the output, already
            feeds a Dropout, or ``rate`` is not in (0, 1).
    """
    layer = graph.layer(node)
    if isinstance(layer, (L.Input, L.Dropout, L.Augmentation)) or node == graph.output:
        raise ValueError(f"cannot add dropout after node {node!r} ({layer.type}): not after the input, output or a dropout")
    if any(isinstance(graph.layer(c), L.Dropout) for c in graph.consumers(node)):
        raise ValueError(f"cannot add dropout after node {node!r}: it already feeds a Dropout")
    if not 0.0 < float(rate) < 1.0:
        raise ValueError(f"cannot add dropout after node {node!r}: rate must be in (0, 1), got {rate!r}")
    child = graph.copy()
    consumers = child.consumers(node)
    dropout = child.add_layer(L.Dropout(float(rate)), [node])
    for consumer in consumers:
        child.replace_input(consumer, node, dropout)
    return child.validate()


def augmentation_chain(graph: Graph) -> list[str]:
    """The Augmentation nodes that follow the input one after the other."""
    chain, node = [], graph.input_node
    while len(graph.consumers(node)) == 1 and isinstance(graph.layer(graph.consumers(node)[0]), L.Augmentation):
        node = graph.consumers(node)[0]
        chain.append(node)
    return chain


def to_augmented(graph: Graph, transform: str, factor: float | None = None) -> Graph:
    """Add the random image transformation ``transform`` right after the input.

    The chain of augmentations after the input is kept in the order of
    :data:`~autonas.graph.layers.AUGMENTATIONS`, so one set of augmentations
    is one architecture whatever order it was added in.

    Args:
        graph: The parent graph; its input must be an image.
        transform: One of :data:`~autonas.graph.layers.AUGMENTATIONS`.
        factor: Strength; default :data:`DEFAULT_FACTORS`.

    Raises:
        ValueError: for an unknown transform, a flat input, or a transform
            the chain already has.
    """
    spec = L.Augmentation(transform, DEFAULT_FACTORS.get(transform, 0.1) if factor is None else factor)
    if len(graph.input_shape or ()) != 3:
        raise ValueError(f"cannot add augmentation {transform!r}: the input {graph.input_shape} is not an image")
    chain = augmentation_chain(graph)
    if any(graph.layer(node).transform == transform for node in chain):
        raise ValueError(f"cannot add augmentation {transform!r}: the network already has it")
    rank = L.AUGMENTATIONS.index(transform)
    after = graph.input_node
    for node in chain:
        if L.AUGMENTATIONS.index(graph.layer(node).transform) < rank:
            after = node
    child = graph.copy()
    consumers = child.consumers(after)
    new = child.add_layer(spec, [after])
    for consumer in consumers:
        child.replace_input(consumer, after, new)
    return child.validate()
