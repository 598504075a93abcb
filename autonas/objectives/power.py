"""Energy per inference: measured with NVML or RAPL when the machine allows, else estimated.

Sources, tried in this order by ``method="auto"``:

* ``"nvml"``: an NVIDIA GPU through nvidia-ml-py (``import pynvml``). The
  total-energy counter ``nvmlDeviceGetTotalEnergyConsumption`` (mJ, Volta and
  newer, updated every 20–100 ms) is read before and after each window; where
  it is not supported, ``nvmlDeviceGetPowerUsage`` (mW) is sampled every
  ``poll_interval`` seconds and averaged over the window.
* ``"rapl"``: the CPU packages' ``energy_uj`` counters under
  ``/sys/class/powercap/intel-rapl:<n>`` (root-only since Linux 5.10, absent on
  most VMs). They are read every ``poll_interval`` seconds and summed over the
  packages; a counter that wrapped past ``max_energy_range_uj`` is unwrapped.
* ``"estimate"``: :func:`~autonas.objectives.energy_model.estimate_energy`
  from the graph's MACs and bytes moved.

A measurement runs the model on a fixed input for ``warmup`` untimed calls,
then measures the idle device for ``idle_seconds`` (nothing running), then runs
inferences back to back for at least ``min_seconds``. The energy per example is
``(active energy − idle power × active time) / (calls × batch size)``: the
energy the inference added on top of the idle machine.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from autonas.graph import Graph
from autonas.objectives.energy_model import DEFAULT_ENERGY_MODEL, EnergyModel, estimate_energy
from autonas.objectives._inference import inference_runner, is_keras_model, resolve_input_shape, resolve_model

__all__ = ["ENERGY_METHODS", "RAPL_ROOT", "measure_energy"]

#: Accepted values of ``measure_energy(method=...)``.
ENERGY_METHODS = ("auto", "nvml", "rapl", "estimate")
#: Where the kernel exposes RAPL counters.
RAPL_ROOT = "/sys/class/powercap"

_RAPL_PACKAGE = re.compile(r"intel-rapl:\d+")


class _Unavailable(Exception):
    """A measured energy source cannot be used here (the message says why)."""


# ---------------------------------------------------------------------- meters
# A meter measures the energy of one window: start(), poll() now and then, stop() -> mJ.


class _NvmlMeter:
    """Energy of an NVIDIA GPU through NVML: the energy counter, else sampled power."""

    source = "nvml"

    def __init__(self, device_index: int = 0) -> None:
        try:
            self._nvml = importlib.import_module("pynvml")
        except ImportError:
            raise _Unavailable("nvml: pynvml (nvidia-ml-py) is not installed") from None
        try:
            self._nvml.nvmlInit()
        except Exception as error:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
            raise _Unavailable(f"nvml: cannot initialise ({error})") from None
        try:
            count = int(self._nvml.nvmlDeviceGetCount())
            if count <= device_index:
                raise _Unavailable(f"nvml: no GPU with index {device_index} ({count} found)")
            self._handle = self._nvml.nvmlDeviceGetHandleByIndex(device_index)
            self.kind = "energy counter" if self._counter_works() else "power samples"
            if self.kind == "power samples":
                self._power_mw()
        except _Unavailable:
            self.close()
            raise
        except Exception as error:
            self.close()
            raise _Unavailable(f"nvml: cannot read energy or power ({error})") from None

    def _counter_works(self) -> bool:
        try:
            self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
            return True
        except Exception:  # NVMLError_NotSupported before Volta, or an old binding
            return False

    def _energy_mj(self) -> float:
        return float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def _power_mw(self) -> float:
        return float(self._nvml.nvmlDeviceGetPowerUsage(self._handle))

    def start(self) -> None:
        if self.kind == "energy counter":
            self._e0 = self._energy_mj()
        else:
            self._samples: list[float] = []

    def poll(self) -> None:
        if self.kind == "power samples":
            self._samples.append(self._power_mw())

    def stop(self, seconds: float) -> float:
        """Energy in mJ since :meth:`start`; ``seconds`` is the window's duration (power samples × time)."""
        if self.kind == "energy counter":
            return self._energy_mj() - self._e0
        self.poll()
        return sum(self._samples) / len(self._samples) * seconds  # mW × s = mJ

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass


def _counter_delta(before: int, after: int, max_range: int) -> int:
    """Increase of a counter that wraps to 0 past ``max_range``."""
    return after - before if after >= before else after + (max_range - before)


class _RaplMeter:
    """Energy of the CPU packages from the powercap RAPL counters (µJ), summed."""

    source = "rapl"
    kind = "energy counter"

    def __init__(self, root: str | Path = RAPL_ROOT) -> None:
        root = Path(root)
        zones = sorted(p for p in root.glob("intel-rapl:*") if _RAPL_PACKAGE.fullmatch(p.name))
        if not zones:
            raise _Unavailable(f"rapl: no package zones {root}/intel-rapl:<n>")
        try:
            self._files = [zone / "energy_uj" for zone in zones]
            self._ranges = [int((zone / "max_energy_range_uj").read_text()) for zone in zones]
            self._read()
        except (OSError, ValueError) as error:
            raise _Unavailable(f"rapl: cannot read the counters ({error})") from None

    def _read(self) -> list[int]:
        return [int(path.read_text()) for path in self._files]

    def start(self) -> None:
        self._last = self._read()
        self._total_uj = 0

    def poll(self) -> None:
        now = self._read()
        self._total_uj += sum(_counter_delta(b, a, r) for b, a, r in zip(self._last, now, self._ranges))
        self._last = now

    def stop(self, seconds: float) -> float:  # noqa: ARG002 - counters need no duration
        self.poll()
        return self._total_uj / 1e3

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------- measuring
def _window(meter: Any, seconds: float, work: Callable[[], None] | None, poll_interval: float) -> tuple[float, float, int]:
    """Run ``work`` back to back (or sleep) for ``seconds``; returns (mJ, seconds, calls)."""
    calls = 0
    meter.start()
    start = last_poll = time.perf_counter()
    while True:
        now = time.perf_counter()
        if now - start >= seconds and (work is None or calls > 0):
            break
        if now - last_poll >= poll_interval:
            meter.poll()
            last_poll = now
        if work is None:
            time.sleep(max(0.0, min(poll_interval, seconds - (now - start))))
        else:
            work()
            calls += 1
    elapsed = time.perf_counter() - start  # one clock reading for both the energy and the duration
    return meter.stop(elapsed), elapsed, calls


def _measure(
    meter: Any,
    run: Callable[[], None],
    batch_size: int,
    warmup: int,
    min_seconds: float,
    idle_seconds: float,
    poll_interval: float,
) -> dict[str, Any]:
    for _ in range(warmup):
        run()
    idle_mj, idle_s, _ = _window(meter, idle_seconds, None, poll_interval)
    active_mj, active_s, calls = _window(meter, min_seconds, run, poll_interval)
    idle_w = idle_mj / idle_s / 1e3 if idle_s > 0 else 0.0
    net_mj = active_mj - idle_w * 1e3 * active_s
    result = {
        "energy_mj": max(net_mj, 0.0) / (calls * batch_size),
        "power_w": active_mj / active_s / 1e3,
        "idle_power_w": idle_w,
        "energy_source": meter.source,
        "energy_meter": meter.kind,
        "energy_seconds": active_s,
        "idle_seconds": idle_s,
        "energy_inferences": calls,
        "energy_batch_size": batch_size,
    }
    if net_mj < 0:
        result["energy_note"] = "active energy was below the idle baseline; energy_mj set to 0"
    return result


def _estimate(
    model_or_graph: Any, graph: Graph | None, energy_model: EnergyModel, latency_ms: float | None
) -> dict[str, Any]:
    if graph is None:
        if isinstance(model_or_graph, Graph):
            graph = model_or_graph
        elif is_keras_model(model_or_graph):
            graph = Graph.from_keras(model_or_graph)
        else:
            raise ValueError("the energy estimate needs the architecture: pass a Graph, a Keras model or graph=")
    result = estimate_energy(graph, energy_model)
    # mJ per ms is W: the average power of a batch-1 inference at the measured latency.
    result["power_w"] = None if not latency_ms else result["energy_mj"] / float(latency_ms)
    return result


def measure_energy(
    model: Any,
    input_shape: Sequence[int] | None = None,
    *,
    method: str = "auto",
    graph: Graph | None = None,
    batch_size: int = 1,
    min_seconds: float = 2.0,
    idle_seconds: float = 1.0,
    warmup: int = 2,
    poll_interval: float = 0.05,
    device_index: int = 0,
    rapl_root: str | Path = RAPL_ROOT,
    latency_ms: float | None = None,
    energy_model: EnergyModel = DEFAULT_ENERGY_MODEL,
) -> dict[str, Any]:
    """Energy per inference of one example, with the source that gave it.

    Args:
        model: A Keras model, a :class:`~autonas.graph.Graph` (built with
            ``to_keras()`` only when a measurement runs it) or any callable
            ``model(x, training=False)``.
        input_shape: Input shape without the batch axis; default the graph's or
            the Keras model's.
        method: ``"auto"`` (default: NVML when a GPU answers, else RAPL when
            readable, else the estimate), or one of ``"nvml"``, ``"rapl"``,
            ``"estimate"`` to force a source (forcing an unavailable measured
            source raises).
        graph: The architecture, for the estimate; default ``model`` when it is
            a Graph, else read from the Keras model with ``Graph.from_keras``.
        batch_size: Examples per measured call; default 1.
        min_seconds: Least duration of the measured inference loop; default 2.0.
        idle_seconds: Duration of the idle baseline; default 1.0.
        warmup: Untimed calls before measuring; default 2.
        poll_interval: Seconds between power samples / counter reads; default 0.05.
        device_index: NVML index of the GPU the model runs on; default 0.
        rapl_root: The powercap folder; default ``/sys/class/powercap``.
        latency_ms: Batch-1 latency, used by the estimate to state an average
            power (``energy_mj / latency_ms``); default None (``power_w`` None).
        energy_model: Constants of the estimate; default Horowitz ISSCC 2014, 45 nm.

    Returns:
        Always ``energy_mj`` (mJ per example), ``power_w`` and ``energy_source``
        (``"nvml"``, ``"rapl"`` or ``"estimate"``). Measured sources add
        ``idle_power_w``, ``energy_meter`` (``"energy counter"`` or ``"power
        samples"``), ``energy_seconds`` (duration of the measured loop),
        ``idle_seconds``, ``energy_inferences`` (calls) and ``energy_batch_size``;
        there ``power_w`` is the average total power during the loop and
        ``energy_mj`` excludes the idle power. The estimate adds the fields of
        :func:`~autonas.objectives.energy_model.estimate_energy`, and
        ``energy_note`` says why ``"auto"`` found no measured source.

    Raises:
        ValueError: for an unknown method or batch size, or an estimate with no
            architecture.
        RuntimeError: when a forced measured source is unavailable.
    """
    if method not in ENERGY_METHODS:
        raise ValueError(f"method must be one of {ENERGY_METHODS}, got {method!r}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if method == "estimate":
        return _estimate(model, graph, energy_model, latency_ms)
    reasons: list[str] = []
    for meter in _meters(method, device_index, rapl_root, reasons):
        try:
            shape = resolve_input_shape(model, input_shape)
            run = inference_runner(resolve_model(model), shape, int(batch_size))
            return _measure(meter, run, int(batch_size), int(warmup), min_seconds, idle_seconds, poll_interval)
        finally:
            meter.close()
    if method != "auto":
        raise RuntimeError(f"energy source {method!r} is unavailable: {reasons[0]}")
    result = _estimate(model, graph, energy_model, latency_ms)
    result["energy_note"] = "no measured source: " + "; ".join(reasons)
    return result


def _meters(method: str, device_index: int, rapl_root: str | Path, reasons: list[str]):
    """The measured sources ``method`` allows, in order, that open here; why the others did not goes to ``reasons``."""
    factories = {"nvml": lambda: _NvmlMeter(device_index), "rapl": lambda: _RaplMeter(rapl_root)}
    for name in ("nvml", "rapl") if method == "auto" else (method,):
        try:
            yield factories[name]()
        except _Unavailable as error:
            reasons.append(str(error))
