"""Invalid graphs and unsupported Keras models raise ValueError naming the culprit."""

import json
import re

import keras
import numpy as np
import pytest

from autonas.graph import Graph
from autonas.graph import layers as L


def _config(nodes, output=None):
    return {"format": "autonas.graph/1", "output": output, "nodes": nodes}


def _node(name, layer, inputs=()):
    return {"name": name, "layer": layer, "inputs": list(inputs)}


def _chain():
    """input -> conv -> relu -> flatten -> head."""
    graph = Graph()
    x = graph.add_layer(L.Input((8, 8, 1)), name="input")
    x = graph.add_layer(L.Conv2D(4), [x], name="conv")
    x = graph.add_layer(L.Activation("relu"), [x], name="relu")
    x = graph.add_layer(L.Flatten(), [x], name="flatten")
    graph.add_layer(L.Dense(10), [x], name="head")
    return graph


def test_valid_chain_passes():
    """The reference chain used below is itself valid."""
    graph = _chain().validate()
    assert graph.output == "head"
    assert graph.output_shape == (10,)


def test_cycle_in_config_is_rejected_naming_its_nodes():
    """from_config/from_json reject a cycle and name the nodes on it."""
    nodes = [
        _node("x", {"type": "Input", "shape": [8, 8, 1]}),
        _node("loop_a", {"type": "Activation", "activation": "relu"}, ["loop_c"]),
        _node("loop_b", {"type": "Activation", "activation": "relu"}, ["loop_a"]),
        _node("loop_c", {"type": "Add"}, ["x", "loop_b"]),
        _node("out", {"type": "Activation", "activation": "relu"}, ["loop_c"]),
    ]
    with pytest.raises(ValueError, match="cycle") as info:
        Graph.from_config(_config(nodes, output="out"))
    assert all(name in str(info.value) for name in ("loop_a", "loop_b", "loop_c"))
    with pytest.raises(ValueError, match="loop_"):
        Graph.from_json(json.dumps(_config(nodes, output="out")))


def test_cycle_made_by_set_inputs_is_rejected():
    """Rewiring a node to read its own descendant makes the graph invalid."""
    graph = _chain()
    with pytest.raises(ValueError, match="cycle") as info:
        graph.set_inputs("conv", ["relu"])
        graph.validate()
    assert "conv" in str(info.value) or "relu" in str(info.value)


def test_self_loop_is_rejected():
    """A node reading itself is a cycle."""
    graph = _chain()
    with pytest.raises(ValueError, match="relu"):
        graph.set_inputs("relu", ["relu"])
        graph.validate()


def _two_branches(merge, right):
    graph = Graph()
    x = graph.add_layer(L.Input((8, 8, 1)), name="input")
    left = graph.add_layer(L.Conv2D(4), [x], name="left")
    right = graph.add_layer(right, [x], name="right")
    merged = graph.add_layer(merge, [left, right], name="merge_here")
    merged = graph.add_layer(L.GlobalAveragePooling2D(), [merged], name="gap")
    graph.add_layer(L.Dense(3), [merged], name="head")
    return graph


@pytest.mark.parametrize(
    "merge, right",
    [
        (L.Add(), L.Conv2D(6)),  # channels differ
        (L.Add(), L.MaxPooling2D(2)),  # spatial size differs
        (L.Concatenate(), L.MaxPooling2D(2)),  # spatial size differs
        (L.Concatenate(), L.Conv2D(4, 3, padding="valid")),
    ],
    ids=["add-channels", "add-spatial", "concat-spatial", "concat-valid-conv"],
)
def test_shape_mismatch_at_merge_names_the_merge_node(merge, right):
    """Add/Concatenate with incompatible input shapes fail at validation and at to_keras."""
    graph = _two_branches(merge, right)
    with pytest.raises(ValueError, match="merge_here"):
        graph.validate()
    with pytest.raises(ValueError, match="merge_here"):
        graph.to_keras()


@pytest.mark.parametrize("merge", [L.Add(), L.Concatenate()])
def test_compatible_merges_are_valid(merge):
    """Control case: shapes that fit the merge are accepted."""
    graph = _two_branches(merge, L.Conv2D(4)).validate()
    assert graph.shape("merge_here") == ((8, 8, 4) if merge.type == "Add" else (8, 8, 8))


def test_shape_mismatch_in_a_chain_names_the_node():
    """Dense on an image input is a shape error naming the Dense node."""
    graph = Graph()
    x = graph.add_layer(L.Input((8, 8, 1)), name="input")
    graph.add_layer(L.Dense(3), [x], name="dense_on_image")
    with pytest.raises(ValueError, match="dense_on_image"):
        graph.validate()


def test_dangling_node_is_rejected_by_name():
    """A branch that never reaches the set output is reported by name."""
    graph = _chain()
    graph.add_layer(L.Conv2D(2), ["conv"], name="orphan")
    graph.output = "head"
    with pytest.raises(ValueError, match="orphan"):
        graph.validate()
    with pytest.raises(ValueError, match="orphan"):
        graph.to_keras()


def test_ambiguous_output_names_the_sinks():
    """Without a set output, two unread nodes make the output ambiguous."""
    graph = _chain()
    graph.add_layer(L.Conv2D(2), ["conv"], name="orphan")
    with pytest.raises(ValueError, match="orphan") as info:
        graph.validate()
    assert "head" in str(info.value)


def test_unknown_layer_type_in_json_names_node_and_type():
    """A layer type outside the vocabulary (LSTM) is rejected when reading JSON."""
    config = _chain().to_config()
    config["nodes"][2]["layer"] = {"type": "LSTM", "units": 4}
    with pytest.raises(ValueError, match="LSTM") as info:
        Graph.from_json(json.dumps(config))
    assert config["nodes"][2]["name"] in str(info.value)


def test_bad_layer_fields_in_json_are_value_errors():
    """Unknown fields of a known layer type raise ValueError, not TypeError."""
    config = _chain().to_config()
    config["nodes"][1]["layer"]["dilation"] = 2
    with pytest.raises(ValueError, match=config["nodes"][1]["name"]):
        Graph.from_config(config)


@pytest.mark.parametrize(
    "layer", [keras.layers.LSTM(4), {"type": "Conv2D", "filters": 4}, "Dense"], ids=["keras-layer", "dict", "str"]
)
def test_add_layer_rejects_non_spec_objects(layer):
    """add_layer accepts only layer specs and names the node it was adding."""
    graph = Graph()
    x = graph.add_layer(L.Input((8, 8, 1)))
    with pytest.raises(ValueError, match="mystery"):
        graph.add_layer(layer, [x], name="mystery")
    assert "mystery" not in graph


def test_add_layer_rejects_missing_input_node():
    """Reading a node that does not exist names both nodes."""
    graph = Graph()
    graph.add_layer(L.Input((8, 8, 1)), name="input")
    with pytest.raises(ValueError, match="ghost") as info:
        graph.add_layer(L.Conv2D(4), ["ghost"], name="reader")
    assert "reader" in str(info.value)
    assert "reader" not in graph


def test_config_with_missing_input_node_is_rejected():
    """from_config rejects an edge from a node that does not exist."""
    config = _chain().to_config()
    config["nodes"][1]["inputs"] = ["ghost"]
    with pytest.raises(ValueError, match="ghost") as info:
        Graph.from_config(config)
    assert config["nodes"][1]["name"] in str(info.value)


def test_set_inputs_rejects_missing_node():
    """Rewiring to a node that does not exist fails and names it."""
    graph = _chain()
    with pytest.raises(ValueError, match="ghost"):
        graph.set_inputs("relu", ["ghost"])
    assert graph.inputs("relu") == ("conv",)


def test_weights_of_the_wrong_shape_are_rejected():
    """Weights that do not fit the layer fail validation, naming the node."""
    graph = _chain()
    graph.set_weights("conv", [np.zeros((3, 3, 1, 5)), np.zeros(5)])
    with pytest.raises(ValueError, match="conv"):
        graph.validate()


def test_from_json_rejects_other_formats():
    """JSON that is not an autonas graph is a ValueError."""
    with pytest.raises(ValueError):
        Graph.from_json("not json")
    with pytest.raises(ValueError):
        Graph.from_json(json.dumps({"format": "something/1", "nodes": []}))


@pytest.mark.parametrize(
    "layer",
    [keras.layers.LSTM(4, name="my_lstm"), keras.layers.Conv1D(4, 3, name="my_conv1d")],
    ids=["LSTM", "Conv1D"],
)
def test_from_keras_unsupported_layer_names_it(layer):
    """from_keras refuses layers outside the vocabulary and names them."""
    model = keras.Sequential([keras.Input((10, 3)), layer, keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=re.escape(layer.name)):
        Graph.from_keras(model)


def test_from_keras_unsupported_layer_in_functional_model():
    """The same holds inside a functional model."""
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.SeparableConv2D(4, 3, name="sep_conv")(x)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    with pytest.raises(ValueError, match="sep_conv"):
        Graph.from_keras(keras.Model(inputs, outputs))


def test_from_keras_unsupported_activation_names_layer():
    """A supported layer with an activation outside the vocabulary is refused by name."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softplus", name="soft_dense")])
    with pytest.raises(ValueError, match="soft_dense"):
        Graph.from_keras(model)
