"""A search described once: what proposes, what is rewarded and allowed, where trials run, for how long.

:class:`SearchSpec` is built from the user's arguments (by
:class:`~autonas.AutoImageClassifier`, and so by the command line) and turns
them into one :class:`~autonas.engine.plan.SearchPlan` (:meth:`SearchSpec.plan`),
which :func:`~autonas.engine.loop.run_plan` runs: the searcher, the one hard
constraint, the initial architectures, the training settings of its
:class:`~autonas.engine.recipe.Recipe`, the executor and the budget. The
keras-tuner oracle builds its searcher and initial architectures with the same
methods (:meth:`SearchSpec.make_searcher`, :meth:`SearchSpec.constraint`,
:meth:`SearchSpec.initial_graphs`), so both propose the same edits under the
same constraint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from autonas.engine.final_fit import final_fit_share
from autonas.engine.plan import SearchBudget, SearchPlan, TrialCallback, objective_score
from autonas.engine.recipe import ChildTimeLimit, Recipe
from autonas.execution.executor import Executor, SerialExecutor
from autonas.graph import Graph, generators
from autonas.objectives.robustness import AdversarialTraining, PixelBox, RobustnessCheck
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


def _pace_observer(limit: ChildTimeLimit) -> TrialCallback:
    """An observer that teaches ``limit`` the pace of each finished trial."""

    def observe(record: Any, history: Any) -> None:
        limit.observe(record)

    return observe


@dataclass
class SearchSpec:
    """Everything that decides a search but the data, checked by the caller (the estimator).

    Attributes:
        objective: The reward, with every limit merged in (see
            :func:`autonas.objectives.as_objective`): its ``max_params`` is
            the size limit.
        searcher: A name in :data:`autonas.search.SEARCHERS` or a searcher object.
        max_trials: Trials in the project (None: ``time_limit`` decides, or
            :data:`DEFAULT_TRIALS` without one).
        time_limit: Seconds for the whole fit, final fit included (None: no limit).
        seed: Seed of the searcher and of training.
        generation_children: None (one child at a time) or children per generation.
        generation_rungs: Successive-halving rungs per generation (1: none).
        executor: Where trials run (None: see :meth:`make_executor`).
        recipe: How trials and the final fit train, and how a time limit is
            split between them (:class:`~autonas.engine.recipe.Recipe`).
    """

    objective: Objective
    searcher: Any = "bayesian"
    max_trials: int | None = None
    time_limit: float | None = None
    seed: int | None = None
    generation_children: int | None = None
    generation_rungs: int = 1
    executor: Executor | None = None
    recipe: Recipe = field(default_factory=Recipe)

    def constraint(self, child_limit: ChildTimeLimit | None = None) -> Callable[[Graph], bool]:
        """The hard constraints known before training, as one ``graph -> bool`` (with ``child_limit``,
        also the predicted trial time of a time-limited search's children)."""
        objective = self.objective

        def feasible(graph: Graph) -> bool:
            too_slow = child_limit is not None and not child_limit.allows(graph)
            return not too_slow and objective.feasible_before_training(graph)

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

        shrink = self.objective.rewards_smaller_models
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
        share = final_fit_share(self.recipe.final_fit_fraction, final_precision)
        return SearchBudget(max_trials, deadline, final_fit_fraction=share)

    def child_limit(self, workers: int, child_epochs: float, final_precision: str = "float32") -> ChildTimeLimit | None:
        """With a time limit: the largest child worth training, so that about :attr:`Recipe.trials` trials
        fit in the time outside a final fit in ``final_precision``, with the recipe's growth allowance."""
        if self.time_limit is None:
            return None
        seconds = (1.0 - final_fit_share(self.recipe.final_fit_fraction, final_precision)) * float(self.time_limit)
        return ChildTimeLimit.for_budget(
            seconds, workers, child_epochs, self.recipe.trials, rank=self.objective.rank_key, recipe=self.recipe
        )

    def robustness(self, box: PixelBox | None) -> tuple[RobustnessCheck | None, AdversarialTraining | None]:
        """What trials measure (the objective's attack) and how they train (adversarially where the recipe
        says so: by default where the objective reads robustness), for images that ``box`` maps to [0, 1].

        Raises:
            ValueError: when robustness is asked for without ``box``.
        """
        attack = self.objective.robustness_attack
        setting = self.recipe.adversarial_training
        adversarial = attack is not None if setting == "auto" else bool(setting)
        if box is None and (attack is not None or adversarial):
            raise ValueError("measuring or training for robustness needs the images' scale (box)")
        check = None if attack is None else RobustnessCheck(attack, box)
        return check, AdversarialTraining(float(self.objective.epsilon), box) if adversarial else None

    def plan(
        self, input_shape: Sequence[int], num_classes: int, train_rows: int, val_rows: int, start: float,
        epochs: int | None = None, box: PixelBox | None = None,
    ) -> SearchPlan:
        """The search on ``train_rows`` training and ``val_rows`` validation images, ready for
        :func:`~autonas.engine.loop.run_plan`.

        Its trials and final fit train as :attr:`recipe` says (``epochs``: an
        initial architecture's length, and the most of a child's and the final
        fit's); with a time limit, counted from ``start`` (``time.monotonic()``),
        children are kept within :meth:`child_limit`, which the plan's first
        observer teaches the pace of each trial.

        Args:
            input_shape: Shape of one input image, ``(height, width, channels)``.
            num_classes: Number of classes.
            train_rows: Training images.
            val_rows: Validation images (the final fit trains on both).
            start: When the time limit started (``time.monotonic()``).
            epochs: None (the recipe's lengths) or the epochs of an initial architecture.
            box: How the standardised images map to the [0, 1] pixel scale; needed where the
                objective reads robustness (:meth:`robustness`).
        """
        recipe = self.recipe
        check, adversarial = self.robustness(box)
        initial, child, final = (
            replace(settings, adversarial=adversarial) for settings in (
                recipe.initial_settings(train_rows, epochs), recipe.child_settings(train_rows, epochs),
                recipe.final_settings(train_rows + val_rows, self.time_limit is not None, epochs),
            )
        )
        executor = self.make_executor()
        child_limit = self.child_limit(executor.max_workers, child.data_epochs(train_rows), final.precision)
        constraint = self.constraint(child_limit)
        return SearchPlan(
            searcher=self.make_searcher(constraint),
            initial=self.initial_graphs(input_shape, num_classes),
            settings=initial,
            fine_tune_settings=child,
            budget=self.budget(start, final.precision),
            seed=self.seed,
            accept=constraint,
            executor=executor,
            rank=self.objective.rank_key,
            observers=() if child_limit is None else (_pace_observer(child_limit),),
            timed_costs=self.objective.timed_costs,
            generation_children=self.generation_children,
            generation_rungs=self.generation_rungs,
            final_settings=final,
            robustness=check,
            learned=objective_score(self.objective),
        )
