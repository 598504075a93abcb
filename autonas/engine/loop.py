"""The search loop: initial architectures, then morphed children proposed by a searcher.

Call sequence: finished trials on disk are replayed into the searcher (resume);
the initial architectures not yet tried are trained; then, while the budget
lasts, the searcher proposes a child (a parent trial and operations), the
child trains from its inherited weights, and its record goes to disk and back
to the searcher. The loop keeps time for the final fit.

Entry points: :func:`run_plan` runs a :class:`~autonas.engine.plan.SearchPlan`
(what :meth:`~autonas.engine.spec.SearchSpec.plan` builds for
the estimator); :func:`run_search` takes the same as keyword arguments, builds
the plan and runs it.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from autonas._checks import SEED_RANGE
from autonas.backend import compilation_cache
from autonas.engine._signals import sigterm_exits_cleanly
from autonas.engine.final_fit import final_fit_epochs, final_fit_reserve  # noqa: F401 - re-exported
from autonas.engine.generations import NO_EDIT, Placement
from autonas.engine.plan import LOSS_TIE_BREAK, SearchBudget, SearchPlan, searcher_score  # noqa: F401 - re-exported
from autonas.engine.project import Project, ProjectFileError, ProjectWriteError, TrialRecord
from autonas.engine.recipe import RECENT_TRIALS, startup_seconds
from autonas.execution.executor import Executor, SerialExecutor, TrainingData, TrialJob
from autonas.execution.runner import TrialResult
from autonas.execution.settings import TrainingSettings
from autonas.graph import Graph

if TYPE_CHECKING:
    from autonas.search import Searcher

__all__ = ["SearchBudget", "SearchPlan", "TrialsFailedError", "run_plan", "run_search", "searcher_score", "trial_seed"]

logger = logging.getLogger(__name__)

#: Consecutive failed trials after which the search stops.
MAX_CONSECUTIVE_FAILURES = 3


class TrialsFailedError(RuntimeError):
    """Too many trials failed in a row and none completed."""


def trial_seed(seed: int | None, trial_id: int) -> int | None:
    """The seed trial ``trial_id`` trains with: ``(seed + trial_id) mod 2**32`` (None without a seed).

    Wrapping keeps every trial's seed in the range NumPy and Keras take, whatever
    allowed base seed (0 to ``2**32 - 1``) the user chose.
    """
    return None if seed is None else (seed + trial_id) % SEED_RANGE


def _estimate_trial_seconds(history: Sequence[TrialRecord]) -> float:
    seconds = [r.seconds for r in history if r.status == "completed"]
    return float(np.median(seconds[-RECENT_TRIALS:])) if seconds else 0.0


#: A trial starts only with this many times the recent trials' start-up left (see ``budget_allows_another``).
STARTUP_MARGIN = 1.5


def run_search(
    *,
    project: Project,
    searcher: Searcher,
    data: TrainingData,
    initial: Sequence[tuple[str, Graph]],
    settings: TrainingSettings,
    fine_tune_settings: TrainingSettings,
    budget: SearchBudget,
    seed: int | None = None,
    accept: Callable[[Graph], bool] | None = None,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None] | None = None,
    executor: Executor | None = None,
    rank: Callable[[TrialRecord], tuple] | None = None,
    on_epoch: Callable[[int, int, int], None] | None = None,
    timed_costs: bool | str = True,
    generation_children: int | None = None,
    generation_rungs: int = 1,
) -> list[TrialRecord]:
    """Run the search these arguments describe: :func:`run_plan` with a :class:`SearchPlan` of them.

    The keyword form of the same loop (the estimator builds its plan with
    :meth:`~autonas.engine.spec.SearchSpec.plan`). Each
    argument is the :class:`SearchPlan` attribute of that name, but
    ``on_trial``, the one observer (:attr:`SearchPlan.observers`), and
    ``executor`` and ``rank``, whose None means the plan's default (a
    :class:`~autonas.execution.SerialExecutor`, :func:`searcher_score`).

    Returns:
        Every trial (resumed ones included), in order of trial id.

    Raises:
        TrialsFailedError: as :func:`run_plan`.
        autonas.engine.ProjectLockedError: as :func:`run_plan`.
    """
    plan = SearchPlan(
        searcher, initial, settings, fine_tune_settings, budget, seed, accept,
        executor=executor or SerialExecutor(), rank=rank or searcher_score,
        observers=() if on_trial is None else (on_trial,), on_epoch=on_epoch, timed_costs=timed_costs,
        generation_children=generation_children, generation_rungs=generation_rungs,
    )
    return run_plan(project, data, plan)


def run_plan(project: Project, data: TrainingData, plan: SearchPlan) -> list[TrialRecord]:
    """Run ``plan``'s search on ``data``, its trials written to ``project``.

    Up to ``plan.executor.max_workers`` trials are submitted at once; the
    searcher is asked for the next child while they train (it never proposes
    one in flight again). Trial ids are given at submission.

    The project is locked for the whole search (:meth:`Project.lock`). When a
    trial cannot be written (disk full), the search warns naming the path,
    submits no more trials, and keeps the unwritten trials in memory
    (:meth:`Project.load_graph` still returns them). Under JAX the workers
    keep their compiled programs in ``<project>/jax-cache``
    (:func:`autonas.backend.compilation_cache`), so a resumed search does not
    compile them again.

    Returns:
        Every trial (resumed ones included), in order of trial id.

    Raises:
        TrialsFailedError: when :data:`MAX_CONSECUTIVE_FAILURES` trials in a row
            fail and none has completed.
        autonas.engine.ProjectLockedError: when another process searches in the project.
    """
    with sigterm_exits_cleanly(), project.lock(), compilation_cache(project.path / "jax-cache"):
        return _run_locked(project, data, plan)


def _resume(project: Project, source) -> list[TrialRecord]:
    """The project's finished trials, replayed into the proposal source; unloadable ones are set aside."""
    history = []
    for record in project.load_trials():
        try:
            graph = project.load_graph(record.id)
        except ProjectFileError as error:
            project.set_aside(record.id, str(error))
            continue
        source.observe(record, graph)
        history.append(record)
    if history:
        logger.info("resuming: %d finished trials in %s", len(history), project.path)
    return history


def _run_locked(project: Project, data: TrainingData, plan: SearchPlan) -> list[TrialRecord]:
    total_seconds = None if plan.budget.deadline is None else plan.budget.deadline - time.monotonic()
    source = plan.proposal_source()
    history = _resume(project, source)
    loop = _SearchLoop(project, plan, source, history, total_seconds)
    on_epoch = plan.on_epoch
    executor = loop.executor
    own_log_dir = getattr(executor, "log_dir", "") is None  # worker output goes to the project, off the terminal
    if own_log_dir:
        executor.log_dir = str(project.path / "logs")
    if on_epoch is not None:
        executor.on_epoch = on_epoch
    executor.start(data)
    try:
        loop.run()
    finally:
        executor.shutdown()
        if own_log_dir:  # the executor may serve another project next
            executor.log_dir = None
        if on_epoch is not None:
            executor.on_epoch = None
    if loop.write_error is not None:
        unsaved = sorted(r.id for r in loop.history if not project.trial_path(r.id).exists())
        warnings.warn(
            f"the search stopped early: {loop.write_error}. Trials {unsaved} are kept in memory only "
            "(free space and fit again to resume from the trials on disk)",
            RuntimeWarning,
            stacklevel=3,
        )
    return sorted(loop.history, key=lambda r: r.id)


class _SearchLoop:
    """The loop's state and its steps: fill the free workers, collect finished trials, repeat."""

    def __init__(
        self, project: Project, plan: SearchPlan, source, history: list[TrialRecord], total_seconds: float | None
    ) -> None:
        self.project, self.plan, self.source = project, plan, source
        self.executor, self.budget = plan.executor, plan.budget  # the two the loop reads most
        self.history: list[TrialRecord] = history
        self.by_id = {record.id: record for record in history}
        tried = {record.fingerprint for record in history}
        self.pending = [(name, graph) for name, graph in plan.initial if graph.fingerprint() not in tried]
        self.next_id = max(project.max_trial_id(), *(r.id for r in history), 0) + 1
        self.running: dict[Future, _Submitted] = {}
        self.failures = self.rejected = 0
        self.write_error: ProjectWriteError | None = None
        self.total_seconds = total_seconds
        workers = self.executor.max_workers
        self.trial_cap = None if total_seconds is None else total_seconds * self.budget.trial_share(workers)

    def run(self) -> None:
        """Until the budget, the searcher or the failures stop it."""
        while True:
            self.fill_workers()
            if not self.running:
                return
            done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: self.running[f].job.trial_id):
                self.collect(self.running.pop(future), future.result())
            if self.too_many_failures():
                return

    def fill_workers(self) -> None:
        """Submit trials while a worker is free and the budget allows one more."""
        while len(self.running) < self.executor.max_workers and self.write_error is None:
            submitted = self.next_trial()
            if submitted is None:
                return
            self.running[self.executor.submit(submitted.job)] = submitted

    def budget_allows_another(self) -> bool:
        """Trials left, and time beyond the final fit's reserve for about half a trial and for a trial's
        start-up (which no deadline check interrupts: a trial started too late overruns the limit)."""
        budget = self.budget
        if budget.max_trials is not None and len(self.history) + len(self.running) >= budget.max_trials:
            return False
        reserve = final_fit_reserve(budget.final_fit_fraction, self.total_seconds)
        history = self.history
        needed = max(0.5 * _estimate_trial_seconds(history), STARTUP_MARGIN * startup_seconds(history))
        return not history or budget.seconds_left() - reserve >= needed

    def next_trial(self) -> _Submitted | None:
        """The next initial architecture, else the searcher's next child meeting the constraints;
        None when the budget or the searcher has no more."""
        while self.budget_allows_another():
            placement = Placement()
            if self.pending:
                name, graph = self.pending.pop(0)
                parent, operations, trial_settings, reference = None, [], self.plan.settings, None
            else:
                if self.source.waits_for_initial and any(s.parent is None for s in self.running.values()):
                    return None  # the first generation's incumbent is the best of all initial architectures
                proposal = self.source.ask()
                if proposal is None:
                    if not self.running:
                        logger.info("the searcher has nothing more to propose")
                    return None
                graph, parent, operations = proposal.graph, int(proposal.parent_id), list(proposal.operations)
                placement = self.source.placement(proposal)
                name = ", ".join(str(op) for op in operations) or NO_EDIT
                fine_tune = self.plan.fine_tune_settings
                if placement.rung:
                    name = f"{self.by_id[parent].name.split(' [rung ')[0]} [rung {placement.rung}]"
                    fine_tune = replace(fine_tune, max_epochs=fine_tune.max_epochs * placement.epochs_factor)
                trial_settings = _child_settings(
                    self.by_id.get(parent), proposal, self.plan.settings, fine_tune, self.trial_cap
                )
                reference = getattr(proposal, "parent", None)  # a searcher of the user's may not give it
            accept = self.plan.accept
            if (accept is not None and not accept(graph)) or not self.executor.accepts(graph, trial_settings):
                logger.info("skipping %s: it breaks a constraint", name)
                self.rejected += 1
                self.source.reject(f"rejected-{self.rejected}", graph)
                continue
            seed_key = None if parent is None else self.source.seed_key(proposal)
            job = self.job(graph, trial_settings, operations, reference, seed_key)
            return _Submitted(job, parent, operations, name, placement.generation, placement.rung)
        return None

    def job(
        self, graph: Graph, settings: TrainingSettings, operations: list, reference: Graph | None,
        seed_key: int | None = None,
    ) -> TrialJob:
        """A job with the next trial id, the search's time left and the trial's share of it; its seed
        derives from ``seed_key`` when given (siblings of a generation share one), else from its id.

        The time left counts from now (waiting for a worker uses it up); the
        share counts from when the trial starts training.
        """
        budget = self.budget
        trial_id, self.next_id = self.next_id, self.next_id + 1
        reserve = final_fit_reserve(budget.final_fit_fraction, self.total_seconds)
        seconds_left = None if budget.deadline is None else budget.deadline - reserve - time.monotonic()
        changes_function = not _preserves_function(operations)
        seed = trial_seed(self.plan.seed, trial_id if seed_key is None else seed_key)
        return TrialJob(
            trial_id, graph, settings, seconds_left, seed,
            max_seconds=self.trial_cap,
            timed_costs=self.plan.timed_costs, issued_at=time.time(),
            hard_seconds=budget.seconds_left() if budget.deadline is not None else None,
            reference=reference if changes_function else None,
            operations=tuple(operations) if changes_function else (),
            robustness=self.plan.robustness,
        )

    def collect(self, submitted: _Submitted, result: TrialResult) -> None:
        """Write a finished trial, tell the searcher and the caller."""
        record, trained = _record(submitted, result)
        try:
            self.project.save_trial(record, trained)
        except ProjectWriteError as error:
            if self.write_error is None:
                self.write_error = error
                logger.error("%s; no more trials are started, finished ones are kept in memory", error)
        self.history.append(record)
        self.by_id[record.id] = record
        self.source.observe(record, trained)
        for observer in self.plan.observers:
            observer(record, self.history)
        self.failures = self.failures + 1 if record.status == "failed" else 0

    def too_many_failures(self) -> bool:
        """Whether the last trials all failed: an error if none ever completed, else the end of the search.

        Raises:
            TrialsFailedError: :data:`MAX_CONSECUTIVE_FAILURES` failures in a row and no completed trial.
        """
        if self.failures < MAX_CONSECUTIVE_FAILURES:
            return False
        reasons = "; ".join(f"trial {r.id}: {r.error}" for r in self.history[-self.failures :])
        if not any(r.status == "completed" for r in self.history):
            raise TrialsFailedError(f"{self.failures} trials failed in a row and none completed: {reasons}")
        logger.error("stopping the search: %d trials failed in a row (%s)", self.failures, reasons)
        return True


#: How much slower than its parent a child is assumed to train when its length is fitted to its share.
CHILD_SLOWDOWN = 1.5


def _child_settings(
    parent: TrialRecord | None,
    proposal,
    settings: TrainingSettings,
    fine_tune: TrainingSettings,
    share: float | None = None,
) -> TrainingSettings:
    """A child's training settings: fine-tuning, at the initial learning rate if its parent was cut
    short (it had not finished learning) or an operation changed the function (it must learn again).

    With a fixed schedule and a time ``share`` per trial, the child trains no
    more epochs than its parent's pace (times :data:`CHILD_SLOWDOWN`) fits in
    the share, so that its schedule ends annealed rather than cut by the clock.
    """
    cut_short = parent is not None and parent.metrics.get("stopped_at_time_limit")
    if cut_short or not _preserves_function(proposal.operations):
        fine_tune = replace(fine_tune, learning_rate=settings.learning_rate)
    pace = None if parent is None else parent.metrics.get("seconds_per_epoch")
    if share is not None and pace and not fine_tune.early_stopping:
        fitting = int(share / (pace * CHILD_SLOWDOWN))
        fine_tune = replace(fine_tune, max_epochs=max(1, min(fine_tune.max_epochs, fitting)))
    return fine_tune


def _preserves_function(operations) -> bool:
    """Whether every operation keeps the parent's function (records without the flag count as keeping it)."""
    return all(getattr(op, "preserves_function", True) for op in operations)


@dataclass(frozen=True)
class _Submitted:
    job: TrialJob
    parent: int | None
    operations: list
    name: str
    generation: int | None = None
    rung: int = 0


def _record(submitted: _Submitted, result: TrialResult) -> tuple[TrialRecord, Graph]:
    """The trial's record and the graph to keep (trained weights, or the untrained graph when it failed)."""
    job = submitted.job
    record = TrialRecord(
        id=job.trial_id,
        parent=submitted.parent,
        operations=[op.to_config() for op in submitted.operations],
        fingerprint=job.graph.fingerprint(),
        metrics={**result.metrics, "finished_at": time.time()},  # wall clock, for reports
        epochs=result.epochs,
        seconds=result.seconds,
        status=result.status,
        error=result.error,
        failure_kind=result.failure_kind,
        hyperparameters=job.settings.to_dict(),
        name=submitted.name,
        generation=submitted.generation,
        rung=submitted.rung,
    )
    return record, result.graph if result.graph is not None else job.graph
