"""The final fit's estimate and when it is skipped to keep the time limit."""

import time

import numpy as np

from autonas.engine.final_fit import (
    final_fit,
    final_fit_epochs,
    final_fit_reserve,
    final_fit_seconds,
)
from autonas.engine.project import TrialRecord
from autonas.execution import TrainingData, TrainingSettings
from autonas.graph import generators


def _best(startup: float = 3.0, pace: float = 0.5, best_epoch: int = 6) -> TrialRecord:
    metrics = {"startup_seconds": startup, "seconds_per_epoch": pace, "best_epoch": best_epoch, "val_accuracy": 0.9}
    return TrialRecord(1, None, [], "f", metrics=metrics, epochs=best_epoch)


def test_the_estimate_counts_the_start_up_twice_and_the_epochs_on_all_the_data():
    best = _best(startup=3.0, pace=0.5, best_epoch=6)
    assert final_fit_epochs(best) == 2
    # 2 x 3 s of start-up, then 2 epochs at 0.5 s / 0.8 (the validation rows join the training rows)
    assert final_fit_seconds(best, train_fraction=0.8) == 6.0 + 2 * 0.625


def test_the_reserve_is_the_estimate_with_a_margin_capped_by_its_share_of_the_limit():
    history = [_best(startup=3.0, pace=0.5), _best(startup=1.0, pace=0.1)]

    def rank(record):  # the second trial ranks first
        return -record.metrics["startup_seconds"]

    assert final_fit_reserve(history, 0.15, 100.0, rank) == (2 * 1.0 + 2 * 0.1) * 1.3
    assert final_fit_reserve(history, 0.15, 10.0, rank) == 1.5  # 15 % of 10 s
    assert final_fit_reserve([], 0.15, 100.0, rank) == 15.0  # nothing completed yet: the whole share


def test_a_final_fit_with_less_time_left_than_twice_its_start_up_is_skipped():
    graph = generators.cnn((8, 8, 1), 3, filters=4, max_filters=8, hidden_units=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((30, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 30)
    data = TrainingData(x[:24], y[:24], x[24:], y[24:])
    best = _best(startup=3.0, pace=0.01, best_epoch=3)
    start = time.monotonic()
    # 4.5 s left: more than the start-up and an epoch (3.01 s), less than the estimate (6.01 s)
    kept = final_fit(graph, best, data, TrainingSettings(max_epochs=1), deadline=time.monotonic() + 4.5)
    assert kept is graph  # the trial's weights, untouched
    assert time.monotonic() - start < 1.0  # decided without building anything
