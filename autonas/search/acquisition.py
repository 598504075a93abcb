"""The acquisition function and its tree-structured optimizer (Auto-Keras, KDD 2019, §4.2).

The optimizer searches the tree of morphism edits rooted at the trained models:
a priority queue holds models to expand (trained ones by their reward,
unexplored children by their acquisition value); each expansion builds a few
more children of the popped model by legal operations (the kinds taking
turns, in a random order drawn once per model; children built by earlier
searches are kept), scores them all, and simulated annealing decides which
children enter the queue: one better than the best value so far always, a
worse one with probability ``exp(-(best - value) / (T · scale))``, ``scale``
being the spread of the trained models' rewards. The temperature ``T`` decays
geometrically after each expansion; the search stops below the minimum
temperature, when the queue is empty, or after a fixed number of children
built (building one, a morphism plus validation, is the costly step). It returns the
best child scored: never a model already told or in flight, never one
failing the constraint, never more than ``max_operations`` edits from its
trained root.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from autonas.graph import Graph
from autonas.morphism import Operation, candidate_operations

__all__ = [
    "AnnealingSchedule",
    "Candidate",
    "ExpansionCache",
    "tree_search",
    "upper_confidence_bound",
]


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, beta: float) -> np.ndarray:
    """``mean + beta · std``."""
    return np.asarray(mean) + beta * np.asarray(std)


@dataclass(frozen=True)
class AnnealingSchedule:
    """Simulated-annealing temperatures of the tree search.

    Attributes:
        initial_temperature: Temperature of the first expansion (default 1.0),
            in units of the spread of the trained models' rewards.
        decay: Factor applied after each expansion (default 0.75).
        min_temperature: The search stops below it (default 0.05); with the
            defaults, at most 11 expansions.
    """

    initial_temperature: float = 1.0
    decay: float = 0.75
    min_temperature: float = 0.05

    def __post_init__(self) -> None:
        if not self.initial_temperature > 0 or not self.min_temperature > 0:
            raise ValueError("temperatures must be positive")
        if not 0 < self.decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {self.decay!r}")


@dataclass(frozen=True)
class Candidate:
    """A node of the search tree: a trained root plus the operations applied to it."""

    root_id: str
    operations: tuple[Operation, ...]
    graph: Graph  # weightless
    fingerprint: str


def _interleave_kinds(operations: list[Operation], rng: np.random.Generator) -> list[Operation]:
    """A random order in which the kinds take turns, so the many skip pairs do not crowd out the rest."""
    by_kind: dict[str, list[Operation]] = {}
    for operation in operations:
        by_kind.setdefault(operation.kind, []).append(operation)
    queues = [[group[i] for i in rng.permutation(len(group))] for group in by_kind.values()]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    return [op for round_ in itertools.zip_longest(*queues) for op in round_ if op is not None]


@dataclass
class _Expansion:
    """What is known of a tree node's children: the order to build them in and those built."""

    order: list[Operation]
    built: list[Candidate] = field(default_factory=list)
    cursor: int = 0


class ExpansionCache:
    """The children of tree nodes, kept across searches (least recently used dropped first).

    A node (a trained root and an operation path) is met again by later
    searches while the trained models stay; its children are built once, in
    an order drawn once, and later expansions build further along that order.

    Args:
        max_nodes: Nodes kept (default 512).
    """

    def __init__(self, max_nodes: int = 512) -> None:
        self.max_nodes = max_nodes
        self._nodes: OrderedDict[Hashable, _Expansion] = OrderedDict()

    def expansion(
        self, node: Candidate, rng: np.random.Generator, kinds: Collection[str] | None = None
    ) -> _Expansion:
        """The expansion record of ``node`` (its build order drawn with ``rng`` on first use).

        ``kinds`` limits the operations listed (default all); an operation
        already on ``node``'s path is not listed again.
        """
        key = (node.root_id, node.operations, None if kinds is None else frozenset(kinds))
        record = self._nodes.get(key)
        if record is None:
            listed = [op for op in candidate_operations(node.graph, kinds=kinds) if op not in node.operations]
            record = self._nodes[key] = _Expansion(_interleave_kinds(listed, rng))
            while len(self._nodes) > self.max_nodes:
                self._nodes.popitem(last=False)
        else:
            self._nodes.move_to_end(key)
        return record

    def build_more(self, node: Candidate, record: _Expansion, count: int) -> int:
        """Build up to ``count`` more legal children of ``node``; returns how many were built."""
        built = 0
        while built < count and record.cursor < len(record.order):
            operation = record.order[record.cursor]
            record.cursor += 1
            try:
                graph = operation.apply(node.graph, rng=0)
            except ValueError:
                continue  # not legal here
            record.built.append(Candidate(node.root_id, (*node.operations, operation), graph, graph.fingerprint()))
            built += 1
        return built


def tree_search(
    roots: Sequence[tuple[str, Graph, str, float]],
    acquisition: Callable[[list[Candidate]], np.ndarray],
    *,
    rng: np.random.Generator,
    is_new: Callable[[str], bool],
    allowed: Callable[[Graph], bool] | None = None,
    max_operations: int = 3,
    max_children: int = 12,
    max_builds: int = 60,
    schedule: AnnealingSchedule | None = None,
    cache: ExpansionCache | None = None,
    kinds: Collection[str] | None = None,
) -> tuple[Candidate, float] | None:
    """Find the child of a trained model with the highest acquisition value.

    Args:
        roots: ``(trial id, weightless graph, fingerprint, reward)`` of each trained model.
        acquisition: Scores a batch of candidates (higher is better).
        rng: Draws the sampled operations and the annealing decisions.
        is_new: Whether a fingerprint is neither told nor in flight.
        allowed: The constraint; failing children are neither scored nor expanded.
        max_operations: Most operations between a trained root and a proposal.
        max_children: New children built per expansion (those built by earlier
            searches are scored again at no building cost).
        max_builds: New children built in all (bounds the work: building a
            child, a morphism plus validation, is the costly step).
        schedule: Annealing temperatures; default :class:`AnnealingSchedule()`.
        cache: Keeps expansions across calls; a private one when None.
        kinds: Operation kinds to expand with (default all).

    Returns:
        ``(candidate, acquisition value)``, or None when no new child was found.
    """
    schedule = schedule or AnnealingSchedule()
    cache = cache or ExpansionCache()
    if not roots:
        return None
    rewards = np.array([root[3] for root in roots], dtype=np.float64)
    spread = float(rewards.std())
    scale = spread if spread > 1e-9 else 0.01 * max(1.0, float(np.abs(rewards).max()))
    counter = itertools.count()
    queue: list[tuple[float, int, Candidate]] = []
    for root_id, graph, fingerprint, reward in roots:
        heapq.heappush(queue, (-reward, next(counter), Candidate(root_id, (), graph, fingerprint)))
    threshold = float(rewards.max())
    seen = {candidate.fingerprint for _, _, candidate in queue}
    best: tuple[Candidate, float] | None = None
    temperature, builds = schedule.initial_temperature, 0
    while queue and temperature >= schedule.min_temperature and builds < max_builds:
        _, _, node = heapq.heappop(queue)
        record = cache.expansion(node, rng, kinds)
        builds += cache.build_more(node, record, min(max_children, max_builds - builds))
        children = []
        for child in record.built:
            if child.fingerprint in seen:
                continue
            seen.add(child.fingerprint)
            if is_new(child.fingerprint) and (allowed is None or allowed(child.graph)):
                children.append(child)
        if children:
            values = np.asarray(acquisition(children), dtype=np.float64)
            for child, value in zip(children, values):
                value = float(value)
                if best is None or value > best[1]:
                    best = (child, value)
                accept = value >= threshold or rng.random() < math.exp((value - threshold) / (temperature * scale))
                if accept and len(child.operations) < max_operations:
                    heapq.heappush(queue, (-value, next(counter), child))
                threshold = max(threshold, value)
        temperature *= schedule.decay
    return best
