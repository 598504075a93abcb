"""The search: its description (:class:`SearchSpec`, :class:`Recipe`), its plan and loop, trial records, the project."""

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

from autonas.engine.ask_tell import Proposal, Search
from autonas.engine.loop import SearchBudget, SearchPlan, TrialsFailedError, run_plan, run_search
from autonas.engine.recipe import Recipe
from autonas.engine.spec import SearchSpec

__all__ = [
    "DamagedTrialWarning",
    "Project",
    "ProjectFileError",
    "ProjectLockedError",
    "ProjectWriteError",
    "Proposal",
    "Recipe",
    "Search",
    "SearchBudget",
    "SearchPlan",
    "SearchSpec",
    "TrialRecord",
    "TrialsFailedError",
    "project_folder",
    "run_plan",
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
