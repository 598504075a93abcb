"""A positive-definite kernel from the edit distance, via a Euclidean embedding.

``exp(-d²)`` on an edit distance is not positive-definite in general, so a
Gaussian process on it can meet a non-positive-definite covariance. As in the
Auto-Keras paper, the distance is first embedded into Euclidean space by
distances to subsets ``S`` of a reference set of known architectures, one
coordinate ``min_{p ∈ S} d(x, p)`` per subset:

* :class:`BourgainEmbedding` (the paper's): random subsets at exponentially
  decreasing densities, ``O(log² n)`` coordinates;
* :class:`LandmarkEmbedding`: every reference architecture alone, ``n``
  coordinates (the distance profile to the reference set).

Every coordinate is 1-Lipschitz in the distance, and the squared-exponential
kernel on the embedded points is positive-definite for any set of
architectures, the known ones and new ones alike.

The embedding is fixed between refits (the reference set does not change), so
new architectures are embedded from their distances to the reference set and
the Gaussian process can be extended one observation at a time.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BourgainEmbedding", "LandmarkEmbedding", "squared_exponential"]


class BourgainEmbedding:
    """Bourgain's embedding of a finite metric space into Euclidean space.

    For ``n`` reference points it draws ``ceil(log2 n)`` levels (at least 1) of
    ``subsets_per_level`` random subsets (default ``max(4, ceil(2 log2 n))``);
    at level ``i`` each reference point joins a subset with probability
    ``2^-i`` (an empty draw keeps one random point). The coordinates are scaled
    by ``1/sqrt(dimension)`` so that embedded distances never exceed the
    original ones.

    Args:
        rng: The generator drawing the subsets.
        subsets_per_level: Subsets per level; None for the default above.

    Attributes:
        subsets_: Boolean matrix (dimension × reference points) of the subsets.
    """

    def __init__(self, rng: np.random.Generator, subsets_per_level: int | None = None) -> None:
        self.rng = rng
        self.subsets_per_level = subsets_per_level

    def fit(self, num_reference: int) -> BourgainEmbedding:
        """Draw the subsets for ``num_reference`` reference points; returns self."""
        if num_reference < 1:
            raise ValueError(f"the embedding needs at least one reference point, got {num_reference}")
        log_n = math.log2(num_reference) if num_reference > 1 else 0.0
        levels = max(1, math.ceil(log_n))
        per_level = self.subsets_per_level or max(4, math.ceil(2 * log_n))
        rows = []
        for level in range(1, levels + 1):
            for _ in range(per_level):
                subset = self.rng.random(num_reference) < 2.0**-level
                if not subset.any():
                    subset[self.rng.integers(num_reference)] = True
                rows.append(subset)
        self.subsets_ = np.array(rows)
        return self

    @property
    def dimension(self) -> int:
        """Number of coordinates."""
        return self.subsets_.shape[0]

    def transform(self, distances: np.ndarray) -> np.ndarray:
        """Embed points given their distances to the reference points.

        Args:
            distances: Shape ``(m, num_reference)``.

        Returns:
            Coordinates, shape ``(m, dimension)``.
        """
        distances = np.asarray(distances, dtype=np.float64)
        if distances.ndim != 2 or distances.shape[1] != self.subsets_.shape[1]:
            raise ValueError(f"expected distances of shape (m, {self.subsets_.shape[1]}), got {distances.shape}")
        coordinates = np.empty((distances.shape[0], self.dimension))
        for k, subset in enumerate(self.subsets_):
            coordinates[:, k] = distances[:, subset].min(axis=1)
        return coordinates / math.sqrt(self.dimension)


class LandmarkEmbedding:
    """Each point's distances to all reference points, scaled by ``1/sqrt(n)``.

    The singleton level of Bourgain's construction on its own: deterministic,
    and it keeps more of the distance's detail than random subsets. Embedded
    distances never exceed the original ones.
    """

    def fit(self, num_reference: int) -> LandmarkEmbedding:
        """Remember the number of reference points; returns self."""
        if num_reference < 1:
            raise ValueError(f"the embedding needs at least one reference point, got {num_reference}")
        self.num_reference_ = num_reference
        return self

    @property
    def dimension(self) -> int:
        """Number of coordinates (the reference points)."""
        return self.num_reference_

    def transform(self, distances: np.ndarray) -> np.ndarray:
        """Embed points given their distances to the reference points, shape ``(m, num_reference)``."""
        distances = np.asarray(distances, dtype=np.float64)
        if distances.ndim != 2 or distances.shape[1] != self.num_reference_:
            raise ValueError(f"expected distances of shape (m, {self.num_reference_}), got {distances.shape}")
        return distances / math.sqrt(self.num_reference_)


def squared_exponential(a: np.ndarray, b: np.ndarray, length_scale: float) -> np.ndarray:
    """``exp(-|a_i - b_j|² / (2 ℓ²))`` for every row pair of ``a`` and ``b``."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.exp(-np.maximum(squared, 0.0) / (2.0 * length_scale**2))
