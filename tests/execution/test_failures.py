"""A failed trial carries the kind of its failure: set where it fails, recorded, read by the executors and reports."""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from types import SimpleNamespace

import numpy as np
import pytest

from autonas.engine.project import Project, TrialRecord
from autonas.execution import FailureKind, TrainingSettings, TrialJob, TrialResult, train_graph
from autonas.execution.failures import ERROR_CHARS, error_text
from autonas.graph import generators

ONE_EPOCH = TrainingSettings(max_epochs=1, batch_size=32)


# ------------------------------------------------------------------ the kind and its texts
def test_out_of_memory_is_recognised_by_the_backend_and_anything_else_is_other():
    assert FailureKind.of_error(MemoryError()) is FailureKind.OUT_OF_MEMORY
    assert FailureKind.of_error(RuntimeError("RESOURCE_EXHAUSTED: OOM when allocating tensor")) is FailureKind.OUT_OF_MEMORY
    assert FailureKind.of_error(ValueError("shapes do not match")) is FailureKind.OTHER


def test_a_kind_reads_back_from_its_saved_name_and_an_unknown_name_is_other():
    for kind in FailureKind:
        assert FailureKind.parse(kind.value) is kind and FailureKind.parse(kind) is kind
        assert kind.label
    assert FailureKind.parse(None) is None
    assert FailureKind.parse("a kind of a later version") is FailureKind.OTHER


def test_an_error_text_is_cut_to_its_first_characters():
    assert error_text("x" * 5000) == "x" * ERROR_CHARS
    assert error_text("short") == "short"


def test_a_failed_result_without_a_kind_is_other_and_a_completed_one_has_none():
    assert TrialResult("failed", error="?").failure_kind is FailureKind.OTHER
    assert TrialResult("failed", failure_kind="out_of_memory").failure_kind is FailureKind.OUT_OF_MEMORY
    assert TrialResult("completed").failure_kind is None


# ------------------------------------------------------------------ the runner
@pytest.mark.slow
@pytest.mark.backend
def test_an_out_of_memory_error_while_fitting_is_out_of_memory(digits, monkeypatch):
    from autonas.execution import runner

    def fit(*args, **kwargs):
        raise RuntimeError("RESOURCE_EXHAUSTED: failed to allocate 9 GiB")  # autonas.backend.is_out_of_memory says yes

    monkeypatch.setattr(runner, "_fit", fit)
    x, _, y, _ = digits
    result = train_graph(generators.mlp((8, 8, 1), 10), x[:64], y[:64], ONE_EPOCH, measure=False)
    assert result.status == "failed" and result.failure_kind is FailureKind.OUT_OF_MEMORY
    assert result.error.startswith("out of memory")


@pytest.mark.slow
@pytest.mark.backend
def test_any_other_error_while_fitting_on_data_that_fit_is_other(digits, monkeypatch):
    from autonas.execution import runner

    def fit(*args, **kwargs):
        raise ValueError("something else went wrong")

    monkeypatch.setattr(runner, "_fit", fit)
    x, x_val, y, y_val = digits
    result = train_graph(generators.mlp((8, 8, 1), 10), x[:64], y[:64], ONE_EPOCH, validation=(x_val[:32], y_val[:32]),
                         measure=False)
    assert result.failure_kind is FailureKind.OTHER and result.error == "ValueError: something else went wrong"


@pytest.mark.slow
@pytest.mark.backend
def test_images_of_another_shape_than_the_network_takes_are_bad_data(digits):
    x, x_val, y, y_val = digits
    result = train_graph(generators.mlp((4, 4, 1), 10), x[:64], y[:64], ONE_EPOCH,  # 8×8 images
                         validation=(x_val[:32], y_val[:32]), seed=0, measure=False)
    assert result.status == "failed" and result.failure_kind is FailureKind.DATA
    assert "Traceback" in result.metrics["traceback"]


def test_data_fit_a_network_when_their_shape_and_labels_match_it():
    from autonas.execution.inputs import data_fits

    x, y = np.zeros((6, 8, 8, 1), np.float32), np.arange(6) % 3
    assert data_fits((8, 8, 1), 3, x, y)
    assert data_fits((None, None, 1), 3, x, y)  # any size where the network takes any
    assert data_fits((8, 8, 1), 3, [x[:3], x[3:]], [y[:3], y[3:]])  # parts trained on as one
    assert not data_fits((4, 4, 1), 3, x, y)
    assert not data_fits((8, 8, 3), 3, x, y)
    assert not data_fits((8, 8, 1), 2, x, y)  # label 2 is no class of two
    assert not data_fits((8, 8, 1), 3, x, y - 1)  # a negative label


def _guard(**state):
    return SimpleNamespace(**{"reason": None, "best_epoch": -1, "timed_out": False, **state})


def test_a_trial_left_without_a_scored_epoch_failed_of_nan_or_of_the_deadline():
    from autonas.execution.runner import _unscored

    nan = _unscored(_guard(reason="loss became NaN or infinite"), validated=True)
    assert nan.failure_kind is FailureKind.NON_FINITE_LOSS
    late = _unscored(_guard(timed_out=True), validated=True)
    assert late.failure_kind is FailureKind.DEADLINE and late.error == "stopped before the first epoch ended"
    assert _unscored(_guard(), validated=True).failure_kind is FailureKind.NON_FINITE_LOSS  # NaN validation figures
    assert _unscored(_guard(best_epoch=0), validated=True) is None
    assert _unscored(_guard(), validated=False) is None


@pytest.mark.slow
@pytest.mark.backend
def test_a_model_the_latency_runtime_cannot_take_is_a_conversion_failure(digits, monkeypatch):
    import autonas.objectives
    from autonas.objectives.latency import LatencyRuntimeError

    def measure_costs(*args, **kwargs):
        raise LatencyRuntimeError("could not convert the model to onnxruntime to measure its latency there: boom")

    monkeypatch.setattr(autonas.objectives, "measure_costs", measure_costs)
    x, x_val, y, y_val = digits
    result = train_graph(generators.mlp((8, 8, 1), 10), x[:64], y[:64], ONE_EPOCH,
                         validation=(x_val[:32], y_val[:32]), seed=0, timed="onnxruntime")
    assert result.status == "failed" and result.failure_kind is FailureKind.CONVERSION
    assert result.error.startswith("could not convert the model")


# ------------------------------------------------------------------ executors
def _task(overran: bool = False):
    from autonas.execution.local import _Task

    return _Task(TrialJob(1, generators.mlp((8, 8, 1), 10), ONE_EPOCH), Future(), overran=overran)


def _dead_worker(exitcode: int):
    process = SimpleNamespace(exitcode=exitcode, join=lambda timeout=None: None)
    return SimpleNamespace(process=process, log=None)


def test_the_local_executor_names_a_stopped_a_dead_and_a_raising_worker():
    from autonas.execution.local import _failed_without_result

    stopped = _failed_without_result("died", None, _task(overran=True), _dead_worker(-9))
    assert stopped.failure_kind is FailureKind.DEADLINE and stopped.error.startswith("stopped by force")
    died = _failed_without_result("died", None, _task(), _dead_worker(-9))
    assert died.failure_kind is FailureKind.OTHER and "SIGKILL" in died.error
    raised = _failed_without_result("error", ("OSError: no x_train.npy" + "!" * 3000, FailureKind.DATA), _task(),
                                    _dead_worker(0))
    assert raised.failure_kind is FailureKind.DATA and len(raised.error) == ERROR_CHARS


def test_a_ray_task_that_ran_out_of_memory_says_so_wrapped_or_not():
    from autonas.execution.ray_executor import _failed_task

    class TaskError(Exception):
        def __init__(self, cause):
            super().__init__("the task raised")
            self.cause = cause

    assert _failed_task(TaskError(MemoryError())).failure_kind is FailureKind.OUT_OF_MEMORY
    assert _failed_task(RuntimeError("Task was killed: out of memory")).failure_kind is FailureKind.OUT_OF_MEMORY
    other = _failed_task(TaskError(ValueError("bad")))
    assert other.failure_kind is FailureKind.OTHER and other.error.startswith("the Ray task failed")


@pytest.mark.slow
def test_a_worker_that_cannot_read_the_training_data_fails_its_trial_as_bad_data(tmp_path):
    from autonas.execution.worker import WorkerConfig, WorkerProcess

    worker = WorkerProcess(WorkerConfig(str(tmp_path / "no data here"), intra_op_threads=1, inter_op_threads=1))
    try:
        assert worker.connection.poll(120)
        kind, (text, failure), _ = worker.connection.recv()
    finally:
        worker.kill()
        worker.join(5)
    assert kind == "error" and failure is FailureKind.DATA and "x_train.npy" in text


# ------------------------------------------------------------------ records, report, progress line
def _failed_record(trial_id: int = 1, **fields) -> TrialRecord:
    return TrialRecord(trial_id, None, [], "f", status="failed", error="out of memory: at batch 64", **fields)


def test_a_record_saves_its_kind_and_reads_it_back(tmp_path):
    project = Project(tmp_path / "p")
    with project.lock():
        project.save_trial(_failed_record(1, failure_kind=FailureKind.DATA), generators.mlp((8, 8, 1), 3))
    saved = json.loads((project.trial_path(1) / "record.json").read_text())
    assert saved["failure_kind"] == "data"
    (loaded,) = project.load_trials()
    assert loaded.failure_kind is FailureKind.DATA and loaded == _failed_record(1, failure_kind="data")


def test_a_record_json_written_before_the_field_still_loads(tmp_path):
    project = Project(tmp_path / "p")
    with project.lock():
        project.save_trial(_failed_record(1), generators.mlp((8, 8, 1), 3))
    folder = project.trial_path(1)
    old = json.loads((folder / "record.json").read_text())
    del old["failure_kind"]  # as autonas wrote it before trials carried a kind
    (folder / "record.json").write_text(json.dumps(old))
    (folder / "checksums.json").unlink()  # and before it wrote checksums
    (loaded,) = Project.open_read_only(tmp_path / "p").load_trials()
    assert loaded.status == "failed" and loaded.failure_kind is FailureKind.OUT_OF_MEMORY  # the kind its text names
    assert TrialRecord.from_dict({**old, "error": "ValueError: x"}).failure_kind is FailureKind.OTHER
    completed = TrialRecord(2, None, [], "f", {"val_accuracy": 0.5}).to_dict()
    del completed["failure_kind"]
    assert TrialRecord.from_dict(completed).failure_kind is None


def test_the_report_and_the_progress_line_name_the_kind_of_a_failure(caplog):
    from autonas.objectives import Objective
    from autonas.tasks.progress import Progress
    from autonas.tasks.report import _failure_counts, _table

    records = [TrialRecord(1, None, [], "f", {"val_accuracy": 0.5, "val_loss": 1.0, "params": 10}, name="cnn"),
               _failed_record(2, failure_kind=FailureKind.OUT_OF_MEMORY),
               _failed_record(3, failure_kind=FailureKind.NON_FINITE_LOSS)]
    table = _table(records, Objective(), None)
    assert "<th>failure</th>" in table and "<td>out of memory</td>" in table and "<td>NaN or infinite loss</td>" in table
    assert _failure_counts(records) in (": 1 out of memory, 1 NaN or infinite loss", ": 1 NaN or infinite loss, 1 out of memory")
    assert _failure_counts(records[:1]) == ""
    with caplog.at_level(logging.INFO, logger="autonas"):
        Progress(0, None, None, Objective()).trial(records[1], records)
    assert "failed[/red] (out of memory): out of memory: at batch 64" in caplog.text
