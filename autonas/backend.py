"""The one place that knows which Keras backend runs: TensorFlow, JAX or PyTorch.

Everything else in autonas trains through ``keras.*``; what differs per
backend lives here:

* **tensorflow**: threads by ``tf.config.threading`` (intra- and inter-op,
  calls); GPU cap by a logical device with ``memory_limit`` (a call); peak
  from ``tf.config.experimental.get_memory_info("GPU:0")["peak"]``.
* **jax**: threads by ``PJRT_NPROC`` (the size of XLA's CPU pool, an
  environment variable); GPU cap by ``XLA_PYTHON_CLIENT_PREALLOCATE=false``
  and ``XLA_PYTHON_CLIENT_MEM_FRACTION`` = cap / total (environment); peak
  from ``jax.devices()[0].memory_stats()["peak_bytes_in_use"]``.
* **torch**: threads by ``torch.set_num_threads`` and
  ``set_num_interop_threads``; GPU cap by
  ``torch.cuda.set_per_process_memory_fraction(cap / total)`` (calls); peak
  from ``torch.cuda.max_memory_reserved()``.

A worker process sets up in two steps, because some settings are read only
when the framework starts:

1. :func:`worker_environment` (a pure function, so a simulated GPU can be
   checked without one): the environment variables to set *before* Keras
   and the framework are imported (``KERAS_BACKEND``, thread counts,
   ``CUDA_VISIBLE_DEVICES`` on CPU, JAX's allocator settings);
2. :func:`configure_worker`: the calls made *after* import (TensorFlow's and
   PyTorch's threads and GPU caps).

Trials are seeded by :func:`set_random_seed`, which imports TensorFlow only
where it is the backend. They train in the dtype policy
:func:`fast_dtype_policy` names: mixed bfloat16 only for TensorFlow on a CPU
with AMX matrix units, float32 everywhere else.

JAX's threads were measured (jax 0.10.2, 2 cores, a small CNN training):
``PJRT_NPROC=N`` gives exactly N ``XLAEigen`` pool threads (1 busy thread
in all at N=1, against 4 by default), while the often-quoted
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``
changed nothing.

Nothing here imports a framework at module level: each is imported only
inside the functions of its backend, so autonas works with TensorFlow alone.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BACKENDS",
    "WorkerLimits",
    "backend_name",
    "clear_session",
    "compilation_cache",
    "compiles_each_batch_shape",
    "configure_worker",
    "export_formats",
    "fast_dtype_policy",
    "gpu_workers_reusable",
    "has_native_affine_transform",
    "import_keras_quietly",
    "intra_op_threads",
    "is_out_of_memory",
    "max_steps_per_execution",
    "peak_gpu_bytes",
    "recap_gpu_memory",
    "shuffled_batches",
    "worker_environment",
]

#: The Keras backends autonas runs on.
BACKENDS = ("tensorflow", "jax", "torch")

MIB = 1 << 20

#: Environment variables that size the thread pools of OpenMP and the BLAS libraries (numpy's included).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: Words of out-of-memory messages, for errors whose type says nothing (lower case).
_OOM_WORDS = ("out of memory", "resource_exhausted", "resource exhausted", "oom when allocating")


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


def backend_name() -> str:
    """The Keras backend of this process: ``"tensorflow"``, ``"jax"`` or ``"torch"``.

    Once Keras is imported, ``keras.config.backend()``; before, what Keras
    would choose on import: ``KERAS_BACKEND``, else the ``backend`` of
    ``keras.json`` (in ``$KERAS_HOME``, else ``~/.keras`` or ``/tmp/.keras``),
    else TensorFlow. Reading it does not import Keras.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"].config.backend()
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    if "KERAS_HOME" in os.environ:
        folder = Path(os.environ["KERAS_HOME"])
    else:
        home = Path(os.path.expanduser("~"))
        folder = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    try:
        return str(json.loads((folder / "keras.json").read_text()).get("backend") or "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def import_keras_quietly() -> None:
    """Import Keras (and start its backend's devices) with native stderr sent to a scratch file.

    TensorFlow's and XLA's C++ logging (``absl::InitializeLog``, oneDNN, CUDA
    probes) writes to file descriptor 2 whatever ``TF_CPP_MIN_LOG_LEVEL``
    says, so a user would see dozens of such lines between autonas's output.
    They are held back while Keras and its backend start; if that fails, what
    was written is shown with the error. A no-op once Keras is imported.
    """
    if "keras" in sys.modules:
        return
    import tempfile

    try:
        saved = os.dup(2)
    except OSError:  # no stderr descriptor: nothing to keep quiet
        import keras  # noqa: F401

        return
    with tempfile.TemporaryFile() as scratch:
        sys.stderr.flush()
        os.dup2(scratch.fileno(), 2)
        try:
            import keras

            if keras.config.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices()  # the CUDA probe logs here
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _check(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; autonas knows {BACKENDS}")
    return backend


def _fraction(limits: WorkerLimits) -> float | None:
    """The GPU cap as a fraction of the device (rounded down, so it never exceeds the cap), or None."""
    if not limits.use_gpu or not limits.gpu_memory_bytes or not limits.gpu_total_bytes:
        return None
    return max(0.001, min(1.0, math.floor(1000 * limits.gpu_memory_bytes / limits.gpu_total_bytes) / 1000))


def worker_environment(backend: str, limits: WorkerLimits) -> dict[str, str]:
    """Environment variables a worker sets before importing Keras (pure: reads nothing).

    Args:
        backend: One of :data:`BACKENDS`.
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

    Only PyTorch can (``torch.cuda.set_per_process_memory_fraction``, a
    fraction of ``total_bytes``, default the device's); TensorFlow's and
    JAX's caps are fixed when they start, so their GPU workers are not reused
    (:func:`gpu_workers_reusable`).

    Returns:
        Whether a cap was set (False: another backend, or no GPU visible).
    """
    if _check(backend or backend_name()) != "torch":
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


def peak_gpu_bytes() -> int | None:
    """Most GPU memory this process's framework has held on the first GPU (None: no GPU or unknown).

    TensorFlow and JAX report the allocator's peak bytes in use; PyTorch the
    peak its caching allocator reserved (what other processes could not use).
    """
    backend = backend_name()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            if not tf.config.list_logical_devices("GPU"):
                return None
            return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "gpu":
                return None
            peak = (device.memory_stats() or {}).get("peak_bytes_in_use")
            return None if peak is None else int(peak)
        if backend == "torch":
            import torch

            if not torch.cuda.is_available():
                return None
            return int(torch.cuda.max_memory_reserved(0))
    except (ValueError, RuntimeError, KeyError):
        return None
    return None


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` means the device (or host) ran out of memory.

    By type where the framework is loaded (TensorFlow's
    ``ResourceExhaustedError``, PyTorch's ``torch.cuda.OutOfMemoryError``,
    ``MemoryError``), and for JAX's ``JaxRuntimeError`` (XLA's status in the
    message) and anything else by the words of the message
    (``RESOURCE_EXHAUSTED``, ``out of memory``, ``OOM when allocating``).
    Never imports a framework.
    """
    if isinstance(error, MemoryError):
        return True
    types: list[type] = []
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None:
        exhausted = getattr(getattr(tensorflow, "errors", None), "ResourceExhaustedError", None)
        types += [exhausted] if isinstance(exhausted, type) else []
    torch = sys.modules.get("torch")
    if torch is not None:
        out_of_memory = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
        types += [out_of_memory] if isinstance(out_of_memory, type) else []
    if types and isinstance(error, tuple(types)):
        return True
    text = str(error).lower()
    return any(words in text for words in _OOM_WORDS)


def clear_session() -> None:
    """Drop the finished trial's state so a reused worker does not grow.

    Keras's global state (``keras.backend.clear_session()``), Python garbage,
    then per backend: JAX's compilation caches (``jax.clear_caches()``);
    PyTorch's cached GPU blocks (``torch.cuda.empty_cache()``) and peak
    counter; TensorFlow's GPU peak counter.
    """
    import keras

    keras.backend.clear_session()
    gc.collect()
    backend = backend_name()
    if backend == "jax":
        import jax

        jax.clear_caches()
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    elif backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            try:
                tf.config.experimental.reset_memory_stats("GPU:0")
            except (ValueError, RuntimeError):
                pass


def set_random_seed(seed: int) -> None:
    """Seed Python's, NumPy's and Keras's random numbers, as ``keras.utils.set_random_seed``, without
    importing TensorFlow under another backend.

    Keras also seeds TensorFlow whenever it is installed (for ``tf.data``
    pipelines), importing it in a process that runs JAX or PyTorch: 1.6 s and
    460 MB of resident memory in every worker (measured on this project's CPU
    machine), for nothing, since autonas feeds those backends arrays. A
    TensorFlow already imported (a ``tf.data`` input read here) is seeded too.
    """
    import keras
    from keras.src.utils import module_utils

    tensorflow = getattr(module_utils, "tensorflow", None)  # Keras's lazy handle on TensorFlow
    if backend_name() == "tensorflow" or "tensorflow" in sys.modules or not hasattr(tensorflow, "_available"):
        keras.utils.set_random_seed(seed)  # also where a Keras release no longer has that handle
        return
    known = tensorflow._available
    tensorflow._available = False  # read as not installed for this call only
    try:
        keras.utils.set_random_seed(seed)
    finally:
        tensorflow._available = known


def max_steps_per_execution(backend: str | None = None) -> int:
    """Most training steps Keras may run between two returns to Python (``steps_per_execution``).

    Keras's training loop hands every step's logs to the callbacks; with
    ``steps_per_execution`` > 1 it does so once for several steps, which
    cuts the host's time per step where that time dominates (measured on 2
    CPU cores, a softmax layer on Fashion-MNIST, batch 32, 8 steps a call:
    0.26 → 0.13 ms a step under JAX, 1.65 → 0.51 ms under TensorFlow;
    ``benchmarks/epoch_overhead.py``) and lets a GPU run ahead of the host
    between two such returns. TensorFlow and JAX: 8. PyTorch: 1 (Keras
    refuses more on that backend).
    """
    return 1 if _check(backend or backend_name()) == "torch" else 8


def shuffled_batches(x, y, batch_size: int, seed: int | None, backend: str | None = None):
    """Training batches of arrays in a new random order each epoch, made by the backend's own input
    pipeline where handing Keras the arrays costs time; None where the arrays are best handed over.

    Only TensorFlow: a ``tf.data`` pipeline of shuffled row indices, a batch of
    rows gathered per step, with tf.data's autotuning off. Keras's own pipeline
    for arrays autotunes, and each epoch after one that ended with a validation
    pass then waited about 2 s before its first step, on one thread
    (``benchmarks/epoch_start.py``: the initial CNN on 8,000 Fashion-MNIST
    images, batch 64, one core: 4.73 s an epoch with Keras's pipeline, 2.82 s
    with this one). Other backends take the arrays (None).
    """
    if _check(backend or backend_name()) != "tensorflow":
        return None
    import numpy as np
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    images, labels = tf.constant(np.asarray(x)), tf.constant(np.asarray(y))
    rows = int(images.shape[0])
    order = tf.data.Dataset.range(rows).shuffle(rows, seed=seed, reshuffle_each_iteration=True)
    batches = order.batch(batch_size).map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))
    return batches.prefetch(1).with_options(options)


def compiles_each_batch_shape(backend: str | None = None) -> bool:
    """Whether ``backend`` compiles its training step again for every new batch shape.

    Only JAX: ``jax.jit`` compiles a program per input shape, so an epoch
    whose last batch (or last execution of ``steps_per_execution`` steps) is
    short compiles the training step twice (``benchmarks/batch_shapes.py``,
    2 CPU cores, the initial CNN on 600 digits at batch 32, 4 epochs: 7.9 s
    of training against 6.2 s with full batches). TensorFlow's traced
    functions relax the batch dimension instead; PyTorch runs eagerly.
    """
    return _check(backend or backend_name()) == "jax"


def has_native_affine_transform(backend: str | None = None) -> bool:
    """Whether ``backend`` runs Keras's ``affine_transform`` (``RandomTranslation``, ``RandomZoom``) natively.

    Only TensorFlow (``ImageProjectiveTransformV3``). JAX and PyTorch
    interpolate over height, width and channels with general gathers, which
    autonas's separable layers (:mod:`autonas.graph.augmentation`) beat.
    Measured on 2 CPU cores (keras 3.15.1, a small CNN at batch 64 on
    28×28×1; first step s / later steps ms, translation): JAX 3.77 / 28.1
    with Keras's layer, 0.73 / 4.9 with the separable one (none: 0.51 / 4.8);
    PyTorch 27.4 ms against 12.2 (none: 6.6); TensorFlow 4.6 ms against 5.8
    (none: 3.9).
    """
    return _check(backend or backend_name()) == "tensorflow"


#: CPU flags (``/proc/cpuinfo``) of matrix units that multiply bfloat16 fast: Intel's AMX.
_BFLOAT16_MATRIX_FLAGS = frozenset({"amx_bf16"})


def _cpu_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> frozenset[str]:
    """The flags of this machine's first CPU in ``cpuinfo`` (empty where there is none: not Linux)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def fast_dtype_policy(backend: str | None = None) -> str:
    """The Keras dtype policy in which ``backend`` trains fastest here: ``"mixed_bfloat16"`` or ``"float32"``.

    Mixed bfloat16 (bfloat16 arithmetic, float32 weights) only for
    TensorFlow on a CPU with AMX, no GPU visible: oneDNN runs its
    convolutions on the matrix units. Measured on such a CPU
    (``benchmarks/trial_pace.py``, docs/execution.md: a Xeon with
    ``amx_bf16``, one pinned core, TensorFlow 2.21, Fashion-MNIST): a trial
    of the initial CNN took 0.83 times as long, the initial ResNet 0.88, a
    grown CNN 0.71, the DenseNet 0.99, at the same validation accuracy; JAX
    on the same CPU is slower in bfloat16. Elsewhere (PyTorch, GPUs,
    CPUs without AMX) nothing was measured: float32.
    """
    if _check(backend or backend_name()) != "tensorflow" or not _BFLOAT16_MATRIX_FLAGS & _cpu_flags():
        return "float32"
    import tensorflow as tf

    return "float32" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


def export_formats(backend: str | None = None) -> tuple[str, ...]:
    """The file formats :mod:`autonas.deploy` writes from a model of ``backend`` (default this process's).

    TensorFlow: ``"keras"``, ``"saved_model"``, ``"onnx"`` and ``"litert"``
    (the converters, tf2onnx and TensorFlow's Lite converter, read the
    TensorFlow graph of the model). JAX and PyTorch: ``"keras"`` only; a
    ``.keras`` file or a project folder converts in a process run with
    ``KERAS_BACKEND=tensorflow`` (``autonas export``).
    """
    if _check(backend or backend_name()) == "tensorflow":
        return ("keras", "saved_model", "onnx", "litert")
    return ("keras",)


def gpu_workers_reusable(backend: str | None = None) -> bool:
    """Whether a GPU worker of ``backend`` (default this process's) may train several trials.

    Only PyTorch: its caching allocator gives memory back to the device
    (``empty_cache``), its cap (``set_per_process_memory_fraction``) can be set
    again for each trial and its peak counter reset. TensorFlow's allocator
    keeps what it took until the process ends and its logical-device cap is
    fixed at start; JAX's allocator too keeps what it took (only the slow
    ``platform`` allocator frees) and its memory fraction is read once. A
    trial's reservation must be returned to the ledger when it ends, so for
    these two every GPU trial gets a fresh process.
    """
    return _check(backend or backend_name()) == "torch"


#: Largest size of a project's JAX compilation cache (JAX evicts the oldest entries beyond it).
COMPILATION_CACHE_BYTES = 1 << 30


@contextlib.contextmanager
def compilation_cache(folder: str | os.PathLike, backend: str | None = None) -> Iterator[bool]:
    """Under JAX, let the worker processes started in this block keep compiled programs in ``folder``.

    A worker's training step is compiled once per architecture and batch
    shape; with the cache a worker that meets the same program again (a
    retried trial, a resumed search, the same network on another worker)
    loads it instead of compiling for seconds. Set through JAX's environment
    variables, which a worker reads when it imports JAX; this process's JAX,
    already running, is left as it is. A cache the user configured
    (``JAX_COMPILATION_CACHE_DIR``) is kept. Other backends: nothing.

    Yields:
        Whether the cache was set up.
    """
    if (backend or backend_name()) != "jax" or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
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

