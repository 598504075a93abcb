"""Parameter and MAC counts."""

import pytest

from autonas.graph import Graph, generators
from autonas.graph import layers as L


@pytest.mark.parametrize("shape", [(8, 8, 1), (12, 12, 3)], ids=str)
@pytest.mark.parametrize("name", ["cnn", "resnet", "densenet", "mlp"])
def test_num_params_matches_keras(name, shape):
    """num_params() equals Keras's count_params() (BN moving statistics included)."""
    graph = getattr(generators, name)(shape, 10)
    assert graph.num_params() == graph.to_keras().count_params()


def _small_convnet():
    graph = Graph()
    x = graph.add_layer(L.Input((8, 8, 1)))
    x = graph.add_layer(L.Conv2D(4, 3, padding="same"), [x], name="conv1")
    x = graph.add_layer(L.BatchNormalization(), [x])
    x = graph.add_layer(L.Activation("relu"), [x])
    x = graph.add_layer(L.MaxPooling2D(2), [x])
    x = graph.add_layer(L.Conv2D(6, 3, padding="valid"), [x], name="conv2")
    x = graph.add_layer(L.Flatten(), [x], name="flatten")
    graph.add_layer(L.Dense(10), [x])
    return graph


def test_small_convnet_costs_match_hand_count():
    """Params and MACs of a small conv net, counted by hand.

    Input (8, 8, 1)
    Conv2D(4, 3x3, same)  -> (8, 8, 4): params 3*3*1*4 + 4 = 40;   MACs 8*8 * 3*3*1 * 4 = 2304
    BatchNormalization    -> (8, 8, 4): params 4 * 4 = 16 (gamma, beta, mean, var); MACs 0
    ReLU                  -> (8, 8, 4)
    MaxPooling2D(2)       -> (4, 4, 4)
    Conv2D(6, 3x3, valid) -> (2, 2, 6): params 3*3*4*6 + 6 = 222;  MACs 2*2 * 3*3*4 * 6 = 864
    Flatten               -> (24,)
    Dense(10)             -> (10,):     params 24*10 + 10 = 250;   MACs 24 * 10 = 240
    Total: params 40 + 16 + 222 + 250 = 528; MACs 2304 + 864 + 240 = 3408.
    """
    graph = _small_convnet()
    assert graph.shape("conv1") == (8, 8, 4)
    assert graph.shape("conv2") == (2, 2, 6)
    assert graph.shape("flatten") == (24,)
    assert graph.output_shape == (10,)
    assert graph.num_params() == 528
    assert graph.macs() == 3408
    assert graph.to_keras().count_params() == 528


def test_costs_of_strided_conv_and_no_bias():
    """Strides and use_bias=False enter the counts.

    Input (9, 9, 2) -> Conv2D(3, 3x3, strides 2, same, no bias) -> (5, 5, 3):
    params 3*3*2*3 = 54; MACs 5*5 * 3*3*2 * 3 = 1350.
    """
    graph = Graph()
    x = graph.add_layer(L.Input((9, 9, 2)))
    graph.add_layer(L.Conv2D(3, 3, strides=2, padding="same", use_bias=False), [x])
    assert graph.output_shape == (5, 5, 3)
    assert graph.num_params() == 54
    assert graph.macs() == 1350
    assert graph.to_keras().count_params() == 54


def test_costs_follow_a_layer_change():
    """Replacing a layer updates the counts downstream (no stale shapes).

    conv1 with 5 filters: conv1 3*3*1*5 + 5 = 50, BN 4*5 = 20, conv2 3*3*5*6 + 6 = 276,
    Dense 250: params 596. MACs 8*8*3*3*1*5 = 2880, 2*2*3*3*5*6 = 1080, 240: total 4200.
    """
    graph = _small_convnet()
    assert (graph.num_params(), graph.macs()) == (528, 3408)
    graph.set_layer("conv1", L.Conv2D(5, 3, padding="same"))
    assert graph.num_params() == 596
    assert graph.macs() == 4200
    assert graph.to_keras().count_params() == 596
