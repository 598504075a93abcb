"""A search described once: SearchSpec builds the one SearchPlan the loop runs, from its Recipe and limits."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.engine import Project, Recipe, SearchBudget, SearchPlan, SearchSpec, TrialRecord, run_plan, run_search
from autonas.engine.final_fit import final_fit_epochs
from autonas.engine.recipe import ChildTimeLimit, startup_seconds
from autonas.engine.spec import DEFAULT_TRIALS
from autonas.execution import SerialExecutor, TrainingSettings
from autonas.graph import generators
from autonas.morphism import GROWING, REGULARISING
from autonas.objectives import Objective
from autonas.search import RandomSearcher
from tests._fakes import ScoringExecutor, tiny_data

SHAPE = (8, 8, 1)


def _spec(**kwargs) -> SearchSpec:
    return SearchSpec(objective=kwargs.pop("objective", Objective()), executor=SerialExecutor(), seed=3, **kwargs)


def test_a_bare_training_settings_trains_as_the_recipe_s_initial_architectures():
    """The recipe is the one source of the default numbers; a bare settings object repeats them."""
    bare, recipe = TrainingSettings(), Recipe()
    assert (bare.learning_rate, bare.batch_size, bare.max_epochs) == (
        recipe.learning_rate, recipe.batch_size, recipe.max_epochs
    )
    assert (recipe.learning_rate, recipe.batch_size, recipe.max_epochs) == (3e-3, 64, 40)  # the default search's


def test_the_plan_trains_as_its_recipe_says_and_keeps_its_share_of_the_limit():
    recipe = Recipe(final_fit_fraction=0.2, trials=40, trial_precision="float32", final_precision="float32")
    spec = _spec(time_limit=100.0, recipe=recipe)
    plan = spec.plan(SHAPE, 10, train_rows=1_000, val_rows=250, start=50.0)
    assert isinstance(plan, SearchPlan)
    assert plan.settings == recipe.initial_settings(1_000)
    assert plan.fine_tune_settings == recipe.child_settings(1_000)
    assert plan.final_settings == recipe.final_settings(1_250, time_limited=True)
    assert plan.budget == SearchBudget(None, 150.0, final_fit_fraction=0.2)
    assert (plan.seed, plan.rank, plan.timed_costs) == (3, spec.objective.rank_key, spec.objective.timed_costs)
    assert isinstance(plan.executor, SerialExecutor)
    assert [name for name, _ in plan.initial] == ["cnn", "resnet"]
    assert plan.searcher.kinds == GROWING | REGULARISING  # no limit, no size penalty: no shrinking edits
    shorter = spec.plan(SHAPE, 10, 1_000, 250, start=50.0, epochs=3)
    assert shorter.settings.max_epochs == 3 and shorter.fine_tune_settings.max_epochs <= 3


def test_a_time_limited_plan_teaches_its_child_limit_the_pace_through_its_first_observer():
    plan = _spec(time_limit=100.0).plan(SHAPE, 10, 1_000, 250, start=0.0)
    big = generators.cnn(SHAPE, 10, filters=64, max_filters=256, hidden_units=256)
    assert len(plan.observers) == 1 and plan.accept(big)  # no pace known yet
    slow = TrialRecord(1, None, [], "f", metrics={"seconds_per_epoch": 50.0, "macs": 1_000, "startup_seconds": 1.0})
    plan.observers[0](slow, [slow])
    assert not plan.accept(big) and not plan.searcher.constraint(big)  # predicted far beyond the limit
    untimed = _spec(max_trials=None).plan(SHAPE, 10, 1_000, 250, start=0.0)
    assert untimed.observers == () and untimed.budget.max_trials == DEFAULT_TRIALS
    told = []
    watched = plan.observed_by(lambda record, history: told.append(record.id), on_epoch=print)
    assert watched.observers[0] is plan.observers[0] and len(watched.observers) == 2 and watched.on_epoch is print


def test_the_final_fit_share_and_the_growth_allowance_come_from_the_recipe():
    recipe = Recipe(final_fit_fraction=0.15, growth=None, stretch=2.0)
    spec = _spec(time_limit=100.0, recipe=recipe)
    assert spec.budget(0.0).final_fit_fraction == 0.15
    limit = spec.child_limit(workers=2, child_epochs=1.0)
    assert (limit.growth, limit.stretch) == (None, 2.0)
    assert limit.trial_seconds == pytest.approx(85.0 * 2 / recipe.trials)  # 85 % of the limit for the trials
    assert _spec(time_limit=100.0).budget(0.0).final_fit_fraction == Recipe.final_fit_fraction == 0.3
    for bad in ({"final_fit_fraction": 1.0}, {"final_fit_fraction": -0.1}, {"growth": 0}, {"stretch": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Recipe(**bad)


def test_one_start_up_estimate_serves_the_loop_the_final_fit_and_the_child_limit():
    def record(startup, status="completed"):
        metrics = {"startup_seconds": startup, "seconds_per_epoch": 1.0, "macs": 100}
        return TrialRecord(1, 1, [], "f", metrics=metrics, status=status)

    history = [record(100.0)] + [record(s) for s in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)] + [record(50.0, "failed")]
    assert startup_seconds(history) == 4.5  # the median of the last 8 completed trials
    assert startup_seconds([]) == 0.0
    best = record(3.0)
    assert final_fit_epochs(best, 10, seconds=2 * 3.0 + 1.0) == 10  # one epoch fits after twice its start-up
    assert final_fit_epochs(best, 10, seconds=2 * 3.0 + 0.5) == 0
    limit = ChildTimeLimit(trial_seconds=1.0, child_epochs=1.0)
    for trial in history:
        limit.observe(trial)
    assert limit.predicted_seconds(generators.mlp(SHAPE, 3)) == pytest.approx(
        startup_seconds(history) + 0.01 * generators.mlp(SHAPE, 3).macs()
    )


def test_max_model_size_is_deprecated_and_becomes_max_params():
    def spec_of(**limits):
        classifier = AutoImageClassifier(**limits)
        classifier.objective_ = classifier._make_objective()
        return classifier._spec()

    with pytest.warns(DeprecationWarning, match="max_params=6500"):
        by_size = spec_of(max_model_size=4 * 6_500 + 3)
    by_params = spec_of(max_params=6_500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # max_params alone warns of nothing
        spec_of(max_params=6_500)
    assert by_size.objective.max_params == by_params.objective.max_params == 6_500
    small, large = generators.cnn(SHAPE, 10, filters=4, max_filters=8, hidden_units=0), generators.cnn(SHAPE, 10)
    assert small.num_params() <= 6_500 < large.num_params()
    for spec in (by_size, by_params):
        assert spec.constraint()(small) and not spec.constraint()(large)
        assert spec.make_searcher().kinds is None  # a size limit: shrinking edits too
    with pytest.raises(ValueError, match="max_params only"):
        spec_of(max_model_size=4_000, max_params=1_000)


@pytest.mark.slow  # builds Keras models for the networks' weights
def test_run_search_is_run_plan_with_a_plan_of_its_arguments(tmp_path: Path):
    """The keyword API and the plan run one loop: the same trials, and the observers told in order."""
    initial = [("cnn", generators.cnn(SHAPE, 10, filters=4, max_filters=16, hidden_units=0))]
    settings = TrainingSettings(max_epochs=1)
    score = lambda job: 0.5 + 0.01 * len(job.graph.nodes)  # noqa: E731 - deeper scores higher

    def trials(history):
        return [(r.id, r.parent, r.fingerprint) for r in history]

    told: list[tuple[str, int]] = []
    plan = SearchPlan(
        RandomSearcher(seed=0), initial, settings, settings, SearchBudget(max_trials=4, deadline=None), seed=0,
        executor=ScoringExecutor(score), timed_costs=False,
        observers=(lambda r, h: told.append(("first", r.id)), lambda r, h: told.append(("second", r.id))),
    )
    by_plan = run_plan(Project(tmp_path / "plan"), tiny_data(), plan)
    by_keywords = run_search(
        project=Project(tmp_path / "keywords"), searcher=RandomSearcher(seed=0), data=tiny_data(), initial=initial,
        settings=settings, fine_tune_settings=settings, budget=SearchBudget(max_trials=4, deadline=None), seed=0,
        executor=ScoringExecutor(score), timed_costs=False,
    )
    assert len(by_plan) == 4 and trials(by_plan) == trials(by_keywords)
    assert told == [(which, i) for i in range(1, 5) for which in ("first", "second")]
    assert np.all([r.status == "completed" for r in by_plan])
