"""Wall-clock latency of a model's inference.

Keras is imported only when a :class:`~autonas.graph.Graph` must be built into a
model; a plain callable ``model(x, training=False)`` is timed as it is.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from autonas.objectives._inference import inference_runner, resolve_input_shape, resolve_model

__all__ = ["measure_latency"]


def measure_latency(
    model_or_graph: Any,
    input_shape: Sequence[int] | None = None,
    batch_sizes: Sequence[int] = (1, 32),
    repeats: int = 15,
    warmup: int = 2,
    max_seconds: float | None = None,
) -> dict[str, float]:
    """Median wall-clock time of an inference call, per batch size.

    Each batch size gets its own fixed input and ``warmup`` untimed calls;
    then the batch sizes take turns, ``repeats`` rounds, each call timed alone
    with :func:`time.perf_counter` (the call ``model(x, training=False)`` plus
    fetching its output). Taking turns keeps a changing load on a shared
    machine from favouring one batch size.

    Args:
        model_or_graph: A Keras model, a :class:`~autonas.graph.Graph` (built
            with ``to_keras()``) or any callable ``model(x, training=False)``.
        input_shape: Input shape without the batch axis; default the graph's
            or the Keras model's.
        batch_sizes: Batch sizes to time; default ``(1, 32)``.
        repeats: Timed calls per batch size; default 15.
        warmup: Untimed calls first (building, tracing, caches); default 2.
        max_seconds: Time budget (None: no limit): no further round starts once
            it is spent, but at least one round is timed. Large models on large
            images take seconds a call; a trial's measurement must not outlast
            its training.

    Returns:
        ``latency_ms_batch_<b>``: median milliseconds of one call at batch size
        ``b``, for each ``b``; ``latency_ms``: that of the smallest batch size
        (batch 1 by default); ``latency_repeats``: the rounds timed.

    Raises:
        ValueError: for no batch sizes, a non-positive batch size or repeats,
            or an unknown input shape.
    """
    sizes = sorted({int(b) for b in batch_sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"batch_sizes must be positive ints, got {batch_sizes!r}")
    if int(repeats) < 1 or int(warmup) < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats!r}, {warmup!r}")
    shape = resolve_input_shape(model_or_graph, input_shape)
    model = resolve_model(model_or_graph)
    begin = time.perf_counter()
    runs = {size: inference_runner(model, shape, size) for size in sizes}
    for run in runs.values():
        for _ in range(int(warmup)):
            run()
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for round_ in range(int(repeats)):  # interleaved, so drifting load affects every batch size alike
        if round_ and max_seconds is not None and time.perf_counter() - begin > max_seconds:
            break
        for size, run in runs.items():
            start = time.perf_counter()
            run()
            times[size].append((time.perf_counter() - start) * 1e3)
    result: dict[str, float] = {f"latency_ms_batch_{size}": statistics.median(times[size]) for size in sizes}
    result["latency_ms"] = result[f"latency_ms_batch_{sizes[0]}"]
    result["latency_repeats"] = len(times[sizes[0]])
    return result
