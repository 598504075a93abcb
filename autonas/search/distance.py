"""The neural-network edit distance between architectures (Auto-Keras, KDD 2019, §3.2).

A graph is read as two things (its :class:`Descriptor`):

* **layers**: its weighted layers (Conv2D, Dense) on the main path, in a
  canonical topological order (by the number of weighted layers before them,
  ties broken by a structural hash, never by node names);
* **skips**: one entry per extra input of each Add or Concatenate, as
  ``(source position, length, kind)``. The position is the number of weighted
  layers before the branch point, the length the number of main-path weighted
  layers the skip jumps over. Layers on the skip branch itself (the 1×1
  projection of an add-skip, the shortcut conv of a ResNet block) belong to the
  skip, not to the layer sequence.

* **extras**: the layers that act only while training, one entry each:
  ``(place, strength, kind)`` for each Dropout (place 1 on flat tensors, 0 on
  images, so that growing the network elsewhere leaves it alike; the rate in
  tenths) and each augmentation (place 0, the factor in twentieths; one kind
  per transformation).

The distance is ``D_layers + skip_weight · D_skips + 0.5 · D_extras``:

* ``D_layers`` is the cheapest order-preserving matching of the two layer
  sequences (the paper's matching is constrained to keep the topological order),
  found exactly by dynamic programming: an unmatched layer costs 1, a matched
  pair ``|w1 − w2| / max(w1, w2)`` for layers of one kind and configuration,
  at least 0.5 when kernel, strides or input resolution differ, and 1 across
  kinds. An order-free (Hungarian) matching would call ``[32, 64, 128]`` and
  ``[128, 64, 32]`` the same network.
* ``D_skips`` is the cheapest matching of the two sets of skips (they have no
  order), found with the Hungarian algorithm
  (:func:`scipy.optimize.linear_sum_assignment`): a pair of one kind costs
  ``(|u1 − u2| + |l1 − l2|) / (max(u1, u2) + max(l1, l2))``, of two kinds 1, and
  every unmatched skip 1.
* ``D_extras`` is the same matching as ``D_skips`` over the extras: adding
  a dropout or an augmentation costs half as much as adding a layer.

All parts are zero exactly for equal descriptors, symmetric and non-negative.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import linear_sum_assignment

from autonas.graph import Graph
from autonas.graph import layers as L

__all__ = ["Descriptor", "describe", "edit_distance", "pairwise_distances"]

_CONV, _DENSE = 0, 1
_ADD, _CONCAT = 0, 1
_DROPOUT, _AUGMENTATION = 2, 3  # one extra kind per transformation from _AUGMENTATION on
#: Weight of the extras (dropout, augmentation) in the distance.
_EXTRA_WEIGHT = 0.5
#: Least cost of matching two layers of one kind whose configuration differs.
_CONFIG_MISMATCH = 0.5


@dataclass(frozen=True)
class Descriptor:
    """What the edit distance sees of a graph.

    Attributes:
        layers: ``(kind, width, config)`` of each main-path weighted layer in
            canonical topological order; kind 0 is Conv2D, 1 Dense; ``config``
            is an int standing for kernel size, strides and input resolution.
        skips: ``(position, length, kind)`` of each skip connection, sorted;
            kind 0 is Add, 1 Concatenate.
        extras: ``(place, strength, kind)`` of each Dropout (kind 2) and
            augmentation (kind 3 + its index in ``AUGMENTATIONS``), sorted.
    """

    layers: tuple[tuple[int, int, int], ...]
    skips: tuple[tuple[int, int, int], ...]
    extras: tuple[tuple[int, int, int], ...] = ()


def _stable_hash(*parts: object) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2  # fits an int64


def _config_key(graph: Graph, node: str) -> int:
    layer = graph.layer(node)
    if isinstance(layer, L.Conv2D):
        height, width = graph.input_shapes(node)[0][:2]
        return _stable_hash(layer.kernel_size, layer.strides, layer.padding, height, width)
    return 0


def describe(graph: Graph) -> Descriptor:
    """The layer sequence and skip connections of ``graph`` (see the module docstring).

    Independent of node names: graphs with one fingerprint have one descriptor.
    """
    order = graph.nodes
    consumers = {node: 0 for node in order}
    for node in order:
        for source in graph.inputs(node):
            consumers[source] += 1
    node_hash = _node_hashes(graph)

    def branch(start: str) -> tuple[str, list[str], int]:
        """Walk back from a merge input through single-use, single-input nodes.

        Returns the branch point, the weighted nodes passed and the nodes passed.
        """
        weighted, steps, node = [], 0, start
        while True:
            layer = graph.layer(node)
            if consumers[node] != 1 or layer.merges or isinstance(layer, L.Input):
                return node, weighted, steps
            if isinstance(layer, (L.Conv2D, L.Dense)):
                weighted.append(node)
            steps += 1
            node = graph.inputs(node)[0]

    depth: dict[str, int] = {}
    on_skip_branch: set[str] = set()
    skips: list[tuple[int, int, int]] = []
    for node in order:
        layer = graph.layer(node)
        inputs = graph.inputs(node)
        if not inputs:
            depth[node] = 0
        elif layer.merges and len(inputs) > 1:
            branches = [branch(source) for source in inputs]
            main = max(
                range(len(inputs)),
                key=lambda i: (len(branches[i][1]), branches[i][2], depth[inputs[i]], node_hash[inputs[i]]),
            )
            depth[node] = depth[inputs[main]]
            kind = _ADD if isinstance(layer, L.Add) else _CONCAT
            for i, (point, weighted, _) in enumerate(branches):
                if i == main:
                    continue
                on_skip_branch.update(weighted)
                skips.append((depth[point], max(0, depth[node] - depth[point]), kind))
        else:
            depth[node] = max(depth[source] for source in inputs) + isinstance(layer, (L.Conv2D, L.Dense))

    weighted_nodes = [
        n for n in order if isinstance(graph.layer(n), (L.Conv2D, L.Dense)) and n not in on_skip_branch
    ]
    weighted_nodes.sort(key=lambda n: (depth[n], node_hash[n]))
    layers = tuple(
        (
            _CONV if isinstance(graph.layer(n), L.Conv2D) else _DENSE,
            int(graph.shape(n)[-1]),
            _config_key(graph, n),
        )
        for n in weighted_nodes
    )
    return Descriptor(layers=layers, skips=tuple(sorted(skips)), extras=tuple(sorted(_extras(graph))))


def _node_hashes(graph: Graph) -> dict[str, int]:
    """A hash of each node's layer and, recursively, its inputs (an Add's in any order): names play no part."""
    node_hash: dict[str, int] = {}
    for node in graph.nodes:
        layer = graph.layer(node)
        inputs = [node_hash[source] for source in graph.inputs(node)]
        if isinstance(layer, L.Add):
            inputs.sort()
        node_hash[node] = _stable_hash(repr(layer), inputs)
    return node_hash


def _extras(graph: Graph) -> list[tuple[int, int, int]]:
    """The layers that act only while training: each dropout (flat or not, rate) and augmentation (strength, kind)."""
    extras = []
    for node in graph.nodes:
        layer = graph.layer(node)
        if isinstance(layer, L.Dropout):
            extras.append((int(len(graph.shape(node)) == 1), round(10 * layer.rate), _DROPOUT))
        elif isinstance(layer, L.Augmentation):
            extras.append((0, round(20 * layer.factor), _AUGMENTATION + L.AUGMENTATIONS.index(layer.transform)))
    return extras


# ---------------------------------------------------------------------------- layers


def _pack(sequences: Sequence[tuple[tuple[int, int, int], ...]]) -> tuple[np.ndarray, ...]:
    """Pad layer sequences into arrays: kinds, widths, configs (-1 padding) and lengths."""
    count, longest = len(sequences), max((len(s) for s in sequences), default=0)
    kinds = np.full((count, longest), -1, dtype=np.int64)
    widths = np.ones((count, longest), dtype=np.float64)
    configs = np.zeros((count, longest), dtype=np.int64)
    for i, sequence in enumerate(sequences):
        if sequence:
            array = np.asarray(sequence, dtype=np.int64)
            kinds[i, : len(sequence)] = array[:, 0]
            widths[i, : len(sequence)] = array[:, 1]
            configs[i, : len(sequence)] = array[:, 2]
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    return kinds, widths, configs, lengths


def _layer_distances(rows: Sequence[tuple], cols: Sequence[tuple]) -> np.ndarray:
    """Order-preserving matching cost between every row and column sequence (vectorised DP).

    ``D[i, j] = min(D[i-1, j] + 1, D[i, j-1] + 1, D[i-1, j-1] + c(a_i, b_j))``;
    within a row the insertion chain is solved at once with a running minimum:
    ``D[i, j] = j + min_{k <= j}(E[k] - k)`` where ``E`` holds the other two terms.
    """
    a_kind, a_width, a_config, a_len = _pack(rows)
    b_kind, b_width, b_config, b_len = _pack(cols)
    n_rows, n_cols, longest_b = len(rows), len(cols), b_kind.shape[1]
    steps = np.arange(longest_b + 1, dtype=np.float64)
    table = np.broadcast_to(steps, (n_rows, n_cols, longest_b + 1)).copy()
    result = np.where(a_len[:, None] == 0, b_len[None, :].astype(np.float64), 0.0)
    gather = np.broadcast_to(b_len, (n_rows, n_cols))[..., None]
    for i in range(a_kind.shape[1]):
        same_kind = a_kind[:, i, None, None] == b_kind[None, :, :]
        ratio = np.abs(a_width[:, i, None, None] - b_width[None, :, :]) / np.maximum(
            a_width[:, i, None, None], b_width[None, :, :]
        )
        mismatch = np.where(a_config[:, i, None, None] != b_config[None, :, :], _CONFIG_MISMATCH, 0.0)
        cost = np.where(same_kind, np.maximum(ratio, mismatch), 1.0)
        extend = np.empty_like(table)
        extend[..., 0] = i + 1
        extend[..., 1:] = np.minimum(table[..., 1:] + 1.0, table[..., :-1] + cost)
        table = np.minimum.accumulate(extend - steps, axis=-1) + steps
        done = a_len == i + 1
        if done.any():
            result[done] = np.take_along_axis(table[done], gather[done], axis=-1)[..., 0]
    return result


# ---------------------------------------------------------------------------- skips


@lru_cache(maxsize=1 << 16)
def _skip_distance(a: tuple[tuple[int, int, int], ...], b: tuple[tuple[int, int, int], ...]) -> float:
    if not a or not b:
        return float(len(a) + len(b))
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    du = np.abs(x[:, None, 0] - y[None, :, 0])
    dl = np.abs(x[:, None, 1] - y[None, :, 1])
    scale = np.maximum(x[:, None, 0], y[None, :, 0]) + np.maximum(x[:, None, 1], y[None, :, 1])
    cost = np.divide(du + dl, scale, out=np.zeros_like(scale), where=scale > 0)
    cost = np.where(x[:, None, 2] == y[None, :, 2], cost, 1.0)
    row, col = linear_sum_assignment(cost)
    return float(cost[row, col].sum()) + abs(len(a) - len(b))


def _skip_distances(rows: Sequence[tuple], cols: Sequence[tuple]) -> np.ndarray:
    out = np.empty((len(rows), len(cols)))
    for i, a in enumerate(rows):
        for j, b in enumerate(cols):
            out[i, j] = _skip_distance(*((a, b) if a <= b else (b, a)))
    return out


# ---------------------------------------------------------------------------- public


def _unique(items: Sequence) -> tuple[list, np.ndarray]:
    index: dict = {}
    positions = np.array([index.setdefault(item, len(index)) for item in items], dtype=np.int64)
    return list(index), positions


def pairwise_distances(
    rows: Sequence[Descriptor | Graph],
    cols: Sequence[Descriptor | Graph],
    *,
    skip_weight: float = 1.0,
) -> np.ndarray:
    """Edit distances between every row and every column architecture.

    Args:
        rows: Graphs or their descriptors.
        cols: Graphs or their descriptors.
        skip_weight: Weight of the skip-connection term (default 1.0).

    Returns:
        An array of shape ``(len(rows), len(cols))``.
    """
    rows = [r if isinstance(r, Descriptor) else describe(r) for r in rows]
    cols = [c if isinstance(c, Descriptor) else describe(c) for c in cols]
    if not rows or not cols:
        return np.zeros((len(rows), len(cols)))
    row_layers, row_at = _unique([r.layers for r in rows])
    col_layers, col_at = _unique([c.layers for c in cols])
    layer_part = _layer_distances(row_layers, col_layers)[np.ix_(row_at, col_at)]
    row_skips, row_skip_at = _unique([r.skips for r in rows])
    col_skips, col_skip_at = _unique([c.skips for c in cols])
    skip_part = _skip_distances(row_skips, col_skips)[np.ix_(row_skip_at, col_skip_at)]
    row_extras, row_extra_at = _unique([r.extras for r in rows])
    col_extras, col_extra_at = _unique([c.extras for c in cols])
    extra_part = _skip_distances(row_extras, col_extras)[np.ix_(row_extra_at, col_extra_at)]
    return layer_part + skip_weight * skip_part + _EXTRA_WEIGHT * extra_part


def edit_distance(g1: Graph | Descriptor, g2: Graph | Descriptor, *, skip_weight: float = 1.0) -> float:
    """The neural-network edit distance between two architectures.

    Args:
        g1: A graph or its :class:`Descriptor`.
        g2: A graph or its :class:`Descriptor`.
        skip_weight: Weight of the skip-connection term (default 1.0).

    Returns:
        A non-negative float: 0 for equal architectures, symmetric in its arguments.
    """
    return float(pairwise_distances([g1], [g2], skip_weight=skip_weight)[0, 0])
