"""Bad input raises ValueError naming the argument, before any training or project folder."""

import numpy as np
import pytest

from autonas import AutoImageClassifier

pytestmark = pytest.mark.slow  # trains networks or starts processes


def _images(n=40, shape=(8, 8)):
    return np.random.default_rng(0).integers(0, 256, (n, *shape)).astype(np.uint8)


def _labels(n=40, classes=4):
    return np.arange(n) % classes


class _OneAtATime:
    """A user's searcher that proposes one child at a time (no ``ask_children``)."""

    def ask(self):
        return None

    def tell(self, trial_id, graph, accuracy):
        pass


def _fit(tmp_path, x, y, **kwargs):
    fit_kwargs = {k: kwargs.pop(k) for k in ("validation_split", "validation_data", "epochs") if k in kwargs}
    classifier = AutoImageClassifier(**{"directory": tmp_path, "project_name": "p", "max_trials": 1, **kwargs})
    return classifier.fit(x, y, **fit_kwargs)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "message"),
    [
        (np.full((40, 8, 8), np.nan), _labels(), {}, "x contains NaN"),
        (np.where(_images() > 200, np.inf, 0.0), _labels(), {}, "x contains NaN or infinite"),
        (_images(), _labels(39), {}, r"len\(x\) != len\(y\)"),
        (_images(), np.zeros(40, int), {}, "y must hold at least 2 classes"),
        (_images(), np.r_[np.zeros(39, int), 1], {}, r"y: classes \[1\] have a single example"),
        (_images(shape=(64,)), _labels(), {}, r"x must have shape \(N, height, width\)"),
        (np.zeros((2, 3, 8, 8, 1)), _labels(2), {}, "x must have shape"),
        (np.zeros((0, 8, 8)), np.zeros(0, int), {}, "x is empty"),
        (_images(), _labels(), {"time_limit": 0}, "time_limit must be a positive number"),
        (_images(), _labels(), {"time_limit": -5.0}, "time_limit must be a positive number"),
        (_images(), _labels(), {"max_trials": 0}, "max_trials must be a positive int"),
        (_images(), _labels(), {"searcher": "genetic"}, "searcher must be one of"),
        (_images(), _labels(), {"generation_children": -1}, "generation_children must be 0 or more"),
        (_images(), _labels(), {"generation_children": 2.0}, "generation_children must be an int or None"),
        (_images(), _labels(), {"generation_children": 2, "searcher": _OneAtATime()}, "needs a searcher with ask_child"),
        (_images(), _labels(), {"generation_children": 2, "generation_rungs": 0}, "generation_rungs must be 1 or more"),
        (_images(), _labels(), {"generation_children": 2, "generation_rungs": 2.0}, "generation_rungs must be an int"),
        (_images(), _labels(), {"generation_rungs": 2}, "generation_rungs=2 needs generations"),
        (_images(), _labels(), {"executor": "ray"}, "executor must be None"),
        (_images(), _labels(), {"validation_split": 1.5}, "validation_split must be a float in"),
        (_images(), _labels(), {"epochs": 0}, "epochs must be a positive int"),
        (_images(), _labels(), {"overwrite": "no"}, "overwrite must be True or False, got 'no'"),
        (_images(), _labels(), {"seed": 1.5}, "seed must be an int or None"),
        (_images(), _labels(), {"verbose": "loud"}, "verbose must be an int"),
        (_images(), np.linspace(0, 1, 40), {}, "y holds non-integer numbers"),
        (_images(), _labels(), {"validation_data": (_images(10, (9, 9)), _labels(10))}, r"validation_data\[0\]"),
        (_images(), _labels(), {"validation_data": (_images(10), np.full(10, 7))}, r"validation_data\[1\] holds labels"),
    ],
)
def test_bad_input_raises_before_training(tmp_path, x, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _fit(tmp_path, x, y, **kwargs)
    assert not (tmp_path / "p").exists()  # nothing was created, nothing trained


def test_unfitted_classifier_refuses_to_predict():
    with pytest.raises(ValueError, match="not fitted"):
        AutoImageClassifier().predict(_images())


def test_init_only_stores_arguments():
    classifier = AutoImageClassifier(max_trials=-3, searcher="nope")  # checked in fit, not here
    assert classifier.max_trials == -3 and classifier.searcher == "nope"
