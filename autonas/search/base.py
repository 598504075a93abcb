"""The searcher interface shared by every search strategy, and its bookkeeping."""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autonas.graph import Graph
from autonas.morphism import Operation, resolve_kinds

__all__ = ["Constraint", "MorphismSearcher", "ChildProposal", "RewardFunction", "Searcher", "ToldTrial"]

#: ``(predicted or measured accuracy, graph) -> reward`` to maximise (e.g.
#: :meth:`autonas.objectives.Objective.predicted_reward`).
RewardFunction = Callable[[float, Graph], float]
#: ``graph -> allowed``; a graph failing it is never proposed.
Constraint = Callable[[Graph], bool]


@dataclass(frozen=True)
class ChildProposal:
    """A child architecture to train.

    Attributes:
        parent_id: The trial id of the parent, as given to :meth:`Searcher.tell`.
        operations: The morphism operations turning the parent into the child.
        graph: The child, built by applying ``operations`` to the parent's
            graph; it inherits the parent's weights when the parent had them.
        parent: The parent's graph as told (with its weights), to compare
            the child's outputs with when an operation changes the function.
    """

    parent_id: str
    operations: tuple[Operation, ...]
    graph: Graph
    parent: Graph | None = field(default=None, repr=False, compare=False)

    @property
    def preserves_function(self) -> bool:
        """Whether every operation keeps the parent's function at inference."""
        return all(op.preserves_function for op in self.operations)

    def __str__(self) -> str:
        return f"{self.parent_id} + " + ", ".join(str(op) for op in self.operations)


class Searcher(ABC):
    """Proposes architectures to train and learns from finished trials.

    Call sequence: :meth:`tell` every finished trial, the initial architectures
    included (and, on resume, every trial on disk, in order); then alternate
    :meth:`ask` for a child to train and :meth:`tell` its result. A searcher
    never trains anything.

    Concurrency: any number of proposals may be in flight: :meth:`ask` may be
    called again before earlier proposals are told. A proposal is in flight
    from the :meth:`ask` that returned it until a :meth:`tell` of a graph with
    the same fingerprint (told with ``accuracy=None`` when its trial failed or
    was abandoned). No architecture already told or in flight is proposed
    again. Searchers are not thread-safe: call them from one thread (the
    search loop); trials may run in other threads or processes.
    """

    @abstractmethod
    def tell(self, trial_id: str, graph: Graph, accuracy: float | None) -> None:
        """Record a finished trial.

        Args:
            trial_id: A unique id; proposals name their parent by it.
            graph: The trained architecture (with its trained weights, when
                children should inherit them).
            accuracy: Validation accuracy, or None for a failed trial.

        Raises:
            ValueError: for a repeated trial id or a non-finite accuracy.
        """

    @abstractmethod
    def ask(self) -> ChildProposal | None:
        """The next child to train, or None when there is nothing to propose.

        The proposal is marked in flight until a graph with its fingerprint is told.
        """

    def get_state(self) -> dict[str, Any]:
        """What this searcher learned (picklable, without the told graphs): see :meth:`set_state`.

        Raises:
            NotImplementedError: for a searcher that cannot save its state.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot save its state")

    def set_state(self, state: dict[str, Any], graphs: Mapping[str, Graph]) -> None:
        """Restore what :meth:`get_state` returned, instead of telling every trial again.

        Args:
            state: What :meth:`get_state` returned (on a searcher built with the same arguments).
            graphs: The told graphs (with their trained weights) by trial id.

        Raises:
            NotImplementedError: for a searcher that cannot restore its state.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot restore its state")


@dataclass
class ToldTrial:
    """A trial as a :class:`MorphismSearcher` keeps it (what :meth:`MorphismSearcher._observe` receives).

    Attributes:
        trial_id: The id given to :meth:`Searcher.tell`.
        graph: The graph as told, with its trained weights (children inherit them).
        architecture: A weightless copy, for exploring morphisms cheaply.
        fingerprint: ``graph.fingerprint()``.
        accuracy: Validation accuracy, None for a failed trial.
        reward: ``reward(accuracy, graph)`` (the searcher's reward function), None for a failed trial.
    """

    trial_id: str
    graph: Graph  # as told, with weights
    architecture: Graph  # weightless copy, for exploring
    fingerprint: str
    accuracy: float | None
    reward: float | None


def _identity(accuracy: float, graph: Graph) -> float:
    return accuracy


def reward_argument(reward: RewardFunction | None, objective: RewardFunction | None) -> RewardFunction | None:
    """A searcher's ``reward``, or ``objective`` (its old name) with a DeprecationWarning."""
    if objective is None:
        return reward
    if reward is not None:
        raise TypeError("give the searcher reward= only: objective= is its old name")
    warnings.warn(
        "a searcher's objective= is renamed reward= (autonas.Objective is the reward's class; "
        "pass its predicted_reward as reward=)",
        DeprecationWarning,
        stacklevel=3,
    )
    return objective


class MorphismSearcher(Searcher):
    """Base of searchers that edit told models by morphism operations: the bookkeeping they share.

    It records told trials (:class:`ToldTrial`), computes their reward, tracks
    proposals in flight and never proposes a told architecture again. A
    subclass implements :meth:`_propose` (with :meth:`_build` to apply the
    chosen operations) and may override :meth:`_observe` to learn from each
    successful trial.

    Args:
        seed: Seed of the private random generator ``self._rng``.
        reward: ``(accuracy, graph) -> reward`` (:data:`RewardFunction`); None: the accuracy.
        constraint: ``graph -> bool``; use :meth:`_allowed` before proposing.
        max_operations: Most operations per proposal (at least 1).
        kinds: Operation kinds to use (None: all; see :data:`autonas.morphism.GROWING`).
    """

    def __init__(
        self,
        seed: int | None,
        reward: RewardFunction | None,
        constraint: Constraint | None,
        max_operations: int,
        kinds: Collection[str] | None = None,
    ) -> None:
        if int(max_operations) < 1:
            raise ValueError(f"max_operations must be at least 1, got {max_operations!r}")
        self.kinds = None if kinds is None else resolve_kinds(kinds)
        self.seed = seed
        self.reward = reward
        self.constraint = constraint
        self.max_operations = int(max_operations)
        self._rng = np.random.default_rng(seed)
        self._trials: dict[str, ToldTrial] = {}
        self._told: dict[str, str] = {}  # fingerprint -> last trial id
        self._in_flight: dict[str, ChildProposal] = {}  # fingerprint -> proposal
        self._focus: str | None = None  # while ask_children runs: the only parent

    # ------------------------------------------------------------------ Searcher
    def tell(self, trial_id: str, graph: Graph, accuracy: float | None) -> None:
        trial_id = str(trial_id)
        if trial_id in self._trials:
            raise ValueError(f"trial {trial_id!r} was already told")
        if accuracy is not None:
            accuracy = float(accuracy)
            if not math.isfinite(accuracy):
                raise ValueError(f"trial {trial_id!r}: accuracy must be finite (None for a failed trial), got {accuracy}")
        fingerprint = graph.fingerprint()
        architecture = graph.copy()
        architecture.clear_weights()
        reward = None if accuracy is None else float(self._reward(accuracy, graph))
        trial = ToldTrial(trial_id, graph, architecture, fingerprint, accuracy, reward)
        self._trials[trial_id] = trial
        self._told[fingerprint] = trial_id
        self._in_flight.pop(fingerprint, None)
        if accuracy is not None:
            self._observe(trial)

    def ask(self) -> ChildProposal | None:
        proposal = self._propose()
        if proposal is not None:
            self._in_flight[proposal.graph.fingerprint()] = proposal
        return proposal

    def ask_children(self, parent_id: str) -> ChildProposal | None:
        """Like :meth:`ask`, but a child of the told trial ``parent_id`` only (a generation of siblings).

        Raises:
            KeyError: when no trained trial ``parent_id`` was told.
        """
        parent_id = str(parent_id)
        trial = self._trials.get(parent_id)
        if trial is None or trial.accuracy is None:
            raise KeyError(f"no trained trial {parent_id!r} was told")
        self._focus = parent_id
        try:
            return self.ask()
        finally:
            self._focus = None

    def hold(self, proposal: ChildProposal) -> None:
        """Mark ``proposal`` in flight, as :meth:`ask` does, for a proposal an earlier process made.

        A resumed search holds the children of a generation that a kill cut
        short which finished before it: they are told when their generation
        closes, and until then no proposal may repeat them.
        """
        fingerprint = proposal.graph.fingerprint()
        if fingerprint not in self._told:
            self._in_flight[fingerprint] = proposal

    def add_root(self, trial_id: str, graph: Graph, accuracy: float) -> None:
        """Keep a trained model to propose children of, without learning from it.

        For a model whose architecture was told before (the same network
        trained on): its weights become a parent's, and the searcher's model
        is not given the same architecture twice.
        """
        trial_id = str(trial_id)
        if trial_id in self._trials:
            raise ValueError(f"trial {trial_id!r} was already told")
        architecture = graph.copy()
        architecture.clear_weights()
        fingerprint = graph.fingerprint()
        reward = float(self._reward(float(accuracy), graph))
        self._trials[trial_id] = ToldTrial(trial_id, graph, architecture, fingerprint, float(accuracy), reward)
        self._told[fingerprint] = trial_id
        self._in_flight.pop(fingerprint, None)

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        """The generator's state and the told trials (ids, fingerprints, accuracies, rewards), in order.

        Proposals in flight are not kept: a restored searcher has none. The
        told graphs are not included (they live in the project's trials):
        :meth:`set_state` takes them.
        """
        trials = [[t.trial_id, t.fingerprint, t.accuracy, t.reward] for t in self._trials.values()]
        return {"class": type(self).__name__, "rng": self._rng.bit_generator.state, "trials": trials,
                "told": dict(self._told), **self._extra_state()}

    def set_state(self, state: dict[str, Any], graphs: Mapping[str, Graph]) -> None:
        """Restore :meth:`get_state`'s ``state`` with the told ``graphs`` (by trial id); nothing is replayed.

        Raises:
            ValueError: when ``state`` is another searcher class's, or a told graph is missing
                or has another fingerprint than was told.
        """
        if state.get("class") != type(self).__name__:
            raise ValueError(f"state: saved by a {state.get('class')}, not a {type(self).__name__}")
        trials: dict[str, ToldTrial] = {}
        for trial_id, fingerprint, accuracy, reward in state["trials"]:
            graph = graphs.get(trial_id)
            if graph is None or graph.fingerprint() != fingerprint:
                raise ValueError(f"graphs: trial {trial_id!r} is missing or is not the architecture told")
            architecture = graph.copy()
            architecture.clear_weights()
            trials[trial_id] = ToldTrial(trial_id, graph, architecture, fingerprint, accuracy, reward)
        self._trials, self._told, self._in_flight = trials, dict(state["told"]), {}
        self._rng.bit_generator.state = state["rng"]
        self._restore_extra_state(state)

    def _extra_state(self) -> dict[str, Any]:
        """A subclass's own learned state, for :meth:`get_state`."""
        return {}

    def _restore_extra_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Restore :meth:`_extra_state` (``self._trials`` is restored already)."""

    # ------------------------------------------------------------------ for subclasses
    @abstractmethod
    def _propose(self) -> ChildProposal | None:
        """Choose a new child (not told, not in flight, meeting the constraint)."""

    def _observe(self, trial: ToldTrial) -> None:  # noqa: B027 - optional hook
        """Learn from a successful trial (called by :meth:`tell`)."""

    def _reward(self, accuracy: float, graph: Graph) -> float:
        return (self.reward or _identity)(accuracy, graph)

    def _allowed(self, graph: Graph) -> bool:
        return self.constraint is None or bool(self.constraint(graph))

    def _is_new(self, fingerprint: str) -> bool:
        return fingerprint not in self._told and fingerprint not in self._in_flight

    def _trained(self) -> list[ToldTrial]:
        """Successful trials, in the order told."""
        return [t for t in self._trials.values() if t.accuracy is not None]

    def _parents(self) -> list[ToldTrial]:
        """The trained trials a proposal may edit: all of them, or the one :meth:`ask_children` names."""
        if self._focus is not None:
            return [self._trials[self._focus]]
        return self._trained()

    def _build(self, parent_id: str, operations: Sequence[Operation]) -> ChildProposal:
        """Apply ``operations`` to the told parent graph (weights included)."""
        parent = graph = self._trials[parent_id].graph
        for operation in operations:
            graph = operation.apply(graph, rng=self._rng, noise=operation.search_noise)
        return ChildProposal(parent_id, tuple(operations), graph, parent)
