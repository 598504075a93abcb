"""The architecture IR: a DAG of layer specs with optional numpy weights.

:class:`Graph` holds the nodes; its methods delegate shape inference to :mod:`autonas.graph.shapes`,
costs and the fingerprint to :mod:`autonas.graph.measures`, files to :mod:`autonas.graph.serialisation`
and Keras conversion to :mod:`autonas.graph.keras_io`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from autonas.graph import measures, serialisation
from autonas.graph.layers import Input, LayerSpec, Shape
from autonas.graph.shapes import check_weights, infer_shapes

if TYPE_CHECKING:
    import keras

__all__ = ["Graph"]

_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower().replace("2_d", "2d")


class Graph:
    """A single-input, single-output network as a DAG of layer specs.

    Nodes are named by strings and hold a :class:`~autonas.graph.layers.LayerSpec`,
    the ordered names of their input nodes, and optionally their weights as a
    list of numpy arrays in Keras's order. The graph is the source of truth:
    Keras models are built from it (:meth:`to_keras`) and read back into it
    (:meth:`from_keras`).

    Example:
        >>> from autonas.graph import Graph, layers
        >>> g = Graph()
        >>> x = g.add_layer(layers.Input((8, 8, 1)))
        >>> x = g.add_layer(layers.Conv2D(8), [x])
        >>> x = g.add_layer(layers.Flatten(), [x])
        >>> _ = g.add_layer(layers.Dense(10), [x])
        >>> g.num_params()
        5210
    """

    def __init__(self) -> None:
        self._dag = nx.DiGraph()
        self._order: dict[str, int] = {}
        self._counter = 0
        self._output: str | None = None
        self._shapes: dict[str, Shape] | None = None
        self._topological: list[str] | None = None

    # ------------------------------------------------------------------ building
    def add_layer(
        self,
        layer: LayerSpec,
        inputs: Sequence[str] = (),
        *,
        name: str | None = None,
        weights: Sequence[np.ndarray] | None = None,
    ) -> str:
        """Add a node computing ``layer`` on ``inputs``; returns its name.

        Args:
            layer: The layer spec.
            inputs: Names of existing nodes, in order (the order matters for
                Concatenate).
            name: Node name; a unique one is made from the layer type when None.
            weights: Optional weights in Keras's order (checked by :meth:`validate`).

        Raises:
            ValueError: if ``layer`` is not a layer spec, the name is taken or
                invalid, or an input does not exist.
        """
        if not isinstance(layer, LayerSpec):
            raise ValueError(f"node {name!r}: unknown layer {layer!r} (expected an autonas.graph.layers spec)")
        name = self._new_name(layer) if name is None else name
        if not isinstance(name, str) or not _NAME_PATTERN.match(name):
            raise ValueError(f"node name must be an identifier-like string, got {name!r}")
        if name in self._dag:
            raise ValueError(f"node {name!r} already exists")
        for source in inputs:
            if source not in self._dag:
                raise ValueError(f"node {name!r}: input node {source!r} does not exist")
        self._insert(name, layer, list(inputs), weights)
        return name

    def _insert(self, name: str, layer: LayerSpec, inputs: list[str], weights) -> None:
        self._dag.add_node(name, layer=layer, inputs=tuple(inputs), weights=None)
        self._order[name] = len(self._order)
        self._dag.add_edges_from((source, name) for source in inputs)
        if weights is not None:
            self._dag.nodes[name]["weights"] = [np.asarray(w, dtype=np.float32) for w in weights]
        self._changed()

    def _new_name(self, layer: LayerSpec) -> str:
        base = _snake(layer.type)
        while True:
            self._counter += 1
            candidate = f"{base}_{self._counter}"
            if candidate not in self._dag:
                return candidate

    def _changed(self) -> None:
        self._shapes = None
        self._topological = None

    def set_inputs(self, node: str, inputs: Sequence[str]) -> None:
        """Rewire ``node`` to read from ``inputs`` (in order)."""
        self._require(node)
        for source in inputs:
            self._require(source)
        self._dag.remove_edges_from(list(self._dag.in_edges(node)))
        self._dag.add_edges_from((source, node) for source in inputs)
        self._dag.nodes[node]["inputs"] = tuple(inputs)
        self._changed()

    def replace_input(self, node: str, old: str, new: str) -> None:
        """Make ``node`` read ``new`` wherever it read ``old``."""
        self.set_inputs(node, [new if source == old else source for source in self.inputs(node)])

    def set_layer(self, node: str, layer: LayerSpec, weights: Sequence[np.ndarray] | None = None) -> None:
        """Replace the spec (and weights) of ``node``."""
        self._require(node)
        if not isinstance(layer, LayerSpec):
            raise ValueError(f"node {node!r}: unknown layer {layer!r}")
        self._dag.nodes[node]["layer"] = layer
        self.set_weights(node, weights)
        self._changed()

    def remove_node(self, node: str) -> None:
        """Remove a node that no other node reads."""
        self._require(node)
        if self.consumers(node):
            raise ValueError(f"node {node!r} still has consumers {self.consumers(node)}")
        self._dag.remove_node(node)
        del self._order[node]
        if self._output == node:
            self._output = None
        self._changed()

    def set_weights(self, node: str, weights: Sequence[np.ndarray] | None) -> None:
        """Set (or clear, with None) the weights of ``node``."""
        self._require(node)
        self._dag.nodes[node]["weights"] = (
            None if weights is None else [np.asarray(w, dtype=np.float32) for w in weights]
        )

    # ------------------------------------------------------------------ reading
    def _require(self, node: str) -> None:
        if node not in self._dag:
            raise ValueError(f"node {node!r} does not exist")

    def __contains__(self, node: object) -> bool:
        return node in self._dag

    def __len__(self) -> int:
        return self._dag.number_of_nodes()

    def __repr__(self) -> str:
        return f"<Graph {len(self)} nodes, input {self.input_shape}, fingerprint {self.fingerprint()[:12]}>"

    @property
    def nodes(self) -> list[str]:
        """Node names in a deterministic topological order (ties by insertion)."""
        if self._topological is not None:
            return list(self._topological)
        try:
            self._topological = list(nx.lexicographical_topological_sort(self._dag, key=self._order.__getitem__))
            return list(self._topological)
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(self._dag)
            raise ValueError(f"node {cycle[0][0]!r} is on a cycle: {[u for u, _ in cycle]}") from None

    @property
    def dag(self) -> nx.DiGraph:
        """A read-only view of the underlying networkx graph."""
        return self._dag.copy(as_view=True)

    def layer(self, node: str) -> LayerSpec:
        """The layer spec of ``node``."""
        self._require(node)
        return self._dag.nodes[node]["layer"]

    def inputs(self, node: str) -> tuple[str, ...]:
        """The ordered input nodes of ``node``."""
        self._require(node)
        return self._dag.nodes[node]["inputs"]

    def consumers(self, node: str) -> list[str]:
        """The nodes that read ``node``, in insertion order."""
        self._require(node)
        return sorted(self._dag.successors(node), key=self._order.__getitem__)

    def weights(self, node: str) -> list[np.ndarray] | None:
        """The weights of ``node`` (None when it has none yet)."""
        self._require(node)
        return self._dag.nodes[node]["weights"]

    @property
    def has_weights(self) -> bool:
        """Whether every node that has weights in Keras carries them here."""
        shapes = self.shapes()
        return all(
            self.weights(n) is not None
            for n in self.nodes
            if self.layer(n).weight_shapes([shapes[s] for s in self.inputs(n)])
        )

    def clear_weights(self) -> None:
        """Drop all weights (the architecture stays)."""
        for node in self._dag:
            self._dag.nodes[node]["weights"] = None

    @property
    def input_node(self) -> str:
        """Name of the Input node."""
        found = [n for n in self._dag if isinstance(self.layer(n), Input)]
        if len(found) != 1:
            raise ValueError(f"a graph needs exactly one Input node, found {sorted(found)}")
        return found[0]

    @property
    def input_shape(self) -> Shape | None:
        """Shape of the network's input (no batch axis), None for an empty graph."""
        found = [self.layer(n).shape for n in self._dag if isinstance(self.layer(n), Input)]
        return found[0] if len(found) == 1 else None

    @property
    def output(self) -> str:
        """Name of the output node: the one set, or else the single node nobody reads."""
        if self._output is not None:
            return self._output
        sinks = [n for n in self._dag if self._dag.out_degree(n) == 0]
        if len(sinks) != 1:
            raise ValueError(
                f"cannot tell the output: nodes {sorted(sinks, key=self._order.get)} are read by no node "
                "(dangling nodes, or set graph.output)"
            )
        return sinks[0]

    @output.setter
    def output(self, node: str) -> None:
        self._require(node)
        self._output = node

    @property
    def output_shape(self) -> Shape:
        """Shape of the network's output (no batch axis)."""
        return self.shapes()[self.output]

    def shape(self, node: str) -> Shape:
        """Output shape of ``node`` (no batch axis)."""
        self._require(node)
        return self.shapes()[node]

    def input_shapes(self, node: str) -> list[Shape]:
        """Shapes of the inputs of ``node``, in order."""
        shapes = self.shapes()
        return [shapes[source] for source in self.inputs(node)]

    def shapes(self) -> dict[str, Shape]:
        """Output shape of every node; checks the structure on the way.

        Raises:
            ValueError: naming the offending node, for a cycle, a shape
                mismatch, a dangling node or an unknown layer.
        """
        if self._shapes is None:
            self._shapes = infer_shapes(self)
        return self._shapes

    def validate(self) -> Graph:
        """Check the structure (see :meth:`shapes`) and the weight shapes; returns the graph.

        Raises:
            ValueError: naming the offending node.
        """
        check_weights(self)
        return self

    # ------------------------------------------------------------------ costs
    def num_params(self) -> int:
        """Number of scalars in all weights (equals Keras's ``count_params()``)."""
        return measures.num_params(self)

    def macs(self) -> int:
        """Multiply-accumulates per example of the Conv2D and Dense layers."""
        return measures.macs(self)

    # ------------------------------------------------------------------ identity
    def fingerprint(self) -> str:
        """A hash of the architecture, independent of node names and insertion order.

        Weights are not part of it. Built bottom-up: a node's hash covers its
        layer configuration and the hashes of its inputs (sorted for Add, whose
        inputs commute; in order for Concatenate). The fingerprint covers the
        output's hash and the multiset of all node hashes.
        """
        return measures.fingerprint(self)

    def copy(self) -> Graph:
        """A deep copy (weights copied too)."""
        clone = Graph()
        for node in self.nodes:
            weights = self.weights(node)
            weights = None if weights is None else [w.copy() for w in weights]
            clone._insert(node, self.layer(node), list(self.inputs(node)), weights)
        clone._counter = self._counter
        clone._output = self._output
        return clone

    # ------------------------------------------------------------------ serialisation
    def to_config(self) -> dict[str, Any]:
        """The architecture as plain JSON-able data (no weights)."""
        return serialisation.to_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Graph:
        """Rebuild a graph from :meth:`to_config` output.

        Raises:
            ValueError: for an unknown format or layer, or an invalid graph.
        """
        return serialisation.from_config(cls, config)

    def to_json(self, indent: int | None = None) -> str:
        """The architecture as a JSON string (weights are saved separately)."""
        return json.dumps(self.to_config(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Graph:
        """Rebuild a graph from :meth:`to_json` output."""
        return cls.from_config(serialisation.parse_json(text))

    def save_weights(self, path: str | os.PathLike) -> None:
        """Write the weights to an ``.npz`` file (atomically)."""
        serialisation.save_weights(self, path)

    def load_weights(self, path: str | os.PathLike) -> Graph:
        """Read weights written by :meth:`save_weights`; returns the graph.

        Raises:
            ValueError: if the file names nodes not in the graph or has wrong shapes.
        """
        return serialisation.load_weights(self, path)

    def save(self, directory: str | os.PathLike) -> None:
        """Save the architecture (``graph.json``) and weights (``weights.npz``) in a folder."""
        serialisation.save(self, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Graph:
        """Load a graph saved by :meth:`save`, with its weights when present."""
        return serialisation.load(cls, directory)

    # ------------------------------------------------------------------ keras
    def to_keras(
        self, name: str | None = None, *, for_training: bool = False, dtype_policy: str | None = None
    ) -> keras.Model:
        """Build a functional ``keras.Model`` with this graph's weights.

        Layers are named after the nodes. Nodes without weights keep Keras's
        initialisation. With ``for_training``, a model to train and read back
        with :meth:`update_weights`: under JAX and PyTorch its translations
        and zooms are autonas's faster separable layers
        (``benchmarks/results/separable_augmentation.md``; saved, it loads only
        where autonas is imported; the default model needs Keras alone). With
        ``dtype_policy`` (e.g. ``"mixed_bfloat16"``), the layers but the
        output and the augmentations compute in that Keras dtype policy.
        """
        from autonas.graph.keras_io import graph_to_keras

        return graph_to_keras(self, name=name, for_training=for_training, dtype_policy=dtype_policy)

    @classmethod
    def from_keras(cls, model: keras.Model) -> Graph:
        """Read a Keras model (with weights) into a graph.

        Accepts models built by :meth:`to_keras` and Sequential or functional
        models made only of supported layers. Layers with a built-in activation
        become two nodes (the linear layer and an Activation).

        Raises:
            ValueError: naming the layer, for an unsupported layer or configuration.
        """
        from autonas.graph.keras_io import keras_to_graph

        return keras_to_graph(model, cls())

    def update_weights(self, model: keras.Model) -> Graph:
        """Copy weights from a model built by :meth:`to_keras` (e.g. after training)."""
        for node in self.nodes:
            weights = model.get_layer(node).get_weights()
            if weights:
                self.set_weights(node, weights)
        return self.validate()

    def summary(self) -> str:
        """A table of the nodes (name, layer, output shape, inputs), then the params and MACs."""
        return measures.summary(self)

    def iter_layers(self) -> Iterable[tuple[str, LayerSpec]]:
        """``(node, layer)`` pairs in topological order."""
        return ((n, self.layer(n)) for n in self.nodes)
