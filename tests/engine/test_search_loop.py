"""The search loop: failed trials are recorded and the search goes on; all-failing searches stop clearly."""

from dataclasses import dataclass, replace

import numpy as np
import pytest

from autonas.engine import Project, SearchBudget, TrialRecord, TrialsFailedError, run_search
from autonas.execution import FailureKind, TrainingData, TrainingSettings, train_graph
from autonas.graph import generators
from autonas.morphism import Wider
from tests._fakes import ScoringExecutor

pytestmark = [pytest.mark.slow, pytest.mark.backend]  # trains networks or starts processes; runs again under JAX in CI

SETTINGS = TrainingSettings(max_epochs=2, patience=1)


@dataclass(frozen=True)
class _Proposal:
    parent_id: str
    operations: tuple
    graph: object


class _ScriptedSearcher:
    """Proposes prepared graphs in order and remembers what it was told."""

    def __init__(self, graphs):
        self.graphs = list(graphs)
        self.told = []

    def tell(self, trial_id, graph, accuracy):
        self.told.append((trial_id, graph.fingerprint(), accuracy))

    def ask(self):
        return _Proposal("1", (), self.graphs.pop(0)) if self.graphs else None


def _data(digits):
    x_train, _, y_train, _ = digits
    return TrainingData(x_train[:300], y_train[:300], x_train[300:400], y_train[300:400])


def _broken(graph):
    """A graph whose input does not fit the 8×8 data: its fit fails (a failed trial, not a bug: see
    test_fatal_errors.py for graphs whose model cannot be built)."""
    return generators.mlp((4, 4, 1), graph.output_shape[-1])


def test_failed_trial_is_recorded_and_search_goes_on(tmp_path, digits):
    mlp = generators.mlp((8, 8, 1), 10)
    wider = Wider([n for n in mlp.nodes if mlp.layer(n).type == "Dense"][0], 160).apply(mlp)
    searcher = _ScriptedSearcher([_broken(mlp), wider])
    history = run_search(
        project=Project(tmp_path / "p"),
        searcher=searcher,
        data=_data(digits),
        initial=[("mlp", mlp)],
        settings=SETTINGS,
        fine_tune_settings=SETTINGS,
        budget=SearchBudget(max_trials=3, deadline=None),
        seed=0,
    )
    assert [r.status for r in history] == ["completed", "failed", "completed"]
    assert "ValueError" in history[1].error
    assert history[2].parent == 1
    on_disk = Project(tmp_path / "p").load_trials()
    assert [r.to_dict() for r in on_disk] == [r.to_dict() for r in history]
    assert searcher.told[1][2] is None  # the searcher learns of the failure


def test_consecutive_failures_with_nothing_completed_raise(tmp_path, digits):
    mlp = generators.mlp((8, 8, 1), 10)
    with pytest.raises(TrialsFailedError, match="3 trials failed in a row"):
        run_search(
            project=Project(tmp_path / "p"),
            searcher=_ScriptedSearcher([_broken(mlp)] * 5),
            data=_data(digits),
            initial=[("broken", _broken(mlp))],
            settings=SETTINGS,
            fine_tune_settings=SETTINGS,
            budget=SearchBudget(max_trials=10, deadline=None),
        )


def test_nan_loss_fails_the_trial(digits):
    x_train, _, y_train, _ = digits
    x = x_train[:200] * 1e30
    x[::10] = np.nan  # JAX's clipped cross-entropy stays finite on overflow alone, TensorFlow's on NaN inputs alone
    result = train_graph(
        generators.mlp((8, 8, 1), 10),
        x,
        y_train[:200],
        TrainingSettings(learning_rate=1e10, max_epochs=2),
        validation=(x_train[200:300], y_train[200:300]),
    )
    assert result.status == "failed"
    assert "NaN" in result.error and result.failure_kind is FailureKind.NON_FINITE_LOSS


def test_training_restores_the_best_epoch(digits):
    x_train, _, y_train, _ = digits
    result = train_graph(
        generators.cnn((8, 8, 1), 10),
        x_train[:400],
        y_train[:400],
        TrainingSettings(max_epochs=6, patience=2),
        validation=(x_train[400:600], y_train[400:600]),
        seed=0,
    )
    assert result.status == "completed"
    model = result.graph.to_keras()
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x_train[400:600], y_train[400:600], verbose=0)
    assert loss == pytest.approx(result.metrics["val_loss"], rel=1e-4)
    assert accuracy == pytest.approx(result.metrics["val_accuracy"], abs=1e-6)


def test_searcher_score_breaks_accuracy_ties_by_validation_loss():
    from autonas.engine import TrialRecord
    from autonas.engine.loop import searcher_score

    def record(accuracy, loss, status="completed"):
        return TrialRecord(id=1, parent=None, operations=[], fingerprint="f", metrics={"val_accuracy": accuracy, "val_loss": loss},
                           epochs=1, seconds=1.0, status=status)

    saturated = [searcher_score(record(1.0, loss)) for loss in (0.01, 0.05, 0.2)]
    assert saturated[0] > saturated[1] > saturated[2]  # same accuracy, lower loss first
    assert searcher_score(record(0.99, 0.001)) < searcher_score(record(1.0, 2.0))  # accuracy first
    assert searcher_score(record(0.9, float("nan"))) == 0.9
    assert searcher_score(record(0.9, 0.1, status="failed")) is None


@pytest.mark.timing  # wall-clock promises: run alone (make test, .ci/run)
def test_one_trial_may_take_only_its_share_of_the_time_limit(tmp_path, digits):
    """With a deadline a trial stops at its share of it; its child then trains at the initial learning rate."""
    import time

    mlp = generators.mlp((8, 8, 1), 10)
    wider = Wider([n for n in mlp.nodes if mlp.layer(n).type == "Dense"][0], 160).apply(mlp)
    # early stopping without progress in sight: only the share ends these (a fixed schedule's child is
    # sized to its share instead, see test_a_childs_fixed_schedule_is_sized_to_its_share)
    endless = TrainingSettings(
        max_epochs=100_000, patience=100_000, learning_rate=1e-3, batch_size=8, schedule="constant"
    )
    fine_tune = replace(endless, learning_rate=1e-4)
    start = time.monotonic()
    history = run_search(
        project=Project(tmp_path / "p"),
        searcher=_ScriptedSearcher([wider]),
        data=_data(digits),
        initial=[("mlp", mlp)],
        settings=endless,
        fine_tune_settings=fine_tune,
        # 60 s: a share (12 s) that also holds JAX's first compilation of the training step (up to ~10 s
        # on 2 busy cores), which happens inside the first batch, before any per-batch deadline check
        budget=SearchBudget(max_trials=None, deadline=start + 60, trial_fraction=0.2),  # the searcher ends it
        seed=0,
    )
    assert [r.status for r in history] == ["completed", "completed"]
    for record in history:
        assert record.metrics["stopped_at_time_limit"]
        assert record.seconds < 0.2 * 60 + 3  # its share of the time limit (12 s), plus one batch and slack
    assert history[1].parent == 1
    assert history[1].hyperparameters["learning_rate"] == endless.learning_rate  # not fine_tune's 1e-4
    assert time.monotonic() - start < 45


def test_early_stopping_waits_while_accuracy_still_rises_and_keeps_the_most_accurate_epoch():
    """A noisy validation loss alone stopped trainings early on small data (benchmarks/initial_training.py)."""
    import keras

    from autonas.execution.guard import TrialGuard

    # the validation loss is lowest at epoch 1, the accuracy climbs until epoch 6
    losses = [0.70, 0.60, 0.65, 0.66, 0.64, 0.67, 0.70, 0.71, 0.72, 0.73, 0.74, 0.75]
    accuracies = [0.60, 0.70, 0.72, 0.74, 0.74, 0.76, 0.80, 0.79, 0.78, 0.77, 0.76, 0.75]
    guard = TrialGuard(patience=4, deadline=None, validated=True)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    guard.set_model(model)
    model.stop_training = False
    stopped_after = None
    for epoch, (loss, accuracy) in enumerate(zip(losses, accuracies)):
        model.layers[0].kernel.assign([[float(epoch)], [0.0]])
        guard.on_epoch_end(epoch, {"val_loss": loss, "val_accuracy": accuracy})
        if model.stop_training:
            stopped_after = epoch
            break
    assert stopped_after == 10  # four epochs without progress after the best accuracy (epoch 6)
    assert guard.best_epoch == 6
    guard.on_train_end()
    assert float(model.layers[0].kernel.numpy()[0, 0]) == 6.0  # the most accurate epoch's weights


def test_the_epoch_time_leaves_out_the_first_batch_where_compilation_happens():
    from autonas.execution.runner import training_pace

    # 12 s in all: 10 s until the first batch ended (building, compiling), then 20 batches at 0.1 s;
    # 50 batches an epoch: 5 s an epoch, and 12 - 21 * 0.1 = 9.9 s of start-up
    per_epoch, startup = training_pace(12.0, 1, 21, 50, after_first_batch=2.0)
    assert per_epoch == pytest.approx(5.0) and startup == pytest.approx(9.9)
    # without a pace to measure (one batch, or unknown steps): the plain average, no start-up
    assert training_pace(12.0, 2, 1, 50, after_first_batch=0.0) == pytest.approx((6.0, 0.0))
    assert training_pace(12.0, 3, 40, None, after_first_batch=2.0) == pytest.approx((4.0, 0.0))
    # several batches an execution: the first execution (8 batches, 10 s with compilation) is left out;
    # 40 batches later in 4 s: 0.1 s a batch, 4.8 s an epoch of 48 batches
    per_epoch, startup = training_pace(14.0, 1, 48, 48, after_first_batch=4.0, first_batches=8)
    assert per_epoch == pytest.approx(4.8) and startup == pytest.approx(14.0 - 4.8)


def test_steps_per_execution_keep_fifty_checks_an_epoch_within_the_backend_cap():
    from autonas.execution.schedule import steps_per_execution_for

    assert steps_per_execution_for(None) == 1
    assert steps_per_execution_for(99, "tensorflow") == 1  # fewer than 2 × 50 steps: one a call
    assert steps_per_execution_for(250, "jax") == 5  # 50 calls an epoch
    assert steps_per_execution_for(10_000, "tensorflow") == steps_per_execution_for(10_000, "jax") == 8
    assert steps_per_execution_for(10_000, "torch") == 1  # Keras refuses more on PyTorch


def test_the_guard_counts_every_batch_when_several_run_between_its_calls(digits):
    """With steps_per_execution 8 the guard is called once per 8 batches and still counts each one."""
    import keras

    from autonas.backend import capabilities
    from autonas.execution.guard import TrialGuard
    from autonas.execution.compiling import compile_for_training

    if capabilities().max_steps_per_execution < 8:
        pytest.skip("Keras runs one step a call on this backend")
    x_train, _, y_train, _ = digits
    model = generators.mlp((8, 8, 1), 10).to_keras()
    compile_for_training(model, 1e-3, steps_per_execution=8)
    guard = TrialGuard(patience=5, deadline=None, validated=False)
    calls = []

    class Calls(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            calls.append(batch)

    model.fit(x_train[:84], y_train[:84], batch_size=4, epochs=2, callbacks=[guard, Calls()], verbose=0)  # 21 steps
    assert len(calls) == 6  # 3 calls an epoch: after steps 8, 16 and the last 5
    assert guard.batches_run == 42 and guard.first_batches == 8


def test_a_training_compiles_its_step_for_one_batch_shape_where_the_backend_compiles_each(digits, monkeypatch):
    """600 images at batch 32 end each epoch on a short batch; under JAX that would compile the step twice."""
    import keras

    from autonas.backend import capabilities
    from autonas.execution.runner import train_graph

    if not capabilities().compiles_each_batch_shape:
        pytest.skip("this backend does not compile its training step for each batch shape")
    traced = []
    original = keras.Model.train_step

    def train_step(self, *args):  # JAX's takes (state, data)
        traced.append(tuple(args[-1][0].shape))
        return original(self, *args)

    monkeypatch.setattr(keras.Model, "train_step", train_step)
    x_train, x_test, y_train, y_test = digits
    settings = TrainingSettings(max_epochs=3, patience=3, batch_size=32, learning_rate=3e-3)
    result = train_graph(generators.mlp((8, 8, 1), 10), x_train[:600], y_train[:600], settings,
                         validation=(x_test[:100], y_test[:100]), seed=0)
    assert result.status == "completed" and result.epochs == 3, result.error
    assert traced == [(32, 8, 8, 1)]  # one shape, traced once, over 3 epochs of 19 full batches
    assert result.metrics["val_accuracy"] > 0.5


def test_a_childs_fixed_schedule_is_sized_to_its_share():
    """A cosine child trains no more epochs than its parent's pace fits in the share; early stopping is left alone."""
    from autonas.engine.loop import CHILD_SLOWDOWN, _child_settings
    from autonas.search import ChildProposal as Proposal

    parent = TrialRecord(1, None, [], "f", metrics={"seconds_per_epoch": 2.0})
    proposal = Proposal("1", [], generators.mlp((8, 8, 1), 10))
    initial = TrainingSettings(max_epochs=40, learning_rate=3e-3)
    child = TrainingSettings(max_epochs=20, learning_rate=1e-3)
    sized = _child_settings(parent, proposal, initial, child, share=30.0)
    assert sized.max_epochs == int(30.0 / (2.0 * CHILD_SLOWDOWN)) == 10
    assert sized.learning_rate == 1e-3
    assert _child_settings(parent, proposal, initial, child, share=1000.0).max_epochs == 20  # the recipe's length
    assert _child_settings(parent, proposal, initial, child, share=0.1).max_epochs == 1  # at least one epoch
    assert _child_settings(parent, proposal, initial, child, share=None).max_epochs == 20
    stopping = replace(child, schedule="constant")
    assert _child_settings(parent, proposal, initial, stopping, share=30.0).max_epochs == 20


# ------------------------------------------------------------------ the default recipe (issue 28)
@pytest.mark.parametrize("smoothing", [-0.1, 1.0, "0.1", True, None])
def test_label_smoothing_must_be_a_number_in_zero_to_one(smoothing):
    with pytest.raises(ValueError, match="label_smoothing"):
        TrainingSettings(label_smoothing=smoothing)


def test_the_smoothed_loss_is_the_cross_entropy_against_smoothed_one_hot_targets():
    from autonas.execution.compiling import smoothed_sparse_crossentropy

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(16, 5))
    probabilities = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype("float32")
    labels = rng.integers(0, 5, 16)
    for smoothing in (0.0, 0.1, 0.3):
        target = np.full((16, 5), smoothing / 5) + (1 - smoothing) * np.eye(5)[labels]
        expected = -(target * np.log(probabilities)).sum(1)
        got = np.asarray(smoothed_sparse_crossentropy(smoothing)(labels.reshape(-1, 1), probabilities))
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        smoothed_sparse_crossentropy(1.5)


def test_a_trial_with_label_smoothing_learns_as_well_and_trains_on_the_smoothed_loss(digits):
    x_train, _, y_train, _ = digits
    results = {}
    for smoothing in (0.0, 0.1):
        graph = generators.cnn((8, 8, 1), 10, filters=8, max_filters=16, hidden_units=0)
        settings = TrainingSettings(learning_rate=3e-3, batch_size=64, max_epochs=4, label_smoothing=smoothing)
        results[smoothing] = train_graph(graph, x_train[:1000], y_train[:1000], settings,
                                         validation=(x_train[1000:], y_train[1000:]), seed=0, measure=False)
        assert results[smoothing].status == "completed", results[smoothing].error
    plain, smoothed = results[0.0].metrics, results[0.1].metrics
    assert smoothed["val_accuracy"] > max(0.5, plain["val_accuracy"] - 0.05)  # it still teaches the classes
    # the smoothed target's own entropy keeps its loss above the plain one on the same data and seed
    assert smoothed["history"]["loss"][-1] > plain["history"]["loss"][-1]


def test_a_schedule_must_be_known_and_only_the_constant_one_stops_early():
    with pytest.raises(ValueError, match="schedule"):
        TrainingSettings(schedule="linear")
    assert TrainingSettings().schedule == "cosine"
    assert not TrainingSettings().early_stopping
    assert not TrainingSettings(schedule="cosine").early_stopping
    assert TrainingSettings(schedule="constant").early_stopping


def _stalling(digits):
    """Digits to train on, and validation digits labelled one class off: the better the network learns,
    the worse it validates, so the validation accuracy is best after the first epoch and stalls."""
    x_train, _, y_train, _ = digits
    return x_train[:600], y_train[:600], (x_train[600:800], (y_train[600:800] + 1) % 10)


def _recording_annealing(monkeypatch):
    """Wrap the runner's learning-rate schedule: returns ``(made, rates)``, the ``cosine_annealing`` calls
    and the learning rate it set before each training step."""
    from autonas.execution import runner

    made, rates = [], []
    original = runner.cosine_annealing

    def annealing(learning_rate, total_steps, deadline):
        callback = original(learning_rate, total_steps, deadline)
        made.append((learning_rate, total_steps, deadline))
        set_rate = callback.on_train_batch_begin

        def on_train_batch_begin(batch, logs=None):
            set_rate(batch, logs)
            rates.append(_rate(callback.model))

        callback.on_train_batch_begin = on_train_batch_begin
        return callback

    monkeypatch.setattr(runner, "cosine_annealing", annealing)
    return made, rates


def _rate(model) -> float:
    import keras

    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def _evaluated_loss(graph, x, y) -> float:
    model = graph.to_keras()
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.evaluate(x, y, verbose=0)[0]


def test_a_cosine_trial_runs_all_its_epochs_and_keeps_the_last_even_when_validation_stalls(digits):
    x, y, validation = _stalling(digits)
    settings = TrainingSettings(max_epochs=5, patience=1, batch_size=32, learning_rate=3e-3)  # cosine by default
    result = train_graph(generators.mlp((8, 8, 1), 10), x, y, settings, validation=validation, seed=0, measure=False)
    assert result.status == "completed", result.error
    history = result.metrics["history"]
    assert max(history["val_accuracy"]) > history["val_accuracy"][-1]  # an earlier epoch validated better
    assert result.epochs == 5 and len(history["val_accuracy"]) == 5  # no early stopping
    assert result.metrics["best_epoch"] == 5
    assert result.metrics["val_accuracy"] == pytest.approx(history["val_accuracy"][-1], abs=1e-6)
    assert result.metrics["val_loss"] == pytest.approx(history["val_loss"][-1], rel=1e-5)
    assert _evaluated_loss(result.graph, *validation) == pytest.approx(result.metrics["val_loss"], rel=1e-4)  # the last weights


def test_a_constant_trial_stops_on_patience_and_restores_its_best_epoch(digits, monkeypatch):
    made, _ = _recording_annealing(monkeypatch)
    x, y, validation = _stalling(digits)
    settings = TrainingSettings(max_epochs=5, patience=1, batch_size=32, learning_rate=3e-3, schedule="constant")
    result = train_graph(generators.mlp((8, 8, 1), 10), x, y, settings, validation=validation, seed=0, measure=False)
    assert result.status == "completed", result.error
    assert made == []  # one learning rate throughout
    history = result.metrics["history"]
    assert result.epochs < 5  # stopped on patience
    best = max(range(result.epochs), key=lambda i: (history["val_accuracy"][i], -history["val_loss"][i]))
    assert best + 1 < result.epochs  # the kept epoch is not the last one
    assert result.metrics["best_epoch"] == best + 1
    assert result.metrics["val_accuracy"] == pytest.approx(history["val_accuracy"][best], abs=1e-6)
    assert _evaluated_loss(result.graph, *validation) == pytest.approx(result.metrics["val_loss"], rel=1e-4)  # restored
    assert result.metrics["val_loss"] == pytest.approx(history["val_loss"][best], rel=1e-5)


def test_a_trial_on_a_subset_trains_on_that_many_images_and_reports_the_pace_of_a_whole_epoch(digits, monkeypatch):
    from autonas.execution import runner

    made, rates = _recording_annealing(monkeypatch)
    monkeypatch.setattr(runner, "training_pace", lambda *args: (1.0, 0.5))  # 1 s an epoch of what it trained on
    x, y, validation = _stalling(digits)
    settings = TrainingSettings(max_epochs=2, batch_size=32, learning_rate=3e-3, subset_rows=96)
    result = train_graph(generators.mlp((8, 8, 1), 10), x, y, settings, validation=validation, seed=0, measure=False)
    assert result.status == "completed", result.error
    assert made[0][1] == 2 * 3  # the schedule runs over 2 epochs of 96 images: 3 batches each
    assert len(rates) == 6 and rates[-1] < 0.1 * rates[0]  # six steps, ending annealed
    assert result.metrics["subset_rows"] == 96
    whole = train_graph(generators.mlp((8, 8, 1), 10), x, y, replace(settings, subset_rows=None),
                        validation=validation, seed=0, measure=False)
    assert "subset_rows" not in whole.metrics and made[1][1] == 2 * -(-len(x) // 32)
    # the pace is scaled to an epoch over all 600 images (what the time limits and the final fit plan with)
    assert result.metrics["seconds_per_epoch"] == pytest.approx(600 / 96)
    assert whole.metrics["seconds_per_epoch"] == 1.0 and result.metrics["startup_seconds"] == 0.5


def test_a_training_subset_is_drawn_by_the_seed_keeps_labels_with_their_images_and_splits_across_parts():
    from autonas.execution.inputs import training_subset

    x = np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1)
    y = np.arange(100)
    sx, sy = training_subset(x, y, 30, seed=4)
    assert len(sx) == 30 and np.array_equal(sx.ravel(), sy) and np.all(np.diff(sy) > 0)  # stored order, paired
    assert np.array_equal(training_subset(x, y, 30, seed=4)[1], sy)  # the same seed, the same images
    assert not np.array_equal(training_subset(x, y, 30, seed=5)[1], sy)
    assert training_subset(x, y, None, seed=4)[0] is x and training_subset(x, y, 100, seed=4)[0] is x  # all of them
    parts_x, parts_y = training_subset([x[:60], x[60:]], [y[:60], y[60:]], 30, seed=4)
    assert np.array_equal(np.concatenate(parts_y), sy)  # the same draw over parts trained on as one
    assert all(np.array_equal(px.ravel(), py) for px, py in zip(parts_x, parts_y))
    for bad in (0, 2.5, True, "100"):
        with pytest.raises(ValueError, match="subset_rows"):
            TrainingSettings(subset_rows=bad)


def test_a_cosine_trial_anneals_its_learning_rate_to_zero_step_by_step(digits, monkeypatch):
    import math

    made, rates = _recording_annealing(monkeypatch)
    x_train, x_test, y_train, y_test = digits
    settings = TrainingSettings(max_epochs=3, batch_size=32, learning_rate=3e-3)  # 600 images: 19 steps an epoch
    result = train_graph(generators.mlp((8, 8, 1), 10), x_train[:600], y_train[:600], settings,
                         validation=(x_test[:100], y_test[:100]), seed=0, measure=False)
    assert result.status == "completed", result.error
    assert made == [(3e-3, 57, None)]
    expected = [3e-3 * 0.5 * (1.0 + math.cos(math.pi * step / 57)) for step in range(57)]
    np.testing.assert_allclose(rates, expected, rtol=1e-5, atol=1e-9)
    assert rates[-1] < 0.05 * 3e-3


def _tiny_model():
    import keras

    from autonas.execution.compiling import compile_for_training

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    compile_for_training(model, 0.01)
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)


def _rate_recorder(rates):
    import keras

    class Rates(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            rates.append(_rate(self.model))

    return Rates()


def test_annealing_falls_on_half_a_cosine_from_the_learning_rate_to_zero_over_its_steps():
    from autonas.execution.schedule import cosine_annealing

    model, x, y = _tiny_model()
    rates = []
    model.fit(x, y, batch_size=8, epochs=3, callbacks=[cosine_annealing(0.01, 24, None), _rate_recorder(rates)], verbose=0)
    assert len(rates) == 24
    assert rates[0] == pytest.approx(0.01)
    assert all(later < earlier for earlier, later in zip(rates, rates[1:]))
    assert rates[-1] < 0.05 * 0.01


def test_annealing_reaches_zero_by_a_deadline_that_cuts_training_short():
    """Budgeted training: a trial the clock stops still ends at a low rate, not halfway down its schedule."""
    import time

    import keras

    from autonas.execution.schedule import cosine_annealing

    model, x, y = _tiny_model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # compile the training step first: the clock is for training
    deadline = time.monotonic() + 1.5

    class StopAtDeadline(keras.callbacks.Callback):
        stopped = False

        def on_train_batch_end(self, batch, logs=None):
            if time.monotonic() > deadline:
                self.model.stop_training = StopAtDeadline.stopped = True

    rates = []
    epochs = 100_000  # 800,000 steps: by its steps alone the schedule would hardly have begun
    callbacks = [cosine_annealing(0.01, 8 * epochs, deadline), _rate_recorder(rates), StopAtDeadline()]
    model.fit(x, y, batch_size=8, epochs=epochs, callbacks=callbacks, verbose=0)
    assert StopAtDeadline.stopped and len(rates) < 8 * epochs  # stopped by the clock, not the schedule's end
    assert len(rates) > 10
    assert rates[0] == pytest.approx(0.01)
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))
    assert rates[-1] < 0.05 * 0.01


def test_an_untimed_trial_records_estimated_costs_without_running_its_model(digits, monkeypatch):
    from autonas.objectives import measure as measure_module

    x_train, x_test, y_train, y_test = digits
    args = (generators.mlp((8, 8, 1), 10), x_train[:200], y_train[:200], TrainingSettings(max_epochs=1))
    timed = train_graph(*args, validation=(x_test[:100], y_test[:100]), measure=True, timed=True)
    assert timed.status == "completed", timed.error
    assert timed.metrics["latency_ms"] > 0

    def never(*args, **kwargs):
        raise AssertionError("an untimed trial timed its model")

    monkeypatch.setattr(measure_module, "measure_latency", never)
    untimed = train_graph(*args, validation=(x_test[:100], y_test[:100]), measure=True, timed=False)
    assert untimed.status == "completed", untimed.error
    metrics = untimed.metrics
    assert "latency_ms" not in metrics
    assert metrics["energy_source"] == "estimate"
    assert metrics["energy_mj"] == pytest.approx(metrics["estimated_energy_mj"]) and metrics["energy_mj"] > 0
    assert metrics["params"] > 0 and metrics["macs"] > 0 and metrics["model_bytes"] > 0


def test_the_recipe_counts_its_lengths_in_training_examples():
    from autonas.engine.recipe import Recipe, epochs_for

    assert epochs_for(48_000, 1_300, 40) == 37  # 36.9, rounded
    assert epochs_for(26, 10, 40) == 3 and epochs_for(24, 10, 40) == 2  # rounded, not floored or ceiled
    assert epochs_for(48_000, 60_000, 40) == 1  # 0.8, rounded
    assert epochs_for(8_000, 60_000, 40) == 1  # 0.13: at least one epoch
    assert epochs_for(48_000, 100, 40) == 40  # at most max_epochs
    recipe = Recipe()
    initial = recipe.initial_settings(1_300)
    assert initial.schedule == "cosine" and not initial.early_stopping
    assert (initial.max_epochs, initial.learning_rate, initial.batch_size) == (37, recipe.learning_rate, recipe.batch_size)
    assert recipe.initial_settings(1_300, epochs=5).max_epochs == 5
    assert initial.subset_rows is None  # every image, 37 times
    big = recipe.initial_settings(60_000)
    assert (big.max_epochs, big.subset_rows) == (1, 48_000)  # under an epoch: one epoch on 48,000 of the images
    assert recipe.initial_settings(60_000, epochs=2).subset_rows is None  # epochs asked for are whole epochs
    child = recipe.child_settings(1_300)
    assert child.schedule == "cosine" and child.learning_rate == recipe.child_learning_rate
    assert (child.max_epochs, child.subset_rows) == (6, None)  # 8,000 examples over 1,300 images: 6.2
    assert recipe.child_settings(1_300, epochs=3).max_epochs == 3  # at most the epochs asked for
    assert recipe.child_settings(1_300, epochs=30).max_epochs == 6  # and no more than the recipe's length
    assert recipe.child_settings(8_000).subset_rows is None  # exactly one epoch
    look = recipe.child_settings(60_000)
    assert (look.max_epochs, look.subset_rows) == (1, 8_000)  # one epoch on 8,000 of the 60,000 images
    assert look.data_epochs(60_000) == pytest.approx(8 / 60) and child.data_epochs(1_300) == 6
    final = recipe.final_settings(60_000, time_limited=False)
    assert final.subset_rows is None and final.max_epochs == 1  # the final fit sees every image
    assert Recipe(max_epochs=10).initial_settings(100).max_epochs == 10


def test_the_search_passes_timed_costs_and_each_trials_share_to_its_jobs(tmp_path):
    import time

    rng = np.random.default_rng(0)
    data = TrainingData(rng.random((8, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 8),
                        rng.random((4, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 4))
    initial = [("mlp", generators.mlp((8, 8, 1), 10)), ("cnn", generators.cnn((8, 8, 1), 10, filters=4))]

    def search(folder, budget, **kwargs):
        executor = ScoringExecutor(weights=False)
        run_search(project=Project(tmp_path / folder), searcher=_ScriptedSearcher([]), data=data, initial=initial,
                   settings=SETTINGS, fine_tune_settings=SETTINGS, budget=budget, executor=executor, **kwargs)
        return executor.jobs

    jobs = search("untimed", SearchBudget(max_trials=None, deadline=time.monotonic() + 100, trial_fraction=0.2),
                  timed_costs=False)
    assert [job.timed_costs for job in jobs] == [False, False]
    for job in jobs:
        assert job.max_seconds == pytest.approx(0.2 * 100, abs=2.0)  # its share, counted when it starts
        assert job.seconds_left > job.max_seconds  # the search's own clock, the share not folded in
    defaults = search("timed", SearchBudget(max_trials=2, deadline=None))
    assert [(job.timed_costs, job.max_seconds) for job in defaults] == [(True, None), (True, None)]
    # two trials asked for in 100 s: each may take its even share of the time outside the final fit's
    few = search("few", SearchBudget(max_trials=2, deadline=time.monotonic() + 100, final_fit_fraction=0.15,
                                     trial_fraction=0.2))
    assert [job.max_seconds for job in few] == [pytest.approx(0.85 / 2 * 100, abs=2.0)] * 2


@pytest.mark.parametrize(
    "max_trials, workers, expected",
    [(None, 1, 0.2), (None, 2, 0.4), (None, 4, 0.5), (100, 1, 0.2), (2, 1, 0.425), (1, 1, 0.5), (4, 2, 0.425)],
)
def test_a_trial_may_take_its_fraction_per_worker_or_its_even_share_of_few_trials(max_trials, workers, expected):
    budget = SearchBudget(max_trials=max_trials, deadline=None, final_fit_fraction=0.15, trial_fraction=0.2)
    assert budget.trial_share(workers) == pytest.approx(expected)


def test_a_cosine_trial_ends_annealed_however_the_backend_batches_an_epoch(monkeypatch):
    """Where the backend compiles each batch shape (JAX), 610 images at batch 32 train 19 full batches an
    epoch, not 20: the schedule must follow the steps fit runs, not ceil(rows / batch_size)."""
    made, rates = _recording_annealing(monkeypatch)
    rng = np.random.default_rng(0)
    x, y = rng.random((610, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 610)
    settings = TrainingSettings(max_epochs=4, batch_size=32, learning_rate=1e-2)
    result = train_graph(generators.mlp((8, 8, 1), 10), x, y, settings, validation=(x[:32], y[:32]), measure=False)
    assert result.status == "completed", result.error
    assert rates[-1] < 1e-3 * 1e-2  # the last of 76 or 80 steps: under 0.1 % of the rate (0.04 %)


def test_a_trial_records_its_training_loss_ten_times_an_epoch_and_the_points_average_to_the_epoch_loss(digits):
    x, y, validation = _stalling(digits)
    settings = TrainingSettings(max_epochs=2, batch_size=16, learning_rate=3e-3)
    result = train_graph(generators.mlp((8, 8, 1), 10), x, y, settings, validation=validation, seed=0, measure=False)
    assert result.status == "completed", result.error
    curve = np.array(result.metrics["loss_curve"])
    assert len(curve) == 20  # ten points in each of the two epochs
    assert np.all(np.diff(curve[:, 0]) > 0) and curve[9, 0] == pytest.approx(1.0) and curve[-1, 0] == pytest.approx(2.0)
    steps = int(np.ceil(len(x) / 16))
    for epoch in range(2):  # the points' batch-weighted mean is the epoch's reported (running mean) loss
        points = curve[10 * epoch : 10 * (epoch + 1)]
        batches = np.diff(np.concatenate([[epoch], points[:, 0]])) * steps
        mean = np.sum(points[:, 1] * batches) / np.sum(batches)
        assert mean == pytest.approx(result.metrics["history"]["loss"][epoch], rel=1e-3)
