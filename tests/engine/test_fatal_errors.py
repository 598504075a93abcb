"""An error that is autonas's own fault stops the search with its traceback; a bad architecture fails its trial."""

from dataclasses import dataclass

import numpy as np
import pytest

from autonas.engine import Project
from autonas.engine.loop import SearchBudget, run_search
from autonas.errors import FatalError
from autonas.execution import SerialExecutor, TrainingSettings
from autonas.execution.executor import TrainingData
from autonas.execution.local import LocalExecutor
from autonas.graph import Graph, generators
from autonas.graph import layers as L
from autonas.search import RandomSearcher

pytestmark = [pytest.mark.slow, pytest.mark.backend]  # trains networks or starts processes; runs again under JAX in CI


@dataclass(frozen=True)
class BrokenSpec(L.LayerSpec):
    """A layer spec with shapes but no Keras layer: building its model is a bug, not a bad architecture."""

    def output_shape(self, input_shapes):
        return input_shapes[0]


def _broken_graph() -> Graph:
    graph = generators.cnn((8, 8, 1), 3, filters=4, stages=1)
    relu = next(n for n in graph.nodes if graph.layer(n).type == "Activation")
    broken = graph.add_layer(BrokenSpec(), [relu], name="broken")
    for consumer in graph.consumers(relu):
        if consumer != broken:
            graph.replace_input(consumer, relu, broken)
    return graph.validate()


def _data() -> TrainingData:
    rng = np.random.default_rng(0)
    return TrainingData(
        rng.random((60, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 60),
        rng.random((30, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 30),
    )


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_a_graph_that_cannot_be_built_stops_the_search_with_the_traceback(tmp_path, executor):
    project = Project(tmp_path / "p")
    chosen = SerialExecutor() if executor == "serial" else LocalExecutor(max_workers=1)
    with pytest.raises(FatalError, match="(?s)bug in autonas.*Traceback.*no Keras equivalent"):
        run_search(
            project=project,
            searcher=RandomSearcher(seed=0),
            data=_data(),
            initial=[("broken", _broken_graph())],
            settings=TrainingSettings(max_epochs=1),
            fine_tune_settings=TrainingSettings(max_epochs=1),
            budget=SearchBudget(max_trials=3, deadline=None),
            seed=0,
            executor=chosen,
        )
    assert project.load_trials() == []  # no failed trial stands for the bug
    if executor == "local":  # its workers wrote to the project's logs, and the executor is left as given
        assert list((project.path / "logs").glob("worker-*.log")) and chosen.log_dir is None


def test_a_failed_trial_keeps_its_traceback(digits):
    from autonas.execution import train_graph

    x_train, _, y_train, _ = digits
    result = train_graph(
        generators.mlp((4, 4, 1), 10),  # the data are 8×8 images: the fit itself fails
        x_train[:64],
        y_train[:64],
        TrainingSettings(max_epochs=1),
        validation=(x_train[64:96], y_train[64:96]),
        seed=0,
        measure=False,
    )
    assert result.status == "failed" and result.failure_kind == "data"  # images the network does not take
    assert "Traceback" in result.metrics["traceback"] and "model.fit(" in result.metrics["traceback"]
