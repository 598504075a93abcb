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

    With ``timed=False`` nothing runs the model: the graph's costs and the
    energy estimate only (no latency fields; ``energy_source`` ``"estimate"``),
    in microseconds.

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
        timed: Measure latency and energy by running the model (default), or
            record the estimates only.
        latency_runtime: Where ``latency_ms`` is measured: ``"keras"``
            (default), or ``"onnxruntime"`` / ``"litert"``: the model converted
            to that runtime and timed there at batch 1, one thread (see
            :func:`~autonas.objectives.latency.measure_runtime_latency`; the
            conversion takes seconds and is not part of ``max_latency_seconds``).
        **energy_kwargs: Passed on to :func:`measure_energy` (``device_index``,
            ``rapl_root``, ``poll_interval``, ...).

    Returns:
        A flat dict: ``params``, ``model_bytes``, ``macs``, ``dram_bytes``,
        ``estimated_energy_mj`` (always the estimate), the latency fields
        (``latency_ms`` at batch 1 and ``latency_runtime``, where it was
        measured; ``latency_ms_batch_<b>`` in Keras; with another runtime also
        ``latency_ms_keras``, the Keras batch-1 figure, and
        ``latency_conversion_seconds``), and the energy fields of
        :func:`measure_energy` (``energy_mj`` per example, ``power_w``,
        ``energy_source``, ...; measured on the Keras model).

    Raises:
        ValueError, ImportError: for a latency runtime unknown or not available here.
        autonas.objectives.latency.LatencyRuntimeError: when the model cannot
            be converted to or run in ``latency_runtime``.
    """
    check_latency_runtime(latency_runtime, available=timed)
    costs = graph_costs(graph, energy_model)
    metrics: dict[str, Any] = {
        "params": costs["params"],
        "model_bytes": costs["model_bytes"],
        "macs": costs["macs"],
        "dram_bytes": costs["dram_bytes"],
        "estimated_energy_mj": costs["energy_mj"],
    }
    if not timed:
        metrics.update(measure_energy(model, graph.input_shape, method="estimate", graph=graph, energy_model=energy_model))
        return metrics
    model = graph.to_keras() if model is None else model
    shape = graph.input_shape
    metrics.update(
        measure_latency(model, shape, batch_sizes=batch_sizes, repeats=repeats, warmup=warmup, max_seconds=max_latency_seconds)
    )
    metrics["latency_runtime"] = "keras"
    if latency_runtime != "keras":  # the Keras figure kept beside; the energy below runs the Keras model
        metrics["latency_ms_keras"] = metrics["latency_ms"]
        metrics.update(
            measure_runtime_latency(model, latency_runtime, shape, repeats=repeats, warmup=warmup,
                                    max_seconds=max_latency_seconds)
        )
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
