"""Trial records and the project directory that keeps them.

Layout of ``directory/project_name``::

    project.json              what the search is about (input shape, classes), checked on resume
    trials/trial_0007/        one folder per finished trial, renamed into place when complete
        record.json           the TrialRecord
        graph.json            the architecture
        weights.npz           the trained weights (completed trials)
    final/                    the best graph after the final fit

A trial folder appears only by an atomic rename of a fully written temporary
folder, so a search killed at any moment leaves every finished trial intact
and no half-written one; leftovers of an interrupted write are removed on open.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autonas.graph import Graph

__all__ = ["Project", "TrialRecord"]


@dataclass
class TrialRecord:
    """One trial of the search.

    Attributes:
        id: Trial number, from 1.
        parent: The parent trial's id, None for an initial architecture.
        operations: The morphism operations applied to the parent (as JSON configs).
        fingerprint: The architecture's fingerprint.
        metrics: ``val_accuracy``, ``val_loss``, ``params``, ``macs``, latency,
            energy with its ``energy_source``, ...
        epochs: Epochs trained.
        seconds: Training wall-clock seconds.
        status: ``"completed"`` or ``"failed"``.
        error: Why it failed.
        hyperparameters: The training settings used.
        name: A readable description (the generator or the operations).
    """

    id: int
    parent: int | None
    operations: list[dict[str, Any]]
    fingerprint: str
    metrics: dict[str, Any] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0
    status: str = "completed"
    error: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRecord:
        return cls(**data)

    @property
    def val_accuracy(self) -> float | None:
        return self.metrics.get("val_accuracy") if self.status == "completed" else None


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


class Project:
    """The on-disk home of a search; resumes by default.

    Args:
        path: The project folder (``directory/project_name``).
        overwrite: Delete what is there and start afresh.
    """

    def __init__(self, path: str | os.PathLike, overwrite: bool = False) -> None:
        self.path = Path(path)
        if overwrite and self.path.exists():
            shutil.rmtree(self.path)
        self.trials_path.mkdir(parents=True, exist_ok=True)
        for leftover in self.trials_path.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    @property
    def trials_path(self) -> Path:
        return self.path / "trials"

    def check_config(self, config: dict[str, Any]) -> None:
        """Record what the search is about, or check that a resumed project is about the same.

        Raises:
            ValueError: if the project holds a search on other data (shape or classes).
        """
        path = self.path / "project.json"
        if path.exists():
            stored = json.loads(path.read_text())
            if stored != json.loads(json.dumps(config)):
                raise ValueError(
                    f"project {str(self.path)!r} holds a search on other data ({stored}); "
                    "pass overwrite=True or another project_name"
                )
        else:
            _write_json(path, config)

    def trial_path(self, trial_id: int) -> Path:
        return self.trials_path / f"trial_{trial_id:04d}"

    def load_trials(self) -> list[TrialRecord]:
        """Every finished trial, in id order."""
        records = []
        for folder in sorted(self.trials_path.glob("trial_*")):
            record_file = folder / "record.json"
            if record_file.exists():
                records.append(TrialRecord.from_dict(json.loads(record_file.read_text())))
        return sorted(records, key=lambda r: r.id)

    def save_trial(self, record: TrialRecord, graph: Graph) -> None:
        """Write a finished trial atomically (temporary folder, then rename)."""
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.trials_path))
        try:
            (staging / "graph.json").write_text(graph.to_json(indent=1))
            if record.status == "completed" and graph.has_weights:
                graph.save_weights(staging / "weights.npz")
            _write_json(staging / "record.json", record.to_dict())
            os.replace(staging, self.trial_path(record.id))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def load_graph(self, trial_id: int) -> Graph:
        """The architecture of a trial, with its trained weights when it has them."""
        return Graph.load(self.trial_path(trial_id))

    def save_final(self, graph: Graph, info: dict[str, Any]) -> None:
        """Keep the final model's graph and weights (replacing an earlier one atomically)."""
        staging = Path(tempfile.mkdtemp(prefix=".tmp-final-", dir=self.path))
        graph.save(staging)
        _write_json(staging / "info.json", info)
        final = self.path / "final"
        if final.exists():
            old = self.path / f".old-final-{os.getpid()}"
            os.replace(final, old)
            os.replace(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, final)
