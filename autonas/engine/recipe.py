"""How long and how each trial of a search trains: the default training recipe.

Every trial trains a fixed number of epochs on a cosine schedule that ends
annealed (:class:`~autonas.execution.TrainingSettings`), so the scores the
searcher compares come from equal budgets, and a trial costs what its length
says. Lengths are counted in training examples, not epochs, so that the same
recipe serves 1,300 digits and 60,000 photos: an initial architecture sees
:attr:`Recipe.initial_examples` examples, a morphed child, which starts from
its parent's trained weights, :attr:`Recipe.child_examples` on a restarted
schedule (as NASH's children do, Elsken et al. 2017). Where that is less than
one epoch, the trial trains one epoch on that many of the images, drawn by its
seed, so that a trial costs what its length says on large data sets too.

:class:`Recipe` is the one source of default training numbers: the estimator,
the keras-tuner hypermodel and the benchmarks ask it (a bare
:class:`~autonas.execution.TrainingSettings` repeats its learning rate, batch
size and epochs, since the execution layer cannot import this one;
``tests/engine/test_spec.py`` keeps them equal). It also holds how a
time-limited search splits its limit (:attr:`Recipe.final_fit_fraction`) and
bounds its children (:attr:`Recipe.growth`, :attr:`Recipe.stretch`), so that a
benchmark varies them by passing a recipe, never by setting class attributes.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from autonas.execution.settings import TrainingSettings
from autonas.graph import Graph

__all__ = ["RECENT_TRIALS", "ChildTimeLimit", "Recipe", "epochs_for", "startup_seconds", "subset_for"]

#: Recent completed trials whose start-up and pace predict the next trial's.
RECENT_TRIALS = 8


def startup_seconds(records: Iterable[Any], window: int = RECENT_TRIALS) -> float:
    """The start-up to expect of a trial: the median ``startup_seconds`` of the last ``window`` completed records.

    Start-up is building and compiling, which no deadline check interrupts.
    One estimate for the loop (whether a trial still fits before the final
    fit), the final fit (whether an epoch fits after it: pass ``[best]``) and
    :class:`ChildTimeLimit`. 0 without a completed record.
    """
    startups = [float(r.metrics.get("startup_seconds") or 0.0) for r in records if r.status == "completed"]
    return float(statistics.median(startups[-window:])) if startups else 0.0


def epochs_for(examples: int, train_rows: int, max_epochs: int) -> int:
    """Whole epochs over ``train_rows`` images that see about ``examples`` examples (1 to ``max_epochs``)."""
    return int(min(max_epochs, max(1, round(examples / max(1, int(train_rows))))))


def subset_for(examples: int, train_rows: int) -> int | None:
    """The images one epoch trains on to see ``examples`` examples: None (all of them) unless fewer."""
    return int(examples) if 0 < examples < int(train_rows) else None


@dataclass(frozen=True)
class Recipe:
    """The default training of a search's trials, and how a time-limited search splits its limit.

    Attributes:
        learning_rate: Where an initial architecture's cosine schedule starts.
        child_learning_rate: Where a child's restarted schedule starts: its
            parent's start, a warm restart as in SGDR and NASH
            (benchmarks/results/child_learning_rate.md).
        constant_learning_rate: An initial architecture's rate where training
            runs at one constant rate (keras-tuner's ``MorphismHyperModel``,
            which does not own the schedule); a child there fine-tunes at a
            tenth of it (benchmarks/results/child_learning_rate.md).
        batch_size: Examples per step.
        initial_examples: Training examples an initial architecture sees.
        child_examples: Training examples a child sees: on more training
            images than this, one epoch on this many of them (drawn by the
            trial's seed, so siblings of a generation see the same ones).
        max_epochs: Most epochs of any trial, however small the data.
        trials: With a time limit, children are kept small enough that the
            limit holds about this many trials (:class:`ChildTimeLimit`): more
            trials at the same accuracy (benchmarks/results/child_limit_trials.md).
        final_examples: Training examples the final fit sees without a time
            limit (:mod:`autonas.engine.final_fit`).
        max_final_epochs: Most epochs of a final fit under a time limit, which
            otherwise trains until the limit (its schedule anneals by the clock).
        final_label_smoothing: Label smoothing of the final fit's
            cross-entropy (trials train without: their scores are compared):
            the long final fit overfits without it
            (benchmarks/results/final_fit_variants.md).
        trial_precision: The dtype policy trials train in
            (:attr:`TrainingSettings.precision`): ``"auto"``, mixed bfloat16
            where that is faster (TensorFlow on a CPU with AMX:
            :func:`autonas.backend.fast_dtype_policy`), else float32
            (benchmarks/results/bfloat16_trials.md).
        final_precision: The dtype policy of the final fit (the same values;
            ``"auto"`` is resolved in the search process, where it runs).
            Either way its weights, and the model handed back, are float32. In
            mixed bfloat16 it keeps less of the limit
            (:func:`~autonas.engine.final_fit.final_fit_share`): about the same
            epochs, the rest to the trials (benchmarks/results/bfloat16_final_fit.md).
        final_fit_fraction: Share of a time limit kept for a float32 final fit
            (:attr:`~autonas.engine.SearchBudget.final_fit_fraction`; one in
            mixed bfloat16 keeps less): more and less both scored lower
            (benchmarks/results/final_fit_share.md).
        growth: With a time limit, a child of the best network so far may have
            up to this many times its multiply-accumulates (None: no growth
            beyond the even share; :class:`ChildTimeLimit`): the leader stays
            growable (benchmarks/results/child_limit_growth.md).
        stretch: ... as long as its predicted trial takes at most this many
            times the even share (benchmarks/results/child_limit_growth.md).
        adversarial_training: Whether trials and the final fit train on FGSM
            examples with a random start at the objective's ``epsilon``
            (:class:`~autonas.objectives.robustness.AdversarialTraining`):
            ``"auto"`` (default) where the objective reads robustness, True or False.
    """

    learning_rate: float = 3e-3
    child_learning_rate: float = 3e-3
    constant_learning_rate: float = 1e-3
    batch_size: int = 64
    initial_examples: int = 48_000
    child_examples: int = 8_000
    max_epochs: int = 40
    trials: int = 80
    final_examples: int = 48_000
    max_final_epochs: int = 100
    final_label_smoothing: float = 0.1
    trial_precision: str = "auto"
    final_precision: str = "auto"
    final_fit_fraction: float = 0.3
    growth: float | None = 2.0
    stretch: float = 4.0
    adversarial_training: bool | str = "auto"

    def __post_init__(self) -> None:
        if not 0.0 <= self.final_fit_fraction < 1.0:
            raise ValueError(f"final_fit_fraction must be from 0 to under 1, got {self.final_fit_fraction!r}")
        if self.growth is not None and not self.growth > 0:
            raise ValueError(f"growth must be None or > 0, got {self.growth!r}")
        if not self.stretch > 0:
            raise ValueError(f"stretch must be > 0, got {self.stretch!r}")
        if self.adversarial_training not in ("auto", True, False):
            raise ValueError(f"adversarial_training must be 'auto', True or False, got {self.adversarial_training!r}")

    def initial_settings(self, train_rows: int, epochs: int | None = None) -> TrainingSettings:
        """Settings of an initial architecture on ``train_rows`` training images (``epochs`` overrides the length)."""
        return TrainingSettings(
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            max_epochs=epochs or epochs_for(self.initial_examples, train_rows, self.max_epochs),
            schedule="cosine",
            subset_rows=None if epochs else subset_for(self.initial_examples, train_rows),
            precision=self.trial_precision,
        )

    def child_settings(self, train_rows: int, epochs: int | None = None) -> TrainingSettings:
        """Settings of a morphed child (``epochs``: at most that many)."""
        length = epochs_for(self.child_examples, train_rows, self.max_epochs)
        return replace(
            self.initial_settings(train_rows),
            learning_rate=self.child_learning_rate,
            max_epochs=length if epochs is None else min(length, epochs),
            subset_rows=subset_for(self.child_examples, train_rows),
        )

    def final_settings(self, rows: int, time_limited: bool, epochs: int | None = None) -> TrainingSettings:
        """Settings of the final fit on ``rows`` images (training and validation ones).

        It restarts a cosine schedule from the child learning rate and trains
        at most :attr:`max_final_epochs` epochs under a time limit (until the
        limit, annealing by the clock), else as many as see
        :attr:`final_examples` examples; ``epochs`` caps either.
        """
        length = self.max_final_epochs if time_limited else epochs_for(self.final_examples, rows, self.max_final_epochs)
        return replace(
            self.initial_settings(rows),
            learning_rate=self.child_learning_rate,
            max_epochs=length if epochs is None else min(length, epochs),
            subset_rows=None,  # all the images, always
            label_smoothing=self.final_label_smoothing,
            precision=self.final_precision,
        )


class ChildTimeLimit:
    """Keeps a time-limited search's children small enough that its budget holds many trials.

    A child's trial time is predicted from the trials so far: their start-up
    (building, compiling) plus its epochs at the pace its multiply-accumulates
    imply (seconds per epoch per MAC, the median of the recent trials: one
    data set, one machine). A child predicted to take more than
    ``trial_seconds`` is not proposed: growing edits make every generation
    larger, and without a bound a search of a fixed length ends with a few
    slow trials of networks it had no time to train. Before any trial has
    finished, everything is allowed (the initial architectures), and a child
    no larger (in MACs) than the largest initial architecture trained is
    always allowed, so a slow machine narrows the search but never ends it.
    Where a trial's fixed start-up outweighs its training (small images, a
    short limit, JAX compiling), the size of a network hardly changes its
    trial's time: children whose training takes up to the start-up again
    (twice the start-up in all) are allowed whatever ``trial_seconds`` says.
    With ``rank``, the best network so far may also grow: a child with up to
    ``growth`` times its multiply-accumulates is allowed while its trial
    is predicted within ``stretch`` times ``trial_seconds``, so that an
    edit that makes the leader larger (deeper, wider) stays possible where the
    leader itself already takes most of ``trial_seconds``. (Not where the
    start-up alone outlasts that: a search of a few seconds a trial keeps its
    children as small as before.)

    Args:
        trial_seconds: Most seconds a child's trial may be predicted to take.
        child_epochs: Passes over all the training images a child makes
            (fractional where it trains on a subset: ``TrainingSettings.data_epochs``).
        rank: The ranking of trials, higher first (``Objective.rank_key``);
            None: no growth beyond ``trial_seconds``.
        growth: Most times the best network's MACs a child of it may have
            (None: no growth allowance); default :attr:`Recipe.growth`.
        stretch: Most times ``trial_seconds`` such a child's trial may be
            predicted to take; default :attr:`Recipe.stretch`.
    """

    #: Recent trials the pace is read from.
    WINDOW = RECENT_TRIALS

    def __init__(
        self, trial_seconds: float, child_epochs: float, rank: Callable[[Any], Any] | None = None,
        growth: float | None = Recipe.growth, stretch: float = Recipe.stretch,
    ) -> None:
        self.trial_seconds = float(trial_seconds)
        self.child_epochs = float(child_epochs)
        self.rank = rank
        self.growth, self.stretch = growth, float(stretch)
        self._rates: list[float] = []  # seconds per epoch per MAC
        self._recent: list[Any] = []  # the records the rates came from: their start-up
        self.floor_macs = 0  # the largest initial architecture's: always allowed
        self.leader_macs = 0  # the best network's so far (with ``rank``)
        self._leader_rank: Any = None

    @classmethod
    def for_budget(
        cls, seconds: float, workers: int, child_epochs: float, trials: int = Recipe.trials,
        rank: Callable[[Any], Any] | None = None, recipe: Recipe | None = None,
    ) -> ChildTimeLimit:
        """The limit under which ``workers`` workers train about ``trials`` trials in ``seconds``, with
        ``recipe``'s growth allowance (default :class:`Recipe`'s)."""
        recipe = recipe or Recipe()
        return cls(seconds * max(1, workers) / max(1, trials), child_epochs, rank, recipe.growth, recipe.stretch)

    def observe(self, record: Any) -> None:
        """Learn the pace from a finished trial's record (its ``seconds_per_epoch`` and ``macs``)."""
        metrics = getattr(record, "metrics", {})
        pace, macs = metrics.get("seconds_per_epoch"), metrics.get("macs")
        if getattr(record, "status", None) != "completed" or not pace or not macs:
            return
        if getattr(record, "parent", None) is None:
            self.floor_macs = max(self.floor_macs, int(macs))
        if self.rank is not None:
            key = self.rank(record)
            if self._leader_rank is None or key > self._leader_rank:
                self._leader_rank, self.leader_macs = key, int(macs)
        self._rates = [*self._rates, float(pace) / float(macs)][-self.WINDOW :]
        self._recent = [*self._recent, record][-self.WINDOW :]

    def predicted_seconds(self, graph: Graph) -> float | None:
        """The predicted trial time of ``graph`` as a child (None before any pace is known)."""
        if not self._rates:
            return None
        rate, startup = statistics.median(self._rates), startup_seconds(self._recent)
        return startup + self.child_epochs * rate * graph.macs()

    def allows(self, graph: Graph) -> bool:
        """Whether ``graph`` is predicted to train within the limit (True while the pace is unknown)."""
        predicted = self.predicted_seconds(graph)
        macs = graph.macs()
        if predicted is None or macs <= self.floor_macs:
            return True
        limit = max(self.trial_seconds, 2.0 * startup_seconds(self._recent))
        if predicted <= limit:
            return True
        growth = self.growth if self.rank is not None else None
        return growth is not None and macs <= growth * self.leader_macs and predicted <= self.stretch * self.trial_seconds
