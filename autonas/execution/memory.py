"""Memory admission: a training-memory estimate per trial, the GPU's free memory and a ledger of
reservations, and the host memory CPU workers are expected to take.

Nothing here imports Keras or its backend: the search process decides how many trials
fit on the device (or in the host's memory) before any worker starts.

The estimate (bytes) of training a graph at a batch size is

* parameters × 4 bytes × (1 weights + 1 gradients + optimizer slots; Adam keeps 2),
* plus activations: the float32 outputs of every layer for the whole batch,
  counted twice (kept for the backward pass, and their gradients),
* plus a fixed workspace for the framework's kernels and allocator slack.

It is a model, not a measurement: :class:`MemoryLedger` corrects it from the
peaks workers measure (:func:`autonas.backend.peak_gpu_bytes`) by keeping
the largest measured/estimated ratio seen.
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

from autonas.graph import Graph

__all__ = [
    "DeviceMemory",
    "HostMemory",
    "MemoryLedger",
    "available_memory_bytes",
    "cores",
    "default_cpu_workers",
    "estimate_training_bytes",
    "gpu_free_bytes",
    "nvml_free_bytes",
]

MIB = 1 << 20
#: Workspace assumed on top of weights and activations (kernel scratch, allocator slack).
WORKSPACE_BYTES = 128 * MIB
_OPTIMIZER_SLOTS = {"adam": 2, "adamw": 2, "nadam": 2, "rmsprop": 1, "sgd": 1, "adagrad": 1}


def estimate_training_bytes(graph: Graph, batch_size: int, optimizer: str = "adam") -> int:
    """Estimated device memory to train ``graph`` at ``batch_size`` (see the module docstring)."""
    slots = _OPTIMIZER_SLOTS.get(optimizer.lower(), 2)
    weights = graph.num_params() * 4 * (2 + slots)
    activations = sum(math.prod(graph.shape(node)) for node in graph.nodes) * 4 * 2 * int(batch_size)
    return int(weights + activations + WORKSPACE_BYTES)


def nvml_free_bytes(device_index: int = 0) -> tuple[int, int] | None:
    """``(free, total)`` bytes of a GPU through nvidia-ml-py, or None without a GPU or the package."""
    try:
        nvml = importlib.import_module("pynvml")
        nvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no package, no driver, no device: no GPU to plan for
        return None
    try:
        if int(nvml.nvmlDeviceGetCount()) <= device_index:
            return None
        info = nvml.nvmlDeviceGetMemoryInfo(nvml.nvmlDeviceGetHandleByIndex(device_index))
        return int(info.free), int(info.total)
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def _nvidia_smi_free_bytes(device_index: int = 0) -> tuple[int, int] | None:
    """``(free, total)`` bytes of a GPU from the ``nvidia-smi`` command (installed with the driver)."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return None
    try:
        output = subprocess.run(
            [command, "--query-gpu=memory.free,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
        free, total = (int(float(value)) * MIB for value in output.strip().splitlines()[device_index].split(","))
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return free, total


def gpu_free_bytes() -> tuple[int, int] | None:
    """``(free, total)`` bytes of the first GPU this process may use, or None without one.

    Read through nvidia-ml-py, else ``nvidia-smi``. ``CUDA_VISIBLE_DEVICES``
    is honoured: empty or ``-1`` means no GPU, and otherwise its first entry
    (when it is a number) is the device read.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    index = 0
    if visible is not None:
        first = visible.split(",")[0].strip()
        if first in ("", "-1"):
            return None
        index = int(first) if first.isdigit() else 0
    return nvml_free_bytes(index) or _nvidia_smi_free_bytes(index)


@dataclass(frozen=True)
class DeviceMemory:
    """Where free memory comes from: a callable giving ``(free, total)`` bytes.

    Attributes:
        query: ``() -> (free, total)``; :func:`gpu_free_bytes` for a real GPU,
            a fake in tests.
        per_process_bytes: Memory each worker process costs on the device on
            top of its allocator (CUDA context, cuDNN handles); an estimate.
        safety_fraction: Part of the free memory never reserved.
    """

    query: Callable[[], tuple[int, int] | None]
    per_process_bytes: int = 512 * MIB
    safety_fraction: float = 0.1

    def usable_bytes(self) -> int:
        """Free memory minus the safety margin, read now (0 when unreadable)."""
        reading = self.query()
        if reading is None:
            return 0
        free, _ = reading
        return int(free * (1.0 - self.safety_fraction))


class MemoryLedger:
    """Reservations of device memory by running trials.

    A trial is admitted when its corrected estimate plus the per-process cost
    fits in the memory that was usable when the ledger started, less what
    running trials hold. When a worker reports its measured peak, the
    correction factor becomes the largest measured/estimated ratio seen (never
    below 1 before any measurement, never below 0.5 after). A trial that ran
    out of memory alone lowers the largest estimate admitted from then on.

    Args:
        device: The device's memory.

    Attributes:
        capacity: Bytes usable for trials, read once at construction.
        correction: Factor applied to estimates.
        max_estimate: Largest reservation admitted (None: the capacity).
    """

    def __init__(self, device: DeviceMemory) -> None:
        self.device = device
        self.capacity = device.usable_bytes()
        self.correction = 1.0
        self._measured = False
        self.max_estimate: int | None = None
        self._reserved: dict[object, int] = {}
        self._lock = threading.Lock()

    def cost(self, estimate: int) -> int:
        """Bytes a trial with this raw estimate reserves (corrected, plus the process)."""
        return int(estimate * self.correction) + self.device.per_process_bytes

    def fits_alone(self, estimate: int) -> bool:
        """Whether a trial with this raw estimate could ever run (on an otherwise idle device)."""
        limit = self.capacity if self.max_estimate is None else min(self.capacity, self.max_estimate)
        return self.cost(estimate) <= limit

    def try_reserve(self, key: object, estimate: int) -> bool:
        """Reserve memory for ``key`` if it fits next to the running trials; returns whether it did."""
        with self._lock:
            cost = self.cost(estimate)
            if self._reserved and sum(self._reserved.values()) + cost > self.capacity:
                return False
            if not self._reserved and not self.fits_alone(estimate):
                return False
            self._reserved[key] = cost
            return True

    def hold(self, key: object, nbytes: int) -> None:
        """Record ``nbytes`` held by ``key`` without a check: memory already taken (an idle worker's context)."""
        with self._lock:
            self._reserved[key] = int(nbytes)

    def release(self, key: object) -> None:
        """Return ``key``'s reservation."""
        with self._lock:
            self._reserved.pop(key, None)

    @property
    def reserved(self) -> int:
        """Bytes reserved now."""
        with self._lock:
            return sum(self._reserved.values())

    @property
    def running(self) -> int:
        """Trials holding a reservation."""
        with self._lock:
            return len(self._reserved)

    def observe_peak(self, estimate: int, peak_bytes: int) -> None:
        """Correct later estimates from a worker's measured peak allocation."""
        if estimate <= 0 or peak_bytes <= 0:
            return
        ratio = peak_bytes / estimate
        with self._lock:
            self.correction = max(0.5, ratio) if not self._measured else max(self.correction, ratio)
            self._measured = True

    def observe_out_of_memory(self, estimate: int) -> None:
        """A trial with this raw estimate ran out of memory while alone: admit only smaller ones."""
        with self._lock:
            limit = int(self.cost(estimate) * 0.9)
            self.max_estimate = limit if self.max_estimate is None else min(self.max_estimate, limit)


#: Memory a CPU worker is given room for when the number of workers is not set (the backend + a small model).
CPU_WORKER_BYTES = 1536 * MIB
#: A CPU worker's memory before any trial (interpreter, Keras, its backend): an estimate.
CPU_WORKER_BASE_BYTES = 768 * MIB


def available_memory_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` (None where there is none)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def default_cpu_workers() -> int:
    """One worker per core, but no more than the available memory has room for (1.5 GiB each)."""
    workers = cores()
    available = available_memory_bytes()
    if available is not None:
        workers = min(workers, max(1, available // CPU_WORKER_BYTES))
    return int(workers)


class HostMemory:
    """The host memory CPU workers are expected to take together, for admitting one more.

    A worker is expected to take its base (:data:`CPU_WORKER_BASE_BYTES`) plus
    its trial's estimated training memory (:func:`estimate_training_bytes`),
    corrected by the largest measured/estimated ratio of the workers' peak
    resident memory so far: on large images a worker takes gigabytes, and
    fewer run at once.

    Args:
        capacity: Bytes the workers may use together (None: no limit).

    Attributes:
        correction: Factor applied to training estimates (at least 1).
    """

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.correction = 1.0

    @classmethod
    def available(cls, fraction: float = 0.9) -> HostMemory:
        """``fraction`` of the memory available now (no limit where it cannot be read)."""
        available = available_memory_bytes()
        return cls(None if available is None else int(available * fraction))

    def footprint(self, estimate: int) -> int:
        """Bytes a worker training a trial with this raw estimate is expected to take."""
        return CPU_WORKER_BASE_BYTES + int(estimate * self.correction)

    def fits(self, footprint: int, running: list[int]) -> bool:
        """Whether a worker of ``footprint`` fits next to the running ones' footprints (always, alone)."""
        if not running or self.capacity is None:
            return True
        return sum(running) + footprint <= self.capacity

    def observe_peak_rss(self, estimate: int, rss: int) -> None:
        """Correct later footprints from a worker's measured peak resident memory."""
        if estimate > 0 and rss > 0:
            self.correction = max(self.correction, (rss - CPU_WORKER_BASE_BYTES) / estimate)
