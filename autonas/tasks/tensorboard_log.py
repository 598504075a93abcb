"""TensorBoard logs of a search: each trial's per-epoch curves and the HParams dashboard's table of trials.

Written with the ``tensorboard`` package's protocol buffers and event-file
writer only (no TensorFlow), from the search process once a trial finishes,
so it works under every Keras backend. ``tensorboard --logdir <project>``
shows them: the Scalars tab has one run per trial (``trial_0001``, ...), the
HParams tab one row per trial with its architecture, parent, operations,
size, cost, validation accuracy and reward.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

from autonas.engine.project import TrialRecord

__all__ = ["TensorBoardLog", "TENSORBOARD_FOLDER"]

logger = logging.getLogger(__name__)

#: The folder of the logs inside the project folder.
TENSORBOARD_FOLDER = "tensorboard"
#: Per-epoch series of a trial's ``metrics["history"]`` and their tags.
_CURVES = {"loss": "epoch/loss", "accuracy": "epoch/accuracy", "val_loss": "epoch/val_loss",
           "val_accuracy": "epoch/val_accuracy"}
#: The HParams table's columns: hyperparameters (what the trial is) and metrics (how it did).
_HPARAMS = ("architecture", "parent", "operations", "status", "params", "macs", "energy_mj")
_METRICS = ("trial/val_accuracy", "trial/val_loss", "trial/reward")


def _scalar_event(tag: str, value: float, step: int, wall_time: float):
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.scalar import metadata
    from tensorboard.util import tensor_util

    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=tag, metadata=metadata.create_summary_metadata(display_name=tag, description=""),
        tensor=tensor_util.make_tensor_proto(float(value)),
    )])
    return event_pb2.Event(wall_time=wall_time, step=step, summary=summary)


def _summary_event(summary, wall_time: float):
    from tensorboard.compat.proto import event_pb2

    return event_pb2.Event(wall_time=wall_time, step=0, summary=summary)


def _write(folder: Path, events: list) -> None:
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(folder))
    try:
        for event in events:
            writer.add_event(event)
    finally:
        writer.close()


class TensorBoardLog:
    """Writes a search's TensorBoard logs under ``<project>/tensorboard``.

    A failure to write (a full disk, a read-only folder) is reported once as a
    warning and never stops the search.

    Args:
        project_path: The project folder.
        objective: The :class:`~autonas.objectives.Objective` whose reward is logged.
    """

    def __init__(self, project_path: str | Path, objective) -> None:
        self.root = Path(project_path) / TENSORBOARD_FOLDER
        self.objective = objective
        self._broken = False

    def _guarded(self, action, what: str) -> None:
        if self._broken:
            return
        try:
            action()
        except Exception as error:  # noqa: BLE001 - logs are a view; the search goes on without them
            self._broken = True
            warnings.warn(f"TensorBoard logs are off for this search: writing {what} failed ({error})",
                          RuntimeWarning, stacklevel=3)

    def start(self) -> None:
        """Write the experiment's HParams configuration (the table's columns), once per project."""
        self._guarded(self._write_config, "the HParams configuration")

    def _write_config(self) -> None:
        from tensorboard.plugins.hparams import summary_v2

        self.root.mkdir(parents=True, exist_ok=True)
        if any(self.root.glob("events.out.tfevents.*")):  # a resumed search: written already
            return
        hparams = [summary_v2.HParam(name) for name in _HPARAMS]
        metrics = [summary_v2.Metric(tag, dataset_type=summary_v2.Metric.VALIDATION) for tag in _METRICS]
        _write(self.root, [_summary_event(summary_v2.hparams_config_pb(hparams=hparams, metrics=metrics), time.time())])

    def trial(self, record: TrialRecord, history: Any = None) -> None:
        """Write ``record``'s curves and its row of the HParams table (once per trial)."""
        self._guarded(lambda: self._write_trial(record), f"trial {record.id}")

    def _write_trial(self, record: TrialRecord) -> None:
        from tensorboard.plugins.hparams import summary_v2

        folder = self.root / f"trial_{record.id:04d}"
        if folder.exists():  # written before this search was resumed
            return
        folder.mkdir(parents=True)
        now = time.time()
        events = []
        for key, tag in _CURVES.items():
            for epoch, value in enumerate(record.metrics.get("history", {}).get(key, []), start=1):
                events.append(_scalar_event(tag, value, epoch, now))
        values = {name: self._hparam(record, name) for name in _HPARAMS}
        events.append(_summary_event(summary_v2.hparams_pb(values, trial_id=f"trial_{record.id:04d}",
                                                           start_time_secs=now - record.seconds), now))
        reward = self.objective.reward(record)
        for tag, value in (("trial/val_accuracy", record.metrics.get("val_accuracy")),
                           ("trial/val_loss", record.metrics.get("val_loss")), ("trial/reward", reward)):
            if value is not None and value == value and abs(value) != float("inf"):
                events.append(_scalar_event(tag, value, 0, now))
        _write(folder, events)

    @staticmethod
    def _hparam(record: TrialRecord, name: str) -> str | float:
        if name == "architecture":
            return record.name or "-"
        if name == "parent":
            return float(record.parent) if record.parent is not None else 0.0
        if name == "operations":
            return "; ".join(json.dumps(op, sort_keys=True) for op in record.operations) or "-"
        if name == "status":
            return record.status
        metric = record.metrics.get(name)
        return float(metric) if metric is not None else float("nan")
