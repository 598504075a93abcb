"""The energy estimate and the graph costs known before training."""

import subprocess
import sys

import pytest

from autonas.graph import Graph, generators
from autonas.graph import layers as L
from autonas.objectives import DEFAULT_ENERGY_MODEL, EnergyModel, estimate_energy, graph_costs

# Horowitz, ISSCC 2014, 45 nm, written out by hand: fp32 mult + add + one SRAM read per MAC,
# 640 pJ per 32-bit DRAM word.
MAC_PJ = 3.7 + 0.9 + 5.0
DRAM_PJ_PER_BYTE = 640.0 / 4


def dense_graph() -> Graph:
    """Input(4) -> Dense(3) -> ReLU -> Dropout -> Dense(2)."""
    graph = Graph()
    x = graph.add_layer(L.Input((4,)))
    x = graph.add_layer(L.Dense(3), [x])
    x = graph.add_layer(L.Activation("relu"), [x])
    x = graph.add_layer(L.Dropout(0.5), [x])
    graph.add_layer(L.Dense(2), [x])
    return graph.validate()


def test_estimate_matches_a_hand_computation_for_a_dense_graph():
    macs = 4 * 3 + 3 * 2
    params = (4 * 3 + 3) + (3 * 2 + 2)
    # values read + written: Dense 4 + 3, ReLU 3 + 3, Dropout nothing, Dense 3 + 2
    activation_values = 7 + 6 + 5
    dram_bytes = 4 * params + 4 * activation_values
    expected_mj = (macs * MAC_PJ + dram_bytes * DRAM_PJ_PER_BYTE) * 1e-9

    estimate = estimate_energy(dense_graph())

    assert estimate["macs"] == macs == 18
    assert estimate["dram_bytes"] == dram_bytes == 164
    assert estimate["energy_mj"] == pytest.approx(expected_mj, rel=1e-12)
    assert estimate["energy_mj"] == pytest.approx(2.64128e-5, rel=1e-9)
    assert estimate["compute_energy_mj"] + estimate["memory_energy_mj"] == pytest.approx(expected_mj)
    assert estimate["energy_source"] == "estimate"
    assert estimate["energy_model"] == DEFAULT_ENERGY_MODEL.name


def test_energy_model_constants_are_horowitz_45nm():
    model = EnergyModel()
    assert (model.mult_pj, model.add_pj, model.sram_pj, model.dram_pj) == (3.7, 0.9, 5.0, 640.0)
    assert model.mac_pj == pytest.approx(9.6)
    assert model.dram_pj_per_byte == pytest.approx(160.0)


def test_custom_constants_change_the_estimate():
    graph = dense_graph()
    cheap_dram = EnergyModel(dram_pj=64.0, name="cheap")
    assert estimate_energy(graph, cheap_dram)["energy_mj"] < estimate_energy(graph)["energy_mj"]
    assert estimate_energy(graph, cheap_dram)["energy_model"] == "cheap"


def test_estimate_is_positive_and_grows_strictly_with_filters():
    graphs = [generators.cnn((8, 8, 1), 10, filters=f) for f in (4, 8, 16, 32)]
    estimates = [estimate_energy(g) for g in graphs]
    assert all(e["energy_mj"] > 0 and e["energy_source"] == "estimate" for e in estimates)
    macs = [e["macs"] for e in estimates]
    energies = [e["energy_mj"] for e in estimates]
    assert macs == sorted(set(macs))
    assert energies == sorted(set(energies))


def test_estimate_grows_with_macs_at_equal_size():
    # Global average pooling makes the parameters independent of the image size.
    small = generators.cnn((8, 8, 1), 10, stages=3)
    large = generators.cnn((16, 16, 1), 10, stages=3)
    assert small.num_params() == large.num_params()
    assert large.macs() > small.macs()
    small_e, large_e = estimate_energy(small), estimate_energy(large)
    assert large_e["compute_energy_mj"] > small_e["compute_energy_mj"]
    assert large_e["energy_mj"] > small_e["energy_mj"]


@pytest.mark.parametrize("make", [lambda: generators.cnn((8, 8, 1), 10), lambda: generators.resnet((8, 8, 3), 5), dense_graph])
def test_graph_costs_agree_with_the_graph(make):
    graph = make()
    costs = graph_costs(graph)
    assert costs["params"] == graph.num_params()
    assert costs["macs"] == graph.macs()
    assert costs["model_bytes"] == 4 * graph.num_params()
    assert costs["energy_mj"] == pytest.approx(estimate_energy(graph)["energy_mj"])
    assert costs["energy_source"] == "estimate"


def test_importing_objectives_loads_neither_tensorflow_nor_keras():
    code = (
        "import sys, autonas.objectives\n"
        "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
