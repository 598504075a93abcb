"""The body of a worker process spawned by :class:`~autonas.execution.local.LocalExecutor`.

A fresh interpreter: it limits TensorFlow's threads (or its GPU memory) before
importing it, memory-maps the training data the executor wrote once, then
trains the jobs it receives through a pipe, sending back each result with the
device's peak memory. It dies with its parent (``PR_SET_PDEATHSIG`` on Linux),
so a killed search leaves no orphans.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WorkerConfig", "worker_main"]

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker sets up its runtime.

    Attributes:
        data_dir: Folder with ``x_train.npy``, ``y_train.npy``, ``x_val.npy``, ``y_val.npy``.
        intra_op_threads: TensorFlow's intra-op threads (0: TensorFlow's default).
        inter_op_threads: TensorFlow's inter-op threads (0: TensorFlow's default).
        use_gpu: Whether the worker may see the GPU.
        gpu_memory_limit_mb: Logical-device memory cap (None: no cap).
    """

    data_dir: str
    intra_op_threads: int = 0
    inter_op_threads: int = 0
    use_gpu: bool = False
    gpu_memory_limit_mb: int | None = None


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            pass


def _configure_tensorflow(config: WorkerConfig) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not config.use_gpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import tensorflow as tf

    if config.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(config.intra_op_threads)
    if config.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(config.inter_op_threads)
    if config.use_gpu and config.gpu_memory_limit_mb:
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            tf.config.set_logical_device_configuration(
                gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=int(config.gpu_memory_limit_mb))]
            )


def _peak_gpu_bytes() -> int | None:
    import tensorflow as tf

    if not tf.config.list_logical_devices("GPU"):
        return None
    try:
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    except (ValueError, RuntimeError):
        return None


def worker_main(connection, config: WorkerConfig) -> None:
    """Serve jobs from ``connection`` until told to stop.

    Receives ``("job", TrialJob)`` or ``("stop", None)``; answers each job with
    ``("result", TrialResult, peak_bytes)`` or ``("error", text, None)``.
    """
    _die_with_parent()
    try:
        _configure_tensorflow(config)
        import numpy as np

        from autonas.execution.executor import TrainingData, run_job

        folder = Path(config.data_dir)
        names = ("x_train", "y_train", "x_val", "y_val")
        data = TrainingData(*(np.load(folder / f"{name}.npy", mmap_mode="r") for name in names))
    except BaseException as error:  # noqa: BLE001 - the parent fails the first job with this
        _send(connection, ("error", _describe(error), None))
        connection.close()
        return
    while True:
        try:
            kind, job = connection.recv()
        except (EOFError, OSError):
            break
        if kind != "job":
            break
        try:
            result = run_job(job, data)
            _send(connection, ("result", result, _peak_gpu_bytes()))
        except BaseException as error:  # noqa: BLE001 - report anything, the parent records the trial as failed
            _send(connection, ("error", _describe(error), None))
    connection.close()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}"[:4000]


def _send(connection, message: tuple) -> None:
    try:
        connection.send(message)
    except (OSError, ValueError):
        pass
