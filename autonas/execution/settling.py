"""The local executor's trials as they end: results from the workers' messages, out-of-memory retries,
trials stopped by force at the search's time limit, and trials abandoned at shutdown."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque

from autonas.errors import FatalError
from autonas.execution.admission import Task, training_bytes
from autonas.execution.executor import TrialProgress
from autonas.execution.failures import FailureKind, error_text
from autonas.execution.memory import HostMemory, MemoryLedger
from autonas.execution.pool import PooledWorker, WorkerPool, crash_signal, death_reason, log_tail
from autonas.execution.runner import TrialResult

__all__ = ["SettlingMixin", "failed_without_result"]

logger = logging.getLogger("autonas.execution.local")


def failed_without_result(kind: str, payload, task: Task, worker: PooledWorker) -> TrialResult:
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


class SettlingMixin:
    """How :class:`~autonas.execution.local.LocalExecutor` settles its trials; it reads the executor's attributes below."""

    _lock: threading.Condition
    _pending: deque[Task]
    _completed: int
    pool: WorkerPool
    ledger: MemoryLedger | None
    host_memory: HostMemory | None
    use_gpu: bool
    reuse_gpu_workers: bool
    trials_per_worker: int
    on_epoch: TrialProgress | None

    def _tell_progress(self, progress: tuple[int, int, int]) -> None:
        listener = self.on_epoch
        if listener is not None:
            try:
                listener(*progress)
            except Exception as error:  # noqa: BLE001 - a progress display never stops the scheduler
                logger.debug("progress listener failed: %s", error)

    def _stop_overrunning(self, workers: list[PooledWorker]) -> None:
        """Kill the workers whose trial is past the search's end (see :meth:`Task.kill_time`).

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
        result: TrialResult = payload if kind == "result" else failed_without_result(kind, payload, task, worker)
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
        if message is None and self._retry_crash(task, worker):
            return
        if task.notes:
            result.metrics["executor_notes"] = "; ".join(task.notes)
        if worker.log is not None:
            result.metrics["worker_log"] = worker.log
        self._completed += result.status == "completed"
        if worker.trials == 1:  # a reused worker's peak may come from an earlier, larger trial
            self._observe_rss(task, result)
        task.future.set_result(result)

    def _observe_rss(self, task: Task, result: TrialResult) -> None:
        """Correct CPU footprints from a worker's measured peak resident memory."""
        rss = result.metrics.get("worker_peak_rss_bytes")
        if self.host_memory is not None and rss:
            self.host_memory.observe_peak_rss(task.estimate, int(rss))

    def _retry_out_of_memory(self, task: Task, result: TrialResult) -> bool:
        """Requeue an out-of-memory trial once, alone and at half the batch size."""
        if result.status != "failed" or result.failure_kind is not FailureKind.OUT_OF_MEMORY:
            return False
        if task.exclusive and self.ledger is not None:
            self.ledger.observe_out_of_memory(task.estimate)
        if task.retried or task.job.settings.batch_size <= 1:
            return False
        batch = task.job.settings.batch_size // 2
        logger.warning("trial %s ran out of memory; retrying alone at batch size %d", task.job.trial_id, batch)
        retry = Task(task.job.with_batch_size(batch), task.future, retried=True, exclusive=True,
                     crash_retried=task.crash_retried)
        retry.notes = [*task.notes, f"out of memory at batch size {task.job.settings.batch_size}; retried alone at {batch}"]
        retry.estimate = training_bytes(retry.job)
        with self._lock:
            self._pending.appendleft(retry)
        return True

    def _retry_crash(self, task: Task, worker: PooledWorker) -> bool:
        """Requeue once, in a fresh worker, a trial whose worker crashed by itself.

        A fault signal (:data:`~autonas.execution.pool.FAULT_SIGNALS`: native
        code in the backend crashed) need not be the trial's doing: in CI a
        PyTorch worker died of SIGSEGV on a network that trained well in
        another process. A worker that was killed (SIGKILL: by a person, the
        kernel's out-of-memory killer, the time limit) is not retried.
        """
        fault = crash_signal(worker.process.exitcode)
        if fault is None or task.crash_retried or task.overran:
            return False
        logger.warning("trial %s: its worker crashed (%s); retrying it once in a fresh worker",
                       task.job.trial_id, fault.name)
        note = f"its worker crashed ({fault.name}, log {worker.log}); retried once in a fresh worker"
        retry = dataclasses.replace(task, crash_retried=True, notes=[*task.notes, note])
        with self._lock:
            self._pending.appendleft(retry)
        return True

    def _abandon(self) -> None:
        """Kill every worker and fail their trials and the queued ones (at shutdown)."""
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
