"""Worker processes of :class:`~autonas.execution.local.LocalExecutor`: how they start and what they run.

A worker is a fresh interpreter (:class:`WorkerProcess`) started with
``python -c`` and the parent's ``sys.path``, talking to the executor through
an inherited socket. Unlike ``multiprocessing``'s spawn, it never re-imports
the user's ``__main__`` module, so a script calling ``fit`` at top level
(without ``if __name__ == "__main__":``) works.

In the worker, :func:`worker_main` selects the parent's Keras backend and
limits its threads (or its GPU memory) through :mod:`autonas.backend`, before
and just after importing it, memory-maps the training data the executor wrote
once, then trains the jobs it receives, sending back each result with the
device's peak memory (and the backend and its threads in the metrics). A
crash in native code writes the Python stacks to the worker's log
(:mod:`faulthandler`). A worker dies with its parent (``PR_SET_PDEATHSIG``
on Linux), so a killed search leaves no orphans.
"""

from __future__ import annotations

import ctypes
import faulthandler
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from autonas import backend
from autonas.errors import FatalError
from autonas.execution.failures import FailureKind

__all__ = ["WorkerConfig", "WorkerProcess", "worker_main"]

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker sets up its runtime.

    Attributes:
        data_dir: Folder with ``x_train.npy``, ``y_train.npy``, ``x_val.npy``, ``y_val.npy``.
        intra_op_threads: The backend's compute threads (0: its default, one per core).
        inter_op_threads: Threads for independent ops, where the backend has
            them (TensorFlow, PyTorch; 0: its default).
        use_gpu: Whether the worker may see the GPU.
        gpu_memory_limit_mb: GPU memory cap, in MiB (None: no cap).
        backend: The Keras backend the worker imports; default the one of the
            process that makes the config (so a backend chosen with
            ``keras.config.set_backend`` or ``keras.json`` reaches workers too).
    """

    data_dir: str
    intra_op_threads: int = 0
    inter_op_threads: int = 0
    use_gpu: bool = False
    gpu_memory_limit_mb: int | None = None
    backend: str = field(default_factory=backend.backend_name)


#: What a worker interpreter runs: the parent's sys.path, then serve on the inherited socket.
_BOOTSTRAP = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from autonas.execution.worker import _serve; _serve(int(sys.argv[2]), int(sys.argv[3]))"
)


class WorkerProcess:
    """A worker interpreter and the executor's end of its connection.

    On POSIX it is started with :mod:`subprocess` (the socket's descriptor is
    inherited); elsewhere with ``multiprocessing``'s spawn context, which
    needs the usual ``if __name__ == "__main__":`` guard in scripts.

    Args:
        config: How the worker sets up its runtime (sent as its first message).
        log_path: A file that takes the worker's stdout and stderr (appended;
            POSIX only), so the C++ logging of its backend stays off the
            user's terminal; None: the parent's streams.
    """

    def __init__(self, config: WorkerConfig, log_path: str | os.PathLike | None = None) -> None:
        parent_end, child_end = multiprocessing.Pipe(duplex=True)
        self.log_path = None if log_path is None or os.name != "posix" else str(log_path)
        self.connection: Connection = parent_end
        self._popen: subprocess.Popen | None = None
        self._process: multiprocessing.Process | None = None
        try:
            if os.name == "posix":
                path = [entry or os.getcwd() for entry in sys.path]
                fd = child_end.fileno()
                log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - closed below
                try:
                    self._popen = subprocess.Popen(
                        [sys.executable, "-c", _BOOTSTRAP, json.dumps(path), str(fd), str(os.getpid())],
                        pass_fds=(fd,),
                        stdout=log,
                        stderr=subprocess.STDOUT if log else None,
                    )
                finally:
                    if log is not None:
                        log.close()
                parent_end.send(config)
            else:  # pragma: no cover - Windows
                context = multiprocessing.get_context("spawn")
                self._process = context.Process(target=worker_main, args=(child_end, config), daemon=True)
                self._process.start()
        finally:
            child_end.close()

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else self._process.pid

    @property
    def exitcode(self) -> int | None:
        """The exit status once it ended (negative: killed by that signal), else None."""
        return self._popen.poll() if self._popen is not None else self._process.exitcode

    def is_alive(self) -> bool:
        return self.exitcode is None

    def kill(self) -> None:
        if self._popen is not None:
            if self._popen.poll() is None:
                self._popen.kill()
        else:
            self._process.kill()

    def join(self, timeout: float | None = None) -> None:
        """Wait for it to end (at most ``timeout`` seconds)."""
        if self._popen is not None:
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            self._process.join(timeout)


def _die_with_parent(parent_pid: int | None = None) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the line above took effect


def _serve(fd: int, parent_pid: int) -> None:
    """Entry point of a worker started by :class:`WorkerProcess`."""
    _die_with_parent(parent_pid)
    connection = Connection(fd)
    try:
        config = connection.recv()
    except (EOFError, OSError):
        return
    worker_main(connection, config)


def _configure_backend(config: WorkerConfig) -> None:
    """Set the backend's environment, then import it and make the calls that limit it."""
    cap = None if not config.gpu_memory_limit_mb else int(config.gpu_memory_limit_mb) << 20
    total = None
    if config.use_gpu and cap and config.backend == "jax":  # JAX takes its cap as a fraction of the device
        from autonas.execution.memory import gpu_free_bytes

        reading = gpu_free_bytes()
        total = reading[1] if reading else None
    limits = backend.WorkerLimits(
        threads=config.intra_op_threads,
        inter_op_threads=config.inter_op_threads,
        use_gpu=config.use_gpu,
        gpu_memory_bytes=cap,
        gpu_total_bytes=total,
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.update(backend.worker_environment(config.backend, limits))
    backend.configure_worker(limits)


def _runtime_metrics() -> dict:
    """What ran the trial: the Keras backend, the compute threads it used, the worker's peak memory."""
    metrics = {"backend": backend.backend_name(), "intra_op_threads": backend.intra_op_threads()}
    try:
        import resource

        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        metrics["worker_peak_rss_bytes"] = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale
    except (ImportError, OSError):
        pass
    return metrics


def worker_main(connection, config: WorkerConfig) -> None:
    """Serve jobs from ``connection`` until told to stop.

    Receives ``("job", TrialJob, gpu_limit_bytes)`` or ``("stop", None)``; answers each job with
    ``("result", TrialResult, peak_bytes)``, ``("error", (text, FailureKind), None)`` or
    ``("fatal", text, None)`` (autonas's own error), after any number of
    ``("progress", (trial_id, epochs_done, epochs_planned), None)``. A GPU
    worker trained several trials (PyTorch only, see
    :attr:`autonas.backend.Capabilities.gpu_workers_reusable`) sets its cap to each job's
    ``gpu_limit_bytes`` before training it.
    """
    _die_with_parent()
    if sys.stderr is not None and not faulthandler.is_enabled():
        faulthandler.enable()  # a crash in native code leaves the Python stacks in the worker's log
    failure = FailureKind.OTHER
    try:
        _configure_backend(config)
        import numpy as np

        from autonas.execution.executor import TrainingData, run_job

        failure = FailureKind.DATA  # from here on, what fails is reading the training data
        folder = Path(config.data_dir)
        names = ("x_train", "y_train", "x_val", "y_val")
        data = TrainingData(*(np.load(folder / f"{name}.npy", mmap_mode="r") for name in names))
    except BaseException as error:  # noqa: BLE001 - the parent fails the first job with this
        kind = FailureKind.OUT_OF_MEMORY if backend.is_out_of_memory(error) else failure
        _send(connection, ("error", (_describe(error), kind), None))
        connection.close()
        return
    limit = int(config.gpu_memory_limit_mb) << 20 if config.use_gpu and config.gpu_memory_limit_mb else None
    while True:
        try:
            kind, job, *rest = connection.recv()
        except (EOFError, OSError, ValueError):
            break
        if kind != "job":
            break
        try:
            wanted = rest[0] if rest and config.use_gpu else None
            if wanted and wanted != limit:
                backend.recap_gpu_memory(wanted)
                limit = wanted
            result = run_job(job, data, lambda *progress: _send(connection, ("progress", progress, None)))
            result.metrics.update(_runtime_metrics())
            if limit:
                result.metrics["gpu_limit_bytes"] = limit
            _send(connection, ("result", result, backend.peak_gpu_bytes()))
            backend.clear_session()
        except BaseException as error:  # noqa: BLE001 - report anything, the parent records the trial as failed
            if isinstance(error, FatalError):
                _send(connection, ("fatal", str(error), None))
            else:
                _send(connection, ("error", (_describe(error), FailureKind.of_error(error)), None))
    connection.close()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}"[:4000]


def _send(connection, message: tuple) -> None:
    try:
        connection.send(message)
    except (OSError, ValueError):
        pass
