"""The search loop, trial records and the on-disk project."""

from autonas.engine.project import Project, TrialRecord
from autonas.engine.search import SearchBudget, SearchData, TrialsFailedError, run_search

__all__ = ["Project", "SearchBudget", "SearchData", "TrialRecord", "TrialsFailedError", "run_search"]
