"""Reading the metrics of a trial record or a plain metrics dict (private)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def metrics_of(item: Any) -> Mapping[str, Any] | None:
    """The metrics of a completed trial, or None for a failed one.

    ``item`` is a record with ``metrics`` and ``status`` attributes (a
    :class:`~autonas.engine.project.TrialRecord`) or a metrics mapping, which
    may carry its own ``"status"``. Anything but ``"completed"`` (the default
    when there is no status) is a failed trial.
    """
    if hasattr(item, "metrics"):
        if getattr(item, "status", "completed") != "completed":
            return None
        item = item.metrics
    if not isinstance(item, Mapping):
        raise ValueError(f"expected a trial record or a metrics dict, got {type(item).__name__}")
    if item.get("status", "completed") != "completed":
        return None
    return item


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
