"""One search, ready to run: :class:`SearchPlan`, with when it stops (:class:`SearchBudget`).

A search is described once. :class:`~autonas.engine.spec.SearchSpec` turns the
user's arguments into a plan (:meth:`~autonas.engine.spec.SearchSpec.plan`),
which the estimator hands to :func:`~autonas.engine.loop.run_plan`;
:func:`~autonas.engine.loop.run_search`, the keyword API, builds a plan from its
arguments and runs it the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from autonas.engine.generations import FreeProposals, Generations
from autonas.engine.project import TrialRecord
from autonas.engine.recipe import Recipe
from autonas.execution.executor import Executor, SerialExecutor
from autonas.execution.settings import TrainingSettings
from autonas.graph import Graph

if TYPE_CHECKING:
    from autonas.objectives import Objective
    from autonas.objectives.robustness import RobustnessCheck
    from autonas.search import Searcher

__all__ = ["LOSS_TIE_BREAK", "SearchBudget", "SearchPlan", "TrialCallback", "objective_score", "searcher_score"]

#: ``(record, history)``: told after each trial.
TrialCallback = Callable[[TrialRecord, list[TrialRecord]], None]
#: ``(trial_id, epochs_done, epochs_planned)``: told as trials train.
EpochCallback = Callable[[int, int, int], None]


@dataclass(frozen=True)
class SearchBudget:
    """When to stop: ``max_trials`` in the project and/or a ``deadline`` (``time.monotonic()``).

    Attributes:
        max_trials: Most trials in the project (None: no limit).
        deadline: When the search (final fit included) must end (None: no limit).
        final_fit_fraction: Share of the time limit kept for the final fit (the best network trained
            on, with the validation images, on one long schedule: :mod:`autonas.engine.final_fit`);
            default :attr:`~autonas.engine.recipe.Recipe.final_fit_fraction`.
        trial_fraction: With a deadline, one trial may take at most this
            fraction of the time limit per worker (at most half of it), so that
            on large data the initial architectures cannot use up the budget
            before any child is tried; with ``max_trials`` set, at least its
            even share of the time (:meth:`trial_share`). A trial stopped by it is marked
            ``stopped_at_time_limit`` and its children train at the initial
            learning rate: their parent had not finished learning.
    """

    max_trials: int | None
    deadline: float | None
    final_fit_fraction: float = Recipe.final_fit_fraction
    trial_fraction: float = 0.2

    def seconds_left(self) -> float:
        """Seconds to the deadline (infinite without one)."""
        return np.inf if self.deadline is None else self.deadline - time.monotonic()

    def trial_share(self, workers: int) -> float:
        """Most of the time limit one trial may take, with ``workers`` trials at a time.

        ``trial_fraction`` per worker, or where ``max_trials`` asks for fewer
        trials, each trial's even share of the time outside the final fit's
        (two trials in 40 s each get 17 s, not 8): at most half the limit.
        """
        fraction = self.trial_fraction
        if self.max_trials:
            fraction = max(fraction, (1.0 - self.final_fit_fraction) / self.max_trials)
        return min(0.5, fraction * max(1, workers))


#: Weight of the validation loss in the score the searcher learns from: a tie-breaker only.
LOSS_TIE_BREAK = 1e-3


def searcher_score(record: TrialRecord) -> float | None:
    """What the searcher learns from a trial: validation accuracy, ties broken by validation loss.

    ``val_accuracy − 0.001 · min(val_loss, 10)``. The loss term is at most
    0.01 and, for losses under 1, under 0.001, so it reorders trials only when
    their accuracies are that close; trials at the same accuracy (a saturated
    validation set, every trial at 1.0) are still told apart and the
    Gaussian process has something to learn. None for a failed trial.
    """
    return _tie_broken(record.val_accuracy, record)


def _tie_broken(value: float | None, record: TrialRecord) -> float | None:
    """``value`` minus :data:`LOSS_TIE_BREAK` times the record's validation loss (at most 10), if it has one."""
    if value is None:
        return None
    loss = record.metrics.get("val_loss")
    if loss is None or not np.isfinite(loss):
        return value
    return value - LOSS_TIE_BREAK * min(float(loss), 10.0)


def objective_score(objective: Objective) -> Callable[[TrialRecord], float | None]:
    """What the searcher learns of a trial under ``objective``: its
    :meth:`~autonas.objectives.Objective.learned_value` (by default the validation accuracy; with
    ``robustness``, ``robust_accuracy`` weighed in), ties broken by validation loss as in
    :func:`searcher_score`. The searcher's predicted reward adds the known costs to it."""

    def score(record: TrialRecord) -> float | None:
        return _tie_broken(objective.learned_value(record) if record.status == "completed" else None, record)

    return score


@dataclass(frozen=True)
class SearchPlan:
    """Everything the search loop runs by, but the project and the data.

    Attributes:
        searcher: Proposes children (``ask``) and learns from trials (``tell``).
        initial: ``(name, graph)`` initial architectures, trained first.
        settings: Training settings of initial architectures.
        fine_tune_settings: Training settings of morphed children.
        budget: When to stop.
        seed: Base seed; trial ``i`` trains with ``(seed + i) mod 2**32``
            (:func:`~autonas.engine.loop.trial_seed`).
        accept: Hard constraint known before training; rejected graphs never train.
        executor: Runs the trials (default: a
            :class:`~autonas.execution.SerialExecutor`, in this process, one at
            a time). It is started by the loop and shut down when it returns.
        rank: Sort key of completed trials, higher is better (e.g.
            ``Objective.rank_key``): what generations rank by; default
            :func:`searcher_score`.
        observers: Told ``(record, history)`` after each trial, in order (the
            child time limit's pace first, then the caller's progress).
        on_epoch: Told ``(trial_id, epochs_done, epochs_planned)`` as trials
            train, by executors that report progress (serial and local ones).
        timed_costs: Whether trials time their trained model (latency,
            measured energy) for their metrics; False when nothing ranks by
            those; a runtime name (``"onnxruntime"``, ``"litert"``): timed,
            with the latency measured in that runtime (see
            :attr:`autonas.objectives.Objective.timed_costs`).
        generation_children: None: the searcher proposes one child at a time,
            of any trained model. A number ``k``: generations of siblings at
            equal budget, ``k`` children of the incumbent and a no-edit sibling
            (:class:`~autonas.engine.generations.Generations`; the searcher
            needs ``ask_children``).
        generation_rungs: With generations, successive-halving rungs per
            generation (1: none): the best third of a rung's members are
            trained on from their own weights for three times the training.
        final_settings: The final fit's training, for whoever runs it after
            the search (:func:`~autonas.engine.final_fit.final_fit`); the loop
            only keeps its share of the time. None: no final fit planned.
        robustness: None, or the attack every trial measures ``robust_accuracy``
            with after training (when the objective reads it).
        learned: What the searcher learns of a trial (default
            :func:`searcher_score`; :func:`objective_score` for an objective
            whose reward holds more than the accuracy).
    """

    searcher: Searcher
    initial: Sequence[tuple[str, Graph]]
    settings: TrainingSettings
    fine_tune_settings: TrainingSettings
    budget: SearchBudget
    seed: int | None = None
    accept: Callable[[Graph], bool] | None = None
    executor: Executor = field(default_factory=SerialExecutor)
    rank: Callable[[TrialRecord], tuple] = searcher_score
    observers: tuple[TrialCallback, ...] = ()
    on_epoch: EpochCallback | None = None
    timed_costs: bool | str = True
    generation_children: int | None = None
    generation_rungs: int = 1
    final_settings: TrainingSettings | None = None
    robustness: RobustnessCheck | None = None
    learned: Callable[[TrialRecord], float | None] = searcher_score

    def observed_by(self, on_trial: TrialCallback | None = None, on_epoch: EpochCallback | None = None) -> SearchPlan:
        """This plan with ``on_trial`` told after each trial (after the plan's own observers) and
        ``on_epoch`` told as trials train (None: as before)."""
        observers = self.observers if on_trial is None else (*self.observers, on_trial)
        return replace(self, observers=observers, on_epoch=self.on_epoch if on_epoch is None else on_epoch)

    def proposal_source(self) -> FreeProposals | Generations:
        """Where children come from: the searcher one at a time, or generations of siblings."""
        if self.generation_children is None:
            return FreeProposals(self.searcher, self.learned)
        return Generations(
            self.searcher, self.generation_children, self.rank, self.learned, rungs=self.generation_rungs
        )
