"""The final fit: its length in epochs, the time the search keeps for it, and what it does to the model."""

import time

import numpy as np
import pytest

from autonas.engine.final_fit import BFLOAT16_SHARE, final_fit, final_fit_epochs, final_fit_reserve, final_fit_share
from autonas.engine.project import TrialRecord
from autonas.engine.recipe import Recipe
from autonas.execution import TrainingData, TrainingSettings, train_graph
from autonas.graph import generators


def _best(startup: float = 3.0, pace: float = 0.5, epochs: int = 6) -> TrialRecord:
    metrics = {"startup_seconds": startup, "seconds_per_epoch": pace, "best_epoch": epochs, "val_accuracy": 0.9}
    return TrialRecord(1, None, [], "f", metrics=metrics, epochs=epochs)


def _tiny_cnn_and_data(images: int):
    """A small 3-class CNN on 8×8 grey images and ``images`` random images for it (80 % training)."""
    graph = generators.cnn((8, 8, 1), 3, filters=4, max_filters=8, hidden_units=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((images, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, images)
    cut = images * 4 // 5
    return graph, TrainingData(x[:cut], y[:cut], x[cut:], y[cut:])


def test_without_a_time_limit_the_final_fit_trains_its_planned_epochs():
    assert final_fit_epochs(_best(), planned=17) == 17
    assert final_fit_epochs(_best(pace=0.0), planned=17, seconds=1.0) == 17  # no pace known: the plan


def test_with_a_time_limit_it_plans_its_epochs_when_one_fits_after_twice_the_start_up():
    best = _best(startup=3.0, pace=0.5)
    # an epoch on all the data takes 0.5 / 0.8 = 0.625 s; the clock, not this count, ends the fit
    assert final_fit_epochs(best, planned=100, seconds=20.0, train_fraction=0.8) == 100
    assert final_fit_epochs(best, planned=100, seconds=6.7, train_fraction=0.8) == 100  # 6 s + 0.625 s
    assert final_fit_epochs(best, planned=100, seconds=6.5, train_fraction=0.8) == 0  # not one epoch fits


def test_the_search_keeps_its_share_of_the_time_limit():
    assert final_fit_reserve(0.3, 100.0) == 30.0
    assert final_fit_reserve(0.3, None) == 0.0


def test_a_final_fit_in_mixed_bfloat16_keeps_less_of_the_limit_and_auto_resolves_where_it_runs(monkeypatch):
    from autonas.engine import final_fit as module

    assert final_fit_share(0.3, "float32") == 0.3
    assert final_fit_share(0.3, "mixed_bfloat16") == pytest.approx(0.3 * BFLOAT16_SHARE)
    assert BFLOAT16_SHARE < 1.0
    monkeypatch.setattr(module, "fast_dtype_policy", lambda: "mixed_bfloat16")
    assert final_fit_share(0.3, "auto") == pytest.approx(0.3 * BFLOAT16_SHARE)
    monkeypatch.setattr(module, "fast_dtype_policy", lambda: "float32")
    assert final_fit_share(0.3, "auto") == 0.3


def test_the_search_keeps_the_share_of_its_final_fit_s_precision(monkeypatch):
    from autonas.engine.spec import SearchSpec
    from autonas.objectives import Objective

    spec = SearchSpec(objective=Objective(), time_limit=100)
    assert spec.budget(0.0).final_fit_fraction == 0.3
    assert spec.budget(0.0, "mixed_bfloat16").final_fit_fraction == pytest.approx(0.3 * BFLOAT16_SHARE)
    # the children's time limit counts the time outside the final fit: more of it in bfloat16
    plain, mixed = spec.child_limit(2, 1.0), spec.child_limit(2, 1.0, "mixed_bfloat16")
    assert mixed.trial_seconds > plain.trial_seconds


def test_the_final_settings_restart_a_cosine_schedule_of_the_recipe_length():
    recipe = Recipe()
    untimed = recipe.final_settings(rows=2_000, time_limited=False)
    assert (untimed.schedule, untimed.learning_rate) == ("cosine", recipe.child_learning_rate)
    assert untimed.max_epochs == 24  # 48,000 examples over 2,000 images
    assert recipe.final_settings(rows=2_000, time_limited=True).max_epochs == recipe.max_final_epochs
    assert recipe.final_settings(rows=2_000, time_limited=True, epochs=3).max_epochs == 3


def test_only_the_final_fit_smooths_its_labels():
    recipe = Recipe()
    assert recipe.final_settings(rows=2_000, time_limited=True).label_smoothing == recipe.final_label_smoothing > 0
    assert recipe.initial_settings(2_000).label_smoothing == 0.0  # trials' scores are compared unsmoothed
    assert recipe.child_settings(2_000).label_smoothing == 0.0
    assert Recipe(final_label_smoothing=0.0).final_settings(2_000, True).label_smoothing == 0.0


def test_a_final_fit_with_less_time_left_than_twice_its_start_up_is_skipped(monkeypatch):
    import autonas.engine.final_fit as module

    graph, data = _tiny_cnn_and_data(30)
    best = _best(startup=3.0, pace=0.01, epochs=3)

    def must_not_train(*args, **kwargs):
        raise AssertionError("the final fit trained although no time was left for it")

    monkeypatch.setattr(module, "train_graph", must_not_train)  # decided without building anything
    # 4.5 s left: more than the start-up and an epoch (3.01 s), less than twice the start-up (6 s)
    kept = final_fit(graph, best, data, TrainingSettings(max_epochs=100), deadline=time.monotonic() + 4.5)
    assert kept is graph  # the trial's weights, untouched


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_the_final_fit_trains_a_barely_trained_network_into_a_better_one(digits, precision):
    x_train, x_test, y_train, y_test = digits
    data = TrainingData(x_train[:1000], y_train[:1000], x_train[1000:], y_train[1000:])
    settings = TrainingSettings(learning_rate=3e-3, batch_size=64, max_epochs=1)
    trial = train_graph(generators.cnn((8, 8, 1), 10, filters=8, max_filters=16, hidden_units=0),
                        data.x_train, data.y_train, settings, seed=0, measure=False)
    record = TrialRecord(1, None, [], "f", metrics=trial.metrics, epochs=1)

    def accuracy(graph) -> float:
        return float(np.mean(graph.to_keras().predict(x_test, verbose=0).argmax(1) == y_test))

    settings = Recipe(final_precision=precision).final_settings(len(x_train), False, epochs=15)
    final = final_fit(trial.graph, record, data, settings, None, seed=0)
    before, after = accuracy(trial.graph), accuracy(final)  # the model handed back: float32
    assert after > max(before + 0.1, 0.9), (before, after)
    assert all(w.dtype == np.float32 for node in final.nodes for w in (final.weights(node) or []))


@pytest.mark.slow
@pytest.mark.timing
def test_with_a_time_limit_the_final_fit_trains_until_its_deadline_however_fast_its_epochs_are():
    graph, data = _tiny_cnn_and_data(300)
    # a pace that predicts 3 epochs in the 8 s: the fit runs on (up to 10,000 epochs) until the deadline
    best = _best(startup=0.5, pace=2.5, epochs=3)
    start = time.monotonic()
    trained = final_fit(graph, best, data, TrainingSettings(max_epochs=10_000, batch_size=32, schedule="cosine"),
                        deadline=start + 8.0, seed=0)
    elapsed = time.monotonic() - start
    assert trained is not graph
    assert 6.0 < elapsed < 8.0, elapsed  # trained until the deadline less the saving margin (0.8 s)
