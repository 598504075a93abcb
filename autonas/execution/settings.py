"""How a trial trains: :class:`TrainingSettings` and the checks of its values."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from autonas._checks import check_int
from autonas.objectives.robustness import AdversarialTraining

__all__ = ["PRECISIONS", "SCHEDULES", "TrainingSettings", "check_label_smoothing"]

#: Learning-rate schedules a trial can train on.
SCHEDULES = ("cosine", "constant")

#: Dtype policies a trial can train in (``"auto"``: :func:`autonas.backend.fast_dtype_policy`).
PRECISIONS = ("float32", "mixed_bfloat16", "auto")


def check_label_smoothing(value: Any) -> None:
    """Raise ValueError unless ``value`` is a number (not a bool) in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1), got {value!r}")


@dataclass(frozen=True)
class TrainingSettings:
    """How a trial trains.

    Attributes:
        learning_rate: The optimiser's learning rate (with ``"cosine"``, where
            the schedule starts).
        batch_size: Examples per step.
        max_epochs: Epochs to train (with ``"constant"``, the cap before early stopping).
        patience: With ``"constant"``: epochs without progress (a lower
            validation loss or a higher validation accuracy) before stopping.
            Not used by ``"cosine"``, which always runs its epochs.
        optimizer: Optimiser name known to ``keras.optimizers.get``.
        schedule: ``"cosine"`` (default): the learning rate falls from
            ``learning_rate`` to zero over ``max_epochs`` epochs (half a cosine,
            step by step; faster when a deadline would cut it, so that it
            still ends annealed) and the last epoch's weights are kept, so the
            trial ends annealed and its score is comparable with any other
            trial of the same length; ``"constant"``: one learning rate, early stopping,
            the best epoch restored.
        subset_rows: Train on this many of the training images, drawn by the
            trial's seed (the same seed, the same images); None: on all of
            them (a length under one epoch). Its ``seconds_per_epoch`` is
            still reported for an epoch over all the images.
        label_smoothing: Label smoothing of the cross-entropy, in [0, 1)
            (:func:`~autonas.execution.compiling.smoothed_sparse_crossentropy`); 0: none.
        precision: The Keras dtype policy the model trains in: ``"float32"``,
            ``"mixed_bfloat16"`` (bfloat16 arithmetic, float32 weights; the
            output layer stays float32), or ``"auto"``: the faster of the two
            where the trial runs (:func:`autonas.backend.fast_dtype_policy`).
            The trained weights are float32 either way.
        adversarial: None (default), or an
            :class:`~autonas.objectives.robustness.AdversarialTraining`: every
            batch replaced by its FGSM example with a random start (validation
            stays clean); set by the recipe when the objective reads robustness.
    """

    # the default recipe's (autonas.engine.recipe.Recipe, the one source; tests/engine/test_spec.py keeps them equal)
    learning_rate: float = 3e-3
    batch_size: int = 64
    max_epochs: int = 40
    patience: int = 4
    optimizer: str = "adam"
    schedule: str = "cosine"
    subset_rows: int | None = None
    label_smoothing: float = 0.0
    precision: str = "float32"
    adversarial: AdversarialTraining | None = None

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        check_int(self.subset_rows, "subset_rows", optional=True)
        if self.subset_rows is not None and self.subset_rows < 1:
            raise ValueError(f"subset_rows must be 1 or more images, or None, got {self.subset_rows!r}")
        check_label_smoothing(self.label_smoothing)
        if self.adversarial is not None and not isinstance(self.adversarial, AdversarialTraining):
            raise ValueError(f"adversarial must be None or an AdversarialTraining, got {self.adversarial!r}")

    def data_epochs(self, rows: int) -> float:
        """Passes over all of ``rows`` training images that :attr:`max_epochs` epochs make (fewer on a subset)."""
        rows = max(1, int(rows))
        return self.max_epochs * min(rows, self.subset_rows or rows) / rows

    @property
    def early_stopping(self) -> bool:
        """Whether training stops on patience and restores its best epoch (``"constant"`` schedule)."""
        return self.schedule == "constant"

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (a trial record's ``hyperparameters``)."""
        return asdict(self)
