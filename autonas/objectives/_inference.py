"""Helpers shared by latency and energy measurement: the model to run, its input, one timed inference."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autonas.graph import Graph


def resolve_model(model_or_graph: Any) -> Any:
    """A callable model: the Keras model of a Graph, or the object itself."""
    if isinstance(model_or_graph, Graph):
        return model_or_graph.to_keras()
    if not callable(model_or_graph):
        raise ValueError(f"expected a Keras model, a callable or a Graph, got {type(model_or_graph).__name__}")
    return model_or_graph


def resolve_input_shape(model_or_graph: Any, input_shape: Sequence[int] | None) -> tuple[int, ...]:
    """The input shape without the batch axis: given, the graph's, or the Keras model's."""
    if input_shape is None:
        if isinstance(model_or_graph, Graph):
            input_shape = model_or_graph.input_shape
        else:
            shape = getattr(model_or_graph, "input_shape", None)
            input_shape = None if shape is None else tuple(shape)[1:]
    if input_shape is None or not all(isinstance(s, (int, np.integer)) and s > 0 for s in input_shape):
        raise ValueError(f"need a known input shape without the batch axis (pass input_shape), got {input_shape!r}")
    return tuple(int(s) for s in input_shape)


def is_keras_model(model: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(model, keras.Model)


def inference_runner(model: Any, input_shape: tuple[int, ...], batch_size: int, seed: int = 0) -> Callable[[], None]:
    """A function running one inference of ``model`` on a fixed input and waiting for its result.

    The input is standard-normal float32 of shape ``(batch_size, *input_shape)``,
    made once. A Keras model gets it as a backend tensor and its output is
    fetched with ``keras.ops.convert_to_numpy`` (which waits for a GPU); any
    other callable gets the numpy array and its output goes through ``np.asarray``.
    """
    x: Any = np.random.default_rng(seed).standard_normal((batch_size, *input_shape)).astype(np.float32)
    if is_keras_model(model):
        import keras

        x = keras.ops.convert_to_tensor(x)

        def fetch(y: Any) -> None:
            keras.tree.map_structure(keras.ops.convert_to_numpy, y)

    else:

        def fetch(y: Any) -> None:
            for item in y if isinstance(y, (list, tuple)) else [y]:
                np.asarray(item)

    def run() -> None:
        fetch(model(x, training=False))

    return run
