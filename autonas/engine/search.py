"""The search loop: initial architectures, then morphed children proposed by a searcher.

Call sequence: finished trials on disk are replayed into the searcher (resume);
the initial architectures not yet tried are trained; then, while the budget
lasts, the searcher proposes a child (a parent trial and operations), the
child trains from its inherited weights, and its record goes to disk and back
to the searcher. The loop keeps time for the final fit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from autonas.engine.project import Project, TrialRecord
from autonas.execution.runner import TrainingSettings, TrialResult, train_graph
from autonas.graph import Graph

__all__ = ["SearchBudget", "SearchData", "TrialsFailedError", "run_search"]

logger = logging.getLogger(__name__)

#: Consecutive failed trials after which the search stops.
MAX_CONSECUTIVE_FAILURES = 3


class TrialsFailedError(RuntimeError):
    """Too many trials failed in a row and none completed."""


@dataclass(frozen=True)
class SearchData:
    """Preprocessed training and validation arrays."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class SearchBudget:
    """When to stop: ``max_trials`` in the project and/or a ``deadline`` (``time.monotonic()``)."""

    max_trials: int | None
    deadline: float | None
    final_fit_fraction: float = 0.15

    def seconds_left(self) -> float:
        return np.inf if self.deadline is None else self.deadline - time.monotonic()


def _estimate_trial_seconds(history: Sequence[TrialRecord]) -> float:
    seconds = [r.seconds for r in history if r.status == "completed"]
    return float(np.median(seconds[-8:])) if seconds else 0.0


def _final_fit_reserve(history: Sequence[TrialRecord], budget: SearchBudget, total_seconds: float | None) -> float:
    """Seconds kept for the final fit: the best trial's epochs at its pace on train + validation."""
    completed = [r for r in history if r.status == "completed"]
    if not completed:
        return 0.0
    best = max(completed, key=lambda r: r.metrics["val_accuracy"])
    estimate = best.metrics.get("seconds_per_epoch", 0.0) * final_fit_epochs(best) * 1.3
    if total_seconds is not None:
        estimate = min(estimate, budget.final_fit_fraction * total_seconds)
    return estimate


def final_fit_epochs(best: TrialRecord) -> int:
    """Epochs of the final fit on train + validation: a third of the best trial's best epoch, at least 1."""
    return max(1, int(round(best.metrics.get("best_epoch", best.epochs) / 3)))


def run_search(
    *,
    project: Project,
    searcher,
    data: SearchData,
    initial: Sequence[tuple[str, Graph]],
    settings: TrainingSettings,
    fine_tune_settings: TrainingSettings,
    budget: SearchBudget,
    seed: int | None = None,
    accept: Callable[[Graph], bool] | None = None,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None] | None = None,
) -> list[TrialRecord]:
    """Run the search; returns every trial (resumed ones included), in order.

    Args:
        project: Where trials are written (and read back on resume).
        searcher: Proposes children (``ask``) and learns from trials (``tell``).
        data: Preprocessed training and validation data.
        initial: ``(name, graph)`` initial architectures, trained first.
        settings: Training settings of initial architectures.
        fine_tune_settings: Training settings of morphed children.
        budget: When to stop.
        seed: Base seed; trial ``i`` trains with ``seed + i``.
        accept: Hard constraint known before training; rejected graphs never train.
        on_trial: Called after each trial with the record and the history.

    Raises:
        TrialsFailedError: when :data:`MAX_CONSECUTIVE_FAILURES` trials in a row
            fail and none has completed.
    """
    start = time.monotonic()
    total_seconds = None if budget.deadline is None else budget.deadline - start
    history = project.load_trials()
    for record in history:
        graph = project.load_graph(record.id)
        searcher.tell(str(record.id), graph, record.val_accuracy)
    tried = {record.fingerprint for record in history}
    if history:
        logger.info("resuming: %d finished trials in %s", len(history), project.path)

    failures = rejected = 0
    pending = [(name, graph) for name, graph in initial if graph.fingerprint() not in tried]
    while True:
        if budget.max_trials is not None and len(history) >= budget.max_trials:
            break
        reserve = _final_fit_reserve(history, budget, total_seconds)
        if history and budget.seconds_left() - reserve < 0.5 * _estimate_trial_seconds(history):
            break
        if pending:
            name, graph = pending.pop(0)
            parent, operations, trial_settings = None, [], settings
        else:
            proposal = searcher.ask()
            if proposal is None:
                logger.info("the searcher has nothing more to propose")
                break
            graph, parent, operations = proposal.graph, int(proposal.parent_id), list(proposal.operations)
            name = ", ".join(str(op) for op in operations)
            trial_settings = fine_tune_settings
        if accept is not None and not accept(graph):
            logger.info("skipping %s: it breaks a constraint", name)
            rejected += 1
            searcher.tell(f"rejected-{rejected}", graph, None)
            continue
        trial_id = max((r.id for r in history), default=0) + 1
        deadline = None if budget.deadline is None else budget.deadline - reserve
        result: TrialResult = train_graph(
            graph,
            data.x_train,
            data.y_train,
            trial_settings,
            validation=(data.x_val, data.y_val),
            deadline=deadline,
            seed=None if seed is None else seed + trial_id,
        )
        record = TrialRecord(
            id=trial_id,
            parent=parent,
            operations=[op.to_config() for op in operations],
            fingerprint=graph.fingerprint(),
            metrics=result.metrics,
            epochs=result.epochs,
            seconds=result.seconds,
            status=result.status,
            error=result.error,
            hyperparameters=trial_settings.to_dict(),
            name=name,
        )
        project.save_trial(record, result.graph if result.graph is not None else graph)
        history.append(record)
        searcher.tell(str(trial_id), result.graph if result.graph is not None else graph, record.val_accuracy)
        if on_trial is not None:
            on_trial(record, history)
        failures = failures + 1 if result.status == "failed" else 0
        if failures >= MAX_CONSECUTIVE_FAILURES:
            reasons = "; ".join(f"trial {r.id}: {r.error}" for r in history[-failures:])
            if not any(r.status == "completed" for r in history):
                raise TrialsFailedError(f"{failures} trials failed in a row and none completed: {reasons}")
            logger.error("stopping the search: %d trials failed in a row (%s)", failures, reasons)
            break
    return history
