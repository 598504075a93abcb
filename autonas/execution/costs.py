"""Timing a trained trial's costs within its deadline, and the share of the deadline kept for it."""

from __future__ import annotations

import logging
import time
from typing import Any

from autonas.execution.failures import error_text
from autonas.graph import Graph

__all__ = ["measured_costs", "training_deadline"]

logger = logging.getLogger(__name__)


def training_deadline(deadline: float | None, timed: bool) -> float | None:
    """When training must stop: a tenth of the time left (at most 10 s) is kept for timing the model."""
    if deadline is None or not timed:
        return deadline
    return deadline - min(10.0, 0.1 * max(0.0, deadline - time.monotonic()))


def measured_costs(
    trained: Graph, model, seconds: float, deadline: float | None, timed: bool | str, precision: str = "float32"
) -> dict[str, Any] | str:
    """:func:`autonas.objectives.measure_costs` within what is left of the deadline (why it failed, for a
    model that cannot run in the latency runtime).

    A model trained in another ``precision`` than float32 is timed as a
    float32 one, as the search hands it back and exports it.

    The budget bounds the timing; converting the model for a latency runtime
    other than Keras comes on top of it (seconds, after training has ended).

    Args:
        trained: The trained graph.
        model: Its Keras model, as trained.
        seconds: How long training took (the timing gets a twentieth of it, at least 1 s).
        deadline: ``time.monotonic()`` value by which the timing ends (None: none).
        timed: Whether the model is timed; a runtime name: timed there.
        precision: The dtype policy it trained in.

    Returns:
        The costs, or the error text when the model could not be converted
        to, or run in, the latency runtime.
    """
    from autonas.objectives import measure_costs
    from autonas.objectives.latency import LatencyRuntimeError

    budget = max(1.0, 0.05 * seconds)  # timing large models on large images takes seconds a call
    if deadline is not None:
        budget = max(0.5, min(budget, deadline - time.monotonic()))
    # short of time, time batch 1 only, after one warm-up call (large images: seconds a call)
    quick = {} if budget >= 5.0 else {"batch_sizes": (1,), "warmup": 1, "repeats": 5}
    runtime = timed if isinstance(timed, str) else "keras"
    model = model if precision == "float32" else None  # measure_costs builds the float32 one
    try:
        return measure_costs(trained, model, max_latency_seconds=budget, timed=bool(timed), latency_runtime=runtime,
                             **quick)
    except LatencyRuntimeError as error:
        logger.warning("trial failed: %s", error)
        return error_text(str(error))
