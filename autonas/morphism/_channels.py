"""Channel remapping: the machinery behind widening and concatenating skips.

When a layer gains output channels (Net2WiderNet) or a Concatenate brings in
new channels, every tensor downstream carries a new channel layout until a
Conv2D or Dense layer consumes it. A :class:`ChannelMap` describes that layout:
new channel ``k`` is a copy of old channel ``index[k]`` (``-1`` for a fresh
channel), and ``count[k]`` is how many new channels copy that same old channel.

Phase 1 (:func:`propagate`) finds the layout of every affected tensor, pulling
the other inputs of an Add into the same widening, and refuses what cannot be
remapped. Phase 2 (:func:`apply_maps`) rewrites specs and weights:

* producers (Conv2D/Dense whose output is remapped): kernel columns and bias
  are gathered by ``index`` (fresh columns are zero);
* BatchNormalization on a remapped tensor: its four vectors are gathered
  (fresh channels get the identity: 1, 0, 0, 1);
* consumers (Conv2D/Dense reading a remapped tensor): kernel rows are gathered
  and divided by ``count`` (fresh rows are zero), so the sum over the copies
  of a channel equals the old contribution and the function is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from autonas.graph import Graph
from autonas.graph import layers as L

__all__ = ["ChannelMap", "apply_maps", "propagate", "tied_channels"]

#: Layers that act on each channel separately: a remapped input remaps their output alike.
_CHANNELWISE = (
    L.BatchNormalization,
    L.Activation,
    L.Dropout,
    L.MaxPooling2D,
    L.AveragePooling2D,
    L.GlobalAveragePooling2D,
)
_LINEAR = (L.Conv2D, L.Dense)


@dataclass(frozen=True)
class ChannelMap:
    """New channel ``k`` copies old channel ``index[k]`` (-1: fresh); ``count[k]`` copies share it.

    ``old_width`` is the number of channels the tensor had before the change.
    """

    index: np.ndarray
    count: np.ndarray
    old_width: int

    @classmethod
    def replicate(cls, index: np.ndarray, old_width: int) -> ChannelMap:
        """Map from an index of old channels, counting the copies of each."""
        index = np.asarray(index, dtype=np.int64)
        valid = index >= 0
        count = np.ones(len(index), dtype=np.float32)
        if valid.any():
            count[valid] = np.bincount(index[valid])[index[valid]]
        return cls(index, count, old_width)

    @classmethod
    def identity(cls, width: int, offset: int = 0) -> ChannelMap:
        return cls(np.arange(width, dtype=np.int64) + offset, np.ones(width, dtype=np.float32), width)

    @property
    def width(self) -> int:
        return len(self.index)

    def same_as(self, other: ChannelMap) -> bool:
        return (
            self.old_width == other.old_width
            and np.array_equal(self.index, other.index)
            and np.array_equal(self.count, other.count)
        )

    def shifted(self, offset: int) -> ChannelMap:
        return ChannelMap(np.where(self.index >= 0, self.index + offset, -1), self.count, self.old_width)

    def flattened(self, positions: int) -> ChannelMap:
        """Layout after Flatten of a (..., channels) tensor with ``positions`` spatial positions."""
        base = np.repeat(np.arange(positions, dtype=np.int64) * self.old_width, self.width)
        tiled = np.tile(self.index, positions)
        index = np.where(tiled >= 0, base + tiled, -1)
        return ChannelMap(index, np.tile(self.count, positions), positions * self.old_width)


def _concatenated(graph: Graph, node: str, maps: dict[str, ChannelMap]) -> ChannelMap:
    parts, offset = [], 0
    for source, shape in zip(graph.inputs(node), graph.input_shapes(node)):
        part = maps[source] if source in maps else ChannelMap.identity(shape[-1])
        parts.append(part.shifted(offset))
        offset += part.old_width
    return ChannelMap(np.concatenate([p.index for p in parts]), np.concatenate([p.count for p in parts]), offset)


def _require(graph: Graph, node: str, cmap: ChannelMap, fixed: dict[str, ChannelMap], via: str) -> None:
    """Make ``node``'s output carry ``cmap`` by widening the layer that produces it."""
    layer = graph.layer(node)
    if node in fixed:
        if not fixed[node].same_as(cmap):
            raise ValueError(f"node {node!r} would need two different channel layouts (at Add {via!r})")
    elif isinstance(layer, _LINEAR):
        fixed[node] = cmap
    elif isinstance(layer, _CHANNELWISE) and not isinstance(layer, L.GlobalAveragePooling2D):
        _require(graph, graph.inputs(node)[0], cmap, fixed, via)
    elif isinstance(layer, L.Add):
        for source in graph.inputs(node):
            _require(graph, source, cmap, fixed, via)
    else:
        raise ValueError(
            f"Add {via!r} also reads {node!r} ({layer.type}), whose channels cannot be widened to match"
        )


def propagate(graph: Graph, sources: dict[str, ChannelMap]) -> tuple[dict[str, ChannelMap], dict[str, ChannelMap]]:
    """Phase 1: the channel layout of every tensor affected by ``sources``.

    Args:
        graph: The graph (already holding any new nodes, specs not yet widened).
        sources: Nodes whose output layout is given (widened layers, new Concatenates).

    Returns:
        ``(maps, fixed)``: the layout of every remapped tensor, and the nodes whose
        layout is imposed (the sources plus the layers widened to feed an Add).

    Raises:
        ValueError: if the change cannot be absorbed (it reaches the network's
            output, or an Add one of whose inputs cannot be widened alike).
    """
    fixed = dict(sources)
    while True:
        maps: dict[str, ChannelMap] = {}
        grew = False
        for node in graph.nodes:
            if node in fixed:
                maps[node] = fixed[node]
                continue
            layer = graph.layer(node)
            in_maps = [maps.get(source) for source in graph.inputs(node)]
            if not any(m is not None for m in in_maps) or isinstance(layer, _LINEAR):
                continue
            if isinstance(layer, _CHANNELWISE):
                maps[node] = in_maps[0]
            elif isinstance(layer, L.Flatten):
                maps[node] = in_maps[0].flattened(int(np.prod(graph.input_shapes(node)[0][:-1])))
            elif isinstance(layer, L.Concatenate):
                maps[node] = _concatenated(graph, node, maps)
            elif isinstance(layer, L.Add):
                reference = next(m for m in in_maps if m is not None)
                for source, cmap in zip(graph.inputs(node), in_maps):
                    if cmap is None:
                        _require(graph, source, reference, fixed, node)
                        grew = True
                    elif not cmap.same_as(reference):
                        raise ValueError(f"Add {node!r} would sum inputs with different channel layouts")
                maps[node] = reference
            else:
                raise ValueError(f"node {node!r} ({layer.type}) cannot absorb a change of its input channels")
        if not grew:
            break
    if graph.output in maps:
        raise ValueError(f"the change would alter the width of the output node {graph.output!r}")
    return maps, fixed


def tied_channels(graph: Graph, node: str, width: int) -> dict[str, np.ndarray]:
    """Which channel of ``node`` each output channel of the layers remapped with it carries.

    A change of ``node``'s ``width`` output channels can reach an Add whose
    other inputs must change alike (the ``fixed`` layers of :func:`propagate`).
    When it reaches the Add through a Concatenate, such a layer is wider than
    ``node`` and only the channels at ``node``'s offset are tied to it.

    Two propagations find the ties: with every channel of ``node`` kept, each
    position of a fixed layer's layout names that layer's old channel; with
    every channel of ``node`` fresh, the positions that hold ``node``'s
    channels are the fresh ones. Channelwise layers, Concatenate and Flatten
    keep the order of a tensor's channels, so the ``k``-th such position
    carries ``node``'s channel ``k mod width``.

    Args:
        graph: The graph, unchanged.
        node: The layer whose output channels change.
        width: Its number of output channels.

    Returns:
        For ``node`` and each layer remapped with it: per output channel of
        that layer, the channel of ``node`` it is tied to, or -1 if none.

    Raises:
        ValueError: as :func:`propagate`, if ``node``'s layout cannot change.
    """
    _, kept = propagate(graph, {node: ChannelMap.identity(width)})
    fresh_map = ChannelMap(np.full(width, -1, dtype=np.int64), np.ones(width, dtype=np.float32), width)
    _, fresh = propagate(graph, {node: fresh_map})
    tied = {}
    for member, cmap in kept.items():
        carried = fresh[member].index < 0
        origin = np.full(cmap.old_width, -1, dtype=np.int64)
        origin[cmap.index[carried]] = np.arange(np.count_nonzero(carried)) % width
        tied[member] = origin
    return tied


def _zero_sum_noise(shape: tuple[int, ...], groups: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Noise along axis -2 (the channel axis) that sums to zero within each group of copies."""
    noise = rng.normal(0.0, scale, size=shape).astype(np.float32)
    for group in np.unique(groups[groups >= 0]):
        members = np.flatnonzero(groups == group)
        if len(members) > 1:
            noise[..., members, :] -= noise[..., members, :].mean(axis=-2, keepdims=True)
        else:
            noise[..., members, :] = 0.0
    noise[..., groups < 0, :] = 0.0
    return noise


def _gather_rows(kernel: np.ndarray, cmap: ChannelMap, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Rows (input axis, -2) of a consumer's kernel for the new layout."""
    rows = kernel[..., np.maximum(cmap.index, 0), :] / cmap.count[:, None]
    rows[..., cmap.index < 0, :] = 0.0
    if noise > 0:
        scale = noise * float(np.std(kernel) or 1.0)
        rows += _zero_sum_noise(rows.shape, cmap.index, scale, rng)
    return rows.astype(np.float32)


def _gather_columns(array: np.ndarray, cmap: ChannelMap, fresh_value: float = 0.0) -> np.ndarray:
    """Entries along the last axis for the new layout (fresh entries set to ``fresh_value``)."""
    out = array[..., np.maximum(cmap.index, 0)].copy()
    out[..., cmap.index < 0] = fresh_value
    return out


def apply_maps(
    graph: Graph,
    maps: dict[str, ChannelMap],
    fixed: dict[str, ChannelMap],
    rng: np.random.Generator,
    noise: float = 0.0,
) -> None:
    """Phase 2: rewrite specs and weights of ``graph`` in place for the layouts found."""
    for node in graph.nodes:
        layer = graph.layer(node)
        weights = graph.weights(node)
        weights = None if weights is None else [w.copy() for w in weights]
        if isinstance(layer, _LINEAR):
            in_map = maps.get(graph.inputs(node)[0])
            out_map = fixed.get(node)
            if in_map is None and out_map is None:
                continue
            if weights is not None:
                if in_map is not None:
                    weights[0] = _gather_rows(weights[0], in_map, noise, rng)
                if out_map is not None:
                    weights = [_gather_columns(w, out_map) for w in weights]
            if out_map is not None:
                field = "filters" if isinstance(layer, L.Conv2D) else "units"
                layer = replace(layer, **{field: out_map.width})
            graph.set_layer(node, layer, weights)
        elif isinstance(layer, L.BatchNormalization) and node in maps and weights is not None:
            identity = (1.0, 0.0, 0.0, 1.0)  # gamma, beta, moving mean, moving variance
            graph.set_weights(node, [_gather_columns(w, maps[node], v) for w, v in zip(weights, identity)])
