"""The search loop: failed trials are recorded and the search goes on; all-failing searches stop clearly."""

from dataclasses import dataclass

import numpy as np
import pytest

from autonas.engine import Project, SearchBudget, TrialsFailedError, run_search
from autonas.execution import TrainingData, TrainingSettings, train_graph
from autonas.graph import generators
from autonas.morphism import Wider

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
    assert "NaN" in result.error


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


def test_one_trial_may_take_only_its_share_of_the_time_limit(tmp_path, digits):
    """With a deadline a trial stops at its share of it; its child then trains at the initial learning rate."""
    import time

    mlp = generators.mlp((8, 8, 1), 10)
    wider = Wider([n for n in mlp.nodes if mlp.layer(n).type == "Dense"][0], 160).apply(mlp)
    endless = TrainingSettings(max_epochs=100_000, patience=100_000, learning_rate=1e-3, batch_size=8)
    fine_tune = TrainingSettings(max_epochs=100_000, patience=100_000, learning_rate=1e-4, batch_size=8)
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
        budget=SearchBudget(max_trials=2, deadline=start + 60, trial_fraction=0.2),
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

    from autonas.execution.runner import _callbacks

    # the validation loss is lowest at epoch 1, the accuracy climbs until epoch 6
    losses = [0.70, 0.60, 0.65, 0.66, 0.64, 0.67, 0.70, 0.71, 0.72, 0.73, 0.74, 0.75]
    accuracies = [0.60, 0.70, 0.72, 0.74, 0.74, 0.76, 0.80, 0.79, 0.78, 0.77, 0.76, 0.75]
    guard = _callbacks(patience=4, deadline=None, validated=True)
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
    from autonas.execution.runner import steps_per_execution_for

    assert steps_per_execution_for(None) == 1
    assert steps_per_execution_for(99, "tensorflow") == 1  # fewer than 2 × 50 steps: one a call
    assert steps_per_execution_for(250, "jax") == 5  # 50 calls an epoch
    assert steps_per_execution_for(10_000, "tensorflow") == steps_per_execution_for(10_000, "jax") == 8
    assert steps_per_execution_for(10_000, "torch") == 1  # Keras refuses more on PyTorch


def test_the_guard_counts_every_batch_when_several_run_between_its_calls(digits):
    """With steps_per_execution 8 the guard is called once per 8 batches and still counts each one."""
    import keras

    from autonas.backend import max_steps_per_execution
    from autonas.execution.runner import _callbacks, compile_for_training

    if max_steps_per_execution() < 8:
        pytest.skip("Keras runs one step a call on this backend")
    x_train, _, y_train, _ = digits
    model = generators.mlp((8, 8, 1), 10).to_keras()
    compile_for_training(model, 1e-3, steps_per_execution=8)
    guard = _callbacks(patience=5, deadline=None, validated=False)
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

    from autonas.backend import compiles_each_batch_shape
    from autonas.execution.runner import train_graph

    if not compiles_each_batch_shape():
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
