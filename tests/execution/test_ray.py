"""RayExecutor on a local Ray instance with 2 CPUs (CI installs the ``ray`` extra)."""

import pytest

from autonas.engine import Project, SearchBudget, run_search
from autonas.execution import TrainingData, TrainingSettings
from autonas.graph import generators
from autonas.search import RandomSearcher

ray = pytest.importorskip("ray")

from autonas.execution.ray_executor import RayExecutor  # noqa: E402

pytestmark = pytest.mark.slow  # trains networks or starts processes

QUICK = TrainingSettings(max_epochs=4, patience=4, batch_size=32, learning_rate=3e-3)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="max_workers"):
        RayExecutor(max_workers=0)
    with pytest.raises(ValueError, match="cpus_per_trial"):
        RayExecutor(cpus_per_trial=0)


def test_four_trials_run_as_ray_tasks(tmp_path, digits):
    x_train, x_test, y_train, y_test = digits
    data = TrainingData(x_train[:600], y_train[:600], x_test[:200], y_test[:200])
    executor = RayExecutor(init_kwargs={"num_cpus": 2})
    initial = [("mlp", generators.mlp((8, 8, 1), 10)), ("cnn", generators.cnn((8, 8, 1), 10, filters=4))]
    history = run_search(
        project=Project(tmp_path, overwrite=True),
        searcher=RandomSearcher(seed=0),
        data=data,
        initial=initial,
        settings=QUICK,
        fine_tune_settings=QUICK,
        budget=SearchBudget(max_trials=4, deadline=None),
        seed=0,
        executor=executor,
    )
    assert executor.max_workers == 2
    assert [r.status for r in history] == ["completed"] * 4, [r.error for r in history]
    assert sum(r.parent is not None for r in history) == 2  # two morphed children trained from their parents
    assert min(r.metrics["val_accuracy"] for r in history) > 0.4
    assert not ray.is_initialized()  # the executor started Ray, so it stopped it


def test_ray_executor_is_exported_beside_the_other_executors():
    import autonas.execution
    from autonas.execution import RayExecutor
    from autonas.execution.ray_executor import RayExecutor as Defined

    assert RayExecutor is Defined and "RayExecutor" in autonas.execution.__all__
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        autonas.execution.Nothing  # noqa: B018
