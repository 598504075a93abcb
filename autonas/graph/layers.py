"""Layer specifications: the vocabulary of the architecture IR.

A layer spec is plain, immutable data. It knows its output shape, the shapes of
its weights and its cost, but nothing about Keras: converting to and from Keras
layers lives in :mod:`autonas.graph.keras_io`. Shapes never include the batch
axis; images are channels-last ``(height, width, channels)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "ACTIVATIONS",
    "AUGMENTATIONS",
    "Activation",
    "Add",
    "Augmentation",
    "AveragePooling2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "Input",
    "LayerSpec",
    "MaxPooling2D",
    "ShapeError",
    "layer_from_config",
]

Shape = tuple[int, ...]

#: Element-wise activations a graph may contain.
ACTIVATIONS = ("relu", "softmax", "sigmoid", "tanh", "linear", "elu", "gelu", "silu")

_PADDINGS = ("same", "valid")

#: Random image transformations an :class:`Augmentation` may apply while training.
AUGMENTATIONS = ("flip", "translate", "zoom", "contrast")


class ShapeError(ValueError):
    """A layer cannot accept the shapes of its inputs."""


def _pair(value: int | tuple[int, int] | list[int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        pair = (value, value)
    else:
        pair = tuple(int(v) for v in value)
    if len(pair) != 2 or any(v < 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return pair  # type: ignore[return-value]


def _check_padding(padding: str) -> None:
    if padding not in _PADDINGS:
        raise ValueError(f"padding must be one of {_PADDINGS}, got {padding!r}")


def _spatial_out(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


def _single(shapes: list[Shape], layer: str) -> Shape:
    if len(shapes) != 1:
        raise ShapeError(f"{layer} takes exactly one input, got {len(shapes)}")
    return shapes[0]


def _image(shapes: list[Shape], layer: str) -> Shape:
    shape = _single(shapes, layer)
    if len(shape) != 3:
        raise ShapeError(f"{layer} expects an image input (height, width, channels), got {shape}")
    return shape


@dataclass(frozen=True)
class LayerSpec:
    """Base class of all layer specs.

    Subclasses are frozen dataclasses; their fields are the whole configuration.
    """

    #: Whether the layer combines several inputs (Add, Concatenate).
    merges: ClassVar[bool] = False

    @property
    def type(self) -> str:
        """The spec's type name, as stored in JSON."""
        return type(self).__name__

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        """Shape of the output given the input shapes (no batch axis).

        Raises:
            ShapeError: if the inputs do not fit the layer.
        """
        return _single(input_shapes, self.type)

    def weight_shapes(self, input_shapes: list[Shape]) -> list[Shape]:
        """Shapes of the layer's weights, in Keras's order."""
        return []

    def macs(self, input_shapes: list[Shape]) -> int:
        """Multiply-accumulates per example (counted for Conv2D and Dense only)."""
        return 0

    def to_config(self) -> dict[str, Any]:
        """Plain-JSON configuration, with the type name under ``"type"``."""
        config: dict[str, Any] = {"type": self.type}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            config[field.name] = list(value) if isinstance(value, tuple) else value
        return config


@dataclass(frozen=True)
class Input(LayerSpec):
    """The network's input. ``shape`` excludes the batch axis."""

    shape: Shape

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        if not shape or any(s < 1 for s in shape):
            raise ValueError(f"Input shape must be positive ints, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        if input_shapes:
            raise ShapeError("Input takes no inputs")
        return self.shape


@dataclass(frozen=True)
class Conv2D(LayerSpec):
    """2-D convolution, channels last, linear (activations are separate nodes)."""

    filters: int
    kernel_size: tuple[int, int] = (3, 3)
    strides: tuple[int, int] = (1, 1)
    padding: str = "same"
    use_bias: bool = True

    def __post_init__(self) -> None:
        if int(self.filters) < 1:
            raise ValueError(f"filters must be a positive int, got {self.filters!r}")
        object.__setattr__(self, "filters", int(self.filters))
        object.__setattr__(self, "kernel_size", _pair(self.kernel_size, "kernel_size"))
        object.__setattr__(self, "strides", _pair(self.strides, "strides"))
        object.__setattr__(self, "use_bias", bool(self.use_bias))
        _check_padding(self.padding)

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        h, w, _ = _image(input_shapes, self.type)
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        out_h, out_w = _spatial_out(h, kh, sh, self.padding), _spatial_out(w, kw, sw, self.padding)
        if out_h < 1 or out_w < 1:
            raise ShapeError(f"kernel {self.kernel_size} does not fit input {(h, w)}")
        return (out_h, out_w, self.filters)

    def weight_shapes(self, input_shapes: list[Shape]) -> list[Shape]:
        channels = _image(input_shapes, self.type)[2]
        kernel = (*self.kernel_size, channels, self.filters)
        return [kernel, (self.filters,)] if self.use_bias else [kernel]

    def macs(self, input_shapes: list[Shape]) -> int:
        out_h, out_w, _ = self.output_shape(input_shapes)
        kh, kw = self.kernel_size
        return out_h * out_w * kh * kw * input_shapes[0][2] * self.filters


@dataclass(frozen=True)
class Dense(LayerSpec):
    """Fully connected layer on a flat input, linear."""

    units: int
    use_bias: bool = True

    def __post_init__(self) -> None:
        if int(self.units) < 1:
            raise ValueError(f"units must be a positive int, got {self.units!r}")
        object.__setattr__(self, "units", int(self.units))
        object.__setattr__(self, "use_bias", bool(self.use_bias))

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        shape = _single(input_shapes, self.type)
        if len(shape) != 1:
            raise ShapeError(f"Dense expects a flat input (features,), got {shape}")
        return (self.units,)

    def weight_shapes(self, input_shapes: list[Shape]) -> list[Shape]:
        kernel = (input_shapes[0][0], self.units)
        return [kernel, (self.units,)] if self.use_bias else [kernel]

    def macs(self, input_shapes: list[Shape]) -> int:
        return input_shapes[0][0] * self.units


@dataclass(frozen=True)
class BatchNormalization(LayerSpec):
    """Batch normalisation over the last axis (gamma, beta, moving mean and variance).

    ``momentum`` defaults to 0.9, not Keras's 0.99: with the few steps per epoch
    of small data sets, 0.99 leaves the moving statistics (used at inference)
    lagging for many epochs, so validation accuracy and early stopping suffer.
    """

    epsilon: float = 1e-3
    momentum: float = 0.9

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", float(self.epsilon))
        object.__setattr__(self, "momentum", float(self.momentum))

    def weight_shapes(self, input_shapes: list[Shape]) -> list[Shape]:
        channels = _single(input_shapes, self.type)[-1]
        return [(channels,)] * 4


@dataclass(frozen=True)
class Activation(LayerSpec):
    """Element-wise activation; ``"relu"`` is the ReLU of the conv blocks."""

    activation: str = "relu"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")


@dataclass(frozen=True)
class _Pooling2D(LayerSpec):
    pool_size: tuple[int, int] = (2, 2)
    strides: tuple[int, int] | None = None
    padding: str = "valid"

    def __post_init__(self) -> None:
        pool = _pair(self.pool_size, "pool_size")
        object.__setattr__(self, "pool_size", pool)
        strides = pool if self.strides is None else _pair(self.strides, "strides")
        object.__setattr__(self, "strides", strides)
        _check_padding(self.padding)

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        h, w, c = _image(input_shapes, self.type)
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        out_h, out_w = _spatial_out(h, ph, sh, self.padding), _spatial_out(w, pw, sw, self.padding)
        if out_h < 1 or out_w < 1:
            raise ShapeError(f"pool {self.pool_size} does not fit input {(h, w)}")
        return (out_h, out_w, c)


@dataclass(frozen=True)
class MaxPooling2D(_Pooling2D):
    """Max pooling; ``strides`` default to ``pool_size``."""


@dataclass(frozen=True)
class AveragePooling2D(_Pooling2D):
    """Average pooling; ``strides`` default to ``pool_size``."""


@dataclass(frozen=True)
class GlobalAveragePooling2D(LayerSpec):
    """Mean over height and width: (h, w, c) -> (c,)."""

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        return (_image(input_shapes, self.type)[2],)


@dataclass(frozen=True)
class Flatten(LayerSpec):
    """Row-major flattening (channels vary fastest)."""

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        return (math.prod(_single(input_shapes, self.type)),)


@dataclass(frozen=True)
class Dropout(LayerSpec):
    """Dropout (identity at inference)."""

    rate: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.rate) < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {self.rate!r}")
        object.__setattr__(self, "rate", float(self.rate))


@dataclass(frozen=True)
class Augmentation(LayerSpec):
    """A random image transformation while training, the identity at inference.

    Attributes:
        transform: One of :data:`AUGMENTATIONS`: ``"flip"`` (left-right),
            ``"translate"`` (shift by up to ``factor`` of the height and width),
            ``"zoom"`` (in or out by up to ``factor``), ``"contrast"`` (scale
            each image's deviation from its mean by 1 ± ``factor``).
        factor: Strength, in (0, 1) (ignored by ``"flip"``).
    """

    transform: str
    factor: float = 0.1

    def __post_init__(self) -> None:
        if self.transform not in AUGMENTATIONS:
            raise ValueError(f"transform must be one of {AUGMENTATIONS}, got {self.transform!r}")
        if not 0.0 < float(self.factor) < 1.0:
            raise ValueError(f"factor must be in (0, 1), got {self.factor!r}")
        object.__setattr__(self, "factor", float(self.factor))

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        return _image(input_shapes, self.type)


@dataclass(frozen=True)
class Add(LayerSpec):
    """Element-wise sum of inputs of one shape."""

    merges: ClassVar[bool] = True

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        if len(input_shapes) < 2:
            raise ShapeError(f"Add needs at least two inputs, got {len(input_shapes)}")
        if len(set(input_shapes)) != 1:
            raise ShapeError(f"Add inputs must share one shape, got {input_shapes}")
        return input_shapes[0]


@dataclass(frozen=True)
class Concatenate(LayerSpec):
    """Concatenation along the last (channel) axis; input order matters."""

    merges: ClassVar[bool] = True

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        if len(input_shapes) < 2:
            raise ShapeError(f"Concatenate needs at least two inputs, got {len(input_shapes)}")
        if len({shape[:-1] for shape in input_shapes}) != 1:
            raise ShapeError(f"Concatenate inputs must agree on all but the last axis, got {input_shapes}")
        return (*input_shapes[0][:-1], sum(shape[-1] for shape in input_shapes))


_LAYER_TYPES: dict[str, type[LayerSpec]] = {
    cls.__name__: cls
    for cls in (
        Input,
        Conv2D,
        Dense,
        BatchNormalization,
        Activation,
        MaxPooling2D,
        AveragePooling2D,
        GlobalAveragePooling2D,
        Flatten,
        Dropout,
        Augmentation,
        Add,
        Concatenate,
    )
}


def layer_from_config(config: dict[str, Any]) -> LayerSpec:
    """Rebuild a layer spec from :meth:`LayerSpec.to_config` output.

    Raises:
        ValueError: if the type is unknown or the fields do not fit it.
    """
    config = dict(config)
    type_name = config.pop("type", None)
    cls = _LAYER_TYPES.get(type_name)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown layer type {type_name!r}; supported: {sorted(_LAYER_TYPES)}")
    try:
        return cls(**config)
    except TypeError as error:
        raise ValueError(f"bad configuration for {type_name}: {error}") from None
