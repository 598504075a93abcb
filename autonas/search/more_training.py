"""The control every searcher must beat: no edits, only more training of the best network."""

from __future__ import annotations

from collections.abc import Collection

from autonas.search.base import Constraint, MorphismSearcher, ChildProposal, RewardFunction, reward_argument

__all__ = ["MoreTrainingSearcher"]


class MoreTrainingSearcher(MorphismSearcher):
    """Proposes no edit: the best trained network (by reward), unchanged, to train on from its weights.

    Under generations of siblings (:class:`autonas.engine.generations.Generations`)
    it proposes no child, so each generation is the no-edit sibling alone; one
    child at a time, it proposes the best trained network not already training.
    What an editing searcher gains over it is what the edits add beyond more
    training.

    Args:
        seed: Unused (nothing is random); accepted like the other searchers'.
        reward: ``(accuracy, graph) -> reward`` choosing the best; default the accuracy.
        constraint: ``graph -> bool``; failing networks are not proposed.
        kinds: Unused (no edits); accepted like the other searchers'.
        objective: Deprecated name of ``reward``.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        reward: RewardFunction | None = None,
        constraint: Constraint | None = None,
        kinds: Collection[str] | None = None,
        objective: RewardFunction | None = None,
    ) -> None:
        super().__init__(seed, reward_argument(reward, objective), constraint, max_operations=1, kinds=kinds)

    def _propose(self) -> ChildProposal | None:
        if self._focus is not None:
            return None  # no children: a generation is its no-edit sibling
        free = [t for t in self._trained() if t.fingerprint not in self._in_flight and self._allowed(t.graph)]
        if not free:
            return None
        best = max(free, key=lambda t: (t.reward, -int(t.trial_id) if t.trial_id.isdigit() else 0))
        return ChildProposal(best.trial_id, (), best.graph.copy(), best.graph)
