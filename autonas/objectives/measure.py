"""Every cost of a trained trial in one metrics dict: what the trial runner records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autonas.graph import Graph
from autonas.objectives.energy_model import DEFAULT_ENERGY_MODEL, EnergyModel, graph_costs
from autonas.objectives.latency import check_latency_runtime, measure_latency, measure_runtime_latency
from autonas.objectives.power import measure_energy

__all__ = ["measure_costs"]


def measure_costs(
    graph: Graph,
    model: Any = None,
    *,
    energy_method: str = "auto",
    batch_sizes: Sequence[int] = (1, 32),
    repeats: int = 15,
    warmup: int = 2,
    energy_seconds: float = 2.0,
    idle_seconds: float = 1.0,
    energy_model: EnergyModel = DEFAULT_ENERGY_MODEL,
    max_latency_seconds: float | None = None,
    timed: bool = True,
    latency_runtime: str = "keras",
    **energy_kwargs: Any,
) -> dict[str, Any]:
    """The costs of a trial: graph costs, latency and energy with its source.

    With ``timed=False`` nothing runs the model (no latency; estimated energy).

    Args:
        graph: The trial's architecture.
        model: Its Keras model (or any callable ``model(x, training=False)``);
            default ``graph.to_keras()``.
        energy_method: ``"auto"`` (default), ``"nvml"``, ``"rapl"`` or
            ``"estimate"``; see :func:`measure_energy`.
        batch_sizes: Batch sizes timed by :func:`measure_latency`; default ``(1, 32)``.
        repeats: Timed calls per batch size; default 15.
        warmup: Untimed calls before timing; default 2.
        energy_seconds: Least duration of a measured energy loop; default 2.0.
        idle_seconds: Duration of the idle baseline; default 1.0.
        energy_model: Constants of the estimate; default Horowitz ISSCC 2014, 45 nm.
        max_latency_seconds: Time budget of the latency measurement (None: no
            limit); see :func:`measure_latency`.
        timed: Run the model to measure latency and energy (default).
        latency_runtime: Where ``latency_ms`` is measured: ``"keras"`` (default),
            ``"onnxruntime"`` or ``"litert"`` (converted, batch 1, one thread; see
            :func:`~autonas.objectives.latency.measure_runtime_latency`).
        **energy_kwargs: Passed on to :func:`measure_energy` (``device_index``,
            ``rapl_root``, ``poll_interval``, ...).

    Returns:
        A flat dict: ``params``, ``model_bytes``, ``macs``, ``dram_bytes``,
        ``estimated_energy_mj`` (always the estimate), the latency fields
        (``latency_ms`` at batch 1, ``latency_runtime``; ``latency_ms_batch_<b>``
        in Keras; with another runtime ``latency_ms_keras`` and
        ``latency_conversion_seconds``), and the energy fields of
        :func:`measure_energy` on the Keras model (``energy_mj`` per example, ...).

    Raises:
        ValueError, ImportError: for a latency runtime unknown or not available here.
        autonas.objectives.latency.LatencyRuntimeError: when the model cannot
            be converted to or run in ``latency_runtime``.
    """
    check_latency_runtime(latency_runtime, available=timed)
    costs = graph_costs(graph, energy_model)
    metrics: dict[str, Any] = {key: costs[key] for key in ("params", "model_bytes", "macs", "dram_bytes")}
    metrics["estimated_energy_mj"] = costs["energy_mj"]
    if not timed:
        metrics.update(measure_energy(model, graph.input_shape, method="estimate", graph=graph, energy_model=energy_model))
        return metrics
    model = graph.to_keras() if model is None else model
    shape = graph.input_shape
    metrics.update(_latency(model, shape, latency_runtime, batch_sizes, repeats, warmup, max_latency_seconds))
    metrics.update(
        measure_energy(
            model,
            shape,
            method=energy_method,
            graph=graph,
            min_seconds=energy_seconds,
            idle_seconds=idle_seconds,
            warmup=warmup,
            latency_ms=metrics.get("latency_ms_batch_1"),
            energy_model=energy_model,
            **energy_kwargs,
        )
    )
    return metrics


def _latency(model, shape, runtime: str, batch_sizes, repeats: int, warmup: int, max_seconds) -> dict[str, Any]:
    """Keras's latency fields, and with another ``runtime`` its batch-1 figure as ``latency_ms`` (the Keras
    one kept as ``latency_ms_keras``: the energy runs the Keras model)."""
    metrics = measure_latency(model, shape, batch_sizes=batch_sizes, repeats=repeats, warmup=warmup,
                              max_seconds=max_seconds)
    metrics["latency_runtime"] = "keras"
    if runtime != "keras":
        metrics["latency_ms_keras"] = metrics["latency_ms"]
        metrics.update(measure_runtime_latency(model, runtime, shape, repeats=repeats, warmup=warmup,
                                               max_seconds=max_seconds))
    return metrics
