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
from autonas.engine.search import SearchBudget, SearchData, TrialsFailedError, run_search

__all__ = [
    "DamagedTrialWarning",
    "Project",
    "ProjectFileError",
    "ProjectLockedError",
    "ProjectWriteError",
    "SearchBudget",
    "SearchData",
    "TrialRecord",
    "TrialsFailedError",
    "project_folder",
    "run_search",
]
