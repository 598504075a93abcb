"""What fit tells a user whose ``time_limit`` is too short to train anything useful."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from autonas.engine.project import TrialRecord

__all__ = ["SHORTEST_USEFUL_SECONDS", "trained_epochs", "warn_if_barely_trained", "warn_if_unusably_short"]

#: Below this ``time_limit`` (seconds) fit warns at once: it cannot train anything useful in it.
SHORTEST_USEFUL_SECONDS = 10.0


def warn_if_unusably_short(time_limit: float | None, stacklevel: int) -> None:
    """At the start of fit: a limit under :data:`SHORTEST_USEFUL_SECONDS` cannot be kept usefully."""
    if time_limit is None or time_limit >= SHORTEST_USEFUL_SECONDS:
        return
    warnings.warn(
        f"time_limit={time_limit:g} s is shorter than a search can use: starting the backend and "
        "building and compiling a first network take seconds on their own, so fit will take longer than "
        f"that and return a barely trained model; give at least {SHORTEST_USEFUL_SECONDS:g} s",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def trained_epochs(record: TrialRecord, history: Sequence[TrialRecord]) -> float:
    """Epochs the trial's network was trained, its ancestors' included (a child starts from its parent's weights).

    An epoch a time limit cut short counts as the share of it that ran.
    """
    by_id = {r.id: r for r in history}
    total, current, seen = 0.0, record, set()
    while current is not None and current.id not in seen:
        seen.add(current.id)
        fraction = current.metrics.get("last_epoch_fraction")
        total += current.epochs - 1 + fraction if fraction is not None and current.epochs >= 1 else current.epochs
        current = None if current.parent is None else by_id.get(current.parent)
    return total


def warn_if_barely_trained(
    time_limit: float | None, best: TrialRecord, history: Sequence[TrialRecord], stacklevel: int
) -> None:
    """After the search: say so when ``time_limit`` did not leave the best network one whole epoch of training
    (its ancestors' included), with the best trial's own pace."""
    fraction = best.metrics.get("last_epoch_fraction")
    if time_limit is None or fraction is None:
        return
    epochs = trained_epochs(best, history)
    if epochs >= 1.0:
        return
    if best.metrics.get("startup_seconds"):  # the pace was measured after the first steps
        pace = (f"an epoch takes about {best.metrics['seconds_per_epoch']:.1f} s after "
                f"{best.metrics['startup_seconds']:.1f} s of start-up: building and compiling the model")
    else:
        pace = f"it ran only its first steps, which build and compile the model: {best.seconds:.1f} s in all"
    trained = "it" if best.parent is None else "it and its ancestors"
    warnings.warn(
        f"time_limit={time_limit:g} s is shorter than one epoch of training takes here: the best trial "
        f"(trial {best.id}) was stopped by the time limit, and {trained} trained {epochs:.0%} of one epoch "
        f"({pace}), so the model is far from trained; raise time_limit",
        UserWarning,
        stacklevel=stacklevel + 1,
    )
