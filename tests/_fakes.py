"""Stand-ins for training shared by the tests of the search loop: tiny data and executors that score at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

from autonas.execution import Executor, TrainingData, TrialJob, TrialResult


def tiny_data(classes: int = 10) -> TrainingData:
    """Eight 8×8×1 training images and four validation images with random labels."""
    rng = np.random.default_rng(0)
    return TrainingData(rng.random((8, 8, 8, 1), dtype=np.float32), rng.integers(0, classes, 8),
                        rng.random((4, 8, 8, 1), dtype=np.float32), rng.integers(0, classes, 4))


class ScoringExecutor(Executor):
    """Completes every job at once, untrained, with ``score(job)`` as its validation accuracy; records the jobs.

    Args:
        score: The validation accuracy of a job (default 0.5 for every job).
        weights: Give a graph without weights the initial weights of its Keras model (children of it
            inherit weights, as they would from a trained parent); False returns the graph as given.
    """

    def __init__(self, score: Callable[[TrialJob], float] = lambda job: 0.5, weights: bool = True) -> None:
        self.jobs: list[TrialJob] = []
        self.score, self.weights = score, weights

    def start(self, data) -> None:
        pass

    def result(self, job: TrialJob) -> TrialResult:
        graph = job.graph
        if self.weights and not graph.has_weights:
            graph = graph.copy().update_weights(graph.to_keras())
        return TrialResult("completed", graph, {"val_accuracy": float(self.score(job)), "val_loss": 1.0})

    def submit(self, job: TrialJob) -> Future:
        self.jobs.append(job)
        future = Future()
        future.set_result(self.result(job))
        return future


class DelayedExecutor(ScoringExecutor):
    """Three workers; each job completes after ``delay(job)`` seconds, on a timer thread."""

    max_workers = 3

    def __init__(self, score: Callable[[TrialJob], float], delay: Callable[[TrialJob], float]) -> None:
        super().__init__(score)
        self.delay, self.timers = delay, []

    def submit(self, job: TrialJob) -> Future:
        self.jobs.append(job)
        future = Future()
        timer = threading.Timer(self.delay(job), future.set_result, (self.result(job),))
        self.timers.append(timer)
        timer.start()
        return future
