"""An ask/tell face of the search: drive it from your own training loop (like Optuna's ``study.ask()``).

:class:`Search` proposes networks (:meth:`Search.ask`): first the initial
architectures, then children of told networks by morphism, which start from
their parent's trained weights. The user trains each proposal's Keras model as
they like and tells its score (:meth:`Search.tell`). Every told trial is
written to the project folder like :class:`~autonas.AutoImageClassifier`'s
trials (checksums, atomic writes), and after each tell the searcher's state
(its random generator and what it learned) is saved beside them, so a search
closed and opened again goes on as if it had never stopped: it neither
replays the tells nor proposes differently.

Call sequence and concurrency: ``ask`` may be called several times before the
proposals are told (in any order); a proposal is told once. One process at a
time: the search holds the project's lock from construction to :meth:`Search.close`.
Proposals still untold at close are dropped (their trial ids are not reused).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autonas._files import write_atomically
from autonas.engine.project import Project, TrialRecord, project_folder
from autonas.engine.spec import SearchSpec
from autonas.graph import Graph
from autonas.morphism import Operation

if TYPE_CHECKING:
    import keras

__all__ = ["Proposal", "Search"]

#: The searcher's state in the project folder (pickled, written atomically after each tell).
STATE_FILE = "searcher_state.pkl"
_TASK = "ask_tell_image_classification"
_SEARCH_IDS = itertools.count(1)  # tells a search's proposals from another's


@dataclass(frozen=True)
class Proposal:
    """A network to train, from :meth:`Search.ask`; told by :meth:`Search.tell` (or :meth:`Search.fail`).

    Attributes:
        trial_id: The trial's number in the project (from 1).
        model: The network as a Keras model (not compiled) carrying its
            inherited weights: train it, then tell its score.
        parent: The parent trial's id; None for an initial architecture.
        operations: The morphism operations turning the parent into this network.
        graph: The architecture (autonas's graph, with the weights the model started from).
        name: A readable description (the generator's name or the operations).
    """

    trial_id: int
    model: keras.Model = field(repr=False, compare=False)
    parent: int | None
    operations: tuple[Operation, ...]
    graph: Graph = field(repr=False, compare=False)
    name: str = ""
    _owner: int = field(default=0, repr=False, compare=False)


def _check_shape(input_shape: Any, num_classes: Any) -> tuple[tuple[int, int, int], int]:
    """``input_shape`` and ``num_classes`` checked: (height, width, channels) positive ints, at least 2 classes."""
    try:
        shape = tuple(int(d) for d in input_shape)
        ok = len(shape) == 3 and all(d >= 1 and d == s for d, s in zip(shape, input_shape))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"input_shape must be (height, width, channels) of positive ints, got {input_shape!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int of at least 2, got {num_classes!r}")
    return shape, num_classes  # type: ignore[return-value]


class Search:
    """A network-morphism search driven by the caller: :meth:`ask`, train, :meth:`tell`.

    Args:
        directory: Folder holding the project folder.
        project_name: Name of the project folder; an existing one is resumed
            (its trials, and the searcher's saved state).
        input_shape: ``(height, width, channels)`` of the images.
        num_classes: Number of classes (at least 2).
        searcher: ``"bayesian"`` (default), ``"random"`` or another name in
            :data:`autonas.search.SEARCHERS`.
        seed: Seed of the searcher (None: fresh entropy).
        objective: An :class:`autonas.Objective` (default: accuracy alone).

    Attributes:
        history: The trials told so far (:class:`~autonas.engine.TrialRecord`), earlier sessions'
            included, in the order told; ``metrics["score"]`` holds the score of a completed one.
        project: The :class:`~autonas.engine.Project` the trials are written to.

    Raises:
        ValueError: naming the argument, for a bad ``input_shape``,
            ``num_classes`` or ``project_name``, or a project folder holding
            another search (another task, shape or number of classes).
        autonas.engine.ProjectLockedError: when another process holds the project.
    """

    def __init__(self, directory: str, project_name: str, input_shape: Sequence[int], num_classes: int,
                 searcher: Any = "bayesian", seed: int | None = None, objective: Any = None) -> None:
        from autonas.objectives import Objective

        self.input_shape, self.num_classes = _check_shape(input_shape, num_classes)
        self.directory, self.project_name, self.seed = directory, project_name, seed
        spec = SearchSpec(objective=objective or Objective(), searcher=searcher, seed=seed)
        self._spec = spec
        self._searcher = spec.make_searcher(spec.constraint())
        self._initial = spec.initial_graphs(self.input_shape, self.num_classes)
        self.project = Project(project_folder(directory, project_name))
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(self.project.lock())
        try:
            self.project.check_config(
                {"task": _TASK, "input_shape": list(self.input_shape), "num_classes": self.num_classes})
            self.history: list[TrialRecord] = self.project.load_trials()
            self._restore()
        except BaseException:
            self._stack.close()
            raise
        self._pending: dict[int, Proposal] = {}
        self._next_id = self.project.max_trial_id() + 1
        self._token = next(_SEARCH_IDS)

    # ------------------------------------------------------------------ life cycle
    def __enter__(self) -> Search:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the project's lock; proposals not told are dropped. Calling it again does nothing."""
        self._pending = {}
        self._stack.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return not self.project._lock.held

    def _restore(self) -> None:
        """Give the searcher what earlier sessions told: its saved state, else every trial again (a warning)."""
        if not self.history:
            return
        graphs = {str(r.id): self.project.load_graph(r.id, weights=r.status == "completed") for r in self.history}
        path = self.project.path / STATE_FILE
        try:
            state = pickle.loads(path.read_bytes())
            if sorted(str(t[0]) for t in state["trials"]) != sorted(graphs):
                raise ValueError("it holds other trials than the project")
            self._searcher.set_state(state, graphs)
            return
        except Exception as error:  # noqa: BLE001 - a missing or unusable state is rebuilt by replaying
            reason = "is missing" if isinstance(error, FileNotFoundError) else f"cannot be restored ({error})"
            warnings.warn(f"the searcher's state {str(path)!r} {reason}: the project's trials are told again",
                          stacklevel=3)
        self._searcher = self._spec.make_searcher(self._spec.constraint())  # nothing half-restored
        for record in self.history:
            self._searcher.tell(str(record.id), graphs[str(record.id)], record.metrics.get("score"))
        self._save_state()

    def _save_state(self) -> None:
        """Pickle the searcher's state beside the trials, atomically (not for a searcher that keeps none)."""
        try:
            state = self._searcher.get_state()
        except NotImplementedError:
            return
        data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        write_atomically(self.project.path / STATE_FILE, lambda handle: handle.write(data))

    # ------------------------------------------------------------------ ask / tell
    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"the search on {str(self.project.path)!r} was closed")

    def ask(self) -> Proposal:
        """The next network to train: an initial architecture not yet told, else a child by morphism.

        Raises:
            RuntimeError: when the search was closed, or nothing can be proposed
                (no told network to morph yet: tell the proposals in flight first).
        """
        self._check_open()
        busy = {r.fingerprint for r in self.history} | {p.graph.fingerprint() for p in self._pending.values()}
        initial = next(((n, g) for n, g in self._initial if g.fingerprint() not in busy), None)
        if initial is not None:
            name, graph = initial[0], initial[1].copy()
            parent, operations = None, ()
        else:
            child = self._searcher.ask()
            if child is None:
                raise RuntimeError("nothing to propose: tell the proposals in flight first "
                                   "(children are morphs of told networks)")
            graph, parent, operations = child.graph, int(child.parent_id), tuple(child.operations)
            name = ", ".join(str(op) for op in operations)
        trial_id, self._next_id = self._next_id, self._next_id + 1
        model = graph.to_keras(name=f"trial_{trial_id}")
        proposal = Proposal(trial_id, model, parent, operations, graph, name, self._token)
        self._pending[trial_id] = proposal
        return proposal

    def tell(self, proposal: Proposal, score: float, metrics: dict[str, Any] | None = None) -> TrialRecord:
        """Record a trained proposal: its score and its model's trained weights (read back now).

        Args:
            proposal: What :meth:`ask` returned, its ``model`` trained.
            score: Higher is better (e.g. validation accuracy); finite.
            metrics: Further figures to keep in the trial's record (JSON-able).

        Returns:
            The trial's record, as saved in the project.

        Raises:
            ValueError: naming the argument, for a proposal of another search
                or told already, or a score that is not a finite number.
            RuntimeError: when the search was closed.
        """
        self._check_proposal(proposal)
        try:
            score = float(score)
        except (TypeError, ValueError):
            raise ValueError(f"score must be a number, got {score!r}") from None
        if not math.isfinite(score):
            raise ValueError(f"score must be finite, got {score!r}")
        graph = proposal.graph.copy().update_weights(proposal.model)
        record = TrialRecord(
            id=proposal.trial_id, parent=proposal.parent, operations=[op.to_config() for op in proposal.operations],
            fingerprint=graph.fingerprint(), metrics={**(metrics or {}), "score": score,
                                                      "params": int(graph.num_params())},
            name=proposal.name,
        )
        return self._record(proposal, record, graph, score)

    def fail(self, proposal: Proposal, error: str = "", metrics: dict[str, Any] | None = None) -> TrialRecord:
        """Record a proposal whose training failed (never proposed again; it has no score).

        Args:
            proposal: What :meth:`ask` returned.
            error: Why it failed, for people (kept in the record).
            metrics: Further figures to keep in the trial's record (JSON-able).

        Raises:
            ValueError: naming ``proposal``, for one of another search or told already.
            RuntimeError: when the search was closed.
        """
        self._check_proposal(proposal)
        graph = proposal.graph.copy()
        graph.clear_weights()
        record = TrialRecord(
            id=proposal.trial_id, parent=proposal.parent, operations=[op.to_config() for op in proposal.operations],
            fingerprint=graph.fingerprint(), metrics=dict(metrics or {}), status="failed",
            error=str(error) or "failed (no reason given)", name=proposal.name,
        )
        return self._record(proposal, record, graph, None)

    def _check_proposal(self, proposal: Proposal) -> None:
        self._check_open()
        if not isinstance(proposal, Proposal) or proposal._owner != self._token:
            raise ValueError(f"proposal: not one this search's ask() returned, got {proposal!r}")
        if proposal.trial_id not in self._pending:
            raise ValueError(f"proposal: trial {proposal.trial_id} was told already")

    def _record(self, proposal: Proposal, record: TrialRecord, graph: Graph, score: float | None) -> TrialRecord:
        """Write the trial, tell the searcher, save its state."""
        self.project.save_trial(record, graph)
        del self._pending[proposal.trial_id]
        self._searcher.tell(str(record.id), graph, score)
        self.history.append(record)
        self._save_state()
        return record

    def best(self) -> TrialRecord | None:
        """The completed trial with the highest score (the earliest among equals); None before any."""
        completed = [r for r in self.history if r.status == "completed"]
        return max(completed, key=lambda r: r.metrics["score"], default=None)

    def best_model(self) -> keras.Model | None:
        """The best trial's network as a Keras model with its trained weights; None before any tell."""
        best = self.best()
        return None if best is None else self.project.load_graph(best.id).to_keras(name=f"trial_{best.id}")
