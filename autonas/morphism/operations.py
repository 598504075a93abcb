"""Morphism operations as small records: listed, applied, replayed and serialised.

Three families (:data:`GROWING`, :data:`SHRINKING`, :data:`REGULARISING`):
growing edits preserve the trained function exactly, regularising edits
(dropout, augmentation) are identities at inference, shrinking edits drop the
least important channels, layers or skips and change the function a little
(``preserves_function`` is False: such children train at the initial
learning rate).
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, ClassVar

import networkx as nx
import numpy as np

from autonas.graph import Graph
from autonas.graph import layers as L
from autonas.morphism import growing, regularising, shrinking

if TYPE_CHECKING:
    import keras

__all__ = [
    "GROWING",
    "REGULARISING",
    "SHRINKING",
    "AddDropout",
    "AddSkip",
    "Augment",
    "ConcatSkip",
    "Deeper",
    "Narrower",
    "Operation",
    "RemoveSkip",
    "Shallower",
    "Wider",
    "apply_operations",
    "candidate_operations",
    "legal_operations",
    "morph",
    "random_morph",
    "resolve_kinds",
]


@dataclass(frozen=True)
class Operation(ABC):
    """An edit of a graph, named by the nodes it touches.

    Operations are replayable: applying the same record to the same parent
    gives the same architecture (and, with the same ``rng``, the same weights).
    ``preserves_function`` says whether the child computes the parent's
    function at inference.
    """

    kind: ClassVar[str]
    preserves_function: ClassVar[bool] = True
    #: The ``noise`` a search applies the edit with: what keeps its new units from training as
    #: copies of the old ones (0: none needed).
    search_noise: ClassVar[float] = 0.0

    @abstractmethod
    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        """Return the edited graph (``graph`` is left untouched).

        Raises:
            ValueError: if the operation is illegal on ``graph``.
        """

    def to_config(self) -> dict[str, Any]:
        """Plain JSON-able data, with the operation kind under ``"kind"``."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_config())

    @staticmethod
    def from_config(config: dict[str, Any]) -> Operation:
        """Rebuild an operation from :meth:`to_config` output.

        Raises:
            ValueError: for an unknown kind or bad fields.
        """
        config = dict(config)
        cls = _KINDS.get(config.pop("kind", None))
        if cls is None:
            raise ValueError(f"unknown operation kind in {config!r}; expected one of {sorted(_KINDS)}")
        try:
            return cls(**config)
        except TypeError as error:
            raise ValueError(f"bad operation {config!r}: {error}") from None

    @staticmethod
    def from_json(text: str) -> Operation:
        return Operation.from_config(json.loads(text))


@dataclass(frozen=True)
class Deeper(Operation):
    """Insert an identity conv–BN–ReLU (or Dense–ReLU) block after ``node``'s ReLU.

    ``kernel_size`` applies to the conv of an image block and is ignored on flat tensors.
    """

    node: str
    kernel_size: int = 3
    kind: ClassVar[str] = "deeper"

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return growing.to_deeper(graph, self.node, self.kernel_size, noise=noise, rng=rng)

    def __str__(self) -> str:
        size = "" if self.kernel_size == 3 else f", {self.kernel_size}×{self.kernel_size}"
        return f"Deeper({self.node}{size})"


@dataclass(frozen=True)
class Wider(Operation):
    """Widen the Conv2D/Dense ``node`` from ``old_width`` to ``new_width`` units."""

    node: str
    new_width: int
    old_width: int | None = None
    kind: ClassVar[str] = "wider"
    #: Copied units with equal outgoing weights get equal gradients and stay copies for ever (Adam,
    #: BatchNormalization and all): without noise a widened layer trains as the narrow one did.
    #: The zero-sum noise keeps the function exact (docs/morphism.md). 0.3 and 1.0 searched worse
    #: on Fashion-MNIST (docs/search.md, "Widening with noise").
    search_noise: ClassVar[float] = 0.1

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return growing.to_wider(graph, self.node, self.new_width, noise=noise, rng=rng)

    def __str__(self) -> str:
        old = "" if self.old_width is None else str(self.old_width)
        return f"Wider({self.node}, {old}→{self.new_width})"


@dataclass(frozen=True)
class AddSkip(Operation):
    """Add ``src``'s output into ``dst``'s through a zero-initialised projection."""

    src: str
    dst: str
    kind: ClassVar[str] = "add_skip"

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return growing.to_add_skip(graph, self.src, self.dst)

    def __str__(self) -> str:
        return f"AddSkip({self.src} → {self.dst})"


@dataclass(frozen=True)
class ConcatSkip(Operation):
    """Concatenate ``src``'s output onto ``dst``'s, with zero weights downstream."""

    src: str
    dst: str
    kind: ClassVar[str] = "concat_skip"

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return growing.to_concat_skip(graph, self.src, self.dst)

    def __str__(self) -> str:
        return f"ConcatSkip({self.src} → {self.dst})"


@dataclass(frozen=True)
class Narrower(Operation):
    """Remove the ``n`` least important output channels of the Conv2D/Dense ``node``."""

    node: str
    n: int
    old_width: int | None = None
    kind: ClassVar[str] = "narrower"
    preserves_function: ClassVar[bool] = False

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return shrinking.to_narrower(graph, self.node, self.n)

    def __str__(self) -> str:
        if self.old_width is None:
            return f"Narrower({self.node}, −{self.n})"
        return f"Narrower({self.node}, {self.old_width}→{self.old_width - self.n})"


@dataclass(frozen=True)
class Shallower(Operation):
    """Remove the shape-keeping block that starts at the Conv2D/Dense ``node``."""

    node: str
    kind: ClassVar[str] = "shallower"
    preserves_function: ClassVar[bool] = False

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return shrinking.to_shallower(graph, self.node)

    def __str__(self) -> str:
        return f"Shallower({self.node})"


@dataclass(frozen=True)
class RemoveSkip(Operation):
    """Drop the input ``source`` of the Add/Concatenate ``node`` (and the branch feeding only it)."""

    node: str
    source: str
    kind: ClassVar[str] = "remove_skip"
    preserves_function: ClassVar[bool] = False

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return shrinking.to_removed_skip(graph, self.node, self.source)

    def __str__(self) -> str:
        return f"RemoveSkip({self.source} → {self.node})"


@dataclass(frozen=True)
class AddDropout(Operation):
    """Insert ``Dropout(rate)`` after ``node`` (the identity at inference)."""

    node: str
    rate: float
    kind: ClassVar[str] = "dropout"

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return regularising.to_dropout(graph, self.node, self.rate)

    def __str__(self) -> str:
        return f"AddDropout({self.node}, {self.rate:g})"


@dataclass(frozen=True)
class Augment(Operation):
    """Add a random image transformation after the input (the identity at inference)."""

    transform: str
    factor: float | None = None
    kind: ClassVar[str] = "augment"

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return regularising.to_augmented(graph, self.transform, self.factor)

    def __str__(self) -> str:
        return f"Augment({self.transform})"


_KINDS: dict[str, type[Operation]] = {
    cls.kind: cls
    for cls in (Deeper, Wider, AddSkip, ConcatSkip, Narrower, Shallower, RemoveSkip, AddDropout, Augment)
}
#: Kinds of edits that preserve the function and grow the network.
GROWING = frozenset({"deeper", "wider", "add_skip", "concat_skip"})
#: Kinds of edits that make the network smaller (the function changes).
SHRINKING = frozenset({"narrower", "shallower", "remove_skip"})
#: Kinds of edits that are identities at inference (dropout, augmentation).
REGULARISING = frozenset({"dropout", "augment"})


def _relu_nodes(graph: Graph) -> list[str]:
    return [
        n
        for n in graph.nodes
        if isinstance(graph.layer(n), L.Activation) and graph.layer(n).activation == "relu" and n != graph.output
    ]


def _feasible(operation: Operation, architecture: Graph) -> bool:
    try:
        operation.apply(architecture)
    except ValueError:
        return False
    return True


def resolve_kinds(kinds: Collection[str] | None) -> frozenset[str]:
    """The operation kinds named by ``kinds`` (None: all of them).

    Raises:
        ValueError: for a name that is not an operation kind.
    """
    if kinds is None:
        return frozenset(_KINDS)
    unknown = set(kinds) - set(_KINDS)
    if unknown:
        raise ValueError(f"kinds: unknown operation kinds {sorted(unknown)}; expected some of {sorted(_KINDS)}")
    return frozenset(kinds)


def candidate_operations(
    graph: Graph, *, max_width: int = growing.MAX_WIDTH, kinds: Collection[str] | None = None
) -> list[Operation]:
    """The edits :func:`legal_operations` considers, before its check that each applies.

    * Deeper after each ReLU (3×3 conv on images, Dense on flat tensors);
    * Wider (doubling, up to ``max_width``) of each Conv2D/Dense layer;
    * AddSkip and ConcatSkip between each pair of ReLU outputs where the first
      comes before the second, both images or both flat;
    * Narrower (halving, for 4 or more channels) of each Conv2D/Dense layer;
    * Shallower at each Conv2D/Dense layer (legal where its block keeps the shape);
    * RemoveSkip of the shortest inputs of each Add and Concatenate;
    * AddDropout after each ReLU (rate 0.2 on images, 0.5 on flat tensors);
    * Augment with each transformation the network does not have yet (image inputs).

    Checking an operation costs as much as applying it, so a caller that
    builds only a sample of the children (the tree search) lists these and
    drops those whose ``apply`` raises ``ValueError``.

    Args:
        graph: The parent.
        max_width: The widest layer Wider may make.
        kinds: The operation kinds to list (default all; see :data:`GROWING`,
            :data:`SHRINKING`, :data:`REGULARISING`).
    """
    kinds = resolve_kinds(kinds)
    relus = _relu_nodes(graph)
    linear = [n for n in graph.nodes if isinstance(graph.layer(n), (L.Conv2D, L.Dense))]
    operations: list[Operation] = [Deeper(n) for n in relus] if "deeper" in kinds else []
    for node in linear:
        width = graph.shape(node)[-1]
        new_width = min(2 * width, max_width)
        if "wider" in kinds and new_width > width:
            operations.append(Wider(node, new_width, width))
        if "narrower" in kinds and width >= 4:
            operations.append(Narrower(node, width // 2, width))
        if "shallower" in kinds:
            operations.append(Shallower(node))
    if kinds & {"add_skip", "concat_skip"}:
        dag = graph.dag
        for dst in relus:
            ancestors = nx.ancestors(dag, dst)
            for src in relus:
                if src in ancestors and len(graph.shape(src)) == len(graph.shape(dst)):
                    operations.extend(op for op in (AddSkip(src, dst), ConcatSkip(src, dst)) if op.kind in kinds)
    if "remove_skip" in kinds:
        for node in graph.nodes:
            if graph.layer(node).merges:
                operations.extend(RemoveSkip(node, source) for source in shrinking.skip_inputs(graph, node))
    if "dropout" in kinds:
        operations.extend(AddDropout(n, regularising.dropout_rate(graph, n)) for n in relus)
    if "augment" in kinds and len(graph.input_shape or ()) == 3:
        present = {graph.layer(n).transform for n in regularising.augmentation_chain(graph)}
        operations.extend(Augment(t) for t in L.AUGMENTATIONS if t not in present)
    return operations


def legal_operations(
    graph: Graph, *, max_width: int = growing.MAX_WIDTH, kinds: Collection[str] | None = None
) -> list[Operation]:
    """Every edit the search may apply to ``graph`` (of the given ``kinds``, default all).

    The :func:`candidate_operations` that apply without error: widening the
    output layer, or a skip whose sizes do not match, is left out.
    """
    architecture = graph.copy()
    architecture.clear_weights()  # feasibility checks need no arrays
    candidates = candidate_operations(graph, max_width=max_width, kinds=kinds)
    return [op for op in candidates if _feasible(op, architecture)]


def apply_operations(
    graph: Graph,
    operations: list[Operation],
    rng: np.random.Generator | int | None = None,
    noise: float = 0.0,
) -> Graph:
    """Apply ``operations`` in order (replaying a recorded sequence on its parent)."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    for operation in operations:
        graph = operation.apply(graph, rng=rng, noise=noise)
    return graph


def random_morph(
    graph: Graph,
    rng: np.random.Generator | int | None = None,
    n: int = 1,
    *,
    noise: float = 0.0,
    max_width: int = growing.MAX_WIDTH,
    kinds: Collection[str] | None = None,
) -> tuple[Graph, list[Operation]]:
    """Apply ``n`` random legal operations in sequence, never one twice.

    The kind (deeper, wider, add skip, ...; only ``kinds`` when given) is
    drawn uniformly among the kinds available, then the operation within it,
    so the many skip pairs do not crowd out the other kinds.

    Returns:
        ``(new_graph, operations)``; replaying ``operations`` on ``graph`` with
        :func:`apply_operations` gives the same architecture.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    applied: list[Operation] = []
    for _ in range(n):
        by_kind: dict[str, list[Operation]] = {}
        for operation in legal_operations(graph, max_width=max_width, kinds=kinds):
            if operation not in applied:
                by_kind.setdefault(operation.kind, []).append(operation)
        if not by_kind:
            break
        kind = sorted(by_kind)[rng.integers(len(by_kind))]
        operation = by_kind[kind][rng.integers(len(by_kind[kind]))]
        graph = operation.apply(graph, rng=rng, noise=noise)
        applied.append(operation)
    return graph, applied


def morph(model: keras.Model, operation: Operation, rng: np.random.Generator | int | None = None) -> keras.Model:
    """Apply ``operation`` to a Keras model, keeping its function.

    The model is read with :meth:`Graph.from_keras` (layer names become node
    names, so operations name Keras layers), edited, and rebuilt.

    Raises:
        ValueError: for unsupported layers or an illegal operation.
    """
    return operation.apply(Graph.from_keras(model), rng=rng).to_keras(name=model.name)
