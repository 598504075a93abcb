"""The local executor's worker processes: started with numbered logs, found idle, retired, killed."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autonas.execution.worker import WorkerConfig, WorkerProcess

__all__ = ["FAULT_SIGNALS", "PooledWorker", "WorkerPool", "crash_signal", "death_reason", "log_tail"]

#: Signals a process gets from its own fault (native code that crashed), not from someone who killed it.
FAULT_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT})


@dataclass
class PooledWorker:
    """A worker process, the trial it trains (None: idle) and how many trials it was given."""

    process: WorkerProcess
    task: Any = None
    trials: int = 0

    @property
    def log(self) -> str | None:
        return self.process.log_path

    @property
    def connection(self):
        return self.process.connection


class WorkerPool:
    """The workers of one executor, guarded by the executor's lock.

    Args:
        lock: The lock the executor's scheduler holds while it reads or changes ``workers``.
    """

    def __init__(self, lock: threading.Condition | threading.Lock) -> None:
        self.lock = lock
        self.workers: list[PooledWorker] = []
        self._started = 0  # numbers the log files

    def spawn(self, config: WorkerConfig, log_dir: str | os.PathLike | None) -> PooledWorker:
        """Start a worker; its stdout and stderr go to ``log_dir/worker-<pid>-<n>.log`` (None: ours)."""
        log_path = None
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            self._started += 1
            log_path = Path(log_dir) / f"worker-{os.getpid()}-{self._started:03d}.log"
        worker = PooledWorker(WorkerProcess(config, log_path))
        self.workers.append(worker)
        return worker

    def busy(self) -> list[PooledWorker]:
        """Workers training a trial."""
        return [w for w in self.workers if w.task is not None]

    def idle(self) -> PooledWorker | None:
        """A worker waiting for a trial, after retiring idle ones that died."""
        for worker in [w for w in self.workers if w.task is None and not w.process.is_alive()]:
            self.retire(worker)
        return next((w for w in self.workers if w.task is None), None)

    def usable(self, trials_per_worker: int) -> int:
        """Workers that may take another trial (one on its last trial counts as gone)."""
        return sum(w.trials < trials_per_worker for w in self.workers)

    def retire(self, worker: PooledWorker) -> None:
        """Stop and forget ``worker`` (it may already be dead): asked to stop, killed after 5 s."""
        with self.lock:
            if worker in self.workers:
                self.workers.remove(worker)
        try:
            worker.connection.send(("stop", None))
        except (OSError, ValueError):
            pass
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.connection.close()

    def kill_all(self) -> list[PooledWorker]:
        """Kill every worker now and forget them; returns them (with the trials they held)."""
        with self.lock:
            workers = list(self.workers)
            self.workers.clear()
        for worker in workers:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join()
            worker.connection.close()
        return workers


def log_tail(path: str | None, lines: int = 5) -> str:
    """The last lines of a worker's log, to show with its death."""
    if path is None:
        return ""
    try:
        with open(path, "rb") as log:
            log.seek(max(0, os.path.getsize(path) - 4096))
            tail = log.read().decode(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"; its output ({path}) ended with: " + " | ".join(tail) if tail else f"; no output in {path}"


def death_reason(exitcode: int | None) -> str:
    """Why a worker ended without a result, from its exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"the worker process died (killed by {signal.Signals(-exitcode).name})"
        except ValueError:
            return f"the worker process died (signal {-exitcode})"
    return f"the worker process exited with code {exitcode} without a result"


def crash_signal(exitcode: int | None) -> signal.Signals | None:
    """The fault signal (:data:`FAULT_SIGNALS`) that ended a process with ``exitcode``, else None."""
    if exitcode is None or exitcode >= 0:
        return None
    try:
        number = signal.Signals(-exitcode)
    except ValueError:
        return None
    return number if number in FAULT_SIGNALS else None
