"""Bayesian optimisation over network morphisms (the Auto-Keras searcher)."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from autonas.graph import Graph
from autonas.search.acquisition import AnnealingSchedule, Candidate, ExpansionCache, tree_search, upper_confidence_bound
from autonas.search.base import Constraint, MorphismSearcher, ChildProposal, RewardFunction, ToldTrial, reward_argument
from autonas.search.distance import Descriptor, describe, pairwise_distances
from autonas.search.gp import GaussianProcess, median_distance
from autonas.search.kernel import BourgainEmbedding, LandmarkEmbedding, squared_exponential

__all__ = ["BayesianSearcher"]

#: Refit (new embedding, hyperparameters, full factorisation) after every trial up to this many...
_REFIT_ALWAYS_UP_TO = 12
#: ...then whenever the observations have grown by this factor since the last refit.
_REFIT_GROWTH = 1.25
_DESCRIPTOR_CACHE_SIZE = 4096
_EMBEDDINGS = ("bourgain", "landmarks")


class BayesianSearcher(MorphismSearcher):
    """Bayesian optimisation with an edit-distance Gaussian process (Jin, Song & Hu, KDD 2019).

    A Gaussian process models validation accuracy on a Euclidean embedding of
    the neural-network edit distance (:mod:`autonas.search.distance`,
    :mod:`autonas.search.kernel`), which makes its kernel positive-definite. A child is scored by
    ``reward(mean + beta · std, graph)``: only accuracy is predicted, costs
    known from the graph (parameters, MACs, energy) enter the reward exactly.
    The tree-structured optimizer (:func:`~autonas.search.acquisition.tree_search`)
    finds the best-scoring child within ``max_operations`` morphisms of a trained
    model. Trials in flight enter the process as kriging believers (observed at
    their predicted mean), which shrinks the uncertainty around them.

    The embedding, hyperparameters (length scale and noise by marginal
    likelihood) and target normalisation are refitted after each of the first
    12 trials, then whenever the trials have grown by a quarter; in between,
    each trial extends the Cholesky factor by one row.

    Args:
        seed: Seed of the searcher's private random generator (None: fresh entropy).
        beta: Weight of the standard deviation in the upper confidence bound (default 2.0).
        reward: ``(accuracy, graph) -> reward``; default the accuracy itself.
        constraint: ``graph -> bool``; failing graphs are never proposed.
        max_operations: Most morphisms between a trained model and a proposal (default 3).
        max_children: New children built per expansion of the tree search (default 12).
        max_builds: New children built per proposal, bounding its work (default 60).
        initial_temperature: Annealing temperature of the first expansion (default 1.0).
        temperature_decay: Factor per expansion (default 0.75).
        min_temperature: Temperature that ends the search (default 0.05).
        skip_weight: Weight of the skip-connection term of the distance (default 1.0).
        embedding: ``"landmarks"`` (default: distances to every observed
            architecture) or ``"bourgain"`` (the paper's random subsets); see
            :mod:`autonas.search.kernel`.
        kinds: Operation kinds the tree search expands with (default all; see
            :data:`autonas.morphism.GROWING`, ``SHRINKING``, ``REGULARISING``).
        objective: Deprecated name of ``reward``.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        beta: float = 2.0,
        reward: RewardFunction | None = None,
        constraint: Constraint | None = None,
        max_operations: int = 3,
        max_children: int = 12,
        max_builds: int = 60,
        initial_temperature: float = 1.0,
        temperature_decay: float = 0.75,
        min_temperature: float = 0.05,
        skip_weight: float = 1.0,
        embedding: str = "landmarks",
        kinds: Collection[str] | None = None,
        objective: RewardFunction | None = None,
    ) -> None:
        super().__init__(seed, reward_argument(reward, objective), constraint, max_operations, kinds)
        if beta < 0:
            raise ValueError(f"beta must be non-negative, got {beta!r}")
        if max_children < 1 or max_builds < 1:
            raise ValueError("max_children and max_builds must be at least 1")
        self.beta = float(beta)
        self.max_children = int(max_children)
        self.max_builds = int(max_builds)
        self.initial_temperature = initial_temperature
        self.temperature_decay = temperature_decay
        self.min_temperature = min_temperature
        self.skip_weight = float(skip_weight)
        if embedding not in _EMBEDDINGS:
            raise ValueError(f"embedding must be one of {sorted(_EMBEDDINGS)}, got {embedding!r}")
        self.embedding = embedding
        self._schedule = AnnealingSchedule(initial_temperature, temperature_decay, min_temperature)
        self._cache = ExpansionCache()
        self._descriptors: dict[str, Descriptor] = {}
        self._observed: list[ToldTrial] = []
        self._observed_descriptors: list[Descriptor] = []
        self._distances = np.zeros((0, 0))  # among observed trials, grown in place
        self._reference = 0  # the first ``_reference`` observed trials span the embedding
        self._embedding: BourgainEmbedding | LandmarkEmbedding | None = None
        self._gp: GaussianProcess | None = None

    # ------------------------------------------------------------------ state
    def _extra_state(self) -> dict[str, Any]:
        """The Gaussian process, its embedding and the tree search's cache (picklable)."""
        n = len(self._observed)
        return {"observed": [t.trial_id for t in self._observed], "distances": self._distances[:n, :n].copy(),
                "reference": self._reference, "embedding": self._embedding, "gp": self._gp,
                "schedule": self._schedule, "cache": self._cache}

    def _restore_extra_state(self, state: dict[str, Any]) -> None:
        self._observed = [self._trials[trial_id] for trial_id in state["observed"]]
        self._observed_descriptors = [self._describe(t.architecture, t.fingerprint) for t in self._observed]
        n = len(self._observed)
        self._distances = np.zeros((max(8, 2 * n), max(8, 2 * n)))
        self._distances[:n, :n] = state["distances"]
        self._reference, self._embedding, self._gp = state["reference"], state["embedding"], state["gp"]
        self._schedule, self._cache = state["schedule"], state["cache"]
        if isinstance(self._embedding, BourgainEmbedding):
            self._embedding.rng = self._rng

    # ------------------------------------------------------------------ learning
    def _observe(self, trial: ToldTrial) -> None:
        descriptor = self._describe(trial.architecture, trial.fingerprint)
        row = pairwise_distances([descriptor], self._observed_descriptors, skip_weight=self.skip_weight)[0]
        n = len(self._observed)
        if n == self._distances.shape[0]:
            grown = np.zeros((max(8, 2 * n), max(8, 2 * n)))
            grown[:n, :n] = self._distances[:n, :n]
            self._distances = grown
        self._distances[n, :n] = row
        self._distances[:n, n] = row
        self._distances[n, n] = 0.0
        self._observed.append(trial)
        self._observed_descriptors.append(descriptor)
        count = n + 1
        if count <= _REFIT_ALWAYS_UP_TO or count >= math.ceil(_REFIT_GROWTH * self._reference):
            self._refit()
        else:
            coordinates = self._embedding.transform(row[None, : self._reference])[0]
            self._gp.update(coordinates, trial.accuracy)

    def _refit(self) -> None:
        count = len(self._observed)
        self._reference = count
        self._embedding = self._new_embedding(self._rng).fit(count)
        coordinates = self._embedding.transform(self._distances[:count, :count])
        accuracies = np.array([t.accuracy for t in self._observed])
        self._gp = GaussianProcess().fit(coordinates, accuracies)

    def _new_embedding(self, rng: np.random.Generator) -> BourgainEmbedding | LandmarkEmbedding:
        return BourgainEmbedding(rng) if self.embedding == "bourgain" else LandmarkEmbedding()

    def _describe(self, graph: Graph, fingerprint: str | None = None) -> Descriptor:
        fingerprint = fingerprint or graph.fingerprint()
        descriptor = self._descriptors.get(fingerprint)
        if descriptor is None:
            if len(self._descriptors) >= _DESCRIPTOR_CACHE_SIZE:
                self._descriptors.pop(next(iter(self._descriptors)))
            descriptor = self._descriptors[fingerprint] = describe(graph)
        return descriptor

    def _embed(self, graphs: Sequence[Graph], fingerprints: Sequence[str] | None = None) -> np.ndarray:
        fingerprints = fingerprints or [g.fingerprint() for g in graphs]
        descriptors = [self._describe(g, f) for g, f in zip(graphs, fingerprints)]
        reference = self._observed_descriptors[: self._reference]
        distances = pairwise_distances(descriptors, reference, skip_weight=self.skip_weight)
        return self._embedding.transform(distances)

    # ------------------------------------------------------------------ proposing
    def _propose(self) -> ChildProposal | None:
        trained = self._parents()
        if not trained or self._gp is None:
            return None
        gp = self._gp
        if self._in_flight:
            gp = gp.believe(self._embed([p.graph for p in self._in_flight.values()], list(self._in_flight)))

        def acquisition(candidates: list[Candidate]) -> np.ndarray:
            mean, std = gp.predict(self._embed([c.graph for c in candidates], [c.fingerprint for c in candidates]), return_std=True)
            bound = upper_confidence_bound(mean, std, self.beta)
            return np.array([self._reward(float(u), c.graph) for u, c in zip(bound, candidates)])

        found = tree_search(
            [(t.trial_id, t.architecture, t.fingerprint, t.reward) for t in trained],
            acquisition,
            rng=self._rng,
            is_new=self._is_new,
            allowed=self._allowed,
            max_operations=self.max_operations,
            max_children=self.max_children,
            max_builds=self.max_builds,
            schedule=self._schedule,
            cache=self._cache,
            kinds=self.kinds,
        )
        if found is None:
            return None
        candidate, _ = found
        return self._build(candidate.root_id, candidate.operations)

    # ------------------------------------------------------------------ inspection
    def kernel_matrix(self, graphs: Sequence[Graph]) -> np.ndarray:
        """The kernel the Gaussian process uses, between ``graphs``.

        The correlation ``exp(-|φ(a) - φ(b)|² / 2ℓ²)`` of the embeddings
        ``φ`` (the process's covariance is this times its amplitude). Before any
        trial was told, the embedding is drawn over ``graphs`` themselves and
        the length scale is their median embedded distance.

        Returns:
            A symmetric positive semi-definite ``(len(graphs), len(graphs))`` array.
        """
        if self._gp is not None:
            coordinates = self._embed(graphs)
            return squared_exponential(coordinates, coordinates, self._gp.length_scale_)
        descriptors = [describe(g) for g in graphs]
        distances = pairwise_distances(descriptors, descriptors, skip_weight=self.skip_weight)
        embedding = self._new_embedding(np.random.default_rng(self.seed)).fit(len(graphs))
        coordinates = embedding.transform(distances)
        return squared_exponential(coordinates, coordinates, median_distance(coordinates))
