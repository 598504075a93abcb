"""The architecture IR: layer specs, :class:`Graph`, Keras conversion and generators."""

from autonas.graph import generators, layers
from autonas.graph.graph import Graph

__all__ = ["Graph", "generators", "layers"]
