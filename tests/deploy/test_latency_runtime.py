"""Latency where the model will run: ``Objective(latency_runtime=...)`` times each candidate in onnxruntime or LiteRT.

TensorFlow only (no ``backend`` marker): the converters read the TensorFlow
graph; under another backend the search is refused before training, which
``test_a_runtime_this_process_cannot_measure_in_is_refused_before_any_training``
checks by pretending the backend is JAX.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.datasets import load_digits
from autonas.execution import SerialExecutor, TrainingSettings
from autonas.execution import train_graph
from autonas.graph import generators
from autonas.objectives import Objective, as_objective, measure_costs
from autonas.objectives import latency as latency_module
from autonas.objectives.latency import LatencyRuntimeError, measure_runtime_latency


@pytest.fixture(scope="module")
def small_cnn():
    return generators.cnn((8, 8, 1), 10, filters=8)


@pytest.mark.parametrize("runtime", ["onnxruntime", "litert"])
def test_the_batch_1_latency_of_a_small_model_is_measured_in_the_runtime(runtime, small_cnn, monkeypatch):
    calls = []
    timed = latency_module.measure_latency

    def spy(call, shape, **options):  # what is timed: the runtime's call on one image
        calls.append((options["batch_sizes"], np.asarray(call(np.zeros((1, *shape), np.float32))).shape))
        return timed(call, shape, **options)

    monkeypatch.setattr(latency_module, "measure_latency", spy)
    result = measure_runtime_latency(small_cnn.to_keras(), runtime, repeats=5, warmup=1)
    assert calls == [((1,), (1, 10))]
    assert result["latency_runtime"] == runtime and result["latency_repeats"] == 5
    assert 0 < result["latency_ms"] < math.inf and result["latency_conversion_seconds"] > 0


def test_measured_costs_say_where_latency_was_measured_and_keep_the_keras_figure(small_cnn):
    fast = {"batch_sizes": (1,), "repeats": 3, "warmup": 1, "energy_method": "estimate"}
    in_keras = measure_costs(small_cnn, **fast)
    assert in_keras["latency_runtime"] == "keras" and "latency_ms_keras" not in in_keras
    deployed = measure_costs(small_cnn, latency_runtime="onnxruntime", **fast)
    assert deployed["latency_runtime"] == "onnxruntime"
    assert deployed["latency_ms"] > 0 and deployed["latency_ms_keras"] == deployed["latency_ms_batch_1"] > 0
    untimed = measure_costs(small_cnn, timed=False, latency_runtime="onnxruntime")
    assert not [key for key in untimed if key.startswith("latency")]


def test_the_limit_reads_the_runtimes_figure_and_the_front_holds_latency():
    objective = Objective(max_latency=1.0, latency_runtime="onnxruntime")
    assert objective.violations({"latency_ms": 0.5, "latency_ms_keras": 9.0}) == []
    assert objective.timed_costs == "onnxruntime" and ("latency_ms", "min") in objective.pareto_objectives
    assert "latency_runtime='onnxruntime'" in repr(objective)
    # asking for a runtime is asking for the measurement; a default objective times nothing
    assert Objective(latency_runtime="litert").timed_costs == "litert"
    assert Objective().timed_costs is False and Objective(max_latency=5).timed_costs == "keras"
    assert Objective.from_callable(lambda m: 0.0, latency_runtime="litert").latency_runtime == "litert"
    merged = as_objective(Objective(latency_runtime="litert"), {"max_latency": 2.0}, given_by="AutoImageClassifier")
    assert (merged.max_latency, merged.latency_runtime) == (2.0, "litert")


@pytest.mark.parametrize("bad", ["tflite", "ONNX", None, 1])
def test_an_unknown_latency_runtime_is_refused(bad, small_cnn):
    with pytest.raises(ValueError, match=r"latency_runtime must be one of \['keras', 'onnxruntime', 'litert'\]"):
        Objective(latency_runtime=bad)
    with pytest.raises(ValueError, match="latency_runtime"):
        measure_costs(small_cnn, latency_runtime=bad)


@pytest.mark.slow
def test_a_runtime_this_process_cannot_measure_in_is_refused_before_any_training(tmp_path, monkeypatch):
    x, _, y, _ = load_digits()

    def fit(runtime: str) -> None:
        AutoImageClassifier(
            max_trials=1, objective=Objective(latency_runtime=runtime), directory=tmp_path, verbose=0,
            executor=SerialExecutor(), tensorboard=False,
        ).fit(x, y, epochs=1)

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not installed, whatever this machine has
    with pytest.raises(ImportError, match=r"latency_runtime='onnxruntime' needs.*'onnxruntime'.*pip install autonas\[deploy\]"):
        fit("onnxruntime")
    monkeypatch.setattr("autonas.backend.backend_name", lambda: "jax")
    with pytest.raises(ValueError, match="latency_runtime='litert'.*backend 'jax'.*KERAS_BACKEND=tensorflow"):
        fit("litert")
    assert not list(tmp_path.iterdir())  # refused before the project folder was made


@pytest.mark.slow
def test_a_model_the_runtime_cannot_take_fails_its_trial(small_cnn, monkeypatch):
    def broken(model, path, metadata):
        raise NotImplementedError("no ONNX op for it")

    monkeypatch.setattr("autonas.deploy.converters.to_onnx", broken)
    x = np.random.default_rng(0).standard_normal((32, 8, 8, 1)).astype(np.float32)
    y = np.arange(32) % 10
    result = train_graph(small_cnn, x, y, TrainingSettings(max_epochs=1, batch_size=16), timed="onnxruntime")
    assert result.status == "failed" and "could not convert the model to onnxruntime" in result.error
    assert "no ONNX op for it" in result.error
    with pytest.raises(LatencyRuntimeError):
        measure_runtime_latency(small_cnn.to_keras(), "onnxruntime")


@pytest.mark.slow
def test_a_search_under_a_latency_limit_in_onnxruntime_records_and_shows_it(tmp_path, capsys):
    x_train, _, y_train, _ = load_digits()
    classifier = AutoImageClassifier(
        max_trials=2, objective=Objective(max_latency=50.0, latency_runtime="onnxruntime"), directory=tmp_path,
        seed=0, verbose=0, executor=SerialExecutor(), tensorboard=False, searcher="random",
    ).fit(x_train, y_train, epochs=2)
    completed = [r for r in classifier.history_ if r.status == "completed"]
    assert len(completed) == 2
    for record in completed:
        metrics = record.metrics
        assert metrics["latency_runtime"] == "onnxruntime"
        assert 0 < metrics["latency_ms"] <= 50.0 and metrics["latency_ms_keras"] > 0
        print(f"trial {record.id} ({record.name}): batch-1 latency {metrics['latency_ms']:.4f} ms in onnxruntime, "
              f"{metrics['latency_ms_keras']:.4f} ms in Keras; conversion {metrics['latency_conversion_seconds']:.2f} s")
    capsys.readouterr()
    classifier.leaderboard()
    table = capsys.readouterr().out
    print(table)
    assert "latency (ms, onnxruntime)" in table.splitlines()[0]
    assert classifier.pareto_front()
    page = classifier.report(tmp_path / "report.html").read_text()
    assert "<th>latency (ms, onnxruntime)</th>" in page
    assert "validation accuracy against latency (ms, onnxruntime)" in page
    plot = classifier.plot_pareto(tmp_path / "latency.png", cost="latency_ms")
    assert plot.read_bytes()[:4] == b"\x89PNG"
