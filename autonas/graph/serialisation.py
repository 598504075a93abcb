"""A :class:`~autonas.graph.Graph` as files: its JSON configuration, its ``.npz`` weights and the
folder that holds both. The :class:`~autonas.graph.Graph` methods of the same names delegate here."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autonas._files import write_atomically
from autonas.graph.layers import layer_from_config

if TYPE_CHECKING:  # graph.py imports this module: no import back
    from autonas.graph.graph import Graph

__all__ = ["FORMAT", "from_config", "load", "load_weights", "parse_json", "save", "save_weights", "to_config"]

#: The ``format`` of a graph's configuration.
FORMAT = "autonas.graph/1"
GRAPH_FILE = "graph.json"
WEIGHTS_FILE = "weights.npz"


def to_config(graph: Graph) -> dict[str, Any]:
    """The architecture of ``graph`` as plain JSON-able data (no weights)."""
    return {
        "format": FORMAT,
        "output": graph.output,
        "nodes": [
            {"name": n, "layer": graph.layer(n).to_config(), "inputs": list(graph.inputs(n))} for n in graph.nodes
        ],
    }


def from_config(cls: type[Graph], config: dict[str, Any]) -> Graph:
    """A ``cls`` rebuilt from :func:`to_config` output, validated.

    The nodes keep the configuration's order (their insertion order) and may
    name inputs listed after them, so they are entered into the graph's tables
    directly rather than through :meth:`~autonas.graph.Graph.add_layer`.

    Raises:
        ValueError: for an unknown format or layer, or an invalid graph.
    """
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"not an autonas graph (expected format {FORMAT!r})")
    graph = cls()
    entries = config.get("nodes", [])
    for entry in entries:
        name = entry["name"]
        try:
            layer = layer_from_config(entry["layer"])
        except ValueError as error:
            raise ValueError(f"node {name!r}: {error}") from None
        if name in graph._dag:
            raise ValueError(f"node {name!r} appears twice")
        graph._dag.add_node(name, layer=layer, inputs=tuple(entry.get("inputs", ())), weights=None)
        graph._order[name] = len(graph._order)
    for entry in entries:
        for source in entry.get("inputs", ()):
            if source not in graph._dag:
                raise ValueError(f"node {entry['name']!r}: input node {source!r} does not exist")
            graph._dag.add_edge(source, entry["name"])
    graph._counter = len(entries)
    if config.get("output") is not None:
        graph.output = config["output"]
    return graph.validate()


def parse_json(text: str) -> Any:
    """The data in ``text``.

    Raises:
        ValueError: if ``text`` is not valid JSON.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"text is not valid JSON: {error}") from None


def save_weights(graph: Graph, path: str | os.PathLike) -> None:
    """Write the weights of ``graph`` to an ``.npz`` file (atomically), keyed ``node/index``."""
    arrays = {
        f"{node}/{i}": w for node in graph.nodes if (ws := graph.weights(node)) is not None for i, w in enumerate(ws)
    }
    write_atomically(Path(path), lambda handle: np.savez(handle, **arrays))


def load_weights(graph: Graph, path: str | os.PathLike) -> Graph:
    """Read weights written by :func:`save_weights` into ``graph``; returns it validated.

    Raises:
        ValueError: if the file names nodes not in the graph or has wrong shapes.
    """
    found: dict[str, dict[int, np.ndarray]] = {}
    with np.load(path) as archive:
        for key in archive.files:
            node, index = key.rsplit("/", 1)
            if node not in graph:
                raise ValueError(f"weights file {os.fspath(path)!r} has weights for unknown node {node!r}")
            found.setdefault(node, {})[int(index)] = archive[key]
    for node, arrays in found.items():
        graph.set_weights(node, [arrays[i] for i in sorted(arrays)])
    return graph.validate()


def save(graph: Graph, directory: str | os.PathLike) -> None:
    """Save the architecture (``graph.json``) and, when complete, the weights (``weights.npz``) in a folder."""
    directory = Path(directory)
    text = graph.to_json(indent=1).encode()
    if graph.has_weights:
        graph.save_weights(directory / WEIGHTS_FILE)
    write_atomically(directory / GRAPH_FILE, lambda handle: handle.write(text))


def load(cls: type[Graph], directory: str | os.PathLike) -> Graph:
    """A ``cls`` loaded from a folder written by :func:`save`, with its weights when present."""
    directory = Path(directory)
    graph = cls.from_json((directory / GRAPH_FILE).read_text())
    if (directory / WEIGHTS_FILE).exists():
        graph.load_weights(directory / WEIGHTS_FILE)
    return graph
