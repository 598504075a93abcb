"""The warning after a search whose time limit left the best network less than one epoch of training."""

import warnings

import pytest

from autonas.engine.project import TrialRecord
from autonas.tasks.short_limits import trained_epochs, warn_if_barely_trained

_PACE = {"seconds_per_epoch": 13.4, "startup_seconds": 9.9}


def _trial(trial_id, parent=None, epochs=1, cut_at=None):
    metrics = dict(_PACE, val_accuracy=0.8)
    if cut_at is not None:
        metrics["last_epoch_fraction"] = cut_at
    return TrialRecord(trial_id, parent, [], f"f{trial_id}", metrics=metrics, epochs=epochs)


def _messages(time_limit, best, history):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_barely_trained(time_limit, best, history, stacklevel=1)
    return [str(w.message) for w in caught]


def test_trained_epochs_add_the_ancestors_and_count_a_cut_epoch_by_the_share_that_ran():
    history = [_trial(1, epochs=3), _trial(2, parent=1, epochs=2, cut_at=0.5), _trial(3, parent=2, epochs=1)]
    assert trained_epochs(history[0], history) == 3
    assert trained_epochs(history[1], history) == pytest.approx(4.5)
    assert trained_epochs(history[2], history) == pytest.approx(5.5)


def test_a_first_trial_cut_within_its_first_epoch_is_reported_with_its_pace():
    best = _trial(1, cut_at=0.4)
    (message,) = _messages(30, best, [best])
    assert message.startswith("time_limit=30 s is shorter than one epoch of training takes here")
    assert "trial 1" in message and "trained 40% of one epoch" in message and "13.4 s after 9.9 s" in message


def test_a_child_cut_within_its_first_epoch_is_not_reported_when_its_ancestors_trained():
    # a 600-s search's best trial was a child cut at 88 % of its one epoch, from a parent trained 6 epochs
    history = [_trial(1, epochs=6), _trial(2, parent=1, epochs=1, cut_at=0.88)]
    assert _messages(600, history[1], history) == []


def test_a_child_of_a_barely_trained_parent_is_reported_with_its_ancestors():
    history = [_trial(1, cut_at=0.3), _trial(2, parent=1, cut_at=0.5)]
    (message,) = _messages(20, history[1], history)
    assert "trial 2" in message and "it and its ancestors trained 80% of one epoch" in message


def test_nothing_is_said_without_a_time_limit_or_when_no_epoch_was_cut():
    best = _trial(1, cut_at=0.4)
    assert _messages(None, best, [best]) == []
    whole = _trial(1, epochs=1)
    assert _messages(30, whole, [whole]) == []
