"""Issue 27: seeds outside [0, 2**32 - 1] are refused by name before any work; every allowed seed gives
every trial a seed NumPy and Keras take. No training."""

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.backend import set_random_seed
from autonas.cli import main
from autonas.datasets import load_digits
from autonas.engine import Project
from autonas.engine.loop import SearchBudget, run_search, trial_seed
from autonas.execution import SerialExecutor, TrainingData, TrainingSettings
from autonas.graph import generators
from tests._fakes import ScoringExecutor

LARGEST = 2**32 - 1


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40])
def test_a_seed_out_of_range_is_refused_by_name_before_any_work(tmp_path, seed):
    x, _, y, _ = load_digits()
    classifier = AutoImageClassifier(directory=tmp_path, seed=seed, max_trials=1, executor=SerialExecutor(), verbose=0)
    with pytest.raises(ValueError, match=rf"^seed must be from 0 to 2\*\*32 - 1 \(4294967295\), got {seed}$"):
        classifier.fit(x[:100], y[:100])
    assert not list(tmp_path.iterdir())  # no project was made


@pytest.mark.parametrize("seed", [1.5, True, "0"])
def test_a_seed_that_is_not_an_int_is_refused_by_name(tmp_path, seed):
    classifier = AutoImageClassifier(directory=tmp_path, seed=seed, verbose=0)
    with pytest.raises(ValueError, match="seed must be an int or None"):
        classifier.fit(np.zeros((20, 8, 8), np.uint8), np.arange(20) % 2)


@pytest.mark.parametrize("seed", ["-1", "4294967296", "abc"])
def test_the_command_line_refuses_a_bad_seed(tmp_path, capsys, seed):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--data", str(tmp_path / "d.npz"), "--seed", seed])
    assert exit_.value.code == 2
    assert f"argument --seed: expected an int from 0 to 2**32 - 1 (4294967295), got '{seed}'" in capsys.readouterr().err


def test_the_command_line_takes_the_largest_seed(tmp_path, capsys):
    assert main(["fit", "--data", str(tmp_path / "missing.npz"), "--seed", str(LARGEST)]) == 2
    assert "does not exist" in capsys.readouterr().err  # past the seed: the data is what is missing


def test_the_keras_tuner_oracle_refuses_a_bad_seed():
    pytest.importorskip("keras_tuner")
    from autonas.integrations.keras_tuner import MorphismOracle

    for seed in (-1, 2**32):
        with pytest.raises(ValueError, match="^seed must be from 0 to 2"):
            MorphismOracle(["cnn"], input_shape=(8, 8, 1), num_classes=10, seed=seed)


def test_trial_seeds_wrap_into_the_allowed_range():
    assert trial_seed(None, 3) is None
    assert trial_seed(0, 3) == 3
    assert trial_seed(LARGEST, 1) == 0
    assert trial_seed(LARGEST - 1, 1) == LARGEST
    assert all(0 <= trial_seed(LARGEST, i) <= LARGEST for i in range(1, 1000))


class _SeedingExecutor(ScoringExecutor):
    """Seeds as a worker does (:func:`set_random_seed`) and 'completes' untrained."""

    def submit(self, job):
        set_random_seed(job.seed)  # raises for a seed NumPy does not take
        return super().submit(job)


class _NoChildren:
    def tell(self, trial_id, graph, score):
        pass

    def ask(self):
        return None


def test_every_trial_of_a_search_with_the_largest_seed_gets_a_valid_seed(tmp_path):
    rng = np.random.default_rng(0)
    data = TrainingData(rng.random((8, 8, 8, 1), dtype=np.float32), rng.integers(0, 2, 8),
                        rng.random((4, 8, 8, 1), dtype=np.float32), rng.integers(0, 2, 4))
    executor = _SeedingExecutor(weights=False)
    history = run_search(
        project=Project(tmp_path / "p"),
        searcher=_NoChildren(),
        data=data,
        initial=[("mlp", generators.mlp((8, 8, 1), 2)), ("cnn", generators.cnn((8, 8, 1), 2, filters=4, stages=1))],
        settings=TrainingSettings(max_epochs=1),
        fine_tune_settings=TrainingSettings(max_epochs=1),
        budget=SearchBudget(max_trials=2, deadline=None),
        seed=LARGEST,
        executor=executor,
    )
    assert [r.status for r in history] == ["completed", "completed"]
    assert [job.seed for job in executor.jobs] == [0, 1]  # trials 1 and 2: (2**32 - 1 + i) mod 2**32
