"""Wall-clock latency of a model's inference, in Keras or in the runtime the model will be deployed to.

Keras is imported only when a :class:`~autonas.graph.Graph` must be built into a
model; a plain callable ``model(x, training=False)`` is timed as it is.
:func:`measure_runtime_latency` converts a Keras model with autonas's
deployment converters (:mod:`autonas.deploy.converters`, TensorFlow backend)
and times it in onnxruntime or the LiteRT interpreter, one thread each.
"""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from autonas.objectives._inference import inference_runner, resolve_input_shape, resolve_model

__all__ = [
    "LATENCY_RUNTIMES", "LatencyRuntimeError", "check_latency_runtime", "latency_label", "measure_latency",
    "measure_runtime_latency",
]

#: Where a candidate's batch-1 latency may be measured (``Objective(latency_runtime=...)``).
LATENCY_RUNTIMES = ("keras", "onnxruntime", "litert")

#: Python packages (module names) measuring in each runtime imports: the converter and the runtime.
_RUNTIME_PACKAGES = {
    "keras": (),
    "onnxruntime": ("tensorflow", "tf2onnx", "onnx", "onnxruntime"),
    "litert": ("tensorflow", "ai_edge_litert"),
}

#: The file format each runtime measures a candidate converted to (the backend must write it).
_RUNTIME_FORMATS = {"onnxruntime": "onnx", "litert": "litert"}


class LatencyRuntimeError(RuntimeError):
    """A trained model could not be converted to, or run in, the latency runtime."""


def check_latency_runtime(runtime: Any, available: bool = False) -> str:
    """Refuse a latency runtime that is unknown or, with ``available``, cannot be measured in this process.

    Args:
        runtime: One of :data:`LATENCY_RUNTIMES`.
        available: Also check that this process can measure in it: the Keras
            backend is TensorFlow (the converters read the TensorFlow graph)
            and the packages of ``autonas[deploy]`` are installed.

    Returns:
        ``runtime``.

    Raises:
        ValueError: naming ``latency_runtime`` and the allowed values, or the backend to run.
        ImportError: naming the packages to install (``pip install autonas[deploy]``).
    """
    if not isinstance(runtime, str) or runtime not in LATENCY_RUNTIMES:
        raise ValueError(f"latency_runtime must be one of {list(LATENCY_RUNTIMES)}, got {runtime!r}")
    if not available or runtime == "keras":
        return runtime
    from autonas.backend import backend_name, check_backend_writes

    check_backend_writes(
        _RUNTIME_FORMATS[runtime],
        f"latency_runtime={runtime!r}",
        "each trained candidate is converted to it; search with KERAS_BACKEND=tensorflow, or measure with "
        "latency_runtime='keras'",
        backend=backend_name(),
    )
    missing = [name for name in _RUNTIME_PACKAGES[runtime] if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"latency_runtime={runtime!r} needs the package(s) {missing}: pip install autonas[deploy]")
    return runtime


def latency_label(records: Iterable[Any], unit: str = "ms") -> str | None:
    """``"latency (ms, onnxruntime)"``: what a column or axis of the trials' ``latency_ms`` is; None if none has one.

    The runtime is each record's ``latency_runtime`` (records written before it
    was kept were measured in Keras); several are listed, comma-separated.
    """
    runtimes = set()
    for record in records:
        metrics = getattr(record, "metrics", record)
        if metrics.get("latency_ms") is not None:
            runtimes.add(str(metrics.get("latency_runtime", "keras")))
    return f"latency ({unit}, {', '.join(sorted(runtimes))})" if runtimes else None


def measure_latency(
    model_or_graph: Any,
    input_shape: Sequence[int] | None = None,
    batch_sizes: Sequence[int] = (1, 32),
    repeats: int = 15,
    warmup: int = 2,
    max_seconds: float | None = None,
) -> dict[str, float]:
    """Median wall-clock time of an inference call, per batch size.

    Each batch size gets its own fixed input and ``warmup`` untimed calls;
    then the batch sizes take turns, ``repeats`` rounds, each call timed alone
    with :func:`time.perf_counter` (the call ``model(x, training=False)`` plus
    fetching its output). Taking turns keeps a changing load on a shared
    machine from favouring one batch size.

    Args:
        model_or_graph: A Keras model, a :class:`~autonas.graph.Graph` (built
            with ``to_keras()``) or any callable ``model(x, training=False)``.
        input_shape: Input shape without the batch axis; default the graph's
            or the Keras model's.
        batch_sizes: Batch sizes to time; default ``(1, 32)``.
        repeats: Timed calls per batch size; default 15.
        warmup: Untimed calls first (building, tracing, caches); default 2.
        max_seconds: Time budget (None: no limit): no further round starts once
            it is spent, but at least one round is timed. Large models on large
            images take seconds a call; a trial's measurement must not outlast
            its training.

    Returns:
        ``latency_ms_batch_<b>``: median milliseconds of one call at batch size
        ``b``, for each ``b``; ``latency_ms``: that of the smallest batch size
        (batch 1 by default); ``latency_repeats``: the rounds timed.

    Raises:
        ValueError: for no batch sizes, a non-positive batch size or repeats,
            or an unknown input shape.
    """
    sizes = sorted({int(b) for b in batch_sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"batch_sizes must be positive ints, got {batch_sizes!r}")
    if int(repeats) < 1 or int(warmup) < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats!r}, {warmup!r}")
    shape = resolve_input_shape(model_or_graph, input_shape)
    model = resolve_model(model_or_graph)
    begin = time.perf_counter()
    runs = {size: inference_runner(model, shape, size) for size in sizes}
    for run in runs.values():
        for _ in range(int(warmup)):
            run()
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for round_ in range(int(repeats)):  # interleaved, so drifting load affects every batch size alike
        if round_ and max_seconds is not None and time.perf_counter() - begin > max_seconds:
            break
        for size, run in runs.items():
            start = time.perf_counter()
            run()
            times[size].append((time.perf_counter() - start) * 1e3)
    result: dict[str, float] = {f"latency_ms_batch_{size}": statistics.median(times[size]) for size in sizes}
    result["latency_ms"] = result[f"latency_ms_batch_{sizes[0]}"]
    result["latency_repeats"] = len(times[sizes[0]])
    return result


def _onnxruntime_call(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x, training=False: session.run(None, {name: x})[0]


def _litert_call(path: Path, shape: tuple[int, ...]):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    source, target = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(source, [1, *shape])
    interpreter.allocate_tensors()

    def call(x, training=False):
        interpreter.set_tensor(source, x)
        interpreter.invoke()
        return interpreter.get_tensor(target)

    return call


def measure_runtime_latency(
    model: Any,
    runtime: str,
    input_shape: Sequence[int] | None = None,
    repeats: int = 15,
    warmup: int = 2,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Median batch-1 latency of a Keras model converted to ``runtime`` and run there on one thread.

    The model is written to a temporary file by autonas's deployment
    converters (ONNX through tf2onnx, LiteRT through TensorFlow's Lite
    converter, float32) and loaded as a deployment loads it: an onnxruntime
    ``InferenceSession`` on the CPU with one intra-op and one inter-op thread,
    or the LiteRT interpreter with ``num_threads=1``. Each timed call feeds one
    fixed standard-normal image and fetches the class probabilities;
    ``warmup``, ``repeats`` and ``max_seconds`` as for :func:`measure_latency`
    (the conversion is not part of the budget).

    Args:
        model: A functional Keras model with one input (TensorFlow backend).
        runtime: ``"onnxruntime"`` or ``"litert"`` (``"keras"``: :func:`measure_latency` at batch 1).
        input_shape: Input shape without the batch axis; default the model's.
        repeats, warmup, max_seconds: As for :func:`measure_latency`.

    Returns:
        ``latency_ms`` (median of batch-1 calls), ``latency_runtime``,
        ``latency_repeats`` and ``latency_conversion_seconds`` (writing the file).

    Raises:
        ValueError, ImportError: as :func:`check_latency_runtime` (``available=True``).
        LatencyRuntimeError: when the model cannot be converted or run in ``runtime``.
    """
    check_latency_runtime(runtime, available=True)
    shape = resolve_input_shape(model, input_shape)
    if runtime == "keras":
        result = measure_latency(model, shape, batch_sizes=(1,), repeats=repeats, warmup=warmup, max_seconds=max_seconds)
        return {"latency_ms": result["latency_ms"], "latency_runtime": runtime, "latency_repeats": result["latency_repeats"]}
    from autonas.deploy import converters

    with tempfile.TemporaryDirectory(prefix="autonas-latency-") as folder:
        start = time.perf_counter()
        try:
            if runtime == "onnxruntime":
                path = Path(folder) / "model.onnx"
                converters.to_onnx(model, path, {})
                call = _onnxruntime_call(path)
            else:
                path = Path(folder) / "model.tflite"
                converters.to_litert(model, path, None)
                call = _litert_call(path, shape)
        except Exception as error:  # noqa: BLE001 - any converter or runtime failure says the same: not deployable there
            raise LatencyRuntimeError(
                f"could not convert the model to {runtime} to measure its latency there: {type(error).__name__}: {error}"
            ) from error
        converted = time.perf_counter() - start
        try:
            result = measure_latency(call, shape, batch_sizes=(1,), repeats=repeats, warmup=warmup, max_seconds=max_seconds)
        except Exception as error:  # noqa: BLE001
            raise LatencyRuntimeError(f"the model converted to {runtime} failed to run: {type(error).__name__}: {error}") from error
    return {
        "latency_ms": result["latency_ms"],
        "latency_runtime": runtime,
        "latency_repeats": result["latency_repeats"],
        "latency_conversion_seconds": converted,
    }
