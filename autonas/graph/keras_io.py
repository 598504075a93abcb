"""Conversion between :class:`~autonas.graph.Graph` and Keras 3 models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from autonas.backend import capabilities, import_keras_quietly

import_keras_quietly()  # the first import of Keras in most processes: no C++ log lines on the terminal

import keras  # noqa: E402
import numpy as np  # noqa: E402

from autonas.graph import layers as L  # noqa: E402
from autonas.graph.augmentation import SeparableRandomTranslation, SeparableRandomZoom  # noqa: E402

if TYPE_CHECKING:  # graph.py imports this module (lazily, in Graph.to_keras and from_keras): no import back
    from autonas.graph.graph import Graph

__all__ = ["graph_to_keras", "keras_to_graph", "layer_to_keras"]


def layer_to_keras(spec: L.LayerSpec, name: str, *, for_training: bool = False) -> keras.layers.Layer:
    """The Keras layer computing ``spec``, named ``name``.

    With ``for_training``, a translation or zoom is autonas's separable layer
    where the backend has no native ``affine_transform`` (see
    :func:`graph_to_keras`).
    """
    if isinstance(spec, L.Conv2D):
        return keras.layers.Conv2D(
            spec.filters, spec.kernel_size, strides=spec.strides, padding=spec.padding, use_bias=spec.use_bias, name=name
        )
    if isinstance(spec, L.Dense):
        return keras.layers.Dense(spec.units, use_bias=spec.use_bias, name=name)
    if isinstance(spec, L.BatchNormalization):
        return keras.layers.BatchNormalization(epsilon=spec.epsilon, momentum=spec.momentum, name=name)
    if isinstance(spec, L.Activation):
        return keras.layers.Activation(spec.activation, name=name)
    if isinstance(spec, L.MaxPooling2D):
        return keras.layers.MaxPooling2D(spec.pool_size, strides=spec.strides, padding=spec.padding, name=name)
    if isinstance(spec, L.AveragePooling2D):
        return keras.layers.AveragePooling2D(spec.pool_size, strides=spec.strides, padding=spec.padding, name=name)
    if isinstance(spec, L.GlobalAveragePooling2D):
        return keras.layers.GlobalAveragePooling2D(name=name)
    if isinstance(spec, L.Flatten):
        return keras.layers.Flatten(name=name)
    if isinstance(spec, L.Dropout):
        return keras.layers.Dropout(spec.rate, name=name)
    if isinstance(spec, L.Augmentation):
        return _augmentation_layer(spec, name, separable=for_training and not capabilities().native_affine_transform)
    if isinstance(spec, L.Add):
        return keras.layers.Add(name=name)
    if isinstance(spec, L.Concatenate):
        return keras.layers.Concatenate(axis=-1, name=name)
    raise ValueError(f"node {name!r}: layer {spec!r} has no Keras equivalent")


#: RandomContrast clips to its value range; graphs see standardised images, so the range is wide.
_CONTRAST_RANGE = (-1.0e4, 1.0e4)


def _augmentation_layer(spec: L.Augmentation, name: str, separable: bool = False) -> keras.layers.Layer:
    """Keras's preprocessing layer for ``spec`` (random while training, the identity at inference), or
    with ``separable`` autonas's layer drawing the same translations and zooms."""
    if spec.transform == "flip":
        return keras.layers.RandomFlip("horizontal", name=name)
    if separable and spec.transform == "translate":
        return SeparableRandomTranslation(spec.factor, name=name)
    if separable and spec.transform == "zoom":
        return SeparableRandomZoom(spec.factor, name=name)
    if spec.transform == "translate":
        return keras.layers.RandomTranslation(spec.factor, spec.factor, fill_mode="reflect", name=name)
    if spec.transform == "zoom":
        return keras.layers.RandomZoom(spec.factor, None, fill_mode="reflect", name=name)
    return keras.layers.RandomContrast(spec.factor, value_range=_CONTRAST_RANGE, name=name)


def _augmentation_spec(layer: keras.layers.Layer) -> L.Augmentation | None:
    """The :class:`~autonas.graph.layers.Augmentation` a Keras preprocessing layer computes, if any."""
    config = layer.get_config()

    def symmetric(value: Any) -> float | None:
        if isinstance(value, (int, float)):
            return abs(float(value))
        if isinstance(value, (list, tuple)) and len(value) == 2 and float(value[0]) == -float(value[1]):
            return abs(float(value[1]))
        return None

    cls = type(layer)
    if cls is SeparableRandomTranslation:
        return L.Augmentation("translate", layer.factor)
    if cls is SeparableRandomZoom:
        return L.Augmentation("zoom", layer.factor)
    if cls is keras.layers.RandomFlip and config.get("mode") == "horizontal":
        return L.Augmentation("flip")
    if cls is keras.layers.RandomTranslation:
        height, width = symmetric(config["height_factor"]), symmetric(config["width_factor"])
        if height is not None and height == width and config.get("fill_mode") == "reflect":
            return L.Augmentation("translate", height)
    if cls is keras.layers.RandomZoom:
        height = symmetric(config["height_factor"])
        if height is not None and config.get("width_factor") is None and config.get("fill_mode") == "reflect":
            return L.Augmentation("zoom", height)
    if cls is keras.layers.RandomContrast and tuple(config.get("value_range", ())) == _CONTRAST_RANGE:
        factor = config["factor"]  # Keras keeps it as a (lower, upper) pair
        factor = max(abs(float(f)) for f in factor) if isinstance(factor, (list, tuple)) else abs(float(factor))
        return L.Augmentation("contrast", factor)
    return None


def graph_to_keras(
    graph: Graph, name: str | None = None, *, for_training: bool = False, dtype_policy: str | None = None
) -> keras.Model:
    """Build a functional Keras model from ``graph`` (see :meth:`Graph.to_keras`).

    With ``for_training``, the model is one to train and read back with
    :meth:`Graph.update_weights`: where the backend has no native
    ``affine_transform`` (JAX, PyTorch), translations and zooms are
    autonas's separable layers (:mod:`autonas.graph.augmentation`; the same
    transforms, several times faster there), registered with Keras, so a
    saved model loads where autonas is imported. With ``dtype_policy`` (a
    Keras dtype policy's name, e.g. ``"mixed_bfloat16"``) every layer
    computes in it except the augmentations and the output layer, which stay
    in float32 (as Keras's mixed-precision guide advises for the output).
    """
    graph.validate()
    tensors: dict[str, Any] = {}
    weighted: list[tuple[keras.layers.Layer, list]] = []
    for node in graph.nodes:
        spec = graph.layer(node)
        if isinstance(spec, L.Input):
            tensors[node] = keras.Input(shape=spec.shape, name=node)
            continue
        layer = layer_to_keras(spec, node, for_training=for_training)
        if dtype_policy and node != graph.output and not isinstance(spec, L.Augmentation):
            layer.dtype_policy = dtype_policy  # before the layer is built: its weights take the policy's dtype
        inputs = [tensors[source] for source in graph.inputs(node)]
        weights = graph.weights(node)
        with _starting_from(layer, weights) as started:
            tensors[node] = layer(inputs if spec.merges else inputs[0])
        if weights is not None and not (started and _in_order(layer, weights)):
            weighted.append((layer, weights))  # Keras checks them and names what does not fit
    model = keras.Model(tensors[graph.input_node], tensors[graph.output], name=name)
    for layer, weights in weighted:
        layer.set_weights(weights)
    return model


#: The initializer attribute behind each weight of a Keras layer, in the order ``get_weights`` lists them.
_INITIALIZER_ATTRIBUTES = {
    keras.layers.Conv2D: ("kernel_initializer", "bias_initializer"),
    keras.layers.Dense: ("kernel_initializer", "bias_initializer"),
    keras.layers.BatchNormalization: (
        "gamma_initializer", "beta_initializer", "moving_mean_initializer", "moving_variance_initializer"
    ),
}


class _Values(keras.initializers.Initializer):
    """An initializer returning given values: a layer whose weights are known starts from them.

    Keras draws a new variable's values with its initializer; under JAX that
    compiles a random-number program for every new weight shape (about 0.07 s
    each on CPU, seconds for a whole model) only for the values to be
    overwritten at once. For a variable of another shape (a Keras release
    that lists a layer's weights in another order) it gives zeros, and
    :func:`graph_to_keras` sets the weights after (see :func:`_in_order`).
    """

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __call__(self, shape, dtype=None):
        dtype = keras.backend.standardize_dtype(dtype) if dtype else self.values.dtype
        if tuple(shape) != self.values.shape:
            return np.zeros(shape, dtype)
        return self.values.astype(dtype)


@contextmanager
def _starting_from(layer: keras.layers.Layer, weights: list | None) -> Iterator[bool]:
    """While ``layer`` builds, its variables start from ``weights``; yields whether they do (False: a
    layer type whose initializers are not known here, to be given its weights after).

    The layer's own initializers are put back after, so its config stays Keras's.
    """
    attributes = _INITIALIZER_ATTRIBUTES.get(type(layer), ())
    if weights is None or len(attributes) < len(weights):
        yield False
        return
    saved = {attribute: getattr(layer, attribute) for attribute in attributes}
    try:
        for attribute, values in zip(attributes, weights):
            setattr(layer, attribute, _Values(values))
        yield True
    finally:
        for attribute, initializer in saved.items():
            setattr(layer, attribute, initializer)


def _in_order(layer: keras.layers.Layer, weights: list) -> bool:
    """Whether ``layer``'s variables, in ``get_weights`` order, are those its initializers were set for
    (``kernel`` from ``kernel_initializer``, ...): then each holds its own weight."""
    attributes = _INITIALIZER_ATTRIBUTES[type(layer)][: len(weights)]
    return [variable.name for variable in layer.weights] == [a.removesuffix("_initializer") for a in attributes]


# ---------------------------------------------------------------------- reading Keras

_SUPPORTED = (
    "InputLayer, Conv2D, Dense, BatchNormalization, Activation, ReLU, Softmax, MaxPooling2D, "
    "AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout, Add, Concatenate, and the RandomFlip "
    "(horizontal), RandomTranslation, RandomZoom and RandomContrast layers autonas writes"
)


def _unsupported(layer: keras.layers.Layer, why: str = "") -> ValueError:
    reason = f" ({why})" if why else ""
    return ValueError(
        f"layer {layer.name!r} ({type(layer).__name__}) is not supported by autonas.graph{reason}; "
        f"supported layers: {_SUPPORTED}"
    )


def _activation_name(layer: keras.layers.Layer) -> str:
    name = keras.activations.serialize(layer.activation)
    if not isinstance(name, str) or name not in L.ACTIVATIONS:
        raise _unsupported(layer, f"activation {name!r}")
    return name


def _check_channels_last(layer: keras.layers.Layer) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise _unsupported(layer, "only channels_last data")


def _specs_of(layer: keras.layers.Layer) -> list[L.LayerSpec]:
    """The spec(s) computing a Keras layer: a linear layer and its activation become two."""
    cls = type(layer)
    if cls is keras.layers.Conv2D:
        _check_channels_last(layer)
        if tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
            raise _unsupported(layer, "dilation and groups must be 1")
        if layer.padding not in ("same", "valid"):
            raise _unsupported(layer, f"padding {layer.padding!r}")
        main: L.LayerSpec = L.Conv2D(layer.filters, layer.kernel_size, layer.strides, layer.padding, layer.use_bias)
        return [main, L.Activation(_activation_name(layer))]
    if cls is keras.layers.Dense:
        return [L.Dense(layer.units, layer.use_bias), L.Activation(_activation_name(layer))]
    if cls is keras.layers.BatchNormalization:
        if not (layer.center and layer.scale):
            raise _unsupported(layer, "center and scale must be on")
        return [L.BatchNormalization(layer.epsilon, layer.momentum)]
    if cls is keras.layers.Activation:
        return [L.Activation(_activation_name(layer))]
    if cls is keras.layers.ReLU:
        if layer.max_value is not None or layer.negative_slope != 0 or layer.threshold != 0:
            raise _unsupported(layer, "only the plain ReLU")
        return [L.Activation("relu")]
    if cls is keras.layers.Softmax:
        if layer.axis not in (-1, [-1]):
            raise _unsupported(layer, "softmax over the last axis only")
        return [L.Activation("softmax")]
    if cls in (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D):
        _check_channels_last(layer)
        spec_cls = L.MaxPooling2D if cls is keras.layers.MaxPooling2D else L.AveragePooling2D
        return [spec_cls(layer.pool_size, layer.strides, layer.padding)]
    if cls is keras.layers.GlobalAveragePooling2D:
        _check_channels_last(layer)
        if layer.keepdims:
            raise _unsupported(layer, "keepdims must be False")
        return [L.GlobalAveragePooling2D()]
    if cls is keras.layers.Flatten:
        return [L.Flatten()]
    if cls is keras.layers.Dropout:
        return [L.Dropout(layer.rate)]
    augmentation = _augmentation_spec(layer)
    if augmentation is not None:
        return [augmentation]
    if cls is keras.layers.Add:
        return [L.Add()]
    if cls is keras.layers.Concatenate:
        return [L.Concatenate()]
    raise _unsupported(layer)


def _add_keras_layer(graph: Graph, layer: keras.layers.Layer, inputs: list[str]) -> str:
    """Add the node(s) of ``layer`` reading ``inputs``; returns the last node's name."""
    specs = _specs_of(layer)
    axis = getattr(layer, "axis", -1)
    if isinstance(specs[0], (L.BatchNormalization, L.Concatenate)) and axis not in (-1, [-1]):
        last_axis = len(graph.shape(inputs[0]))  # the batch axis counts in Keras
        if axis not in (last_axis, [last_axis]):
            raise _unsupported(layer, "only along the last axis")
    if isinstance(specs[-1], L.Activation) and specs[-1].activation == "linear" and len(specs) == 2:
        specs = specs[:1]
    weights = layer.get_weights() or None
    node = graph.add_layer(specs[0], inputs, name=layer.name, weights=weights)
    for spec in specs[1:]:
        node = graph.add_layer(spec, [node], name=_free_name(graph, f"{layer.name}_{spec.activation}"))
    return node


def _free_name(graph: Graph, base: str) -> str:
    name, n = base, 1
    while name in graph:
        n += 1
        name = f"{base}_{n}"
    return name


def _history(arg: Any) -> Iterator[str]:
    """Names of the layers producing the Keras tensors in a serialised call argument."""
    if isinstance(arg, dict):
        if arg.get("class_name") == "__keras_tensor__":
            name, node_index, tensor_index = arg["config"]["keras_history"]
            if node_index != 0 or tensor_index != 0:
                raise ValueError(f"layer {name!r} is called more than once (shared layers are not supported)")
            yield name
        else:
            for value in arg.values():
                yield from _history(value)
    elif isinstance(arg, (list, tuple)):
        for value in arg:
            yield from _history(value)


def _input_shape(model: keras.Model) -> tuple[int, ...]:
    if not model.built or not getattr(model, "inputs", None):
        raise ValueError("model must be built with a known input shape (start it with keras.Input)")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError("only single-input, single-output models are supported")
    shape = tuple(model.inputs[0].shape[1:])
    if any(s is None for s in shape):
        raise ValueError(f"model input shape {shape} must be fully known (no None besides the batch axis)")
    return shape


def keras_to_graph(model: keras.Model, graph: Graph) -> Graph:
    """Read a Keras model into ``graph``, a new empty graph (see :meth:`Graph.from_keras`)."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    shape = _input_shape(model)
    if isinstance(model, keras.Sequential):
        input_name = model.inputs[0].name if getattr(model.inputs[0], "name", None) else "input"
        node = graph.add_layer(L.Input(shape), name=_free_name(graph, _safe(input_name)))
        for layer in model.layers:
            node = _add_keras_layer(graph, layer, [node])
        graph.output = node
        return graph.validate()

    config = model.get_config()
    if len(_refs(config["input_layers"])) != 1 or len(_refs(config["output_layers"])) != 1:
        raise ValueError("only single-input, single-output models are supported")
    last_node: dict[str, str] = {}
    for entry in config["layers"]:
        layer = model.get_layer(entry["name"])
        if isinstance(layer, keras.layers.InputLayer):
            last_node[layer.name] = graph.add_layer(L.Input(shape), name=layer.name)
            continue
        if isinstance(layer, keras.Model):
            raise _unsupported(layer, "nested models: call the layers directly")
        calls = entry.get("inbound_nodes", [])
        if len(calls) != 1:
            raise ValueError(f"layer {layer.name!r} is called {len(calls)} times (shared layers are not supported)")
        inputs = [last_node[name] for name in _history(calls[0])]
        last_node[layer.name] = _add_keras_layer(graph, layer, inputs)
    graph.output = last_node[_refs(config["output_layers"])[0][0]]
    return graph.validate()


def _refs(value: list) -> list:
    """Keras writes one input/output reference as ``[name, 0, 0]`` and several as a list of them."""
    return [value] if value and isinstance(value[0], str) else list(value)


def _safe(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in name)
    return cleaned if cleaned and (cleaned[0].isalpha() or cleaned[0] == "_") else f"input_{cleaned}"
