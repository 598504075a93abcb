"""Morphism operations as small records: listed, applied, replayed and serialised."""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import networkx as nx
import numpy as np

from autonas.graph import Graph
from autonas.graph import layers as L
from autonas.morphism import operators

if TYPE_CHECKING:
    import keras

__all__ = [
    "AddSkip",
    "ConcatSkip",
    "Deeper",
    "Operation",
    "Wider",
    "apply_operations",
    "candidate_operations",
    "legal_operations",
    "morph",
    "random_morph",
]


@dataclass(frozen=True)
class Operation(ABC):
    """A function-preserving edit of a graph, named by the nodes it touches.

    Operations are replayable: applying the same record to the same parent
    gives the same architecture (and, with the same ``rng``, the same weights).
    """

    kind: ClassVar[str]

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
        return operators.to_deeper(graph, self.node, self.kernel_size, noise=noise, rng=rng)

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

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return operators.to_wider(graph, self.node, self.new_width, noise=noise, rng=rng)

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
        return operators.to_add_skip(graph, self.src, self.dst)

    def __str__(self) -> str:
        return f"AddSkip({self.src} → {self.dst})"


@dataclass(frozen=True)
class ConcatSkip(Operation):
    """Concatenate ``src``'s output onto ``dst``'s, with zero weights downstream."""

    src: str
    dst: str
    kind: ClassVar[str] = "concat_skip"

    def apply(self, graph: Graph, rng: np.random.Generator | int | None = None, noise: float = 0.0) -> Graph:
        return operators.to_concat_skip(graph, self.src, self.dst)

    def __str__(self) -> str:
        return f"ConcatSkip({self.src} → {self.dst})"


_KINDS: dict[str, type[Operation]] = {cls.kind: cls for cls in (Deeper, Wider, AddSkip, ConcatSkip)}


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


def candidate_operations(graph: Graph, *, max_width: int = operators.MAX_WIDTH) -> list[Operation]:
    """The morphisms :func:`legal_operations` considers, before its check that each applies.

    * Deeper after each ReLU (3×3 conv on images, Dense on flat tensors);
    * Wider (doubling, up to ``max_width``) of each Conv2D/Dense layer;
    * AddSkip and ConcatSkip between each pair of ReLU outputs where the first
      comes before the second, both images or both flat.

    Checking an operation costs as much as applying it, so a caller that
    builds only a sample of the children (the tree search) lists these and
    drops those whose ``apply`` raises ``ValueError``.
    """
    relus = _relu_nodes(graph)
    operations: list[Operation] = [Deeper(n) for n in relus]
    for node in graph.nodes:
        layer = graph.layer(node)
        if isinstance(layer, (L.Conv2D, L.Dense)):
            width = graph.shape(node)[-1]
            new_width = min(2 * width, max_width)
            if new_width > width:
                operations.append(Wider(node, new_width, width))
    dag = graph.dag
    for dst in relus:
        ancestors = nx.ancestors(dag, dst)
        for src in relus:
            if src in ancestors and len(graph.shape(src)) == len(graph.shape(dst)):
                operations.extend([AddSkip(src, dst), ConcatSkip(src, dst)])
    return operations


def legal_operations(graph: Graph, *, max_width: int = operators.MAX_WIDTH) -> list[Operation]:
    """Every morphism the search may apply to ``graph``.

    The :func:`candidate_operations` that apply without error: widening the
    output layer, or a skip whose sizes do not match, is left out.
    """
    architecture = graph.copy()
    architecture.clear_weights()  # feasibility checks need no arrays
    return [op for op in candidate_operations(graph, max_width=max_width) if _feasible(op, architecture)]


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
    max_width: int = operators.MAX_WIDTH,
) -> tuple[Graph, list[Operation]]:
    """Apply ``n`` random legal operations in sequence.

    The kind (deeper, wider, add skip, concat skip) is drawn uniformly among the
    kinds available, then the operation within it, so the many skip pairs do
    not crowd out the other kinds.

    Returns:
        ``(new_graph, operations)``; replaying ``operations`` on ``graph`` with
        :func:`apply_operations` gives the same architecture.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    applied: list[Operation] = []
    for _ in range(n):
        by_kind: dict[str, list[Operation]] = {}
        for operation in legal_operations(graph, max_width=max_width):
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
