"""A training-free score of an untrained network (NASWOT, Mellor et al., ICML 2021).

For a minibatch of ``N`` images, each image's *code* is the binary pattern of
which ReLU units it switches on. Networks that give different images very
different codes can tell them apart before any training, and tend to train
to higher accuracy. The score is ``log |det K|`` of the ``N × N`` matrix
``K[i, j] = number of units on which images i and j agree``.

Whether it predicts trained accuracy better than the parameter count on the
data at hand is measured by ``benchmarks/training_free.py``; it is not used by
the search by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autonas.backend import set_random_seed

if TYPE_CHECKING:
    from autonas.graph import Graph

__all__ = ["activation_codes", "naswot_score"]


def activation_codes(graph: Graph, x: np.ndarray, seed: int | None = 0) -> np.ndarray:
    """The binary codes of ``x`` (one row per image) over every ReLU unit of ``graph``.

    The graph's weights are used when it has them; otherwise the model is
    built with Keras's initialisation (seeded by ``seed``).

    Raises:
        ValueError: if the graph has no ReLU activation.
    """
    import keras

    from autonas.graph import layers as L

    relus = [
        n for n in graph.nodes if isinstance(graph.layer(n), L.Activation) and graph.layer(n).activation == "relu"
    ]
    if not relus:
        raise ValueError("graph has no ReLU activation to read codes from")
    if seed is not None and not graph.has_weights:
        set_random_seed(seed)
    model = graph.to_keras()
    probe = keras.Model(model.inputs[0], [model.get_layer(n).output for n in relus])
    outputs = probe(np.asarray(x, dtype=np.float32), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    codes = [keras.ops.convert_to_numpy(o).reshape(len(x), -1) > 0 for o in outputs]
    return np.concatenate(codes, axis=1)


def naswot_score(graph: Graph, x: np.ndarray, seed: int | None = 0) -> float:
    """``log |det K|`` of the agreement matrix of the activation codes of ``x`` (higher is better).

    Args:
        graph: The (usually untrained) network.
        x: A minibatch of preprocessed images, e.g. 64 training images.
        seed: Seed of Keras's initialisation when the graph has no weights.

    Returns:
        The score; ``-inf`` when two images share a code (``K`` is singular).
    """
    codes = activation_codes(graph, x, seed).astype(np.float64)
    agreement = codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T
    sign, logdet = np.linalg.slogdet(agreement)
    return float(logdet) if sign > 0 else float("-inf")
