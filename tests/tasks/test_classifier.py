"""AutoImageClassifier end to end on digits: search, records, resume, export, labels, time limit."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.datasets import load_digits

pytestmark = pytest.mark.slow  # trains networks or starts processes

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


@pytest.fixture(scope="module")
def raw_digits():
    """Digits as the user has them: uint8 (N, 8, 8) images."""
    return load_digits()


@pytest.fixture(scope="module")
def fitted(raw_digits, tmp_path_factory):
    """A 4-trial random search on digits with string labels (epochs capped for speed)."""
    x_train, _, y_train, _ = raw_digits
    directory = tmp_path_factory.mktemp("search")
    classifier = AutoImageClassifier(max_trials=4, searcher="random", directory=directory, seed=0, verbose=0)
    return classifier.fit(x_train, NAMES[y_train], epochs=4)


@pytest.mark.backend
def test_search_records_initial_and_morphed_trials(fitted):
    history = fitted.history_
    assert [r.id for r in history] == [1, 2, 3, 4]
    assert [r.parent for r in history[:2]] == [None, None]  # the two small initial architectures
    assert [r.name for r in history[:2]] == ["cnn", "resnet"]
    for child in history[2:]:
        assert child.parent in {1, 2, 3} and child.operations
    assert len({r.fingerprint for r in history}) == 4
    for record in history:
        assert record.status == "completed"
        assert {"val_accuracy", "val_loss", "params", "macs"} <= set(record.metrics)
        assert record.epochs >= 1 and record.seconds > 0
    assert fitted.best_trial_.metrics["val_accuracy"] == max(r.metrics["val_accuracy"] for r in history)
    ranked = fitted.leaderboard(print_table=False)
    assert [r.val_accuracy for r in ranked] == sorted((r.val_accuracy for r in history), reverse=True)


def test_predictions_use_the_users_labels(fitted, raw_digits):
    _, x_test, _, y_test = raw_digits
    predicted = fitted.predict(x_test)
    assert predicted.dtype.kind == "U" and set(predicted) <= set(NAMES)
    assert np.mean(predicted == NAMES[y_test]) > 0.9
    probabilities = fitted.predict_proba(x_test[:7])
    assert probabilities.shape == (7, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    scores = fitted.evaluate(x_test, NAMES[y_test])
    assert scores["accuracy"] == pytest.approx(np.mean(predicted == NAMES[y_test]))
    assert 0 < scores["loss"] < 1


@pytest.mark.backend
def test_exported_model_loads_without_autonas(fitted, raw_digits, tmp_path):
    _, x_test, _, _ = raw_digits
    path = tmp_path / "best.keras"
    fitted.export_model().save(path)
    np.save(tmp_path / "x.npy", x_test[:50])
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras
        model = keras.models.load_model({str(path)!r})
        np.save({str(tmp_path / "p.npy")!r}, model.predict(np.load({str(tmp_path / "x.npy")!r}), verbose=0))
        assert "autonas" not in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""})
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), fitted.predict_proba(x_test[:50]), atol=1e-5)


def test_resume_keeps_finished_trials_and_repeats_none(fitted, raw_digits):
    x_train, _, y_train, _ = raw_digits
    project = fitted.directory
    resumed = AutoImageClassifier(max_trials=6, searcher="random", directory=project, seed=0, verbose=0)
    resumed.fit(x_train, NAMES[y_train], epochs=4)
    history = resumed.history_
    assert [r.id for r in history] == [1, 2, 3, 4, 5, 6]
    assert [r.to_dict() for r in history[:4]] == [r.to_dict() for r in fitted.history_]
    assert len({r.fingerprint for r in history}) == 6


def test_a_search_in_generations_compares_each_edit_with_its_no_edit_sibling_and_reaches_good_accuracy(
    raw_digits, tmp_path
):
    from autonas.engine.generations import NO_EDIT
    from autonas.execution import SerialExecutor

    x_train, x_test, y_train, y_test = raw_digits
    classifier = AutoImageClassifier(max_trials=5, generation_children=1, directory=tmp_path, seed=0, verbose=0,
                                     executor=SerialExecutor())
    classifier.fit(x_train, y_train, epochs=2)
    history = classifier.history_

    def best(records):  # the generations' rule: the ranking (score, then lower loss), fewer parameters, earlier
        return max(records, key=lambda r: (classifier.objective_.rank_key(r), -r.metrics["params"], -r.id))

    initial_best = best(history[:2])
    generation = history[2:4]
    assert [r.parent for r in generation] == [initial_best.id] * 2
    assert generation[0].name == NO_EDIT and not generation[0].operations and generation[0].epochs >= 1
    assert generation[1].operations
    assert history[4].name == NO_EDIT and history[4].parent == best(generation).id
    assert generation[0].val_accuracy >= initial_best.val_accuracy - 0.02  # trained on from its weights, not afresh
    assert classifier.evaluate(x_test, y_test)["accuracy"] > 0.9


def _children(pid):
    pids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            pids += [int(child) for child in children.read().split()]
    return pids


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie is dead for our purpose
    except FileNotFoundError:
        return False


def test_search_killed_mid_trial_resumes_intact(raw_digits, tmp_path):
    x_train, _, y_train, _ = raw_digits
    np.savez(tmp_path / "data.npz", x=x_train, y=y_train)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from autonas import AutoImageClassifier
        data = np.load({str(tmp_path / "data.npz")!r})
        AutoImageClassifier(max_trials=50, searcher="random", directory={str(tmp_path)!r}, seed=0,
                            verbose=0).fit(data["x"], data["y"], epochs=10)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    trials = tmp_path / "image_classifier" / "trials"
    try:
        # kill once two trials are finished and the workers training the next ones are seen alive
        deadline = time.monotonic() + 240
        workers = []
        while time.monotonic() < deadline and process.poll() is None:
            if len(list(trials.glob("trial_*"))) >= 2:
                workers = [pid for pid in _children(process.pid) if _alive(pid)]
                if workers:
                    break
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    # the default executor trains in worker processes, and they die with the search
    assert workers
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
    finished = sorted(p.name for p in trials.glob("trial_*"))
    assert len(finished) >= 2
    before = {p.name: json.loads((p / "record.json").read_text()) for p in trials.glob("trial_*")}

    resumed = AutoImageClassifier(
        max_trials=len(finished) + 1, searcher="random", directory=tmp_path, seed=0, verbose=0
    ).fit(x_train, y_train, epochs=2)
    history = resumed.history_
    assert len(history) == len(finished) + 1
    # two workers: a later trial may finish before an earlier one that the kill cut short; that one's id
    # is not used again, the new trial takes the next
    finished_ids = [int(name.split("_")[1]) for name in finished]
    assert [r.id for r in history] == [*finished_ids, max(finished_ids) + 1]
    for record in history[:-1]:
        assert before[f"trial_{record.id:04d}"] == record.to_dict()
    assert len({r.fingerprint for r in history}) == len(history)
    assert not list(trials.glob(".tmp-*"))


@pytest.mark.timing
@pytest.mark.backend
def test_time_limit_is_honoured_and_tf_data_is_accepted(raw_digits, tmp_path):
    import tensorflow as tf

    x_train, _, y_train, _ = raw_digits
    dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(64)
    start = time.monotonic()
    classifier = AutoImageClassifier(time_limit=30, searcher="random", directory=tmp_path, seed=0, verbose=0)
    classifier.fit(dataset)
    elapsed = time.monotonic() - start
    phases = classifier.fit_seconds_
    trials = [(r.id, r.epochs, round(r.seconds, 1), round(r.metrics.get("startup_seconds") or 0.0, 1))
              for r in classifier.history_]
    assert elapsed <= 33, f"{elapsed:.1f} s; phases {phases}; trials (id, epochs, seconds, start-up) {trials}"
    assert set(phases) == {"preparing", "searching", "final_fit", "saving", "total"}
    assert phases["total"] <= elapsed and sum(phases.values()) == pytest.approx(2 * phases["total"])
    assert classifier.history_ and classifier.best_model_ is not None


def test_short_time_limits_train_in_this_process_and_a_given_executor_is_kept():
    """Starting worker processes would take much of a time limit under a minute."""
    from autonas.execution import LocalExecutor, SerialExecutor

    def executor(**kwargs):
        return _ready(AutoImageClassifier(**kwargs))._spec().make_executor()

    assert isinstance(executor(time_limit=59), SerialExecutor)
    assert isinstance(executor(time_limit=60), LocalExecutor)
    assert isinstance(executor(), LocalExecutor)
    workers, serial = LocalExecutor(max_workers=1), SerialExecutor()
    assert executor(time_limit=5, executor=workers) is workers
    assert executor(time_limit=3600, executor=serial) is serial


def _ready(classifier, input_shape=(28, 28, 1), classes=10):
    """``classifier`` with the attributes fit sets before choosing the initial architectures."""
    classifier.objective_ = classifier._make_objective()
    classifier.input_shape_ = input_shape
    classifier.classes_ = np.arange(classes)
    return classifier


def _initial_graphs(classifier):
    return classifier._spec().initial_graphs(classifier.input_shape_, len(classifier.classes_))


def test_the_initial_architectures_are_small_and_slimmed_under_a_size_limit():
    initial = _initial_graphs(_ready(AutoImageClassifier()))
    assert [name for name, _ in initial] == ["cnn", "resnet"]
    for name, graph in initial:
        assert graph.num_params() < 30_000, name
        assert tuple(graph.input_shape) == (28, 28, 1) and graph.output_shape[-1] == 10
    for limits in ({"max_params": 6_500}, {"max_model_size": 4 * 6_500}):
        slim = _initial_graphs(_ready(AutoImageClassifier(**limits)))
        assert [name.split(" ")[0] for name, _ in slim] == ["cnn", "resnet"], limits
        for name, graph in slim:
            assert "(slim: " in name and graph.num_params() <= 6_500, (name, limits)
    assert _initial_graphs(_ready(AutoImageClassifier(max_params=1_000))) == []  # too big at their slimmest
