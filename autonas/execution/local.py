"""Trials in local worker processes, as many at once as the cores or the GPU memory allow.

When a trial may start is :mod:`~autonas.execution.admission`'s; how it ends (results, out-of-memory
retries, forced stops, shutdown) :mod:`~autonas.execution.settling`'s; the workers :mod:`~autonas.execution.pool`'s.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections import deque
from concurrent.futures import Future
from multiprocessing.connection import wait

from autonas._checks import check_positive
from autonas.backend import capabilities
from autonas.execution import settling
from autonas.execution.admission import AdmissionMixin, Task, training_bytes
from autonas.execution.executor import Executor, TrainingData, TrialJob
from autonas.execution.memory import (
    MIB,
    DeviceMemory,
    HostMemory,
    MemoryLedger,
    cores,
    default_cpu_workers,
    estimate_training_bytes,
    gpu_free_bytes,
)
from autonas.execution.pool import PooledWorker, WorkerPool
from autonas.execution.settings import TrainingSettings
from autonas.execution.settling import SettlingMixin
from autonas.execution.shared_data import remove_stale_copies, share_data
from autonas.execution.worker import WorkerConfig
from autonas.graph import Graph

__all__ = ["LocalExecutor"]

logger = logging.getLogger(__name__)

_DEVICES = ("auto", "cpu", "gpu")
#: Most trials sharing one GPU when ``max_workers`` is not given.
_DEFAULT_GPU_WORKERS = 8
_POLL_SECONDS = 0.1

# The names these had when this module defined them (tests import them from here).
_Task = Task
_training_bytes = training_bytes
_failed_without_result = settling.failed_without_result


class LocalExecutor(AdmissionMixin, SettlingMixin, Executor):
    """Runs trials in spawned worker processes on this machine.

    * **CPU**: ``max_workers`` trials at once (default: the core count, at
      most one per 1.5 GiB of available memory), each worker with
      ``cores // max_workers`` compute threads of the Keras backend (see
      :mod:`autonas.backend`) so the workers do not oversubscribe the
      cores. The workers start with the executor and
      each trains up to ``trials_per_worker`` trials (default 8; Keras's
      state is cleared between them) before a fresh one, started when the
      old one begins its last trial, replaces it: starting a process and
      importing the backend costs seconds, as much as a small trial's
      training, so it is kept off the trials' path. A trial starts next to
      running ones only when the workers' expected memory (a base plus the
      trial's estimated training memory, corrected from the workers'
      measured peak resident memory) fits in 90 % of the memory available
      at start: on large images fewer trials run at once.
    * **Time limits**: a trial still running when the search must end
      (``TrialJob.hard_seconds``) is stopped by force once another trial has
      completed.
    * **GPU**: one fresh process per trial (a new runtime of the backend, so its
      GPU memory is returned when it ends), except under PyTorch, whose
      workers give their memory back between trials and take a new cap for
      each (:attr:`autonas.backend.Capabilities.gpu_workers_reusable`): there a worker
      trains up to ``trials_per_worker`` trials, and while idle it keeps a
      reservation of its process's own memory (retired when a trial needs
      the room); a trial starts when its estimated training memory
      (:func:`~autonas.execution.memory.estimate_training_bytes`) fits in the
      free GPU memory next to the running trials (a
      :class:`~autonas.execution.memory.MemoryLedger` of reservations), with
      at most ``max_workers`` (default 8) at once. Each worker's backend is
      capped to its reservation; measured peaks correct later estimates; a
      trial that runs out of memory is retried once at half the batch size,
      alone on the device, and if it fails alone, larger models are no longer
      accepted (:meth:`accepts`).

    A worker that crashes (a fault signal such as SIGSEGV from native code)
    has its trial retried once in a fresh worker (the retry is named in the
    trial's ``metrics["executor_notes"]``); a worker killed, or crashing
    again, gives a failed result naming the signal and the end of its log
    (where a crash leaves the Python stacks). Workers die with the search
    process.

    Args:
        max_workers: Most trials at once (see above).
        device: ``"auto"`` (the GPU when nvidia-ml-py sees one), ``"cpu"`` or ``"gpu"``.
        memory: Where free GPU memory is read; default the first GPU through
            nvidia-ml-py. Tests pass a simulated device.
        threads_per_worker: The backend's compute threads per worker on CPU
            (default: cores // max_workers, at least 1).
        trials_per_worker: Trials a worker trains before it is replaced
            (default 8; 1 gives every trial a fresh process). On a GPU, 1
            unless the backend gives memory back between trials (PyTorch).
        log_dir: Folder for the workers' stdout and stderr, one file per
            worker, named in each trial's ``metrics["worker_log"]`` (the
            search sets it to the project's ``logs`` folder when None; used
            alone, None leaves the workers on this process's streams).
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        device: str = "auto",
        memory: DeviceMemory | None = None,
        threads_per_worker: int | None = None,
        trials_per_worker: int = 8,
        log_dir: str | os.PathLike | None = None,
    ) -> None:
        check_positive(max_workers, "max_workers", integer=True, optional=True)
        if device not in _DEVICES:
            raise ValueError(f"device must be one of {_DEVICES}, got {device!r}")
        if threads_per_worker is not None and threads_per_worker < 1:
            raise ValueError(f"threads_per_worker must be a positive int or None, got {threads_per_worker!r}")
        check_positive(trials_per_worker, "trials_per_worker", integer=True)
        self.trials_per_worker = trials_per_worker
        self.requested_workers = max_workers
        self.device = device
        self.memory = memory
        self.threads_per_worker = threads_per_worker
        self._lock = threading.Condition()
        self._pending: deque[Task] = deque()
        self.pool = WorkerPool(self._lock)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._data_dir: str | None = None
        self.ledger: MemoryLedger | None = None
        self.use_gpu = False
        #: On a GPU, whether a worker trains several trials (:attr:`~autonas.backend.Capabilities.gpu_workers_reusable`).
        self.reuse_gpu_workers = False
        self._holding: dict[int, PooledWorker] = {}  # idle GPU workers holding their process's memory
        self.max_workers = max_workers or default_cpu_workers()
        #: Most trials seen running at once (for reports and tests).
        self.peak_concurrency = 0
        self._completed = 0  # trials completed: from the first on, an overrunning trial may be stopped
        self.host_memory: HostMemory | None = None  # on CPU: what the workers are expected to take
        self.log_dir = log_dir

    # ------------------------------------------------------------------ setup
    def _resolve_device(self) -> None:
        memory = self.memory
        if self.device == "cpu":
            self.use_gpu = False
        else:
            memory = memory or DeviceMemory(gpu_free_bytes)
            self.use_gpu = memory.usable_bytes() > 0
            if self.device == "gpu" and not self.use_gpu:
                raise RuntimeError("device='gpu' but no GPU memory could be read (is nvidia-ml-py installed?)")
        if self.use_gpu:
            self.ledger = MemoryLedger(memory)
            self.max_workers = self.requested_workers or _DEFAULT_GPU_WORKERS
            self.reuse_gpu_workers = capabilities().gpu_workers_reusable
        else:
            self.ledger = None
            self.max_workers = self.requested_workers or default_cpu_workers()
            self.reuse_gpu_workers = False
        self._holding = {}

    def start(self, data: TrainingData) -> None:
        """Write the data once for the workers to memory-map, and start the scheduler."""
        self.shutdown()
        self._resolve_device()
        remove_stale_copies()
        self._data_dir = share_data(data)
        self._closing = False
        self._completed = 0
        self.host_memory = None if self.use_gpu else HostMemory.available(0.9)
        self._warm_up()
        self._thread = threading.Thread(target=self._schedule, name="autonas-local-executor", daemon=True)
        self._thread.start()
        logger.info(
            "local executor: up to %d workers on %s", self.max_workers, "the GPU" if self.use_gpu else "CPU"
        )

    def _worker_config(self, task: Task) -> WorkerConfig:
        if self.use_gpu:
            return WorkerConfig(self._data_dir, use_gpu=True, gpu_memory_limit_mb=self._gpu_limit_mb(task))
        return self._cpu_config()

    def _cpu_config(self) -> WorkerConfig:
        threads = self.threads_per_worker or max(1, cores() // self.max_workers)
        return WorkerConfig(self._data_dir, intra_op_threads=threads, inter_op_threads=min(2, threads))

    # ------------------------------------------------------------------ Executor
    def submit(self, job: TrialJob) -> Future:
        if self._thread is None:
            raise RuntimeError("call start(data) before submit()")
        task = Task(job, Future(), estimate=training_bytes(job))
        with self._lock:
            self._pending.append(task)
            self._lock.notify_all()
        return task.future

    def accepts(self, graph: Graph, settings: TrainingSettings) -> bool:
        """On a GPU, whether the estimated training memory could fit on the idle device."""
        if self.ledger is None:
            return True
        return self.ledger.fits_alone(estimate_training_bytes(graph, settings.batch_size, settings.optimizer))

    def worker_pids(self) -> list[int]:
        """Process ids of the workers training a trial now."""
        with self._lock:
            return [w.process.pid for w in self.pool.busy() if w.process.pid]

    def shutdown(self) -> None:
        """Kill running workers, fail queued trials, remove the data copy."""
        thread = self._thread
        if thread is not None:
            with self._lock:
                self._closing = True
                self._lock.notify_all()
            thread.join()
        self._thread = None
        if self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None

    def __repr__(self) -> str:
        return f"LocalExecutor(max_workers={self.requested_workers!r}, device={self.device!r})"

    # ------------------------------------------------------------------ scheduling
    def _warm_up(self) -> None:
        """On CPU, keep ``max_workers`` workers able to take another trial, starting new ones now.

        A worker on its last trial counts as gone: its successor imports
        the backend while it trains, so the next trial does not wait for that.
        """
        if self.use_gpu or self._closing:
            return
        with self._lock:
            for _ in range(self.max_workers - self.pool.usable(self.trials_per_worker)):
                self.pool.spawn(self._cpu_config(), self.log_dir)

    def _assign(self, task: Task) -> None:
        """Give ``task`` to an idle worker, or to a new one (a new one on a GPU unless workers are reused)."""
        worker = self._idle_worker() or self.pool.spawn(self._worker_config(task), self.log_dir)
        limit = self._gpu_limit_mb(task) * MIB if self.use_gpu else None
        try:
            worker.connection.send(("job", task.job, limit))
        except (OSError, ValueError):
            pass  # the worker died meanwhile: the scheduler finds it dead
        worker.task = task
        worker.trials += 1
        self.peak_concurrency = max(self.peak_concurrency, len(self._running))
        if worker.trials >= self.trials_per_worker:
            self._warm_up()

    def _schedule(self) -> None:
        while True:
            with self._lock:
                if self._closing:
                    break
                while self._pending:
                    task = self._pending[0]
                    if self._too_large(task):
                        self._pending.popleft()
                        task.future.set_result(self._too_large_result(task))
                        continue
                    if not self._can_start(task):
                        break
                    self._assign(self._pending.popleft())
                workers = self.pool.busy()
                if not workers:
                    self._lock.wait(_POLL_SECONDS)
                    continue
            # A worker that dies closes its end of the connection, so it turns ready too.
            ready = set(wait([w.connection for w in workers], timeout=_POLL_SECONDS))
            self._stop_overrunning([w for w in workers if w.connection not in ready])
            for worker in workers:
                message = None
                if worker.connection in ready:
                    try:
                        message = worker.connection.recv()
                    except (EOFError, OSError):
                        message = None
                if message is None and worker.connection not in ready and worker.process.is_alive():
                    continue
                if message is not None and message[0] == "progress":
                    self._tell_progress(message[1])
                    continue
                self._finish(worker, message)
        self._abandon()
