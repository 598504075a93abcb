"""The search loop, trial records and the on-disk project."""

from autonas.engine.project import (
    DamagedTrialWarning,
    Project,
    ProjectFileError,
    ProjectLockedError,
    ProjectWriteError,
    TrialRecord,
    project_folder,
)
import warnings as _warnings

from autonas.engine.loop import SearchBudget, TrialsFailedError, run_search

__all__ = [
    "DamagedTrialWarning",
    "Project",
    "ProjectFileError",
    "ProjectLockedError",
    "ProjectWriteError",
    "SearchBudget",
    "TrialRecord",
    "TrialsFailedError",
    "project_folder",
    "run_search",
]


def __getattr__(name: str):
    if name == "SearchData":  # an alias that hid that the loop takes the executors' TrainingData
        _warnings.warn(
            "autonas.engine.SearchData is autonas.execution.TrainingData; import that instead",
            DeprecationWarning,
            stacklevel=2,
        )
        from autonas.execution import TrainingData

        return TrainingData
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
