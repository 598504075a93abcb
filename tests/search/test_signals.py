"""The candidate signals of a trial (autonas.search.signals), on curves whose answers are known."""

import math

import numpy as np
import pytest

from autonas.search.signals import SIGNALS, extrapolated_loss, late_training_loss, segment_losses, signal_values


def _power_law_metrics(floor=0.2, scale=1.0, rate=0.7, epochs=1.0, points=10):
    at = np.linspace(epochs / points, epochs, points)
    return {"loss_curve": [[float(t), float(floor + scale * t ** -rate)] for t in at]}, (floor, scale, rate)


def test_segment_losses_read_the_curve_or_fall_back_to_epoch_losses():
    epochs, losses = segment_losses({"loss_curve": [[0.5, 2.0], [1.0, float("nan")], [1.5, 1.0]]})
    assert epochs.tolist() == [0.5, 1.5] and losses.tolist() == [2.0, 1.0]  # a NaN point is left out
    epochs, losses = segment_losses({"history": {"loss": [1.5, 1.2, 1.1]}})
    assert epochs.tolist() == [1, 2, 3] and losses.tolist() == [1.5, 1.2, 1.1]
    epochs, losses = segment_losses({})
    assert epochs.size == 0 and losses.size == 0


def test_late_training_loss_is_the_mean_of_the_last_points():
    metrics = {"loss_curve": [[t / 10, 10 - t] for t in range(1, 11)]}  # losses 9, 8, ..., 0
    assert late_training_loss(metrics) == pytest.approx(1.0)  # the last 3 of 10: 2, 1, 0
    assert late_training_loss(metrics, share=0.5) == pytest.approx(2.0)
    assert late_training_loss({}) is None


def test_extrapolation_recovers_a_power_law_curve():
    metrics, (floor, scale, rate) = _power_law_metrics()
    expected = floor + scale * (1.0 + 20.0) ** -rate
    assert extrapolated_loss(metrics, epochs_ahead=20.0) == pytest.approx(expected, rel=1e-3)


def test_extrapolation_ranks_a_slow_starter_with_a_lower_floor_first():
    fast, _ = _power_law_metrics(floor=0.5, scale=0.5, rate=2.0)  # ends lower now, flattens early
    slow, _ = _power_law_metrics(floor=0.1, scale=1.0, rate=0.5)  # higher now, still falling
    assert late_training_loss(fast) < late_training_loss(slow)
    assert extrapolated_loss(slow, 50.0) < extrapolated_loss(fast, 50.0)


def test_a_short_curve_gives_its_late_loss():
    metrics = {"loss_curve": [[0.5, 1.0], [1.0, 0.8]]}
    assert extrapolated_loss(metrics) == late_training_loss(metrics)


def test_signal_values_are_higher_for_better_trials_and_none_when_missing():
    good = {"val_accuracy": 0.9, "val_loss": 0.3, "params": 1000, "macs": 5000, "history": {"loss": [0.5, 0.25]}}
    bad = {"val_accuracy": 0.8, "val_loss": 0.6, "params": 100, "macs": 500, "history": {"loss": [0.9, 0.7]}}
    values = signal_values([good, bad, {}])
    assert set(values) == set(SIGNALS)
    for name in ("val_accuracy", "val_loss", "training_loss", "late_training_loss", "extrapolated_loss"):
        assert values[name][0] > values[name][1], name
        assert values[name][2] is None, name
    assert values["params"][0] == pytest.approx(math.log(1000))
    assert signal_values([{"val_loss": float("nan")}], ["val_loss"]) == {"val_loss": [None]}


def test_unknown_signal_names_are_refused():
    with pytest.raises(ValueError, match="names must be signals"):
        signal_values([{}], ["val_accuracy", "magic"])

