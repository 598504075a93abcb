"""A fit that either completes or leaves the estimator exactly as it was: never a half-updated estimator."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from autonas.engine.loop import TrialsFailedError

__all__ = ["SEARCH_RECORD", "all_or_nothing", "learned_state"]

#: What a search that found no model within the constraints leaves, to inspect its trials.
SEARCH_RECORD = ("objective_", "training_settings_", "history_", "project_path_")


def learned_state(estimator: Any) -> dict[str, Any]:
    """What ``fit`` sets: the attributes ending in ``_`` and the private ones (``_project``)."""
    return {name: value for name, value in vars(estimator).items() if name.endswith("_") or name.startswith("_")}


def _set_learned_state(estimator: Any, state: dict[str, Any]) -> None:
    """Make ``state`` the whole learned state (the parameters set in ``__init__`` stay)."""
    for name in learned_state(estimator):
        delattr(estimator, name)
    vars(estimator).update(state)


@contextlib.contextmanager
def all_or_nothing(estimator: Any) -> Iterator[None]:
    """Put the estimator's learned state back as it was when the block raises.

    A fit refused (e.g. the project holds a search on other data) or failed
    keeps the previous model, classes, pixel scale and image shape, or stays
    unfitted. One exception: a search that ran but has no trial within the
    constraints (:class:`~autonas.engine.TrialsFailedError`) leaves an unfitted
    estimator that holds that search's record (:data:`SEARCH_RECORD`:
    ``history_``, for ``leaderboard()`` and ``report()``), and nothing of an
    earlier fit.
    """
    before = learned_state(estimator)
    try:
        yield
    except TrialsFailedError:
        after = learned_state(estimator)
        searched = "history_" in after and after["history_"] is not before.get("history_")
        _set_learned_state(estimator, {n: after[n] for n in SEARCH_RECORD if n in after} if searched else before)
        raise
    except BaseException:
        _set_learned_state(estimator, before)
        raise
