"""Executors run trials: the search loop submits a job and gets a future of its result.

:class:`SerialExecutor` trains in the calling process, one trial at a time.
:class:`~autonas.execution.local.LocalExecutor` (worker processes) and
:class:`~autonas.execution.ray_executor.RayExecutor` (Ray tasks) run several at
once; the search loop keeps up to ``max_workers`` jobs submitted and goes on
proposing while they train.
"""

from __future__ import annotations

import functools
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace

import numpy as np

from autonas.execution.failures import FailureKind, error_text, traceback_text
from autonas.execution.runner import TrialResult, train_graph
from autonas.execution.settings import TrainingSettings
from autonas.graph import Graph
from autonas.objectives.robustness import RobustnessCheck

__all__ = ["Executor", "SerialExecutor", "TrainingData", "TrialJob"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingData:
    """Preprocessed arrays every trial trains on: float32 images (N, H, W, C) and class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class TrialJob:
    """One trial to train.

    Attributes:
        trial_id: The id its record will carry.
        graph: The architecture, with the weights it inherits (if any).
        settings: How to train it.
        seconds_left: Wall-clock seconds it may take from ``issued_at`` (None:
            no limit), waiting for a worker included: the search's own clock.
        max_seconds: Seconds it may take from when its worker starts it
            (None: no limit): its share of the search, which the time spent
            waiting for a worker does not use up.
        seed: Seed of its initialisation and shuffling.
        measure: Record its costs after training.
        timed_costs: Time the trained model for them (latency, measured
            energy); False records the graph's costs and the energy estimate
            only (what a search whose objective reads no measured cost needs).
            A runtime name (``"onnxruntime"``, ``"litert"``) is timed like True,
            with ``latency_ms`` measured in that runtime (see
            :attr:`autonas.objectives.Objective.timed_costs`).
        issued_at: ``time.time()`` when the job was issued (None: when it starts
            training); a worker subtracts the time since then, so a job that
            waited for a worker to start or for GPU memory keeps to the search's clock.
        hard_seconds: Seconds from ``issued_at`` until the search itself must
            end (None: no limit). ``seconds_left`` is checked after every
            batch; an executor that can stop a trial by force (a worker
            process) does so once this has passed and another trial has
            completed (so the search has a model to return), so that one
            batch longer than the whole budget cannot break its time limit.
        reference: The parent ``graph`` was edited from, when an edit changed
            the function (shrinking); the worker then records how much each
            of ``operations`` moved the outputs on a probe batch of training
            images (``operation_changes`` in the metrics).
        operations: The edits that turned ``reference`` into ``graph``.
        robustness: None, or what to attack the trained network with (on a
            draw of the validation images, after training, off its clock) for
            ``robust_accuracy`` in its metrics; a failed measurement fails the trial.
    """

    trial_id: int
    graph: Graph
    settings: TrainingSettings
    seconds_left: float | None = None
    seed: int | None = None
    max_seconds: float | None = None
    measure: bool = True
    timed_costs: bool | str = True
    issued_at: float | None = None
    hard_seconds: float | None = None
    reference: Graph | None = None
    operations: tuple = ()
    robustness: RobustnessCheck | None = None

    def with_batch_size(self, batch_size: int) -> TrialJob:
        """The same job at another batch size (an out-of-memory retry)."""
        return replace(self, settings=replace(self.settings, batch_size=max(1, int(batch_size))))


#: Training images on which an edit's output change is measured.
PROBE_SIZE = 32


def operation_changes(reference: Graph, operations, x: np.ndarray) -> list[float]:
    """How much each edit moved the outputs: the largest change of any class probability on ``x``.

    The edits are replayed on ``reference`` one by one (the noise-free
    replay; a function-preserving edit gives 0 up to round-off).
    """
    from autonas.morphism import output_change

    changes, graph = [], reference
    for operation in operations:
        child = operation.apply(graph, rng=0)
        changes.append(output_change(graph, child, x))
        graph = child
    return changes


#: ``on_epoch(trial_id, epochs_done, epochs_planned)``: a trial started (0 epochs done) or finished an epoch.
TrialProgress = Callable[[int, int, int], None]


def run_job(job: TrialJob, data: TrainingData, on_epoch: TrialProgress | None = None) -> TrialResult:
    """Train ``job`` in this process (what every executor's worker does), telling ``on_epoch`` its progress."""
    deadline = None
    if job.seconds_left is not None:
        waited = 0.0 if job.issued_at is None else max(0.0, time.time() - job.issued_at)
        deadline = time.monotonic() + job.seconds_left - waited
    if job.max_seconds is not None:
        share_ends = time.monotonic() + job.max_seconds
        deadline = share_ends if deadline is None else min(deadline, share_ends)
    changes = None
    if job.reference is not None and job.operations and job.reference.has_weights:
        try:
            changes = operation_changes(job.reference, job.operations, np.asarray(data.x_train[:PROBE_SIZE]))
        except Exception as error:  # noqa: BLE001 - the trial itself can still train
            logger.warning("trial %s: could not measure its edits' output change: %s", job.trial_id, error)
    result = train_graph(
        job.graph,
        data.x_train,
        data.y_train,
        job.settings,
        validation=(data.x_val, data.y_val),
        deadline=deadline,
        seed=job.seed,
        measure=job.measure,
        timed=job.timed_costs,
        on_epoch=None if on_epoch is None else functools.partial(on_epoch, job.trial_id),
    )
    if changes is not None:
        result.metrics["operation_changes"] = changes
    if job.robustness is not None and job.measure and result.status == "completed":
        result = _measure_robustness(job, result, data)
    return result


def _measure_robustness(job: TrialJob, result: TrialResult, data: TrainingData) -> TrialResult:
    """``result`` with the trained network's ``robust_accuracy`` in its metrics (the float32 model, as exported);
    failed, with the reason, when the attack cannot run."""
    try:
        model = result.graph.to_keras()
        result.metrics.update(job.robustness.measure(model, data.x_val, data.y_val, job.seed))
    except Exception as error:  # noqa: BLE001 - the trial fails with the reason; the search goes on
        logger.warning("trial %s: measuring its robustness failed: %s", job.trial_id, error)
        return TrialResult("failed", None, {**result.metrics, "traceback": traceback_text()},
                           result.epochs, result.seconds, error_text(f"measuring robustness failed: {error}"),
                           failure_kind=FailureKind.of_error(error))
    return result


class Executor(ABC):
    """Runs trials; the search loop submits jobs and collects results.

    Usage: :meth:`start` with the data once, :meth:`submit` jobs (at most
    :attr:`max_workers` outstanding), collect the futures' results, then
    :meth:`shutdown` (or use the executor as a context manager). A future
    always ends with a :class:`TrialResult`: failures, a dead worker included,
    are failed results, never exceptions.
    """

    max_workers: int = 1
    #: Folder for the output of worker processes (one log file per worker, named in each trial's
    #: ``metrics["worker_log"]``); the search sets it to the project's ``logs`` folder when it is None.
    log_dir: str | None = None
    #: Told ``(trial_id, epochs_done, epochs_planned)`` as trials train (the search's progress bar sets it
    #: for its run); executors that cannot report progress ignore it.
    on_epoch: TrialProgress | None = None

    @abstractmethod
    def start(self, data: TrainingData) -> None:
        """Make the training data available to the workers."""

    @abstractmethod
    def submit(self, job: TrialJob) -> Future:
        """Start (or queue) ``job``; returns a future of its :class:`TrialResult`."""

    def accepts(self, graph: Graph, settings: TrainingSettings) -> bool:  # noqa: ARG002
        """Whether ``graph`` can be trained here at all (e.g. fits the GPU memory); default True."""
        return True

    def shutdown(self) -> None:  # noqa: B027 - optional
        """Stop the workers; running trials are abandoned."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


class SerialExecutor(Executor):
    """Trains each job in the calling process as it is submitted (one at a time)."""

    max_workers = 1

    def __init__(self) -> None:
        self._data: TrainingData | None = None

    def start(self, data: TrainingData) -> None:
        self._data = data

    def submit(self, job: TrialJob) -> Future:
        if self._data is None:
            raise RuntimeError("call start(data) before submit()")
        future: Future = Future()
        future.set_result(run_job(job, self._data, self.on_epoch))
        return future

    def __repr__(self) -> str:
        return "SerialExecutor()"
