"""A search described once: what proposes, what is rewarded and allowed, where trials run, for how long.

:class:`SearchSpec` is built from the user's arguments (by
:class:`~autonas.AutoImageClassifier`, and so by the command line) and turns
them into what :func:`~autonas.engine.run_search` takes: the searcher, the one
hard constraint, the initial architectures, the executor and the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autonas.engine.final_fit import final_fit_share
from autonas.engine.loop import SearchBudget
from autonas.engine.recipe import ChildTimeLimit
from autonas.execution.executor import Executor, SerialExecutor
from autonas.graph import Graph, generators
from autonas.search import make_searcher

if TYPE_CHECKING:
    from autonas.objectives import Objective
    from autonas.search import Searcher

__all__ = ["INITIAL_ARCHITECTURES", "IN_PROCESS_BELOW_SECONDS", "SearchSpec", "initial_architectures"]

#: The initial architectures, small (the morphisms grow them), each with ever slimmer settings to
#: try under size constraints: the first that meets them is trained.
INITIAL_ARCHITECTURES: tuple[tuple[str, tuple[dict[str, int], ...]], ...] = (
    ("cnn", (
        {"filters": 16, "max_filters": 64, "hidden_units": 32},
        {"filters": 8, "max_filters": 32, "hidden_units": 0},
        {"filters": 4, "max_filters": 16, "hidden_units": 0},
    )),
    ("resnet", ({"filters": 8}, {"filters": 4}, {"filters": 2})),
)


def initial_architectures(
    input_shape: Sequence[int], num_classes: int, feasible: Callable[[Graph], bool] | None = None
) -> list[tuple[str, Graph]]:
    """``(name, graph)`` of each of :data:`INITIAL_ARCHITECTURES`, slimmed until ``feasible`` holds.

    What every search starts from (the estimator's and the keras-tuner
    oracle's). An architecture still infeasible at its slimmest is left out.
    """
    initial = []
    for name, ladder in INITIAL_ARCHITECTURES:
        for rung, kwargs in enumerate(ladder):
            graph = generators.BY_NAME[name](tuple(input_shape), int(num_classes), **kwargs)
            if feasible is None or feasible(graph):
                initial.append((name if not rung else f"{name} (slim: {kwargs})", graph))
                break
    return initial


#: Below this ``time_limit`` (seconds) the default executor trains in the search's own process:
#: starting worker processes and importing the backend in them would take much of the budget.
IN_PROCESS_BELOW_SECONDS = 60.0
#: Trials of a search given neither ``max_trials`` nor ``time_limit``.
DEFAULT_TRIALS = 10


def _final_share(precision: str) -> float:
    # the class attribute read at call time: a benchmark process may set it (the dataclass default is fixed)
    return final_fit_share(SearchBudget.final_fit_fraction, precision)


@dataclass
class SearchSpec:
    """Everything that decides a search but the data, checked by the caller (the estimator).

    Attributes:
        objective: The reward, with every limit merged in (see :func:`autonas.objectives.as_objective`).
        searcher: A name in :data:`autonas.search.SEARCHERS` or a searcher object.
        max_model_size: Largest model in bytes of float32 weights (None: any).
        max_trials: Trials in the project (None: ``time_limit`` decides, or
            :data:`DEFAULT_TRIALS` without one).
        time_limit: Seconds for the whole fit, final fit included (None: no limit).
        seed: Seed of the searcher and of training.
        generation_children: None (one child at a time) or children per generation.
        generation_rungs: Successive-halving rungs per generation (1: none).
        executor: Where trials run (None: see :meth:`make_executor`).
    """

    objective: Objective
    searcher: Any = "bayesian"
    max_model_size: int | None = None
    max_trials: int | None = None
    time_limit: float | None = None
    seed: int | None = None
    generation_children: int | None = None
    generation_rungs: int = 1
    executor: Executor | None = None

    def constraint(self, child_limit: ChildTimeLimit | None = None) -> Callable[[Graph], bool]:
        """The hard constraints known before training, as one ``graph -> bool`` (with ``child_limit``,
        also the predicted trial time of a time-limited search's children)."""
        objective, size = self.objective, self.max_model_size

        def feasible(graph: Graph) -> bool:
            too_big = size is not None and graph.num_params() * 4 > size
            too_slow = child_limit is not None and not child_limit.allows(graph)
            return not too_big and not too_slow and objective.feasible_before_training(graph)

        return feasible

    def make_executor(self) -> Executor:
        """The given executor, else worker processes (:class:`~autonas.execution.LocalExecutor`), or
        this process (:class:`~autonas.execution.SerialExecutor`) for a time limit too short to start
        workers in (:data:`IN_PROCESS_BELOW_SECONDS`)."""
        if self.executor is not None:
            return self.executor
        if self.time_limit is not None and self.time_limit < IN_PROCESS_BELOW_SECONDS:
            return SerialExecutor()
        from autonas.execution.local import LocalExecutor

        return LocalExecutor()

    def make_searcher(self, constraint: Callable[[Graph], bool] | None = None) -> Searcher:
        """The searcher, built from its name with the objective's predicted reward and ``constraint``;
        shrinking edits only where smaller networks score better (a size penalty or limit)."""
        from autonas.morphism import GROWING, REGULARISING

        shrink = self.objective.rewards_smaller_models or self.max_model_size is not None
        return make_searcher(
            self.searcher,
            seed=self.seed,
            reward=self.objective.predicted_reward,
            constraint=constraint,
            kinds=None if shrink else GROWING | REGULARISING,
        )

    def initial_graphs(self, input_shape: Sequence[int], num_classes: int) -> list[tuple[str, Graph]]:
        """The initial architectures (:func:`initial_architectures`) meeting this search's constraints."""
        return initial_architectures(input_shape, num_classes, self.constraint())

    def budget(self, start: float, final_precision: str = "float32") -> SearchBudget:
        """When the search stops, its clock started at ``start`` (``time.monotonic()``), keeping the
        share of a final fit in ``final_precision`` (:func:`~autonas.engine.final_fit.final_fit_share`)."""
        max_trials = DEFAULT_TRIALS if self.max_trials is None and self.time_limit is None else self.max_trials
        deadline = None if self.time_limit is None else start + float(self.time_limit)
        return SearchBudget(max_trials, deadline, final_fit_fraction=_final_share(final_precision))

    def child_limit(self, workers: int, child_epochs: float, trials: int,
                    final_precision: str = "float32") -> ChildTimeLimit | None:
        """With a time limit: the largest child worth training, so that about ``trials`` trials fit
        in the time outside a final fit in ``final_precision``."""
        if self.time_limit is None:
            return None
        seconds = (1.0 - _final_share(final_precision)) * float(self.time_limit)
        return ChildTimeLimit.for_budget(seconds, workers, child_epochs, trials, rank=self.objective.rank_key)
