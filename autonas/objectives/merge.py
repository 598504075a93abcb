"""From what a user passed as an objective, with limits given beside it, to one :class:`Objective`."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from autonas.objectives.reward import Objective

__all__ = ["as_objective"]


def as_objective(
    objective: Objective | Callable[[Mapping[str, Any]], float] | None,
    limits: Mapping[str, float | None] | None = None,
    given_by: str = "the caller",
) -> Objective:
    """An :class:`Objective` from what a user passed, with limits given beside it merged in.

    Args:
        objective: None (the accuracy alone: ``Objective()``), an
            :class:`Objective`, or a callable ``fn(metrics) -> float``
            (wrapped with :meth:`Objective.from_callable`).
        limits: Constraints given separately (e.g. ``{"max_params": 20_000}``;
            None values are ignored), such as the classifier's arguments. A
            given :class:`Objective` is copied, never changed.
        given_by: Who gave ``limits``, for the error message.

    Raises:
        ValueError: for anything else, a bad limit, or a limit given both in
            ``limits`` and, with another value, in the objective.
    """
    limits = {name: value for name, value in (limits or {}).items() if value is not None}
    checked = Objective(**limits)  # raises for a bad limit, whatever the objective
    if objective is None:
        return checked
    if isinstance(objective, Objective):
        clashes = sorted(name for name, value in limits.items() if getattr(objective, name) not in (None, value))
        if clashes:
            raise ValueError(f"{clashes} differ between {given_by} and its objective; give each limit once")
        if not limits:
            return objective
        merged = copy.copy(objective)
        for name, value in limits.items():
            setattr(merged, name, value)
        return merged
    if callable(objective):
        return Objective.from_callable(objective, **limits)
    raise ValueError(f"objective must be None, an Objective or a callable fn(metrics) -> float, got {objective!r}")
