"""Where the search loop's next trial comes from: the searcher freely, or generations of siblings.

Two proposal sources share one small interface (``ask``, ``observe``,
``reject``), so the loop does not care which one it has:

* :class:`FreeProposals` asks the searcher for one child at a time, of
  whichever trained model it likes, and tells it each trial's score (the
  Auto-Keras loop).
* :class:`Generations` compares siblings at equal budgets (as NASH does,
  Elsken et al. 2017). A generation is the incumbent's ``children`` children,
  proposed by the searcher, plus one **no-edit sibling**: the incumbent itself,
  trained on with the same schedule. Every member trains the same epochs
  with the same seed (so the same data order; a child whose edit changed the
  function learns at the initial rate, as it would alone); the best of the
  generation (ties: fewer parameters) becomes the next incumbent. What the
  searcher learns from a child is its **value net of training**: its parent's
  value plus what the child scored over the no-edit sibling. An initial
  architecture's value is its score, a no-edit sibling's its parent's. So the
  gain an edit brought is not mixed with the training its ancestors had, and
  a search that edits must beat one that only trains on (the no-edit sibling
  is always in the running).

A generation's members are the trials with the same parent (the winner is
always a member, so every generation has its own parent); a resumed search
rebuilds them from the records and completes the last one if it was cut short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from autonas._checks import check_int
from autonas.engine.project import TrialRecord
from autonas.graph import Graph
from autonas.search.base import Proposal, Searcher

__all__ = ["FreeProposals", "Generations", "NO_EDIT", "check_generation_children", "edit_gains"]

logger = logging.getLogger(__name__)

#: The name of a no-edit sibling's trial.
NO_EDIT = "no edit (trained on)"

#: ``record -> sort key``, higher is better (the loop's ranking of completed trials).
Rank = Callable[[TrialRecord], tuple]
#: ``record -> score`` the searcher learns from, None for a failed trial.
Score = Callable[[TrialRecord], "float | None"]


def check_generation_children(children: object, searcher: object, name: str = "generation_children") -> None:
    """Refuse a count of children per generation that is not None or an int ≥ 0, and children from a
    searcher object that cannot propose them (a searcher's name always can).

    Raises:
        ValueError: naming ``name`` and what was expected.
    """
    check_int(children, name, optional=True)
    if children is not None and children < 0:
        raise ValueError(f"{name} must be 0 or more, or None, got {children!r}")
    if children and not isinstance(searcher, str) and not callable(getattr(searcher, "ask_children", None)):
        raise ValueError(
            f"{name}={children} needs a searcher with ask_children(parent_id), got {type(searcher).__name__}; "
            "pass None to ask it one child at a time"
        )


class FreeProposals:
    """The searcher's proposals as they come, each trial's score told back (one child at a time)."""

    #: Whether the loop holds children back until every initial architecture has trained.
    waits_for_initial = False

    def __init__(self, searcher: Searcher, score: Score) -> None:
        self.searcher, self.score = searcher, score

    def ask(self) -> Proposal | None:
        return self.searcher.ask()

    def observe(self, record: TrialRecord, graph: Graph) -> None:
        self.searcher.tell(str(record.id), graph, self.score(record))

    def reject(self, name: str, graph: Graph) -> None:
        self.searcher.tell(name, graph, None)

    def seed_key(self, proposal: Proposal) -> int | None:
        """The id a trial's seed derives from instead of its own (None: its own)."""
        return None


@dataclass
class _Generation:
    parent: int
    planned: int  # members to issue: the no-edit sibling and up to ``children`` children
    issued: int = 0
    members: list[tuple[TrialRecord, Graph]] = field(default_factory=list)
    sibling_issued: bool = False
    exhausted: bool = False  # the searcher had no more children to give

    @property
    def in_flight(self) -> int:
        return self.issued - len(self.members)


class Generations:
    """Generations of siblings at equal budget: ``children`` edits of the incumbent and a no-edit sibling.

    The searcher must offer ``ask_children(parent_id)`` (every
    :class:`~autonas.search.MorphismSearcher` does): the children of one
    generation all come from the incumbent.

    Args:
        searcher: Proposes the children and learns their values.
        children: Children per generation (0: only the no-edit sibling, the
            more-training control).
        rank: Orders completed trials, higher is better (choosing the incumbent).
        score: What the searcher learns from a trial (e.g. validation accuracy).
    """

    #: The first incumbent is the best of *all* initial architectures: children wait for them.
    waits_for_initial = True

    def __init__(self, searcher: Searcher, children: int, rank: Rank, score: Score) -> None:
        check_generation_children(children, searcher, name="children")
        self.searcher, self.children, self.rank, self.score = searcher, int(children), rank, score
        self.values: dict[int, float] = {}  # trial id -> value net of training
        self.graphs: dict[int, Graph] = {}  # completed trials' trained graphs (future parents)
        self.records: dict[int, TrialRecord] = {}
        self.initial: list[int] = []
        self.current: _Generation | None = None
        self.finished: list[int] = []  # parents of closed generations, in order
        self.incumbent: int | None = None
        self.spent: set[int] = set()  # parents whose generation had no member: none of their edits can train
        self.barren = False  # no network is left to propose from

    # ------------------------------------------------------------------ the loop's interface
    def ask(self) -> Proposal | None:
        """The current generation's next member; None while its last members train (or nothing is left)."""
        if self.current is not None and self.current.issued >= self.current.planned:
            if self.current.in_flight:
                return None
            self._close()
        if self.barren:
            return None
        if self.current is None:
            parent = self._next_incumbent()
            if parent is None:
                return None
            self.current = _Generation(parent, planned=1 + self.children)
        generation = self.current
        if not generation.sibling_issued:  # the no-edit sibling first: the baseline of every child
            generation.sibling_issued = True
            generation.issued += 1
            graph = self.graphs[generation.parent]
            return Proposal(str(generation.parent), (), graph.copy(), graph)
        while generation.issued < generation.planned and not generation.exhausted:
            proposal = self.searcher.ask_children(str(generation.parent))
            if proposal is None:
                generation.exhausted = True
                break
            if int(proposal.parent_id) != generation.parent:  # a searcher ignoring the request
                raise ValueError(
                    f"{type(self.searcher).__name__}.ask_children({generation.parent}) proposed a child of "
                    f"{proposal.parent_id}"
                )
            generation.issued += 1
            return proposal
        generation.planned = generation.issued  # fewer children than planned: the generation is complete
        return None if generation.in_flight else self.ask()

    def observe(self, record: TrialRecord, graph: Graph) -> None:
        """A finished trial (or, on resume, a trial on disk, in order)."""
        if record.status == "completed":
            self.graphs[record.id], self.records[record.id] = graph, record
        if record.parent is None:
            self.initial.append(record.id)
            score = self.score(record)
            if score is not None:
                self.values[record.id] = score
            self.searcher.tell(str(record.id), graph, score)
            return
        generation = self.current
        if generation is None or generation.parent != record.parent:  # resuming: the records say the generation
            if generation is not None:
                self._close()
            generation = self.current = _Generation(record.parent, planned=1 + self.children)
        if generation.issued <= len(generation.members):  # not issued here: read back on resume
            generation.issued += 1
            generation.planned = max(generation.planned, generation.issued)
            generation.sibling_issued = generation.sibling_issued or not record.operations
        generation.members.append((record, graph))

    def reject(self, name: str, graph: Graph) -> None:
        """A proposal that broke a constraint: it is no member. A child's place goes to another child; a
        rejected no-edit sibling is not proposed again (the children are measured against the parent)."""
        if self.current is not None:
            self.current.issued -= 1
        self.searcher.tell(name, graph, None)

    def seed_key(self, proposal: Proposal) -> int | None:
        """Members of a generation train with one seed (the same data order): their parent's id's."""
        return int(proposal.parent_id)

    # ------------------------------------------------------------------ generations
    def _next_incumbent(self) -> int | None:
        """The winner of the last closed generation, else the best initial architecture."""
        if self.incumbent is not None:
            return self.incumbent
        completed = [self.records[i] for i in self.initial if i in self.records]
        if not completed:
            return None
        self.incumbent = self._best(completed).id
        return self.incumbent

    def _best(self, records: list[TrialRecord]) -> TrialRecord:
        return max(records, key=lambda r: (self.rank(r), -int(r.metrics.get("params") or 0), -r.id))

    def _close(self) -> None:
        """Tell the searcher the generation's values and choose the next incumbent."""
        generation, self.current = self.current, None
        parent = generation.parent
        parent_value = self.values.get(parent)
        siblings = [(r, g) for r, g in generation.members if not r.operations]
        baseline_record = next((r for r, _ in siblings if r.status == "completed"), None)
        baseline = self.score(baseline_record) if baseline_record is not None else None
        if baseline is None and parent in self.records:  # the sibling failed: the parent's own score
            baseline = self.score(self.records[parent])
        for record, graph in sorted(generation.members, key=lambda m: (bool(m[0].operations), m[0].id)):
            score = self.score(record)
            if score is not None and parent_value is not None and baseline is not None:
                value = parent_value if not record.operations else parent_value + score - baseline
                self.values[record.id] = value
            else:
                value = None
            if not record.operations and hasattr(self.searcher, "add_root"):
                # the parent's architecture with more training: a parent for the next children, no new point to learn
                if value is not None:
                    self.searcher.add_root(str(record.id), graph, value)
                else:
                    self.searcher.tell(str(record.id), graph, None)
            else:
                self.searcher.tell(str(record.id), graph, value)
        completed = [r for r, _ in generation.members if r.status == "completed"]
        self.finished.append(parent)
        if not generation.members:  # every proposal broke a constraint and the searcher has no other
            self.spent.add(parent)
            fallback = [r for i, r in self.records.items() if i not in self.spent]
            if not fallback:
                self.barren = True
                logger.info("generation of trial %d: no member could train, and no other network is left", parent)
                return
            self.incumbent = self._best(fallback).id
            logger.info(
                "generation of trial %d: no member could train (constraints); the next best network, trial %d, "
                "leads the next", parent, self.incumbent,
            )
            return
        if completed:
            self.incumbent = self._best(completed).id
            logger.info(
                "generation of trial %d: %d members, trial %d leads (%s)",
                parent, len(generation.members), self.incumbent, self.records[self.incumbent].name,
            )
        # every member failed: the parent stays the incumbent (the loop ends a search whose trials keep failing)


def edit_gains(records: list[TrialRecord]) -> dict[str, list[float]]:
    """What each kind of edit gained over its no-edit sibling, from a search in generations.

    A child's gain is its validation accuracy minus that of the no-edit sibling
    of its generation (the trials with its parent); it counts for every kind of
    operation it applied. Generations without a completed no-edit sibling, and
    failed children, are left out.

    Args:
        records: The search's trials (e.g. ``classifier.history_``).

    Returns:
        ``{operation kind: [gain, ...]}``, in the order the children ran.
    """
    siblings = {r.parent: r.val_accuracy for r in records if r.parent is not None and not r.operations}
    gains: dict[str, list[float]] = {}
    for record in records:
        baseline = siblings.get(record.parent)
        if record.parent is None or not record.operations or baseline is None or record.val_accuracy is None:
            continue
        for kind in dict.fromkeys(op.get("kind", "?") for op in record.operations):
            gains.setdefault(kind, []).append(float(record.val_accuracy) - float(baseline))
    return gains
