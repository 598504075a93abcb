"""A search that values robustness: every trial attacked and trained adversarially, the trade-off shown."""

from __future__ import annotations

import numpy as np
import pytest

from autonas import AutoImageClassifier, Objective
from autonas.cli import main
from autonas.datasets import load_digits
from autonas.execution import SerialExecutor

pytestmark = pytest.mark.slow  # trains networks (the backend paths: tests/objectives/test_robustness_training.py)

pytest.importorskip("art", reason="the Adversarial Robustness Toolbox is not installed: pip install 'autonas[robust]'")


@pytest.fixture(scope="module")
def robust_fit(tmp_path_factory):
    x_train, x_test, y_train, y_test = load_digits()
    classifier = AutoImageClassifier(
        max_trials=3, directory=tmp_path_factory.mktemp("robust"), seed=0, verbose=0, executor=SerialExecutor(),
        objective=Objective(robustness=1.0, epsilon=0.1, attack_steps=5),
    )
    classifier.fit(x_train[:800], y_train[:800], epochs=4)
    return classifier, x_test, y_test


def test_every_trial_records_its_robust_accuracy_and_trains_adversarially(robust_fit):
    classifier, _, _ = robust_fit
    for record in classifier.history_:
        assert record.status == "completed", record.error
        metrics = record.metrics
        assert 0.0 <= metrics["robust_accuracy"] <= metrics["clean_accuracy"] <= 1.0
        assert (metrics["attack"], metrics["attack_epsilon"], metrics["attack_steps"]) == ("pgd", 0.1, 5)
        assert metrics["attack_images"] == min(256, 160) and metrics["attack_seconds"] > 0  # 20 % of 800 validate
        assert record.hyperparameters["adversarial"]["epsilon"] == 0.1
        assert classifier.objective_.reward(record) == pytest.approx(metrics["val_accuracy"] + metrics["robust_accuracy"])
    assert classifier.training_settings_["final"].adversarial is not None  # the final fit too


def test_the_trade_off_is_a_front_axis_a_leaderboard_column_and_a_plot(robust_fit, tmp_path, capsys):
    classifier, x_test, y_test = robust_fit
    assert ("robust_accuracy", "max") in classifier.objective_.pareto_objectives
    assert classifier.pareto_front()
    classifier.leaderboard()
    assert "robust" in capsys.readouterr().out.splitlines()[0]
    pytest.importorskip("matplotlib", reason="matplotlib is not installed: pip install 'autonas[plot]'")
    assert classifier.plot_pareto(tmp_path / "front.png", cost="robust_accuracy").stat().st_size > 1000
    page = classifier.report(tmp_path / "report.html").read_text()
    assert "robust accuracy (pgd, ε = 0.1, 5 steps)" in page
    measured = classifier.robustness(x_test[:200], y_test[:200], epsilon=0.1)
    assert measured["attack_images"] == 200 and measured["robust_accuracy"] <= measured["clean_accuracy"]
    assert measured["clean_accuracy"] == pytest.approx(classifier.score(x_test[:200], y_test[:200]), abs=1e-6)


def test_a_default_search_attacks_nothing_and_trains_plainly(tmp_path):
    x_train, _, y_train, _ = load_digits()
    classifier = AutoImageClassifier(max_trials=1, directory=tmp_path, seed=0, verbose=0, executor=SerialExecutor())
    classifier.fit(x_train[:300], y_train[:300], epochs=1)
    record = classifier.history_[0]
    assert "robust_accuracy" not in record.metrics and record.hyperparameters["adversarial"] is None


def test_robustness_without_the_attack_library_is_refused_before_training(tmp_path, monkeypatch):
    import autonas.objectives.robustness as robustness

    def missing():
        raise ImportError("measuring robustness needs the Adversarial Robustness Toolbox: pip install 'autonas[robust]'")

    monkeypatch.setattr(robustness, "_art", missing)
    x_train, _, y_train, _ = load_digits()
    classifier = AutoImageClassifier(max_trials=1, directory=tmp_path, verbose=0, objective=Objective(robustness=1.0))
    with pytest.raises(ImportError, match=r"autonas\[robust\]"):
        classifier.fit(x_train[:100], y_train[:100])
    assert not (tmp_path / "image_classifier" / "trials").exists() or not list((tmp_path / "image_classifier" / "trials").iterdir())


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--epsilon", "2", "epsilon must be a number in \\(0, 1\\]"),
    ("--robustness", "nan", "robustness must be a finite number"),
])
def test_the_command_line_refuses_bad_robustness_settings_before_training(flag, value, message, tmp_path, capsys):
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((4, 8, 8)), y=np.arange(4) % 2)
    options = ["--robustness", "1"] if flag == "--epsilon" else []
    assert main(["fit", "--data", str(data), "--directory", str(tmp_path), *options, flag, value]) == 2
    import re

    assert re.search(message, capsys.readouterr().err)
