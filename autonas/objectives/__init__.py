"""Costs of an architecture (size, MACs, latency, energy with its source) and the multi-objective reward.

Imports neither TensorFlow nor Keras: those load only inside the functions
that build or run a model (:func:`measure_latency`, :func:`measure_energy`,
:func:`measure_costs`), so a searcher can use the rest in a light process.
"""

from __future__ import annotations

from autonas.objectives.energy_model import DEFAULT_ENERGY_MODEL, EnergyModel, estimate_energy, graph_costs
from autonas.objectives.latency import measure_latency
from autonas.objectives.measure import measure_costs
from autonas.objectives.pareto import DEFAULT_OBJECTIVES, hypervolume, objective_points, pareto_front
from autonas.objectives.power import ENERGY_METHODS, RAPL_ROOT, measure_energy
from autonas.objectives.merge import as_objective
from autonas.objectives.reward import Objective

__all__ = [
    "DEFAULT_ENERGY_MODEL",
    "DEFAULT_OBJECTIVES",
    "ENERGY_METHODS",
    "RAPL_ROOT",
    "EnergyModel",
    "Objective",
    "as_objective",
    "estimate_energy",
    "graph_costs",
    "hypervolume",
    "measure_costs",
    "measure_energy",
    "measure_latency",
    "objective_points",
    "pareto_front",
]
