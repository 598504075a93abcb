"""Trials as Ray tasks, on this machine or a cluster (``pip install autonas[ray]``)."""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import Future

from autonas import backend
from autonas._checks import check_positive
from autonas.errors import FatalError
from autonas.execution.executor import Executor, TrainingData, TrialJob
from autonas.execution.failures import FailureKind, error_text
from autonas.execution.memory import estimate_training_bytes, gpu_free_bytes
from autonas.execution.runner import TrialResult

__all__ = ["RayExecutor"]

logger = logging.getLogger(__name__)


def _train_task(job: TrialJob, data: TrainingData, threads: int, backend_name: str) -> TrialResult:
    """The body of a Ray task: a fresh worker (``max_calls=1``) on the driver's Keras backend, limited to the task's CPUs.

    The GPU is left as Ray assigned it (``CUDA_VISIBLE_DEVICES``); a task
    with a fraction of a GPU shares it, so JAX must not preallocate.
    """
    limits = backend.WorkerLimits(threads=threads, inter_op_threads=min(2, threads), use_gpu=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.update(backend.worker_environment(backend_name, limits))
    try:
        backend.configure_worker(limits)
    except RuntimeError:  # the framework already initialised in this worker
        pass
    from autonas.execution.executor import run_job

    return run_job(job, data)


def _failed_task(error: BaseException) -> TrialResult:
    """The failed result of a Ray task that raised ``error`` (Ray's error, or what the task raised as its ``cause``)."""
    cause = getattr(error, "cause", None)
    raised = [error] + ([cause] if isinstance(cause, BaseException) else [])
    out_of_memory = any(FailureKind.of_error(e) is FailureKind.OUT_OF_MEMORY for e in raised)
    return TrialResult("failed", error=error_text(f"the Ray task failed: {type(error).__name__}: {error}"),
                       failure_kind=FailureKind.OUT_OF_MEMORY if out_of_memory else FailureKind.OTHER)


class RayExecutor(Executor):
    """Runs each trial as a Ray task; the training data travels once through the object store.

    Each task asks for ``cpus_per_trial`` CPUs and, on a cluster with GPUs, the
    fraction of one GPU its estimated training memory needs
    (:func:`~autonas.execution.memory.estimate_training_bytes` over
    ``gpu_memory_bytes``, rounded up to a twentieth), so Ray packs small trials
    onto one GPU. Every task runs in a fresh worker process (``max_calls=1``),
    which returns its GPU memory. A task whose worker dies gives a failed result.

    Args:
        address: A Ray cluster's address; None starts (or joins) a local Ray.
        max_workers: Trials submitted at once; default the cluster's CPUs
            divided by ``cpus_per_trial``.
        cpus_per_trial: CPUs per task (default 1).
        gpu_memory_bytes: Memory of one GPU, for the fractions; default read
            with nvidia-ml-py on this machine.
        init_kwargs: Extra arguments for ``ray.init`` (e.g. ``num_cpus`` for a local instance).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        max_workers: int | None = None,
        cpus_per_trial: int = 1,
        gpu_memory_bytes: int | None = None,
        init_kwargs: dict | None = None,
    ) -> None:
        check_positive(max_workers, "max_workers", integer=True, optional=True)
        check_positive(cpus_per_trial, "cpus_per_trial", integer=True)
        self.address = address
        self.requested_workers = max_workers
        self.cpus_per_trial = cpus_per_trial
        self.gpu_memory_bytes = gpu_memory_bytes
        self.init_kwargs = dict(init_kwargs or {})
        self.max_workers = max_workers or 1
        self._ray = None
        self._started_ray = False
        self._data_ref = None
        self._remote = None
        self._refs: list = []

    def start(self, data: TrainingData) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("RayExecutor needs Ray: pip install 'autonas[ray]'") from None
        self._ray = ray
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
            ray.init(address=self.address, **kwargs)
            self._started_ray = True
        resources = ray.cluster_resources()
        self._gpus = float(resources.get("GPU", 0.0))
        if self._gpus and self.gpu_memory_bytes is None:
            reading = gpu_free_bytes()
            self.gpu_memory_bytes = reading[1] if reading else None
        self.max_workers = self.requested_workers or max(1, int(resources.get("CPU", 1) // self.cpus_per_trial))
        self._remote = ray.remote(max_calls=1)(_train_task)
        self._data_ref = ray.put(data)
        logger.info("ray executor: %d trials at once on %s", self.max_workers, resources)

    def _gpu_fraction(self, job: TrialJob) -> float:
        if not self._gpus or not self.gpu_memory_bytes:
            return 0.0
        estimate = estimate_training_bytes(job.graph, job.settings.batch_size, job.settings.optimizer)
        return min(1.0, math.ceil(20 * estimate / self.gpu_memory_bytes) / 20)

    def submit(self, job: TrialJob) -> Future:
        if self._remote is None:
            raise RuntimeError("call start(data) before submit()")
        ref = self._remote.options(num_cpus=self.cpus_per_trial, num_gpus=self._gpu_fraction(job)).remote(
            job, self._data_ref, self.cpus_per_trial, backend.backend_name()
        )
        self._refs.append(ref)
        result: Future = Future()

        def settle(done: Future) -> None:
            error = done.exception()
            cause = getattr(error, "cause", None)  # Ray wraps what the task raised
            if error is None:
                result.set_result(done.result())
            elif isinstance(error, FatalError) or isinstance(cause, FatalError):
                result.set_exception(cause if isinstance(cause, FatalError) else error)
            else:
                result.set_result(_failed_task(error))

        ref.future().add_done_callback(settle)
        return result

    def shutdown(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for ref in self._refs:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - finished or already gone
                pass
        self._refs.clear()
        if self._started_ray and ray.is_initialized():
            ray.shutdown()
        self._started_ray = False
        self._remote = self._data_ref = None

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, max_workers={self.requested_workers!r})"
