"""TensorBoard logs of a search: curves per trial and the HParams table, read back with TensorBoard's own reader."""

from __future__ import annotations

import math

import pytest

from autonas.engine.project import TrialRecord
from autonas.objectives import Objective
from autonas.tasks.tensorboard_log import TensorBoardLog


def read_run(folder):
    """(scalar series by tag, hparams of the session or None) of one TensorBoard run folder."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.plugins.hparams import metadata
    from tensorboard.util import tensor_util

    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    series, hparams = {}, None
    for tag in accumulator.Tags()["tensors"]:
        if tag == metadata.SESSION_START_INFO_TAG:
            content = accumulator.SummaryMetadata(tag).plugin_data.content
            info = metadata.parse_session_start_info_plugin_data(content)
            hparams = {name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
                       for name, value in info.hparams.items()}
        elif not tag.startswith("_hparams_"):
            series[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in accumulator.Tensors(tag)]
    return series, hparams


def _record(trial_id, parent=None, status="completed"):
    metrics = {"val_accuracy": 0.5 + trial_id / 10, "val_loss": 1.0 / trial_id, "params": 1000 * trial_id,
               "macs": 5000, "energy_mj": 0.01,
               "history": {"loss": [2.0, 1.0, 0.5], "val_accuracy": [0.3, 0.5, 0.5 + trial_id / 10]}}
    if status != "completed":
        metrics = {}
    ops = [] if parent is None else [{"type": "Deeper", "node": "conv_1"}]
    return TrialRecord(trial_id, parent, ops, f"f{trial_id}", metrics, epochs=3, seconds=2.0, status=status,
                       error=None if status == "completed" else "out of memory", name="cnn" if parent is None else "Deeper(conv_1)")


def test_every_trial_has_its_curves_and_a_row_of_hparams(tmp_path):
    log = TensorBoardLog(tmp_path, Objective())
    log.start()
    records = [_record(1), _record(2, parent=1), _record(3, parent=1, status="failed")]
    for record in records:
        log.trial(record)
    log.trial(records[0])  # a second time (a resumed search): nothing is duplicated
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))  # the experiment's columns
    for record in records:
        series, hparams = read_run(tmp_path / "tensorboard" / f"trial_{record.id:04d}")
        assert hparams["architecture"] == record.name and hparams["status"] == record.status
        assert hparams["parent"] == (record.parent or 0)
        if record.status == "completed":
            assert hparams["params"] == record.metrics["params"]
            assert hparams["energy_mj"] == pytest.approx(0.01)
            assert series["epoch/loss"] == [(1, 2.0), (2, 1.0), (3, 0.5)]
            assert series["trial/val_accuracy"] == [(0, pytest.approx(record.metrics["val_accuracy"]))]
            assert series["trial/reward"][0][1] == pytest.approx(record.metrics["val_accuracy"])
        else:
            assert math.isnan(hparams["params"]) and "trial/reward" not in series
    assert "Deeper" in read_run(tmp_path / "tensorboard" / "trial_0002")[1]["operations"]


def test_a_log_that_cannot_be_written_warns_once_and_does_not_stop_anything(tmp_path):
    (tmp_path / "tensorboard").write_text("a file where the folder should be")
    log = TensorBoardLog(tmp_path, Objective())
    with pytest.warns(RuntimeWarning, match="TensorBoard logs are off"):
        log.start()
    log.trial(_record(1))  # no second warning, no error
