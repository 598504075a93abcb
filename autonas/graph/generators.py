"""Initial architectures the search starts from.

Each generator returns a valid :class:`~autonas.graph.Graph` without weights
(Keras initialises them when the graph is built). Depth adapts to the input
size: a pooling stage is added only while the feature map stays at least 2×2,
so the same defaults serve 8×8 digits and larger colour images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from autonas.graph import layers as L
from autonas.graph.graph import Graph

__all__ = ["BY_NAME", "INITIAL", "cnn", "densenet", "mlp", "resnet"]


def _image_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or any(s < 1 for s in shape):
        raise ValueError(f"input_shape must be (height, width) or (height, width, channels), got {input_shape!r}")
    return shape  # type: ignore[return-value]


def _check_classes(num_classes: int) -> None:
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")


def _default_stages(height: int, width: int) -> int:
    """Three stages, more for large images so the last map is about 4×4 to 8×8."""
    return min(6, max(3, math.ceil(math.log2(max(min(height, width), 1) / 4))))


def _conv_bn_relu(graph: Graph, x: str, filters: int, kernel_size: int = 3, strides: int = 1) -> str:
    x = graph.add_layer(L.Conv2D(filters, kernel_size, strides, "same"), [x])
    x = graph.add_layer(L.BatchNormalization(), [x])
    return graph.add_layer(L.Activation("relu"), [x])


def _classifier(graph: Graph, x: str, num_classes: int, hidden_units: int = 0, dropout: float = 0.0) -> Graph:
    """Head: optional hidden Dense + ReLU, optional Dropout, Dense to the classes, softmax."""
    if hidden_units:
        x = graph.add_layer(L.Dense(hidden_units), [x])
        x = graph.add_layer(L.Activation("relu"), [x])
    if dropout:
        x = graph.add_layer(L.Dropout(dropout), [x])
    x = graph.add_layer(L.Dense(num_classes), [x])
    graph.output = graph.add_layer(L.Activation("softmax"), [x])
    return graph.validate()


def _can_pool(graph: Graph, x: str) -> bool:
    height, width = graph.shape(x)[:2]
    return min(height, width) >= 4


def cnn(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    stages: int | None = None,
    filters: int = 32,
    max_filters: int = 256,
    hidden_units: int = 64,
    dropout: float = 0.25,
) -> Graph:
    """A plain CNN: conv–BN–ReLU blocks with max pooling, then a small dense head.

    Args:
        input_shape: ``(height, width)`` or ``(height, width, channels)``.
        num_classes: Number of classes of the softmax output.
        stages: Number of conv–BN–ReLU blocks; by default 3, more for large
            inputs. Each block but those on maps smaller than 4×4 is followed
            by 2×2 max pooling.
        filters: Filters of the first block; doubled per block up to ``max_filters``.
        max_filters: Cap on the filters of a block.
        hidden_units: Units of the hidden Dense layer after global average
            pooling (0 for none).
        dropout: Dropout rate before the output layer.

    Returns:
        A valid graph without weights.
    """
    shape = _image_shape(input_shape)
    _check_classes(num_classes)
    graph = Graph()
    x = graph.add_layer(L.Input(shape))
    for stage in range(stages or _default_stages(*shape[:2])):
        x = _conv_bn_relu(graph, x, min(filters * 2**stage, max_filters))
        if _can_pool(graph, x):
            x = graph.add_layer(L.MaxPooling2D(2), [x])
    x = graph.add_layer(L.GlobalAveragePooling2D(), [x])
    return _classifier(graph, x, num_classes, hidden_units, dropout)


def resnet(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    stages: int | None = None,
    blocks_per_stage: int = 1,
    filters: int = 16,
) -> Graph:
    """A small residual network (basic blocks, projection shortcuts when downsampling).

    Args:
        input_shape: ``(height, width)`` or ``(height, width, channels)``.
        num_classes: Number of classes.
        stages: Number of stages; each after the first halves the map (while
            it is at least 4×4) and doubles the filters. Default as in :func:`cnn`.
        blocks_per_stage: Residual blocks per stage.
        filters: Filters of the stem and first stage.

    Returns:
        A valid graph without weights.
    """
    shape = _image_shape(input_shape)
    _check_classes(num_classes)
    graph = Graph()
    x = graph.add_layer(L.Input(shape))
    x = _conv_bn_relu(graph, x, filters)
    for stage in range(stages or _default_stages(*shape[:2])):
        stage_filters = filters * 2**stage
        for block in range(blocks_per_stage):
            downsample = stage > 0 and block == 0 and _can_pool(graph, x)
            strides = 2 if downsample else 1
            shortcut = x
            if downsample or graph.shape(x)[-1] != stage_filters:
                shortcut = graph.add_layer(L.Conv2D(stage_filters, 1, strides, "same"), [x])
                shortcut = graph.add_layer(L.BatchNormalization(), [shortcut])
            y = _conv_bn_relu(graph, x, stage_filters, strides=strides)
            y = graph.add_layer(L.Conv2D(stage_filters, 3, 1, "same"), [y])
            y = graph.add_layer(L.BatchNormalization(), [y])
            y = graph.add_layer(L.Add(), [shortcut, y])
            x = graph.add_layer(L.Activation("relu"), [y])
    x = graph.add_layer(L.GlobalAveragePooling2D(), [x])
    return _classifier(graph, x, num_classes)


def densenet(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    blocks: int | None = None,
    layers_per_block: int = 3,
    growth_rate: int = 12,
    initial_filters: int = 24,
    compression: float = 0.5,
) -> Graph:
    """A small DenseNet: dense blocks of BN–ReLU–conv layers joined by concatenation.

    Args:
        input_shape: ``(height, width)`` or ``(height, width, channels)``.
        num_classes: Number of classes.
        blocks: Number of dense blocks, with a transition (BN–ReLU–1×1 conv,
            2×2 average pooling while the map is at least 4×4) between them.
            Default: one fewer than :func:`cnn`'s stages.
        layers_per_block: Layers per dense block.
        growth_rate: Filters each layer adds.
        initial_filters: Filters of the stem convolution.
        compression: Fraction of channels kept by a transition.

    Returns:
        A valid graph without weights.
    """
    shape = _image_shape(input_shape)
    _check_classes(num_classes)
    graph = Graph()
    x = graph.add_layer(L.Input(shape))
    x = graph.add_layer(L.Conv2D(initial_filters, 3, 1, "same"), [x])
    num_blocks = blocks or _default_stages(*shape[:2]) - 1
    for block in range(num_blocks):
        for _ in range(layers_per_block):
            y = graph.add_layer(L.BatchNormalization(), [x])
            y = graph.add_layer(L.Activation("relu"), [y])
            y = graph.add_layer(L.Conv2D(growth_rate, 3, 1, "same"), [y])
            x = graph.add_layer(L.Concatenate(), [x, y])
        if block < num_blocks - 1:
            x = graph.add_layer(L.BatchNormalization(), [x])
            x = graph.add_layer(L.Activation("relu"), [x])
            channels = max(1, int(graph.shape(x)[-1] * compression))
            x = graph.add_layer(L.Conv2D(channels, 1, 1, "same"), [x])
            if _can_pool(graph, x):
                x = graph.add_layer(L.AveragePooling2D(2), [x])
    x = graph.add_layer(L.BatchNormalization(), [x])
    x = graph.add_layer(L.Activation("relu"), [x])
    x = graph.add_layer(L.GlobalAveragePooling2D(), [x])
    return _classifier(graph, x, num_classes)


def mlp(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    hidden_units: Sequence[int] = (128, 64),
    dropout: float = 0.2,
) -> Graph:
    """A multi-layer perceptron on the flattened input (for tiny inputs).

    Args:
        input_shape: Any input shape; inputs of rank above 1 are flattened.
        num_classes: Number of classes.
        hidden_units: Units of the hidden Dense + ReLU layers.
        dropout: Dropout rate after each hidden layer.

    Returns:
        A valid graph without weights.
    """
    shape = tuple(int(s) for s in input_shape)
    _check_classes(num_classes)
    graph = Graph()
    x = graph.add_layer(L.Input(shape))
    if len(shape) > 1:
        x = graph.add_layer(L.Flatten(), [x])
    for units in hidden_units:
        x = graph.add_layer(L.Dense(units), [x])
        x = graph.add_layer(L.Activation("relu"), [x])
        if dropout:
            x = graph.add_layer(L.Dropout(dropout), [x])
    return _classifier(graph, x, num_classes)


#: Every generator by name.
BY_NAME = {"cnn": cnn, "resnet": resnet, "densenet": densenet, "mlp": mlp}
#: The initial architectures of a search on images, in the order they train.
INITIAL = ("cnn", "resnet", "densenet")
