"""Constraints and the multi-objective view: nothing over the limit trains, costs carry their source."""

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.datasets import load_digits
from autonas.objectives import Objective

pytestmark = pytest.mark.slow  # trains networks or starts processes


@pytest.fixture(scope="module")
def constrained(tmp_path_factory):
    x_train, x_test, y_train, y_test = load_digits()
    classifier = AutoImageClassifier(
        max_trials=5, max_params=20_000, searcher="random", directory=tmp_path_factory.mktemp("mo"), seed=0, verbose=0
    )
    return classifier.fit(x_train, y_train, epochs=8), x_test, y_test


def test_no_trained_model_exceeds_max_params(constrained):
    classifier, x_test, y_test = constrained
    assert len(classifier.history_) == 5
    for record in classifier.history_:
        assert record.metrics["params"] <= 20_000
    assert classifier.best_graph_.num_params() <= 20_000
    assert classifier.score(x_test, y_test) >= 0.9


def test_every_trial_records_costs_with_their_source(constrained):
    """A size limit needs no timing: every trial records its graph's costs and the energy estimate, untimed."""
    classifier, _, _ = constrained
    assert not classifier.objective_.needs_measured_costs
    for record in classifier.history_:
        metrics = record.metrics
        assert metrics["energy_source"] == "estimate"
        assert metrics["energy_mj"] > 0 and "latency_ms" not in metrics
        assert metrics["model_bytes"] == 4 * metrics["params"]


def test_pareto_front_plot_and_export_of_a_member(constrained, tmp_path):
    classifier, x_test, _ = constrained
    front = classifier.pareto_front()
    assert front and {r.id for r in front} <= {r.id for r in classifier.history_}
    best_accuracy = max(r.metrics["val_accuracy"] for r in classifier.history_)
    assert best_accuracy in [r.metrics["val_accuracy"] for r in front]
    smallest = min(r.metrics["params"] for r in classifier.history_)
    assert smallest in [r.metrics["params"] for r in front]
    path = classifier.plot_pareto(tmp_path / "front.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    member = classifier.export_model(trial_id=front[-1].id)
    assert member.predict(x_test[:4], verbose=0).shape == (4, 10)
    with pytest.raises(ValueError, match="trial_id 999"):
        classifier.export_model(trial_id=999)


def test_conflicting_limits_are_refused_and_others_merged(tmp_path):
    x_train, _, y_train, _ = load_digits()
    classifier = AutoImageClassifier(max_params=10, objective=Objective(max_params=5), directory=tmp_path)
    with pytest.raises(ValueError, match=r"\['max_params'\] differ between AutoImageClassifier and its objective"):
        classifier.fit(x_train, y_train)
    objective = Objective(beta=0.05, max_latency=50.0)
    merged = AutoImageClassifier(max_params=20_000, objective=objective)._make_objective()
    assert (merged.max_params, merged.max_latency, merged.beta) == (20_000, 50.0, 0.05)
    assert objective.max_params is None  # the user's objective is untouched
    with pytest.raises(ValueError, match="max_power must be a positive number"):
        AutoImageClassifier(max_power=-1.0, directory=tmp_path).fit(x_train, y_train)


def test_a_users_reward_callable_picks_the_best(tmp_path):
    x_train, _, y_train, _ = load_digits()

    def smallest_model(metrics):
        return -metrics["params"]

    classifier = AutoImageClassifier(
        max_trials=3, objective=smallest_model, searcher="random", directory=tmp_path, seed=0, verbose=0
    ).fit(x_train[:400], y_train[:400], epochs=2)
    assert classifier.best_trial_.metrics["params"] == min(r.metrics["params"] for r in classifier.history_)
    assert np.isfinite(classifier.best_trial_.metrics["val_accuracy"])


def test_a_size_penalised_search_shrinks_below_every_initial_architecture(tmp_path):
    """With Objective(gamma=0.2) the searcher proposes shrinking edits: children smaller than their parents."""
    x_train, _, y_train, _ = load_digits()
    classifier = AutoImageClassifier(
        max_trials=7, objective=Objective(gamma=0.2), directory=tmp_path, seed=0, verbose=0
    ).fit(x_train, y_train, epochs=4)
    by_id = {r.id: r for r in classifier.history_}
    initial = [r for r in classifier.history_ if r.parent is None]
    children = [r for r in classifier.history_ if r.parent is not None and r.status == "completed"]
    assert initial and children
    shrunk = [r for r in children if r.metrics["params"] < by_id[r.parent].metrics["params"]]
    assert shrunk, [(r.name, r.metrics["params"]) for r in children]
    for record in shrunk:  # each edit's output change on a probe batch is recorded
        changes = record.metrics["operation_changes"]
        assert len(changes) == len(record.operations) and all(np.isfinite(changes))
    smallest_initial = min(r.metrics["params"] for r in initial)
    assert min(r.metrics["params"] for r in classifier.pareto_front()) < smallest_initial
    assert classifier.best_trial_.metrics["val_accuracy"] >= 0.9


def test_one_ranking_names_the_best_trial_everywhere(tmp_path, capsys):
    """Size-penalised: the most accurate trial is not the best by reward; every "best" names the same trial."""
    import re

    from autonas.execution import SerialExecutor

    x_train, x_test, y_train, _ = load_digits()
    # 100k parameters cost 5.0 of reward: the initial ResNet (20k parameters) outranks the initial CNN (26k) unless
    # the CNN is 29 points more accurate; on digits after 3 epochs the CNN is the more accurate (0.97 against 0.93
    # in CI). Two trials: a third, a shrinking child of the CNN, may be both the most accurate and the best.
    objective = Objective(gamma=5.0, size_reference=100_000)
    classifier = AutoImageClassifier(
        max_trials=2, objective=objective, directory=tmp_path, seed=0, verbose=1, executor=SerialExecutor()
    ).fit(x_train, y_train, epochs=3)
    lines = capsys.readouterr().out.splitlines()
    most_accurate = max(classifier.history_, key=lambda r: r.metrics["val_accuracy"])
    best = classifier.best_trial_
    assert best.id != most_accurate.id, [(r.id, r.metrics["val_accuracy"], r.metrics["params"]) for r in classifier.history_]
    named = [int(m.group(1)) for line in lines for m in [re.search(r"best trial (\d+)", line)] if m]
    assert named and named[-1] == best.id  # the last progress line and the summary
    assert classifier.leaderboard(print_table=False)[0].id == best.id
    table = capsys.readouterr().out if classifier.leaderboard() else ""
    assert "reward" in table.splitlines()[0]
    # best_model_ and export_model() are the best trial's architecture (after the final fit)
    assert classifier.best_graph_.fingerprint() == best.fingerprint
    assert classifier.export_model() is classifier.best_model_
    assert classifier.export_model().predict(x_test[:4], verbose=0).shape == (4, 10)
