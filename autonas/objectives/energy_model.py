"""Costs of a graph known without training: parameters, bytes, MACs and estimated energy.

The energy estimate is a simple, documented model of one fp32 inference of one
example (batch 1) on a 45 nm accelerator-like machine, with the per-operation
energies of Horowitz, "Computing's energy problem (and what we can do about
it)", ISSCC 2014, Fig. 1.1.9 (45 nm, 0.9 V):

========================  ==========  ==============================================
operation                 energy      used as
========================  ==========  ==============================================
32-bit float multiply     3.7 pJ      once per MAC
32-bit float add          0.9 pJ      once per MAC
32-bit SRAM read (8 kB)   5 pJ        once per MAC (one operand from the on-chip buffer)
32-bit DRAM read          640 pJ      per 4 bytes of DRAM traffic (160 pJ per byte)
========================  ==========  ==============================================

so ``energy = MACs × 9.6 pJ + DRAM bytes × 160 pJ``, where the DRAM traffic
counts, at 4 bytes per value:

* every weight once per inference (all parameters, the BatchNormalization
  statistics included: ``model_bytes``);
* every layer's activations: each layer reads its input tensors and writes its
  output tensor once. Input nodes, Dropout (identity at inference) and Flatten
  (a reshape) move nothing.

Writes are charged as reads (Horowitz gives reads only). Element-wise work
(activations, pooling, BatchNormalization, Add) is not charged as compute: it
is small next to the MACs and shows up through its memory traffic. The figure is
an estimate for ranking architectures, not a measurement of this machine; it
says so with ``energy_source == "estimate"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autonas.graph import layers as L

if TYPE_CHECKING:
    from autonas.graph import Graph

__all__ = ["DEFAULT_ENERGY_MODEL", "EnergyModel", "estimate_energy", "graph_costs"]

_PJ_PER_MJ = 1e9

#: Layers that move no data at inference.
_NO_TRAFFIC = (L.Input, L.Dropout, L.Flatten)


@dataclass(frozen=True)
class EnergyModel:
    """Energy per operation in picojoules, with a name recorded next to each estimate.

    Defaults are Horowitz, ISSCC 2014, 45 nm, fp32 (see the module docstring).

    Attributes:
        mult_pj: One 32-bit float multiply; default 3.7.
        add_pj: One 32-bit float add; default 0.9.
        sram_pj: One 32-bit SRAM read, charged once per MAC; default 5.0.
        dram_pj: One 32-bit DRAM read, charged per 4 bytes moved; default 640.0.
        bytes_per_value: Bytes of a weight or activation value; default 4 (float32).
        name: Recorded as ``energy_model``; default ``"horowitz-isscc2014-45nm-fp32"``.
    """

    mult_pj: float = 3.7
    add_pj: float = 0.9
    sram_pj: float = 5.0
    dram_pj: float = 640.0
    bytes_per_value: int = 4
    name: str = "horowitz-isscc2014-45nm-fp32"

    @property
    def mac_pj(self) -> float:
        """Energy of one MAC: multiply + add + one SRAM operand read (9.6 pJ by default)."""
        return self.mult_pj + self.add_pj + self.sram_pj

    @property
    def dram_pj_per_byte(self) -> float:
        """DRAM energy per byte (160 pJ by default)."""
        return self.dram_pj / 4.0


DEFAULT_ENERGY_MODEL = EnergyModel()


def _activation_values(graph: Graph) -> int:
    """Values read and written by the layers of one inference (batch 1)."""
    total = 0
    for node in graph.nodes:
        layer = graph.layer(node)
        if isinstance(layer, _NO_TRAFFIC):
            continue
        total += sum(math.prod(shape) for shape in graph.input_shapes(node))
        total += math.prod(graph.shape(node))
    return total


def estimate_energy(graph: Graph, energy_model: EnergyModel = DEFAULT_ENERGY_MODEL) -> dict[str, Any]:
    """Estimated energy of one inference of one example (batch 1).

    Args:
        graph: The architecture.
        energy_model: Per-operation energies; default :data:`DEFAULT_ENERGY_MODEL`
            (Horowitz, ISSCC 2014, 45 nm, fp32).

    Returns:
        ``energy_mj`` (total), ``compute_energy_mj`` (MACs), ``memory_energy_mj``
        (DRAM), ``macs``, ``dram_bytes`` (weights + activations),
        ``weight_bytes``, ``activation_bytes``, ``energy_source`` (``"estimate"``)
        and ``energy_model`` (the model's name).
    """
    macs = graph.macs()
    weight_bytes = graph.num_params() * energy_model.bytes_per_value
    activation_bytes = _activation_values(graph) * energy_model.bytes_per_value
    dram_bytes = weight_bytes + activation_bytes
    compute_pj = macs * energy_model.mac_pj
    memory_pj = dram_bytes * energy_model.dram_pj_per_byte
    return {
        "energy_mj": (compute_pj + memory_pj) / _PJ_PER_MJ,
        "compute_energy_mj": compute_pj / _PJ_PER_MJ,
        "memory_energy_mj": memory_pj / _PJ_PER_MJ,
        "macs": macs,
        "dram_bytes": dram_bytes,
        "weight_bytes": weight_bytes,
        "activation_bytes": activation_bytes,
        "energy_source": "estimate",
        "energy_model": energy_model.name,
    }


def graph_costs(graph: Graph, energy_model: EnergyModel = DEFAULT_ENERGY_MODEL) -> dict[str, Any]:
    """Every cost known from the graph alone, before training.

    Args:
        graph: The architecture.
        energy_model: Per-operation energies for the estimate; default
            :data:`DEFAULT_ENERGY_MODEL`.

    Returns:
        ``params`` (``graph.num_params()``), ``model_bytes`` (float32: 4 bytes
        per parameter, i.e. ``energy_model.bytes_per_value``), ``macs`` per
        example (``graph.macs()``), ``dram_bytes``, ``energy_mj`` (estimated
        energy per example, see :func:`estimate_energy`), ``energy_source``
        (``"estimate"``) and ``energy_model``.
    """
    estimate = estimate_energy(graph, energy_model)
    params = graph.num_params()
    return {
        "params": params,
        "model_bytes": params * energy_model.bytes_per_value,
        "macs": estimate["macs"],
        "dram_bytes": estimate["dram_bytes"],
        "energy_mj": estimate["energy_mj"],
        "energy_source": "estimate",
        "energy_model": estimate["energy_model"],
    }
