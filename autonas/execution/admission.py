"""The local executor's admission: when a queued trial may start next to the running ones, and on which worker.

On CPU a trial starts when its worker's expected memory fits in the host's
(:class:`~autonas.execution.memory.HostMemory`); on a GPU when its estimated
training memory fits in the device's free memory next to the running trials'
reservations (:class:`~autonas.execution.memory.MemoryLedger`), idle reused
workers holding their own process's memory until a trial needs the room.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from autonas.execution.executor import TrialJob
from autonas.execution.failures import FailureKind
from autonas.execution.memory import MIB, HostMemory, MemoryLedger, estimate_training_bytes
from autonas.execution.pool import PooledWorker, WorkerPool
from autonas.execution.runner import TrialResult

__all__ = ["AdmissionMixin", "Task", "training_bytes"]


@dataclass
class Task:
    """A submitted trial as the local executor schedules it."""

    job: TrialJob
    future: Future
    estimate: int = 0  # estimated training memory, bytes (0: not a trainable graph)
    retried: bool = False  # after running out of memory
    crash_retried: bool = False  # after its worker crashed
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


def training_bytes(job: TrialJob) -> int:
    """The job's estimated training memory; 0 for a job that is not a trainable graph.

    The worker reports what is wrong with such a job (a failed trial, or
    autonas's own error); ``submit``, which estimates once per trial, must
    not raise for it.
    """
    try:
        return estimate_training_bytes(job.graph, job.settings.batch_size, job.settings.optimizer)
    except Exception:  # noqa: BLE001
        return 0


class AdmissionMixin:
    """:class:`~autonas.execution.local.LocalExecutor`'s admission; it reads the executor's attributes below."""

    pool: WorkerPool
    ledger: MemoryLedger | None
    host_memory: HostMemory | None
    use_gpu: bool
    reuse_gpu_workers: bool
    max_workers: int
    _holding: dict[int, PooledWorker]  # idle GPU workers holding their process's memory

    @property
    def _running(self) -> list[Task]:
        return [w.task for w in self.pool.busy()]

    def _too_large(self, task: Task) -> bool:
        """Whether ``task`` could not start even on an idle GPU (it would wait forever)."""
        return self.ledger is not None and not self._running and not self.ledger.fits_alone(task.estimate)

    def _too_large_result(self, task: Task) -> TrialResult:
        """The failed result of a trial that :meth:`_too_large` refuses."""
        usable = (self.ledger.max_estimate or self.ledger.capacity) // MIB
        return TrialResult(
            "failed",
            error=f"needs about {self.ledger.cost(task.estimate) // MIB} MiB of GPU memory, "
            f"more than the {usable} MiB a trial may use",
            failure_kind=FailureKind.OUT_OF_MEMORY,
        )

    def _can_start(self, task: Task) -> bool:
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

    def _fits_in_memory(self, task: Task, running: list[Task]) -> bool:
        """On CPU, whether ``task``'s worker fits in host memory next to the running ones (see :class:`HostMemory`)."""
        memory = self.host_memory or HostMemory(None)
        task.footprint = memory.footprint(task.estimate)
        return memory.fits(task.footprint, [t.footprint for t in running])

    def _gpu_limit_mb(self, task: Task) -> int:
        """The GPU memory cap of ``task``'s worker: its corrected estimate (at least 256 MiB)."""
        return max(256, int(task.estimate * self.ledger.correction) // MIB)
