"""Random search over network morphisms: the baseline for the Bayesian searcher."""

from __future__ import annotations

import math
from collections.abc import Collection

from autonas.morphism import random_morph
from autonas.search.base import Constraint, MorphismSearcher, ChildProposal, RewardFunction, reward_argument

__all__ = ["RandomSearcher"]


class RandomSearcher(MorphismSearcher):
    """Random legal morphisms of a random model among the better ones.

    Each proposal picks a parent uniformly among the best ``top_fraction`` of
    the trained models (by reward, at least one) and applies 1 to
    ``max_operations`` random legal operations
    (:func:`~autonas.morphism.random_morph`), retrying when the child was
    already told, is in flight or fails the constraint.

    Args:
        seed: Seed of the searcher's private random generator (None: fresh entropy).
        reward: ``(accuracy, graph) -> reward`` ranking the parents; default the accuracy.
        constraint: ``graph -> bool``; failing graphs are never proposed.
        max_operations: Most operations per proposal (default 3).
        top_fraction: Fraction of the trained models to draw parents from (default 0.25).
        max_tries: Random draws before giving up on a proposal (default 50).
        kinds: Operation kinds to draw from (default all; see
            :data:`autonas.morphism.GROWING`, ``SHRINKING``, ``REGULARISING``).
        objective: Deprecated name of ``reward``.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        reward: RewardFunction | None = None,
        constraint: Constraint | None = None,
        max_operations: int = 3,
        top_fraction: float = 0.25,
        max_tries: int = 50,
        kinds: Collection[str] | None = None,
        objective: RewardFunction | None = None,
    ) -> None:
        super().__init__(seed, reward_argument(reward, objective), constraint, max_operations, kinds)
        if not 0 < top_fraction <= 1:
            raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction!r}")
        self.top_fraction = float(top_fraction)
        self.max_tries = int(max_tries)

    def _propose(self) -> ChildProposal | None:
        trained = sorted(self._parents(), key=lambda t: -t.reward)  # stable: earlier trials win ties
        if not trained:
            return None
        pool = trained[: max(1, math.ceil(self.top_fraction * len(trained)))]
        for _ in range(self.max_tries):
            parent = pool[self._rng.integers(len(pool))]
            count = int(self._rng.integers(1, self.max_operations + 1))
            child, operations = random_morph(parent.architecture, self._rng, n=count, kinds=self.kinds)
            if operations and self._is_new(child.fingerprint()) and self._allowed(child):
                return self._build(parent.trial_id, operations)
        return None
