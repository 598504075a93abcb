"""A fit that is refused or fails leaves the estimator as it was (issue 27): never a half-updated classifier."""

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.datasets import load_digits
from autonas.engine import TrialsFailedError
from autonas.execution import SerialExecutor

pytestmark = pytest.mark.slow  # trains networks or starts processes

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


def _classifier(directory, **kwargs) -> AutoImageClassifier:
    """One trial, trained in this process, quietly."""
    settings = {"directory": directory, "project_name": "p", "max_trials": 1, "searcher": "random", "seed": 0,
                "verbose": 0, "executor": SerialExecutor(), "tensorboard": False, **kwargs}
    return AutoImageClassifier(**settings)


@pytest.fixture(scope="module")
def digits():
    """600 training and 200 test digits, uint8 (N, 8, 8), as users have them."""
    x_train, x_test, y_train, _ = load_digits()
    return x_train[:600], y_train[:600], x_test[:200]


@pytest.fixture(scope="module")
def fitted(digits, tmp_path_factory):
    x, y, _ = digits
    return _classifier(tmp_path_factory.mktemp("refused")).fit(x, y, epochs=2)


def _snapshot(classifier: AutoImageClassifier) -> dict:
    return dict(vars(classifier))


def _assert_unchanged(classifier: AutoImageClassifier, before: dict, x_test: np.ndarray, expected: np.ndarray) -> None:
    """The same attributes, the same objects, the same predictions on the original uint8 images."""
    np.testing.assert_array_equal(classifier.predict_proba(x_test), expected)
    assert len(set(classifier.predict(x_test))) > 1  # not one class for every image
    assert vars(classifier).keys() == before.keys()
    assert [name for name, value in before.items() if vars(classifier)[name] is not value] == []


@pytest.mark.parametrize(
    "other_data",
    [
        pytest.param(lambda x, y: (x[y < 5], y[y < 5]), id="other classes"),
        pytest.param(lambda x, y: (x[:, 1:7, 1:7], y), id="other image shape"),
        pytest.param(lambda x, y: (x / np.float32(255), NAMES[y]), id="other pixel scale and labels"),
    ],
)
def test_a_refused_second_fit_leaves_the_classifier_as_it_was(fitted, digits, other_data):
    x, y, x_test = digits
    before, expected = _snapshot(fitted), fitted.predict_proba(x_test)
    with pytest.raises(ValueError, match="holds a search on other data"):
        fitted.fit(*other_data(x, y), epochs=1)
    _assert_unchanged(fitted, before, x_test, expected)
    with pytest.raises(ValueError, match=r"x holds floats in \[0, 1\]"):  # the training images' scale still applies
        fitted.predict(x_test / np.float32(255))


def test_a_second_fit_that_fails_after_its_search_leaves_the_classifier_as_it_was(fitted, digits, monkeypatch):
    x, y, x_test = digits
    before, expected = _snapshot(fitted), fitted.predict_proba(x_test)

    def broken_final_fit(*args, **kwargs):
        raise RuntimeError("the final fit broke")

    monkeypatch.setattr("autonas.tasks.image.final_fit", broken_final_fit)
    with pytest.raises(RuntimeError, match="the final fit broke"):  # resumed: its one trial is done, no training
        fitted.fit(x, y, epochs=2)
    _assert_unchanged(fitted, before, x_test, expected)


def test_a_refused_first_fit_leaves_the_classifier_unfitted(fitted, digits):
    x, y, x_test = digits
    fresh = _classifier(fitted.project_path_.parent)  # the same project, holding a search on all ten digits
    before = _snapshot(fresh)
    with pytest.raises(ValueError, match="holds a search on other data"):
        fresh.fit(x[y < 5], y[y < 5], epochs=1)
    assert _snapshot(fresh) == before  # only the parameters: nothing learned
    with pytest.raises(ValueError, match="not fitted"):
        fresh.predict(x_test)


def test_a_search_without_a_model_within_the_constraints_leaves_only_its_record(fitted, digits, monkeypatch):
    """As documented: ``history_`` holds the trials to inspect; nothing of the earlier fit stays to predict with."""
    x, y, x_test = digits
    refit = _classifier(fitted.project_path_.parent).fit(x, y, epochs=2)  # resumed: no training

    def nothing_within(self):
        raise TrialsFailedError("no trial completed within the constraints")

    monkeypatch.setattr(AutoImageClassifier, "_best_trial", nothing_within)
    with pytest.raises(TrialsFailedError):
        refit.fit(x, y, epochs=2)
    assert [r.id for r in refit.history_] == [1]
    assert {name for name in vars(refit) if name.endswith("_") or name.startswith("_")} == {
        "objective_", "training_settings_", "history_", "project_path_"
    }
    assert refit.leaderboard(print_table=False) == refit.history_
    with pytest.raises(ValueError, match="not fitted"):
        refit.predict(x_test)
