"""Shrinking edits of a :class:`~autonas.graph.Graph`: fewer channels, fewer layers, fewer skips.

Unlike the growing operators these do not preserve the function: they keep
most of the parent's weights and drop the least important part (in the spirit
of NetAdapt's channel and depth reduction). The search records how much a
child's outputs moved (see :func:`output_change`) and trains such children at
the initial learning rate. They are what a size- or energy-penalising objective
needs to find networks smaller than the initial ones.

* :func:`to_narrower`: remove the ``n`` output channels of a Conv2D or Dense
  layer with the smallest L1 norm, with the matching BatchNormalization
  entries, the rows of the layers that read them, Concatenate offsets and the
  same channels on every side of an Add.
* :func:`to_shallower`: remove a Conv2D/Dense block (``linear → [BN] → [act]``)
  whose output has its input's shape: its consumers read the block's input.
* :func:`to_removed_skip`: drop one input of an Add or Concatenate, and the
  branch that fed only it.
"""

from __future__ import annotations

import numpy as np

from autonas.graph import Graph
from autonas.graph import layers as L
from autonas.morphism._channels import ChannelMap, apply_maps, propagate, tied_channels

__all__ = ["output_change", "skip_inputs", "to_narrower", "to_removed_skip", "to_shallower"]

_LINEAR = (L.Conv2D, L.Dense)
_BLOCK_TAIL = (L.BatchNormalization, L.Activation, L.Dropout)


def _column_norms(graph: Graph, node: str) -> np.ndarray | None:
    """L1 norm of each output channel's kernel column, relative to the layer's mean (None without weights)."""
    weights = graph.weights(node)
    if weights is None:
        return None
    kernel = weights[0]
    norms = np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0).astype(np.float64)
    return norms / max(float(norms.mean()), 1e-12)


def _importance(graph: Graph, tied: dict[str, np.ndarray], width: int) -> np.ndarray | None:
    """Importance of each of the ``width`` channels of the narrowed layer (None without weights).

    The relative L1 norms of the kernel columns tied to a channel (see
    :func:`~autonas.morphism._channels.tied_channels`), summed over the layers
    narrowed together. A layer that reaches a shared Add through a
    Concatenate is wider: only its columns at the narrowed layer's offset count.
    """
    importance = np.zeros(width)
    for member, origin in tied.items():
        norms = _column_norms(graph, member)
        if norms is None:
            return None
        carried = origin >= 0
        np.add.at(importance, origin[carried], norms[carried])
    return importance


def _kept_channels(graph: Graph, node: str, keep: int) -> np.ndarray:
    """The ``keep`` most important output channels of ``node``, in order (without weights, the first ones).

    Raises:
        ValueError: if ``node``'s channels cannot change (see :func:`propagate`).
    """
    width = graph.shape(node)[-1]
    importance = _importance(graph, tied_channels(graph, node, width), width)
    if importance is None:
        return np.arange(keep)
    return np.sort(np.argsort(-importance, kind="stable")[:keep])


def to_narrower(graph: Graph, node: str, n: int) -> Graph:
    """Remove the ``n`` least important output channels of the Conv2D or Dense ``node``.

    Importance is the L1 norm of a channel's kernel column; when ``node`` feeds
    an Add, the layers feeding the same Add lose the same channels and the
    norms of all of them are summed (a layer that meets ``node``'s channels
    behind a Concatenate loses, and counts, only the columns at their offset).
    Without weights the last ``n`` go.

    Raises:
        ValueError: naming ``node`` if it is not Conv2D/Dense, ``n`` is not in
            ``[1, width)``, or the change would reach the output or an Add
            input that cannot be narrowed alike.
    """
    layer = graph.layer(node)
    if not isinstance(layer, _LINEAR):
        raise ValueError(f"cannot narrow node {node!r}: it is a {layer.type}, not Conv2D or Dense")
    width = graph.shape(node)[-1]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n < width:
        raise ValueError(f"cannot narrow node {node!r} by {n!r} channels: it has {width}; remove 1 to {width - 1}")
    child = graph.copy()
    try:
        keep = _kept_channels(graph, node, width - n)
        maps, fixed = propagate(child, {node: ChannelMap.replicate(keep, width)})
    except ValueError as error:
        raise ValueError(f"cannot narrow node {node!r}: {error}") from None
    apply_maps(child, maps, fixed, np.random.default_rng(0))
    return child.validate()


def _block(graph: Graph, node: str) -> list[str]:
    """``node`` and the BatchNormalization / activation / dropout nodes that only it feeds, in order."""
    block = [node]
    while len(graph.consumers(block[-1])) == 1:
        after = graph.consumers(block[-1])[0]
        if not isinstance(graph.layer(after), _BLOCK_TAIL):
            break
        block.append(after)
        if isinstance(graph.layer(after), L.Activation):
            break
    return block


def _prune(graph: Graph) -> None:
    """Remove the nodes whose output no longer reaches the network's output."""
    while True:
        dead = [
            n for n in graph.nodes
            if n != graph.output and not graph.consumers(n) and not isinstance(graph.layer(n), L.Input)
        ]
        if not dead:
            return
        for node in dead:
            graph.remove_node(node)


def to_shallower(graph: Graph, node: str) -> Graph:
    """Remove the block that starts at the Conv2D or Dense ``node``.

    The block is ``node`` and the BatchNormalization, activation and dropout
    layers that follow it alone; its output must have its input's shape (e.g.
    a block :func:`~autonas.morphism.to_deeper` inserted). The consumers of the
    block then read its input.

    Raises:
        ValueError: naming ``node`` if it is not Conv2D/Dense, the block
            changes the shape or ends at the output, or removing it would feed
            one tensor twice into a merge.
    """
    layer = graph.layer(node)
    if not isinstance(layer, _LINEAR):
        raise ValueError(f"cannot remove the block at node {node!r}: it is a {layer.type}, not Conv2D or Dense")
    block = _block(graph, node)
    end, source = block[-1], graph.inputs(node)[0]
    if graph.output in block:
        raise ValueError(f"cannot remove the block at node {node!r}: it ends at the output")
    if graph.shape(source) != graph.shape(end):
        raise ValueError(
            f"cannot remove the block at node {node!r}: it maps {graph.shape(source)} to {graph.shape(end)}; "
            "only a block that keeps the shape can go"
        )
    for consumer in graph.consumers(end):
        if source in graph.inputs(consumer):
            raise ValueError(f"cannot remove the block at node {node!r}: {consumer!r} would read {source!r} twice")
    child = graph.copy()
    for consumer in child.consumers(end):
        child.replace_input(consumer, end, source)
    _prune(child)
    return child.validate()


def _branch_weighted(graph: Graph, start: str) -> int:
    """Weighted layers on the branch ending at ``start`` (walking back through single-use nodes)."""
    count, current = 0, start
    while len(graph.consumers(current)) == 1 and not graph.layer(current).merges and graph.inputs(current):
        count += isinstance(graph.layer(current), _LINEAR)
        current = graph.inputs(current)[0]
    return count


def skip_inputs(graph: Graph, node: str) -> list[str]:
    """The inputs of the merge ``node`` that are skips: those on the branches with the fewest weighted layers.

    A ResNet shortcut or an added 1×1 projection is shorter than the main path;
    when all branches are alike, every input counts.
    """
    inputs = list(dict.fromkeys(graph.inputs(node)))
    lengths = [_branch_weighted(graph, source) for source in inputs]
    shortest = min(lengths, default=0)
    return [source for source, length in zip(inputs, lengths) if length == shortest]


def to_removed_skip(graph: Graph, node: str, source: str) -> Graph:
    """Drop the input ``source`` of the Add or Concatenate ``node``.

    The branch that fed only that input goes with it. For a Concatenate, the
    channels ``source`` brought are removed from every layer that read them.

    Raises:
        ValueError: naming the nodes if ``node`` is not a merge or ``source``
            is not one of its inputs, or (Concatenate) the change would reach
            the output.
    """
    layer = graph.layer(node)
    if not layer.merges:
        raise ValueError(f"cannot remove a skip at node {node!r}: it is a {layer.type}, not Add or Concatenate")
    inputs = list(graph.inputs(node))
    if source not in inputs:
        raise ValueError(f"cannot remove a skip at node {node!r}: {source!r} is not one of its inputs {inputs}")
    if inputs.count(source) > 1:
        raise ValueError(f"cannot remove a skip at node {node!r}: {source!r} enters it more than once")
    child = graph.copy()
    if isinstance(layer, L.Concatenate):
        parts, offset = [], 0
        for name, shape in zip(inputs, graph.input_shapes(node)):
            if name != source:
                parts.append(np.arange(shape[-1]) + offset)
            offset += shape[-1]
        layout = ChannelMap.replicate(np.concatenate(parts), offset)
        try:
            maps, fixed = propagate(child, {node: layout})
        except ValueError as error:
            raise ValueError(f"cannot remove the skip {source!r} → {node!r}: {error}") from None
        apply_maps(child, maps, fixed, np.random.default_rng(0))
    rest = [name for name in inputs if name != source]
    if len(rest) == 1:
        for consumer in child.consumers(node):
            child.replace_input(consumer, node, rest[0])
        if child.output == node:
            child.output = rest[0]
    else:
        child.set_inputs(node, rest)
    _prune(child)
    return child.validate()


def output_change(parent: Graph, child: Graph, x: np.ndarray) -> float:
    """The largest change of any output (class probability) on the batch ``x``, at inference.

    Both graphs need weights; their Keras models are built to compare.
    """
    before = parent.to_keras().predict(x, verbose=0)
    after = child.to_keras().predict(x, verbose=0)
    return float(np.max(np.abs(np.asarray(after, np.float64) - np.asarray(before, np.float64))))
