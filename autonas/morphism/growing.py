"""Function-preserving edits of a :class:`~autonas.graph.Graph`.

Each operator returns a new graph (the argument is left untouched). When the
graph carries weights, the new graph's weights make it compute the same
function at inference (float32 round-off aside); without weights only the
architecture changes.

Optional noise breaks the symmetry of copied units so they can drift apart
during training:

* :func:`to_wider`: zero-sum noise on the outgoing weights of each group of
  copies, with standard deviation ``noise × std(kernel)``. The copies of a unit
  compute the same value, so the function is still preserved exactly.
* :func:`to_deeper`: Gaussian noise with standard deviation ``noise / fan_in``
  on the identity kernel ``I``. A new conv then computes ``(I + E) * x``: each
  output changes by at most ``‖E‖₁ · max|x|``, about ``noise · max|x|``, before
  the layers that follow.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from autonas.graph import Graph
from autonas.graph import layers as L
from autonas.morphism._channels import ChannelMap, apply_maps, propagate

__all__ = [
    "MAX_WIDTH",
    "deeper_site",
    "is_non_negative",
    "to_add_skip",
    "to_concat_skip",
    "to_deeper",
    "to_wider",
]

#: The widest layer :func:`to_wider` will make.
MAX_WIDTH = 1024

_POSITIVE_PASSTHROUGH = (L.MaxPooling2D, L.AveragePooling2D, L.GlobalAveragePooling2D, L.Flatten, L.Dropout)


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def is_non_negative(graph: Graph, node: str) -> bool:
    """Whether ``node``'s output is known to be ≥ 0 whatever the input (after a ReLU)."""
    layer = graph.layer(node)
    if isinstance(layer, L.Activation):
        return layer.activation in ("relu", "softmax", "sigmoid")
    if isinstance(layer, _POSITIVE_PASSTHROUGH):
        return is_non_negative(graph, graph.inputs(node)[0])
    if isinstance(layer, (L.Add, L.Concatenate)):
        return all(is_non_negative(graph, source) for source in graph.inputs(node))
    return False


def deeper_site(graph: Graph, node: str) -> str:
    """The node after which :func:`to_deeper` inserts for a request at ``node``.

    A Conv2D or Dense node resolves to the ReLU that ends its block
    (``conv → [BN] → ReLU``); any other node must itself be non-negative.

    Raises:
        ValueError: if there is no non-negative output to insert after.
    """
    layer = graph.layer(node)
    site = node
    if isinstance(layer, (L.Conv2D, L.Dense)):
        while len(graph.consumers(site)) == 1 and isinstance(
            graph.layer(graph.consumers(site)[0]), (L.BatchNormalization, L.Activation)
        ):
            site = graph.consumers(site)[0]
            if isinstance(graph.layer(site), L.Activation):
                break
    if not is_non_negative(graph, site) or isinstance(graph.layer(site), L.Input):
        raise ValueError(
            f"cannot deepen at node {node!r}: the new layer's input must be non-negative (after a ReLU)"
        )
    if site == graph.output:
        raise ValueError(f"cannot deepen after the output node {node!r}")
    return site


def _redirect_consumers(graph: Graph, old: str, new: str, keep: set[str]) -> None:
    """Make every consumer of ``old`` except those in ``keep`` read ``new`` instead."""
    for consumer in graph.consumers(old):
        if consumer not in keep:
            graph.replace_input(consumer, old, new)


def to_deeper(
    graph: Graph,
    node: str,
    kernel_size: int = 3,
    *,
    noise: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> Graph:
    """Insert an identity block after ``node``.

    On an image tensor the block is Conv2D (``kernel_size``, same padding,
    identity kernel) + BatchNormalization (identity at inference) + ReLU; on a
    flat tensor it is Dense (identity matrix) + ReLU. The ReLU is the identity
    because its input is non-negative: see :func:`deeper_site`.

    Args:
        graph: The parent graph.
        node: A Conv2D/Dense node (the block after its ReLU is deepened) or a
            non-negative node.
        kernel_size: Odd kernel size of the new convolution.
        noise: Relative noise on the identity kernel (0: exact).
        rng: Random generator or seed for the noise.

    Returns:
        The deeper graph.

    Raises:
        ValueError: if ``node`` does not exist, is not after a ReLU, or
            ``kernel_size`` is not a positive odd int.
    """
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
    site = deeper_site(graph, node)
    child = graph.copy()
    shape = graph.shape(site)
    width = shape[-1]
    has_weights = graph.has_weights
    rng = _generator(rng)
    if len(shape) == 3:
        kernel = np.zeros((kernel_size, kernel_size, width, width), dtype=np.float32)
        kernel[kernel_size // 2, kernel_size // 2] = np.eye(width, dtype=np.float32)
        fan_in = kernel_size * kernel_size * width
        linear: L.LayerSpec = L.Conv2D(width, kernel_size, 1, "same")
    elif len(shape) == 1:
        kernel = np.eye(width, dtype=np.float32)
        fan_in = width
        linear = L.Dense(width)
    else:
        raise ValueError(f"cannot deepen at node {node!r}: output shape {shape} is neither an image nor flat")
    if noise > 0:
        kernel += rng.normal(0.0, noise / fan_in, size=kernel.shape).astype(np.float32)
    weights = [kernel, np.zeros(width, dtype=np.float32)] if has_weights else None
    first = x = child.add_layer(linear, [site], weights=weights)
    if len(shape) == 3:
        bn = L.BatchNormalization()
        bn_weights = [np.ones(width), np.zeros(width), np.zeros(width), np.full(width, 1.0 - bn.epsilon)]
        x = child.add_layer(bn, [x], weights=bn_weights if has_weights else None)
    x = child.add_layer(L.Activation("relu"), [x])
    _redirect_consumers(child, site, x, keep={first})
    return child.validate()


def to_wider(
    graph: Graph,
    node: str,
    new_width: int,
    *,
    noise: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> Graph:
    """Net2WiderNet: grow a Conv2D or Dense layer to ``new_width`` units.

    Randomly chosen units are copied; every consumer of the widened tensor is
    adjusted (BatchNormalization, pooling, Flatten, Concatenate offsets) and
    the next Conv2D/Dense layers divide the copied rows by the number of copies.
    Layers added into the same Add as the widened one are widened alike.

    Args:
        graph: The parent graph.
        node: A Conv2D or Dense node that does not determine the output width.
        new_width: The new number of filters/units (more than now, at most
            :data:`MAX_WIDTH`).
        noise: Relative zero-sum noise on the outgoing weights of copies (the
            function is still preserved exactly).
        rng: Random generator or seed choosing the copied units.

    Returns:
        The wider graph.

    Raises:
        ValueError: if ``node`` does not exist or is not Conv2D/Dense, the width
            does not grow, or the change would reach the output or an Add it
            cannot widen.
    """
    layer = graph.layer(node)
    if not isinstance(layer, (L.Conv2D, L.Dense)):
        raise ValueError(f"cannot widen node {node!r}: it is a {layer.type}, not Conv2D or Dense")
    width = graph.shape(node)[-1]
    if not isinstance(new_width, (int, np.integer)) or new_width <= width:
        raise ValueError(f"cannot widen node {node!r} from {width} to {new_width!r}: the new width must be larger")
    if new_width > MAX_WIDTH:
        raise ValueError(f"cannot widen node {node!r} to {new_width}: more than MAX_WIDTH={MAX_WIDTH}")
    rng = _generator(rng)
    index = np.concatenate([np.arange(width), rng.integers(0, width, int(new_width) - width)])
    child = graph.copy()
    try:
        maps, fixed = propagate(child, {node: ChannelMap.replicate(index, width)})
    except ValueError as error:
        raise ValueError(f"cannot widen node {node!r}: {error}") from None
    apply_maps(child, maps, fixed, rng, noise)
    return child.validate()


def _check_skip(graph: Graph, src: str, dst: str) -> None:
    graph.layer(src), graph.layer(dst)  # noqa: B018 - raise for unknown nodes
    if src == dst or src not in nx.ancestors(graph.dag, dst):
        raise ValueError(f"cannot connect node {src!r} to node {dst!r}: the source must come before the destination")
    if dst == graph.output:
        raise ValueError(f"cannot connect into the output node {dst!r}")
    if isinstance(graph.layer(dst), L.Input):
        raise ValueError(f"cannot connect into the input node {dst!r}")
    if _joined(graph, src, dst):
        raise ValueError(f"cannot connect node {src!r} to node {dst!r}: a skip already joins them")


_PROJECTION = (L.AveragePooling2D, L.GlobalAveragePooling2D, L.Conv2D, L.Dense)


def _joined(graph: Graph, src: str, dst: str) -> bool:
    """Whether a merge reading ``dst`` already reads ``src`` (directly or through a pooling / projection)."""
    for merge in graph.consumers(dst):
        if not graph.layer(merge).merges:
            continue
        for node in graph.inputs(merge):
            while node != src and len(graph.inputs(node)) == 1 and isinstance(graph.layer(node), _PROJECTION):
                node = graph.inputs(node)[0]
            if node == src and node != dst:
                return True
    return False


def _match_spatial(graph: Graph, child: Graph, src: str, dst: str) -> str:
    """Pool ``src`` (in ``child``) so its map matches ``dst``'s; flat ``dst`` gets global pooling."""
    src_shape, dst_shape = graph.shape(src), graph.shape(dst)
    if len(dst_shape) == 1:
        return src if len(src_shape) == 1 else child.add_layer(L.GlobalAveragePooling2D(), [src])
    if len(src_shape) != 3 or len(dst_shape) != 3:
        raise ValueError(f"cannot connect node {src!r} {src_shape} to node {dst!r} {dst_shape}: not both images")
    if src_shape[:2] == dst_shape[:2]:
        return src
    (hs, ws), (hd, wd) = src_shape[:2], dst_shape[:2]
    for stride in range(2, max(hs, ws) + 1):
        if math.ceil(hs / stride) == hd and math.ceil(ws / stride) == wd:
            return child.add_layer(L.AveragePooling2D(stride, stride, "same"), [src])
    raise ValueError(
        f"cannot connect node {src!r} {src_shape} to node {dst!r} {dst_shape}: no pooling maps one size to the other"
    )


def to_add_skip(graph: Graph, src: str, dst: str) -> Graph:
    """Add ``src``'s output to ``dst``'s through a zero-initialised projection.

    The projection is [average pooling to ``dst``'s size] + 1×1 Conv2D for an
    image ``dst``, [global average pooling] + Dense for a flat one; its weights
    start at zero so the sum, and the function, are unchanged.

    Raises:
        ValueError: if a node does not exist, ``src`` does not come before
            ``dst``, ``dst`` is the output, or the shapes cannot be matched.
    """
    _check_skip(graph, src, dst)
    child = graph.copy()
    x = _match_spatial(graph, child, src, dst)
    width = graph.shape(dst)[-1]
    in_width = graph.shape(src)[-1]  # pooling keeps the channels
    image = len(graph.shape(dst)) == 3
    projection: L.LayerSpec = L.Conv2D(width, 1, 1, "same") if image else L.Dense(width)
    weights = None
    if graph.has_weights:
        kernel_shape = (1, 1, in_width, width) if image else (in_width, width)
        weights = [np.zeros(kernel_shape, np.float32), np.zeros(width, np.float32)]
    x = child.add_layer(projection, [x], weights=weights)
    total = child.add_layer(L.Add(), [dst, x])
    _redirect_consumers(child, dst, total, keep={total})
    return child.validate()


def to_concat_skip(graph: Graph, src: str, dst: str) -> Graph:
    """Concatenate ``src``'s output (pooled to size) onto ``dst``'s channels.

    The layers that consume the concatenation get zero weights for the new
    channels (BatchNormalization gets the identity), so the function is unchanged.

    Raises:
        ValueError: if a node does not exist, ``src`` does not come before
            ``dst``, ``dst`` is the output, the shapes cannot be matched, or
            the new channels would reach the output or an Add that cannot widen.
    """
    _check_skip(graph, src, dst)
    child = graph.copy()
    x = _match_spatial(graph, child, src, dst)
    joined = child.add_layer(L.Concatenate(), [dst, x])
    _redirect_consumers(child, dst, joined, keep={joined})
    width, extra = graph.shape(dst)[-1], graph.shape(src)[-1]
    layout = ChannelMap.replicate(np.concatenate([np.arange(width), np.full(extra, -1)]), width)
    try:
        maps, fixed = propagate(child, {joined: layout})
    except ValueError as error:
        raise ValueError(f"cannot concatenate node {src!r} into node {dst!r}: {error}") from None
    apply_maps(child, maps, fixed, np.random.default_rng(0))
    return child.validate()
