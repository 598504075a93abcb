"""Architecture search by network morphism: edit distance, Gaussian process, searchers.

Only graph, morphism, numpy and scipy are imported here (never TensorFlow), so
the search process stays light.
"""

from autonas.search.acquisition import AnnealingSchedule, tree_search, upper_confidence_bound
import warnings as _warnings

from autonas.search.base import ChildProposal, Constraint, MorphismSearcher, RewardFunction, Searcher, ToldTrial
from autonas.search.bayesian import BayesianSearcher
from autonas.search.distance import Descriptor, describe, edit_distance, pairwise_distances
from autonas.search.gp import GaussianProcess
from autonas.search.kernel import BourgainEmbedding, LandmarkEmbedding, squared_exponential
from autonas.search.more_training import MoreTrainingSearcher
from autonas.search.random_search import RandomSearcher

#: The searchers a classifier or tuner can be given by name.
SEARCHERS = {"bayesian": BayesianSearcher, "random": RandomSearcher, "more-training": MoreTrainingSearcher}


def is_searcher(value: object) -> bool:
    """Whether ``value`` can serve as a searcher: an object (not a class) with ``ask()`` and ``tell()``."""
    return not isinstance(value, type) and callable(getattr(value, "ask", None)) and callable(getattr(value, "tell", None))


def check_searcher(value: object, name: str = "searcher") -> None:
    """Refuse anything but a name in :data:`SEARCHERS` or a searcher object.

    Raises:
        ValueError: naming ``name``, the names allowed and what was given.
    """
    if isinstance(value, str) and value not in SEARCHERS:
        raise ValueError(f"{name} must be one of {sorted(SEARCHERS)} or a searcher object, got {value!r}")
    if not isinstance(value, str) and not is_searcher(value):
        raise ValueError(
            f"{name} must be one of {sorted(SEARCHERS)} or an object with ask() and tell(), got {value!r}"
        )


def make_searcher(value: str | Searcher, **options) -> Searcher:
    """The searcher ``value`` names, built with ``options`` (seed, reward, constraint, ...), or ``value`` itself.

    Raises:
        ValueError: as :func:`check_searcher`.
    """
    check_searcher(value)
    return SEARCHERS[value](**options) if isinstance(value, str) else value


def __getattr__(name: str):
    if name == "Objective":  # the old name of RewardFunction, easy to mistake for autonas.Objective
        _warnings.warn(
            "autonas.search.Objective is renamed RewardFunction (autonas.Objective is the reward's class)",
            DeprecationWarning,
            stacklevel=2,
        )
        return RewardFunction
    if name == "Proposal":  # the old name of ChildProposal, easy to mistake for autonas.Proposal (ask/tell)
        _warnings.warn(
            "autonas.search.Proposal is renamed ChildProposal (autonas.Proposal is what autonas.Search.ask returns)",
            DeprecationWarning,
            stacklevel=2,
        )
        return ChildProposal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnnealingSchedule",
    "BayesianSearcher",
    "BourgainEmbedding",
    "LandmarkEmbedding",
    "MorphismSearcher",
    "MoreTrainingSearcher",
    "Constraint",
    "Descriptor",
    "GaussianProcess",
    "ChildProposal",
    "RandomSearcher",
    "RewardFunction",
    "SEARCHERS",
    "Searcher",
    "ToldTrial",
    "check_searcher",
    "describe",
    "edit_distance",
    "is_searcher",
    "make_searcher",
    "pairwise_distances",
    "squared_exponential",
    "tree_search",
    "upper_confidence_bound",
]
