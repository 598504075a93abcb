"""What :class:`~autonas.integrations.keras_tuner.MorphismOracle` keeps of a trial, and where its initial
architectures come from; the callback that keeps the weights of the epoch keras-tuner scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autonas.backend import import_keras_quietly

import_keras_quietly()

import keras  # noqa: E402
import keras_tuner  # noqa: E402

from autonas.engine.spec import INITIAL_ARCHITECTURES, SearchSpec
from autonas.execution.guard import BestEpoch
from autonas.graph import Graph, generators
from autonas.morphism import Operation

__all__ = ["DEFAULT_INITIAL", "BestEpochKeeper", "TrialArchitecture", "initial_architectures_of"]

#: The architectures built when ``initial`` is not given (with ``input_shape`` and ``num_classes``): the
#: same as :class:`~autonas.AutoImageClassifier` starts from (:data:`autonas.engine.spec.INITIAL_ARCHITECTURES`).
DEFAULT_INITIAL = tuple(name for name, _ in INITIAL_ARCHITECTURES)
_GENERATORS = generators.BY_NAME


@dataclass
class TrialArchitecture:
    """One trial's architecture and what became of it."""

    trial_id: str
    graph: Graph  # the starting point: inherited weights for a child, none (or the user's) for an initial one
    fingerprint: str
    parent: str | None
    operations: tuple[Operation, ...]
    name: str
    trained: Graph | None = None
    trained_value: float | None = None

    @property
    def description(self) -> str:
        """The trial's ``"operations"`` value: ``"initial: NAME"`` or its operations, printed."""
        if self.parent is None:
            return f"initial: {self.name}"
        return ", ".join(str(op) for op in self.operations)


def initial_architectures_of(
    initial: Any, input_shape: Sequence[int] | None, num_classes: int | None, spec: SearchSpec
) -> list[tuple[str, Graph]]:
    """``(name, graph)`` pairs from the oracle's ``initial`` argument (see its docstring); None: the
    classifier's, slimmed to ``spec``'s constraint (:meth:`SearchSpec.initial_graphs`).

    Raises:
        ValueError: naming what is wrong: a missing ``input_shape`` or ``num_classes``, an unknown
            generator, an unusable or repeated architecture, one that breaks ``spec``'s limits.
    """
    if initial is None:
        if input_shape is None or num_classes is None:
            missing = "input_shape" if input_shape is None else "num_classes"
            raise ValueError(
                f"initial is None, so input_shape and num_classes are needed to build {DEFAULT_INITIAL}; "
                f"{missing} is missing"
            )
        initial = dict(spec.initial_graphs(input_shape, num_classes))
        if not initial:
            raise ValueError(f"initial is None and none of {DEFAULT_INITIAL} meets the limits, even at its slimmest")
    architectures: list[tuple[str, Graph]] = []
    seen: dict[str, str] = {}
    for name, item in _entries(initial):
        graph = _graph_of(name, item, input_shape, num_classes)
        fingerprint = graph.fingerprint()
        if fingerprint in seen:
            raise ValueError(f"initial: {name!r} is the same architecture as {seen[fingerprint]!r}")
        if not spec.constraint()(graph):
            raise ValueError(f"initial: {name!r} breaks the limits ({graph.num_params():,} parameters)")
        seen[fingerprint] = name
        architectures.append((name, graph))
    return architectures


def _entries(initial: Any) -> list[tuple[str, Any]]:
    """``(name, item)`` of each architecture ``initial`` names (one item, a list or a dict)."""
    if isinstance(initial, (Graph, str, keras.Model)):
        initial = [initial]
    if isinstance(initial, Mapping):
        entries = [(str(name), item) for name, item in initial.items()]
    elif isinstance(initial, Sequence):
        entries = [(item if isinstance(item, str) else f"graph {i}", item) for i, item in enumerate(initial)]
    else:
        raise ValueError(
            "initial must be a Graph, a keras.Model, a generator name, or a list or dict of them, "
            f"got {type(initial).__name__}"
        )
    if not entries:
        raise ValueError("initial is empty: give at least one architecture")
    return entries


def _graph_of(name: str, item: Any, input_shape: Sequence[int] | None, num_classes: int | None) -> Graph:
    """The graph of one entry of ``initial``: a generator's, a copy of a Graph, or a keras.Model read."""
    if isinstance(item, str):
        if item not in _GENERATORS:
            raise ValueError(f"initial: unknown generator {item!r}; expected one of {sorted(_GENERATORS)} or a Graph")
        if input_shape is None or num_classes is None:
            raise ValueError(f"initial names the generator {item!r}, which needs input_shape and num_classes")
        return _GENERATORS[item](input_shape, num_classes)
    if isinstance(item, (Graph, keras.Model)):
        try:
            return item.copy().validate() if isinstance(item, Graph) else Graph.from_keras(item)
        except ValueError as error:
            raise ValueError(f"initial: {name!r} is not a usable architecture: {error}") from None
    raise ValueError(f"initial: {name!r} is a {type(item).__name__}; expected a Graph, a keras.Model or a generator name")


class BestEpochKeeper(keras.callbacks.Callback):
    """Keeps the weights of the epoch keras-tuner scores (as its ``SaveBestEpoch`` does), with the runner's
    :class:`~autonas.execution.guard.BestEpoch` record."""

    def __init__(self, objective: keras_tuner.Objective) -> None:
        super().__init__()
        self.objective = objective
        self.best = BestEpoch()
        self.sign = 1.0 if objective.direction == "max" else -1.0

    @property
    def value(self) -> float | None:
        """The objective's value at the kept epoch (None when no epoch reported it)."""
        return None if self.best.score is None else self.sign * self.best.score

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Offer this epoch's weights, scored by the objective (the latest weights where it has no value)."""
        if not self.objective.has_value(logs or {}):  # nothing to score by: the latest weights
            self.best.weights = self.model.get_weights()
            return
        self.best.offer(epoch, self.sign * float(self.objective.get_value(logs)), self.model)
