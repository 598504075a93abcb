"""Trials in local worker processes, as many at once as the cores or the GPU memory allow."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from autonas._checks import check_positive
from autonas.backend import capabilities
from autonas.errors import FatalError
from autonas.execution.executor import Executor, TrainingData, TrialJob
from autonas.execution.failures import FailureKind, error_text
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
from autonas.execution.pool import PooledWorker, WorkerPool, death_reason, log_tail
from autonas.execution.runner import TrialResult
from autonas.execution.settings import TrainingSettings
from autonas.execution.shared_data import remove_stale_copies, share_data
from autonas.execution.worker import WorkerConfig
from autonas.graph import Graph

__all__ = ["LocalExecutor"]

logger = logging.getLogger(__name__)

_DEVICES = ("auto", "cpu", "gpu")
#: Most trials sharing one GPU when ``max_workers`` is not given.
_DEFAULT_GPU_WORKERS = 8
_POLL_SECONDS = 0.1


@dataclass
class _Task:
    job: TrialJob
    future: Future
    estimate: int = 0  # estimated training memory, bytes (0: not a trainable graph)
    retried: bool = False
    exclusive: bool = False
    notes: list[str] = field(default_factory=list)
    overran: bool = False
    footprint: int = 0  # on CPU: the worker memory it is expected to take

    def kill_time(self) -> float | None:
        """``time.time()`` after which the trial is stopped by force (None: never).

        The end of the search (``job.hard_seconds``): a trial checks its own,
        earlier deadline after every batch, so only a batch that outlasts the
        whole search (large images, a first step that compiles for seconds
        under JAX) gets here. No grace after it: the search still has to
        export its model (a second or two under JAX) within the time limit.
        """
        job = self.job
        if job.hard_seconds is None or job.issued_at is None:
            return None
        return job.issued_at + job.hard_seconds


def _training_bytes(job: TrialJob) -> int:
    """The job's estimated training memory; 0 for a job that is not a trainable graph.

    The worker reports what is wrong with such a job (a failed trial, or
    autonas's own error); ``submit``, which estimates once per trial, must
    not raise for it.
    """
    try:
        return estimate_training_bytes(job.graph, job.settings.batch_size, job.settings.optimizer)
    except Exception:  # noqa: BLE001
        return 0


def _failed_without_result(kind: str, payload, task: _Task, worker: PooledWorker) -> TrialResult:
    """The failed result of a trial whose worker sent no result: it raised (``kind`` ``"error"``,
    ``payload`` the error's text and :class:`FailureKind`), was stopped by force, or died.
    """
    if kind == "error":
        text, failure = payload
        return TrialResult("failed", error=error_text(f"the worker raised {text}"), failure_kind=failure)
    worker.process.join(timeout=5)
    if task.overran:
        return TrialResult("failed", error="stopped by force: still training when the search's time limit ran out",
                           failure_kind=FailureKind.DEADLINE)
    return TrialResult("failed", error=death_reason(worker.process.exitcode) + log_tail(worker.log),
                       failure_kind=FailureKind.OTHER)


class LocalExecutor(Executor):
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

    A worker that dies (killed, crashed) gives a failed result naming the
    signal; workers die with the search process.

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
        self._pending: deque[_Task] = deque()
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

    def _gpu_limit_mb(self, task: _Task) -> int:
        """The GPU memory cap of ``task``'s worker: its corrected estimate (at least 256 MiB)."""
        return max(256, int(task.estimate * self.ledger.correction) // MIB)

    def _worker_config(self, task: _Task) -> WorkerConfig:
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
        task = _Task(job, Future(), estimate=_training_bytes(job))
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
    @property
    def _running(self) -> list[_Task]:
        return [w.task for w in self.pool.busy()]

    def _too_large(self, task: _Task) -> bool:
        """Whether ``task`` could not start even on an idle GPU (it would wait forever)."""
        return self.ledger is not None and not self._running and not self.ledger.fits_alone(task.estimate)

    def _can_start(self, task: _Task) -> bool:
        running = self._running
        if len(running) >= self.max_workers:
            return False
        if running and (task.exclusive or any(t.exclusive for t in running)):
            return False
        if self.ledger is None:
            return self._fits_in_memory(task, running)
        idle = self._idle_worker()
        if idle is not None:  # the trial's reservation counts the process this worker already is
            self._unhold(idle)
        if self.ledger.try_reserve(id(task), task.estimate):
            return True
        if idle is not None:
            self._hold(idle)
        # idle workers keep their process's memory: let one go if that is what stands in the way
        held = len(self._holding) * self.ledger.device.per_process_bytes
        if self.ledger.reserved - held + self.ledger.cost(task.estimate) <= self.ledger.capacity:
            spare = next((w for w in self._holding.values() if w is not idle), None)
            if spare is not None:
                self._unhold(spare)
                self.pool.retire(spare)
        return False

    def _idle_worker(self) -> PooledWorker | None:
        """An idle worker to take the next trial (None on a GPU whose workers are not reused)."""
        if self.use_gpu and not self.reuse_gpu_workers:
            return None
        worker = self.pool.idle()  # retires idle workers that died
        for gone in [w for w in self._holding.values() if w not in self.pool.workers]:
            self._unhold(gone)
        return worker

    def _hold(self, worker: PooledWorker) -> None:
        """Reserve an idle GPU worker's own memory (its CUDA context) while it waits for a trial."""
        self._holding[id(worker)] = worker
        self.ledger.hold(("idle", id(worker)), self.ledger.device.per_process_bytes)

    def _unhold(self, worker: PooledWorker) -> None:
        if self._holding.pop(id(worker), None) is not None:
            self.ledger.release(("idle", id(worker)))

    def _fits_in_memory(self, task: _Task, running: list[_Task]) -> bool:
        """On CPU, whether ``task``'s worker fits in host memory next to the running ones (see :class:`HostMemory`)."""
        memory = self.host_memory or HostMemory(None)
        task.footprint = memory.footprint(task.estimate)
        return memory.fits(task.footprint, [t.footprint for t in running])

    def _observe_rss(self, task: _Task, result: TrialResult) -> None:
        """Correct CPU footprints from a worker's measured peak resident memory."""
        rss = result.metrics.get("worker_peak_rss_bytes")
        if self.host_memory is not None and rss:
            self.host_memory.observe_peak_rss(task.estimate, int(rss))

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

    def _assign(self, task: _Task) -> None:
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
                        usable = (self.ledger.max_estimate or self.ledger.capacity) // MIB
                        task.future.set_result(TrialResult(
                            "failed",
                            error=f"needs about {self.ledger.cost(task.estimate) // MIB} MiB of GPU memory, "
                            f"more than the {usable} MiB a trial may use",
                            failure_kind=FailureKind.OUT_OF_MEMORY,
                        ))
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

    def _tell_progress(self, progress: tuple[int, int, int]) -> None:
        listener = self.on_epoch
        if listener is not None:
            try:
                listener(*progress)
            except Exception as error:  # noqa: BLE001 - a progress display never stops the scheduler
                logger.debug("progress listener failed: %s", error)

    def _stop_overrunning(self, workers: list[PooledWorker]) -> None:
        """Kill the workers whose trial is past its time limit and grace (see :meth:`_Task.kill_time`).

        Only once a trial has completed: before that, the search has no model
        to return, and a late one beats none.
        """
        if not self._completed:
            return
        now = time.time()
        for worker in workers:
            task = worker.task
            kill_time = None if task is None else task.kill_time()
            if kill_time is not None and now > kill_time and not task.overran and worker.process.is_alive():
                task.overran = True  # killed once: the next polls wait for it to be gone
                logger.warning("trial %s is past its time limit; stopping its worker", task.job.trial_id)
                worker.process.kill()

    def _finish(self, worker: PooledWorker, message: tuple | None) -> None:
        """Settle the trial of ``worker`` from its message (None: the worker died)."""
        task = worker.task
        with self._lock:
            worker.task = None
            if self.ledger is not None:
                self.ledger.release(id(task))
        kind, payload, peak = message or ("died", None, None)
        if kind == "fatal":  # autonas's own error: the search stops with it
            if worker.trials >= self.trials_per_worker or self.use_gpu:
                self.pool.retire(worker)
                self._warm_up()
            task.future.set_exception(FatalError(f"trial {task.job.trial_id}: {payload}"))
            return
        result: TrialResult = payload if kind == "result" else _failed_without_result(kind, payload, task, worker)
        fresh_each_trial = self.use_gpu and (not self.reuse_gpu_workers or kind == "error")
        if message is None or fresh_each_trial or worker.trials >= self.trials_per_worker:
            self.pool.retire(worker)
            self._warm_up()  # replaces a worker that died (a retiring one has its successor already)
        elif self.ledger is not None:
            with self._lock:
                self._hold(worker)
        if self.ledger is not None and peak:
            self.ledger.observe_peak(task.estimate, peak)
            result.metrics["gpu_peak_bytes"] = int(peak)
            result.metrics["gpu_estimate_bytes"] = int(task.estimate)
        if self._retry_out_of_memory(task, result):
            return
        if task.notes:
            result.metrics["executor_notes"] = "; ".join(task.notes)
        if worker.log is not None:
            result.metrics["worker_log"] = worker.log
        self._completed += result.status == "completed"
        if worker.trials == 1:  # a reused worker's peak may come from an earlier, larger trial
            self._observe_rss(task, result)
        task.future.set_result(result)

    def _retry_out_of_memory(self, task: _Task, result: TrialResult) -> bool:
        """Requeue an out-of-memory trial once, alone and at half the batch size."""
        if result.status != "failed" or result.failure_kind is not FailureKind.OUT_OF_MEMORY:
            return False
        if task.exclusive and self.ledger is not None:
            self.ledger.observe_out_of_memory(task.estimate)
        if task.retried or task.job.settings.batch_size <= 1:
            return False
        batch = task.job.settings.batch_size // 2
        logger.warning("trial %s ran out of memory; retrying alone at batch size %d", task.job.trial_id, batch)
        retry = _Task(task.job.with_batch_size(batch), task.future, retried=True, exclusive=True)
        retry.notes = [*task.notes, f"out of memory at batch size {task.job.settings.batch_size}; retried alone at {batch}"]
        retry.estimate = _training_bytes(retry.job)
        with self._lock:
            self._pending.appendleft(retry)
        return True

    def _abandon(self) -> None:
        with self._lock:
            pending = list(self._pending)
            self._pending.clear()
        for worker in self.pool.kill_all():
            task = worker.task
            if task is not None:
                if self.ledger is not None:
                    self.ledger.release(id(task))
                if not task.future.done():
                    task.future.set_result(TrialResult("failed", error="abandoned: the executor shut down"))
        for task in pending:
            if not task.future.done():
                task.future.set_result(TrialResult("failed", error="abandoned: the executor shut down"))
