"""What a worker process may use, and how each backend is told: threads, GPU memory caps, compilation cache.

* **tensorflow**: threads by ``tf.config.threading`` (intra- and inter-op,
  calls); GPU cap by a logical device with ``memory_limit`` (a call).
* **jax**: threads by ``PJRT_NPROC`` (the size of XLA's CPU pool, an
  environment variable; ``XLA_FLAGS`` thread settings change nothing:
  benchmarks/results/jax_cpu.md); GPU cap by
  ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` and
  ``XLA_PYTHON_CLIENT_MEM_FRACTION`` = cap / total (environment).
* **torch**: threads by ``torch.set_num_threads`` and
  ``set_num_interop_threads``; GPU cap by
  ``torch.cuda.set_per_process_memory_fraction(cap / total)`` (calls).

A worker sets up in two steps, because some settings are read only when the
framework starts: :func:`worker_environment` (pure, so a simulated GPU can be
checked without one) gives the variables to set *before* Keras is imported;
:func:`configure_worker` makes the calls *after*.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autonas.backend._capabilities import CAPABILITIES, _check, backend_name, capabilities

__all__ = [
    "COMPILATION_CACHE_BYTES", "WorkerLimits", "compilation_cache", "configure_worker", "intra_op_threads",
    "recap_gpu_memory", "worker_environment",
]

MIB = 1 << 20

#: Environment variables that size the thread pools of OpenMP and the BLAS libraries (numpy's included).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: Largest size of a project's JAX compilation cache (JAX evicts the oldest entries beyond it).
COMPILATION_CACHE_BYTES = 1 << 30


@dataclass(frozen=True)
class WorkerLimits:
    """What a worker process may use.

    Attributes:
        threads: Intra-op (compute) threads; 0 leaves the framework's default (one per core).
        inter_op_threads: Threads running independent ops at once (TensorFlow,
            PyTorch); 0 leaves the default.
        use_gpu: Whether the worker may see the GPU (False hides it).
        gpu_memory_bytes: Most GPU memory the worker may take (None: no cap).
        gpu_total_bytes: The GPU's total memory, for backends that take the cap
            as a fraction of it (JAX); None where unknown (then JAX is not capped,
            only kept from preallocating).
    """

    threads: int = 0
    inter_op_threads: int = 0
    use_gpu: bool = False
    gpu_memory_bytes: int | None = None
    gpu_total_bytes: int | None = None


def _fraction(limits: WorkerLimits) -> float | None:
    """The GPU cap as a fraction of the device (rounded down, so it never exceeds the cap), or None."""
    if not limits.use_gpu or not limits.gpu_memory_bytes or not limits.gpu_total_bytes:
        return None
    return max(0.001, min(1.0, math.floor(1000 * limits.gpu_memory_bytes / limits.gpu_total_bytes) / 1000))


def worker_environment(backend: str, limits: WorkerLimits) -> dict[str, str]:
    """Environment variables a worker sets before importing Keras (pure: reads nothing).

    Args:
        backend: One of :data:`~autonas.backend.BACKENDS`.
        limits: What the worker may use.

    Returns:
        Variable → value: ``KERAS_BACKEND`` always; on CPU ``CUDA_VISIBLE_DEVICES=""``
        (and ``JAX_PLATFORMS=cpu``); with a thread count, OpenMP's and BLAS's
        pool sizes and, for JAX, ``PJRT_NPROC``; for JAX on a GPU,
        ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (JAX takes 75 % of the device
        by default) and, with a cap, ``XLA_PYTHON_CLIENT_MEM_FRACTION``.

    Raises:
        ValueError: An unknown backend.
    """
    _check(backend)
    env = {"KERAS_BACKEND": backend}
    if not limits.use_gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    if limits.threads > 0:
        env.update(dict.fromkeys(_THREAD_VARIABLES, str(limits.threads)))
    if backend == "jax":
        if limits.threads > 0:
            env["PJRT_NPROC"] = str(limits.threads)
        if limits.use_gpu:
            env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
            fraction = _fraction(limits)
            if fraction is not None:
                env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{fraction:.3f}"
        else:
            env["JAX_PLATFORMS"] = "cpu"
    return env


def configure_worker(limits: WorkerLimits, backend: str | None = None) -> None:
    """Apply the limits that are calls, after :func:`worker_environment`'s variables are set.

    TensorFlow: intra- and inter-op threads, and a logical GPU device of
    ``gpu_memory_bytes``. PyTorch: ``set_num_threads``,
    ``set_num_interop_threads`` and ``set_per_process_memory_fraction``. JAX:
    nothing (its limits are the environment).

    Args:
        limits: What the worker may use.
        backend: Whose calls to make; default this process's (then Keras is
            imported first, which fixes the backend ``KERAS_BACKEND`` names).

    Raises:
        RuntimeError: From TensorFlow, when its runtime already started.
    """
    if backend is None:
        import keras  # noqa: F401 - fixes the backend named by KERAS_BACKEND

        backend = backend_name()
    _check(backend)
    if backend == "tensorflow":
        import tensorflow as tf

        if limits.threads > 0:
            tf.config.threading.set_intra_op_parallelism_threads(limits.threads)
        if limits.inter_op_threads > 0:
            tf.config.threading.set_inter_op_parallelism_threads(limits.inter_op_threads)
        if limits.use_gpu and limits.gpu_memory_bytes:
            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                megabytes = max(1, int(limits.gpu_memory_bytes) // MIB)
                tf.config.set_logical_device_configuration(
                    gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=megabytes)]
                )
    elif backend == "torch":
        import torch

        if limits.threads > 0:
            torch.set_num_threads(limits.threads)
        if limits.inter_op_threads > 0:
            try:
                torch.set_num_interop_threads(limits.inter_op_threads)
            except RuntimeError:  # only possible before the first parallel work
                pass
        if limits.use_gpu and limits.gpu_memory_bytes:
            recap_gpu_memory(limits.gpu_memory_bytes, limits.gpu_total_bytes, backend="torch")


def recap_gpu_memory(cap_bytes: int, total_bytes: int | None = None, backend: str | None = None) -> bool:
    """Set this process's GPU memory cap again, for the next trial of a reused worker.

    Only where :attr:`~autonas.backend.Capabilities.gpu_workers_reusable`
    (PyTorch: ``torch.cuda.set_per_process_memory_fraction``, a fraction of
    ``total_bytes``, default the device's); TensorFlow's and JAX's caps are
    fixed when they start.

    Returns:
        Whether a cap was set (False: another backend, or no GPU visible).
    """
    if not capabilities(backend).gpu_workers_reusable:
        return False
    import torch

    if not torch.cuda.is_available():
        return False
    total = total_bytes or torch.cuda.get_device_properties(0).total_memory
    fraction = _fraction(WorkerLimits(use_gpu=True, gpu_memory_bytes=int(cap_bytes), gpu_total_bytes=total))
    torch.cuda.set_per_process_memory_fraction(fraction, 0)
    return True


def intra_op_threads() -> int | None:
    """The compute threads this process's framework uses, read back from it (None: unknown).

    TensorFlow: its intra-op setting (0: its default, one per core). PyTorch:
    ``torch.get_num_threads()``. JAX: the threads of XLA's CPU pool counted in
    ``/proc/self/task`` (Linux, once JAX has started its CPU client).
    """
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        return int(tf.config.threading.get_intra_op_parallelism_threads())
    if backend == "torch":
        import torch

        return int(torch.get_num_threads())
    if backend == "jax":
        tasks = Path("/proc/self/task")
        if not tasks.is_dir():
            return None
        count = 0
        for task in tasks.iterdir():
            try:
                count += "XLAEigen" in (task / "comm").read_text()
            except OSError:  # the thread ended
                pass
        return count or None
    return None


@contextlib.contextmanager
def compilation_cache(folder: str | os.PathLike, backend: str | None = None) -> Iterator[bool]:
    """Where the backend has one (JAX), let worker processes started in this block keep compiled programs in ``folder``.

    A worker that meets a program again (a retried trial, a resumed search,
    the same network on another worker) loads it instead of compiling for
    seconds. Set through JAX's environment variables, read when a worker
    imports JAX; this process's JAX is left as it is. A cache the user
    configured (``JAX_COMPILATION_CACHE_DIR``) is kept. Other (and unknown)
    backends: nothing.

    Yields:
        Whether the cache was set up.
    """
    row = CAPABILITIES.get(backend or backend_name())
    if row is None or not row.compilation_cache or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        yield False
        return
    settings = {
        "JAX_COMPILATION_CACHE_DIR": str(folder),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",  # small CPU programs compile in under a second
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
        "JAX_COMPILATION_CACHE_MAX_SIZE": str(COMPILATION_CACHE_BYTES),  # also turns on the cache's file lock
    }
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield True
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
