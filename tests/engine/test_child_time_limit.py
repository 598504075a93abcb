"""A time-limited search keeps its children small enough for its budget to hold many trials."""

import pytest

from autonas.engine import TrialRecord
from autonas.engine.recipe import ChildTimeLimit, Recipe
from autonas.graph import generators

pytestmark = [pytest.mark.slow, pytest.mark.backend]  # trains networks or starts processes; runs again under JAX in CI


def _record(pace: float, macs: int, startup: float = 2.0, status: str = "completed", parent: int = 1) -> TrialRecord:
    metrics = {"seconds_per_epoch": pace, "macs": macs, "startup_seconds": startup}
    return TrialRecord(2, parent, [], "f", metrics=metrics, status=status)


def test_children_predicted_to_outlast_the_limit_are_refused():
    small = generators.cnn((28, 28, 1), 10, filters=8, max_filters=32, hidden_units=0)
    large = generators.cnn((28, 28, 1), 10)  # about 15 times the MACs
    limit = ChildTimeLimit(trial_seconds=20.0, child_epochs=2)
    assert limit.allows(large) and limit.predicted_seconds(large) is None  # no pace yet: the initial networks
    limit.observe(_record(pace=5.0, macs=small.macs(), startup=2.0))
    assert limit.predicted_seconds(small) == 2.0 + 2 * 5.0
    assert limit.allows(small)
    assert limit.predicted_seconds(large) > 20.0 and not limit.allows(large)
    half = ChildTimeLimit(trial_seconds=20.0, child_epochs=0.5)  # a child training on half the images
    half.observe(_record(pace=5.0, macs=small.macs(), startup=2.0))
    assert half.predicted_seconds(small) == 2.0 + 0.5 * 5.0


def test_the_pace_comes_from_completed_trials_only_and_recent_ones():
    graph = generators.mlp((8, 8, 1), 3)
    limit = ChildTimeLimit(trial_seconds=10.0, child_epochs=1)
    limit.observe(_record(pace=100.0, macs=graph.macs(), status="failed"))
    limit.observe(TrialRecord(2, None, [], "f", metrics={}))
    assert limit.predicted_seconds(graph) is None
    for _ in range(ChildTimeLimit.WINDOW):
        limit.observe(_record(pace=100.0, macs=graph.macs(), startup=0.0))
    assert not limit.allows(graph)
    for _ in range(ChildTimeLimit.WINDOW):  # the machine got faster (another search ended)
        limit.observe(_record(pace=1.0, macs=graph.macs(), startup=0.0))
    assert limit.predicted_seconds(graph) == 1.0 and limit.allows(graph)


def test_the_limit_for_a_budget_scales_with_time_and_workers():
    assert ChildTimeLimit.for_budget(600.0, 2, child_epochs=1, trials=50).trial_seconds == 24.0
    assert ChildTimeLimit.for_budget(3600.0, 1, child_epochs=1, trials=50).trial_seconds == 72.0
    assert ChildTimeLimit.for_budget(600.0, 2, child_epochs=0.5).trial_seconds == 15.0  # the recipe's 80 trials
    assert Recipe().trials == 80


def test_children_as_small_as_the_initial_networks_are_always_allowed():
    """However slow the machine, a search can go on with children no larger than where it started."""
    initial = generators.cnn((28, 28, 1), 10, filters=8, max_filters=32, hidden_units=0)
    larger = generators.cnn((28, 28, 1), 10, filters=16, max_filters=64, hidden_units=32)
    limit = ChildTimeLimit(trial_seconds=1.0, child_epochs=1)
    limit.observe(_record(pace=50.0, macs=initial.macs(), parent=None))  # an initial architecture, far too slow
    assert limit.predicted_seconds(initial) > 1.0
    assert limit.allows(initial)
    assert not limit.allows(larger)


def test_where_start_up_dominates_children_may_train_as_long_as_it_takes():
    """A short limit with a slow start-up (JAX compiling on small images) still lets children grow."""
    initial = generators.cnn((8, 8, 1), 10, filters=8, max_filters=32, hidden_units=0)
    larger = generators.cnn((8, 8, 1), 10, filters=16, max_filters=64, hidden_units=32)
    limit = ChildTimeLimit(trial_seconds=3.0, child_epochs=5)
    rate = 0.3 / initial.macs()  # 0.3 s an epoch for the initial network
    limit.observe(_record(pace=rate * initial.macs(), macs=initial.macs(), startup=7.0, parent=None))
    assert limit.predicted_seconds(larger) == 7.0 + 5 * rate * larger.macs()
    assert limit.predicted_seconds(larger) <= 14.0 and limit.allows(larger)  # > 3 s, within twice the start-up
    much_larger = generators.cnn((8, 8, 1), 10, filters=256, max_filters=256, hidden_units=256)
    assert not limit.allows(much_larger)


def test_the_best_network_may_grow_beyond_the_limit_within_the_stretch():
    """A leader that already takes most of the limit can still be made deeper or wider (up to the recipe's
    growth x its MACs, predicted within its stretch x the limit); without a ranking, or beyond either bound,
    it cannot."""
    leader = generators.cnn((28, 28, 1), 10, filters=8, max_filters=32, hidden_units=0)
    grown = generators.cnn((28, 28, 1), 10, filters=11, max_filters=45, hidden_units=0)
    far_grown = generators.cnn((28, 28, 1), 10, filters=16, max_filters=64, hidden_units=32)
    assert leader.macs() < grown.macs() <= Recipe.growth * leader.macs() < far_grown.macs()
    rate = 1.0 / leader.macs()  # 1 s an epoch for the leader: its trial is just within the limit
    record = _record(pace=rate * leader.macs(), macs=leader.macs(), startup=0.0)
    record.metrics["val_accuracy"] = 0.9
    worse = _record(pace=rate * 10, macs=10, startup=0.0)  # a tiny network that ranks lower
    worse.metrics["val_accuracy"] = 0.5

    def rank(r):
        return r.metrics["val_accuracy"]

    ranked = ChildTimeLimit(trial_seconds=1.2, child_epochs=1, rank=rank)
    unranked = ChildTimeLimit(trial_seconds=1.2, child_epochs=1)
    for limit in (ranked, unranked):
        limit.observe(record)
        limit.observe(worse)
    assert ranked.leader_macs == leader.macs()
    assert ranked.predicted_seconds(grown) > 1.2
    assert ranked.allows(grown) and not unranked.allows(grown)
    assert not ranked.allows(far_grown)  # more than growth x the leader
    slow = ChildTimeLimit(trial_seconds=1.2, child_epochs=10, rank=rank)  # the grown child would take > STRETCH x
    slow.observe(record)
    assert slow.predicted_seconds(grown) > Recipe.stretch * 1.2 and not slow.allows(grown)
    assert (ranked.growth, ranked.stretch) == (Recipe.growth, Recipe.stretch)  # the recipe's, by default



def test_the_growth_allowance_comes_from_the_recipe_it_is_given():
    """A benchmark varies growth and stretch by the Recipe it passes, never by setting class attributes."""
    leader = generators.cnn((28, 28, 1), 10, filters=8, max_filters=32, hidden_units=0)
    grown = generators.cnn((28, 28, 1), 10, filters=11, max_filters=45, hidden_units=0)
    record = _record(pace=1.0, macs=leader.macs(), startup=0.0)
    record.metrics["val_accuracy"] = 0.9

    def limit_with(recipe):
        limit = ChildTimeLimit.for_budget(12.0, 1, child_epochs=1, trials=10, rank=lambda r: r.metrics["val_accuracy"],
                                          recipe=recipe)
        limit.observe(record)
        return limit

    assert limit_with(None).trial_seconds == 1.2 and limit_with(None).allows(grown)  # the default recipe's growth
    assert not limit_with(Recipe(growth=None)).allows(grown)  # no growth allowance
    assert not limit_with(Recipe(growth=1.1)).allows(grown)  # more MACs than the allowance
    assert not limit_with(Recipe(stretch=1.0)).allows(grown)  # predicted beyond the stretch
    assert (limit_with(Recipe(growth=3.0, stretch=2.0)).growth, limit_with(Recipe(stretch=2.0)).stretch) == (3.0, 2.0)
