"""The multi-objective reward: MONAS's mixed reward with hard constraints.

MONAS (Hsu et al., "MONAS: Multi-Objective Neural Architecture Search using
Reinforcement Learning", 2018) rewards a model with a weighted mix of its
accuracy and its power or energy, and alternatively with its accuracy under hard
constraints. :class:`Objective` offers both at once::

    reward = alpha · accuracy − beta · energy_mj / energy_reference − gamma · params / size_reference
             + robustness · robust_accuracy

for a model within every hard constraint (``max_params``, ``max_macs``,
``max_energy``, ``max_latency``, ``max_power``, ``min_robust_accuracy``); with
``beta = gamma = robustness = 0`` and constraints it is the hard-constraint variant,
with no constraints the mixed one. Robust accuracy, the accuracy under an L∞ attack
(E2RNAS), is measured after training only when the objective reads it
(:mod:`autonas.objectives.robustness`).
"""

from __future__ import annotations


import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from autonas._checks import check_positive
from autonas.objectives._records import finite, metrics_of
from autonas.objectives.energy_model import DEFAULT_ENERGY_MODEL, EnergyModel, graph_costs
from autonas.objectives.latency import check_latency_runtime
from autonas.objectives.pareto import DEFAULT_OBJECTIVES
from autonas.objectives.robustness import DEFAULT_STEPS, Attack, check_attack

if TYPE_CHECKING:
    from autonas.graph import Graph

__all__ = ["Objective"]

#: Constraint argument -> the metric it bounds (max_energy bounds ``energy_key``).
_LIMITS = {"max_params": "params", "max_macs": "macs", "max_latency": "latency_ms", "max_power": "power_w"}
#: Constraints whose metric the graph gives exactly (energy as the estimate).
_KNOWN_BEFORE_TRAINING = ("max_params", "max_macs", "max_energy")


def _check_arguments(arguments: Mapping[str, Any]) -> None:
    """Refuse :class:`Objective` settings (its attributes, by name) out of range (see its ``Raises``)."""
    for name in ("alpha", "beta", "gamma", "robustness"):
        if finite(arguments[name]) is None:
            raise ValueError(f"{name} must be a finite number, got {arguments[name]!r}")
    check_positive(arguments["energy_reference"], "energy_reference")
    check_positive(arguments["size_reference"], "size_reference")
    for name in ("max_params", "max_power", "max_latency", "max_macs", "max_energy"):
        check_positive(arguments[name], name, optional=True)
    check_latency_runtime(arguments["latency_runtime"])
    check_attack(arguments["attack"], arguments["epsilon"], arguments["attack_steps"])
    least = arguments["min_robust_accuracy"]
    if least is not None and (isinstance(least, bool) or finite(least) is None or not 0 <= least <= 1):
        raise ValueError(f"min_robust_accuracy must be None or a number in [0, 1], got {least!r}")


class Objective:
    """What the search maximises: a weighted mix of accuracy, energy and size, under hard constraints.

    Reward of a completed trial within every constraint::

        alpha · accuracy − beta · energy / energy_reference − gamma · params / size_reference
            + robustness · robust_accuracy

    Normalisation divides each cost by a reference value: with the defaults a
    model of 1 mJ per inference or of a million parameters costs ``beta`` or
    ``gamma`` of reward. Set the references near the costs you expect (e.g. the
    first model's) so the weights read as "accuracy points per reference".

    Args:
        alpha: Weight of the accuracy; default 1.0.
        beta: Weight of the normalised energy per inference; default 0.0.
        gamma: Weight of the normalised size (parameters); default 0.0.
        energy_reference: Energy (mJ per example) that costs ``beta``; default 1.0.
        size_reference: Parameter count that costs ``gamma``; default 1,000,000.
        max_params: Hard limit on parameters; default None (no limit).
        max_power: Hard limit on ``power_w`` (W), measured; default None.
        max_latency: Hard limit on ``latency_ms`` (batch 1), measured; default None.
        latency_runtime: Where ``latency_ms`` is measured: ``"keras"``
            (default: the Keras model in the search's process), or
            ``"onnxruntime"`` / ``"litert"``: each trained candidate converted
            to that runtime and timed there at batch 1 on one thread, after its
            training (seconds a trial; TensorFlow backend and ``pip install
            autonas[deploy]``, checked when ``fit`` starts). Another runtime than
            Keras asks for the measurement even without ``max_latency``.
        max_macs: Hard limit on MACs per example; default None.
        max_energy: Hard limit on the energy (mJ per example); default None.
        accuracy_key: Metric holding the accuracy; default ``"val_accuracy"``.
        energy_key: Metric holding the energy; default ``"energy_mj"`` (measured
            when a meter was available, else the estimate). Use
            ``"estimated_energy_mj"`` to rank records exactly as
            :meth:`predicted_reward` does, which always uses the estimate.
        energy_model: Constants of the energy estimate; default Horowitz ISSCC
            2014, 45 nm.
        robustness: Weight of ``robust_accuracy``, the validation accuracy under
            ``attack`` (measured on a fixed draw of validation images after each
            trial's training, off its training clock); default 0.0. With a weight or
            ``min_robust_accuracy``, trials and the final fit also train
            adversarially (FGSM with a random start at ``epsilon``).
        min_robust_accuracy: Hard lower limit on ``robust_accuracy``, in [0, 1];
            default None.
        attack: ``"pgd"`` (default: L∞ projected gradient descent with a random
            start) or ``"fgsm"``.
        epsilon: The attack's budget on the [0, 1] pixel scale, in (0, 1]: each
            pixel may change by ``epsilon`` of its range (0–255 images: by
            ``255 · epsilon``); default 0.1.
        attack_steps: PGD steps, at least 1; default 10.

    Raises:
        ValueError: for a non-finite weight, a non-positive reference or limit,
            a ``latency_runtime`` not in :data:`~autonas.objectives.latency.LATENCY_RUNTIMES`,
            an unknown ``attack``, ``epsilon`` outside (0, 1], ``attack_steps`` < 1, or a
            ``min_robust_accuracy`` outside [0, 1].
    """

    def __init__(
        self,
        alpha: float = 1.0,
        beta: float = 0.0,
        gamma: float = 0.0,
        energy_reference: float = 1.0,
        size_reference: float = 1_000_000,
        max_params: int | None = None,
        max_power: float | None = None,
        max_latency: float | None = None,
        max_macs: int | None = None,
        max_energy: float | None = None,
        accuracy_key: str = "val_accuracy",
        energy_key: str = "energy_mj",
        energy_model: EnergyModel = DEFAULT_ENERGY_MODEL,
        latency_runtime: str = "keras",
        robustness: float = 0.0,
        min_robust_accuracy: float | None = None,
        attack: str = "pgd",
        epsilon: float = 0.1,
        attack_steps: int = DEFAULT_STEPS,
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.energy_reference = energy_reference
        self.size_reference = size_reference
        self.max_params = max_params
        self.max_power = max_power
        self.max_latency = max_latency
        self.max_macs = max_macs
        self.max_energy = max_energy
        self.accuracy_key = accuracy_key
        self.energy_key = energy_key
        self.energy_model = energy_model
        self.latency_runtime = latency_runtime
        self.robustness = robustness
        self.min_robust_accuracy = min_robust_accuracy
        self.attack = attack
        self.epsilon = epsilon
        self.attack_steps = attack_steps
        _check_arguments(vars(self))

    @classmethod
    def from_callable(cls, fn: Callable[[Mapping[str, Any]], float], **kwargs: Any) -> Objective:
        """An objective whose reward is a user's function of the metrics.

        ``fn(metrics)`` gets the trial's metrics dict (for :meth:`reward`) or,
        for :meth:`predicted_reward`, the graph's costs (:func:`graph_costs`,
        plus ``estimated_energy_mj``) with the predicted accuracy under
        ``accuracy_key``. Hard constraints and failed trials are handled as for
        the built-in reward.

        Args:
            fn: ``metrics -> reward`` to maximise.
            **kwargs: Constraints and keys as for :class:`Objective`
                (``max_params``, ..., ``accuracy_key``, ``energy_key``).

        Example:
            >>> objective = Objective.from_callable(lambda m: m["val_accuracy"] - m["macs"] / 1e9, max_params=10**6)
        """
        if not callable(fn):
            raise ValueError(f"fn must be callable, got {fn!r}")
        return _CallableObjective(fn, **kwargs)

    def __repr__(self) -> str:
        fields = ("alpha", "beta", "gamma", "energy_reference", "size_reference", *_LIMITS, "max_energy")
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in fields if getattr(self, f) is not None)
        if self.latency_runtime != "keras":
            shown += f", latency_runtime={self.latency_runtime!r}"
        if self.reads_robustness:
            shown += f", robustness={self.robustness!r}, min_robust_accuracy={self.min_robust_accuracy!r}, " \
                f"attack={self.attack!r}, epsilon={self.epsilon!r}, attack_steps={self.attack_steps!r}"
        return f"{type(self).__name__}({shown})"

    @property
    def reads_robustness(self) -> bool:
        """Whether trials must measure ``robust_accuracy``: a ``robustness`` weight or ``min_robust_accuracy``."""
        return bool(self.robustness) or self.min_robust_accuracy is not None

    @property
    def robustness_attack(self) -> Attack | None:
        """The attack each trial measures ``robust_accuracy`` with, or None when nothing reads it."""
        if not self.reads_robustness:
            return None
        return Attack(self.attack, float(self.epsilon), int(self.attack_steps))

    @property
    def rewards_smaller_models(self) -> bool:
        """Whether a smaller network can score better: a cost weight or a constraint is set.

        The search then also proposes shrinking edits (see
        :data:`autonas.morphism.SHRINKING`); an objective from a callable counts as one.
        """
        return self.beta > 0 or self.gamma > 0 or bool(self._limits()) or isinstance(self, _CallableObjective)

    @property
    def needs_measured_costs(self) -> bool:
        """Whether a trial's reward may depend on costs measured by running the trained model.

        True when a latency or power limit is set, when latency is to be
        measured in a deployment runtime (``latency_runtime`` other than
        ``"keras"``), or when energy counts (``beta`` or ``max_energy``) and is
        read from the measured ``energy_key``, and always for an objective
        from a callable (it may read any metric).
        Otherwise trials record the graph's costs and the energy estimate
        only: timing every trained network would cost seconds a trial for
        figures nothing reads.
        """
        if isinstance(self, _CallableObjective) or self.max_latency is not None or self.max_power is not None:
            return True
        if self.latency_runtime != "keras":
            return True
        energy_counts = self.beta > 0 or self.max_energy is not None
        return energy_counts and self.energy_key != "estimated_energy_mj"

    @property
    def timed_costs(self) -> bool | str:
        """What a trial times its trained model in: False (nothing: :attr:`needs_measured_costs` is
        false), else :attr:`latency_runtime` (the search's ``timed_costs``)."""
        return self.latency_runtime if self.needs_measured_costs else False

    @property
    def pareto_objectives(self) -> tuple[tuple[str, str], ...]:
        """The metrics of this objective's Pareto front: :data:`~autonas.objectives.DEFAULT_OBJECTIVES`
        (accuracy, energy, parameters), and batch-1 ``latency_ms`` when the objective reads
        latency (``max_latency``, or a ``latency_runtime`` other than Keras)."""
        axes = DEFAULT_OBJECTIVES
        if self.max_latency is not None or self.latency_runtime != "keras":
            axes = (*axes, ("latency_ms", "min"))
        if self.reads_robustness:
            axes = (*axes, ("robust_accuracy", "max"))
        return axes

    def rank_key(self, record: Any) -> tuple[float, float]:
        """The one ranking of trials, higher first: ``(reward, −validation loss)``.

        Every place that says "best" uses it: the search's final-fit
        reserve, the progress lines, ``leaderboard()``, ``best_trial_``,
        ``best_model_`` and ``export_model()``. Failed trials and trials
        breaking a hard constraint rank last, as ``(-inf, -inf)``.
        """
        reward = self.reward(record)
        if reward is None or reward == -math.inf:
            return (-math.inf, -math.inf)
        metrics = getattr(record, "metrics", record)
        loss = finite(metrics.get("val_loss"))
        return (reward, -math.inf if loss is None else -loss)

    # ------------------------------------------------------------------ constraints
    def _limits(self, names: tuple[str, ...] | None = None) -> list[tuple[str, str, float]]:
        """``(argument, metric, limit)`` of the constraints that are set."""
        metric_of = {**_LIMITS, "max_energy": self.energy_key}
        return [
            (name, metric_of[name], getattr(self, name))
            for name in (names or tuple(metric_of))
            if getattr(self, name) is not None
        ]

    def violations(self, metrics: Mapping[str, Any]) -> list[str]:
        """The constraints the metrics break, as ``"params 1200 > max_params 1000"``.

        A constraint whose metric is missing (or not a finite number) is not
        checked.
        """
        broken = []
        for name, metric, limit in self._limits():
            value = finite(metrics.get(metric))
            if value is not None and value > limit:
                broken.append(f"{metric} {value:g} > {name} {limit:g}")
        robust = finite(metrics.get("robust_accuracy"))
        if self.min_robust_accuracy is not None and robust is not None and robust < self.min_robust_accuracy:
            broken.append(f"robust_accuracy {robust:g} < min_robust_accuracy {self.min_robust_accuracy:g}")
        return broken

    def feasible_before_training(self, graph: Graph) -> bool:
        """Whether ``graph`` meets every constraint known without training.

        Checks ``max_params``, ``max_macs`` and ``max_energy`` (against the
        estimated energy) on :func:`graph_costs`; ``max_latency`` and
        ``max_power`` need a measurement and are checked by :meth:`reward`.
        Use it as the searcher's ``constraint``: a graph failing it is never trained.
        """
        if not self._limits(_KNOWN_BEFORE_TRAINING):
            return True
        return self._feasible_costs(self._predicted_metrics(None, graph))

    def _feasible_costs(self, costs: Mapping[str, Any]) -> bool:
        """Whether the graph costs meet the constraints known before training."""
        for _, metric, limit in self._limits(_KNOWN_BEFORE_TRAINING):
            value = finite(costs.get(metric))
            if value is not None and value > limit:
                return False
        return True

    # ------------------------------------------------------------------ rewards
    def _score(self, metrics: Mapping[str, Any]) -> float:
        """The reward of metrics assumed complete and feasible."""
        return self._measured(metrics) - self._costs(metrics)

    def _measured(self, metrics: Mapping[str, Any]) -> float:
        """The part of the reward only training tells: ``alpha · accuracy + robustness · robust_accuracy``."""
        value = self.alpha * finite(metrics.get(self.accuracy_key))
        if self.robustness:
            robust = finite(metrics.get("robust_accuracy"))
            if robust is None:
                raise ValueError(f"robustness={self.robustness} needs the metric 'robust_accuracy', got {dict(metrics)}")
            value += self.robustness * robust
        return float(value)

    def _costs(self, metrics: Mapping[str, Any]) -> float:
        """The weighted costs the graph gives (energy, size)."""
        value = 0.0
        if self.beta:
            energy = finite(metrics.get(self.energy_key))
            if energy is None:
                raise ValueError(f"beta={self.beta} needs the metric {self.energy_key!r}, got {dict(metrics)}")
            value += self.beta * energy / self.energy_reference
        if self.gamma:
            params = finite(metrics.get("params"))
            if params is None:
                raise ValueError(f"gamma={self.gamma} needs the metric 'params', got {dict(metrics)}")
            value += self.gamma * params / self.size_reference
        return value

    def learned_value(self, metrics: Any) -> float | None:
        """What a searcher's surrogate learns of a finished trial: the part of the reward no graph tells.

        ``alpha · accuracy + robustness · robust_accuracy`` (the accuracy alone by
        default); :meth:`predicted_reward` adds the exactly known costs to a
        prediction of it. None for a failed trial or a missing measurement.
        """
        found = metrics_of(metrics)
        if found is None or finite(found.get(self.accuracy_key)) is None:
            return None
        if self.robustness and finite(found.get("robust_accuracy")) is None:
            return None
        return self._measured(found)

    def reward(self, metrics: Any) -> float | None:
        """The reward of a finished trial.

        Args:
            metrics: A trial's metrics dict, or a trial record (with ``metrics``
                and ``status``).

        Returns:
            None for a failed trial (status other than ``"completed"``, or no
            finite accuracy under ``accuracy_key``); ``-inf`` for a trial that
            breaks a hard constraint (see :meth:`violations`); else the reward.

        Raises:
            ValueError: when a cost weighted by ``beta`` or ``gamma`` is missing.
        """
        found = metrics_of(metrics)
        if found is None or finite(found.get(self.accuracy_key)) is None:
            return None
        if self.violations(found):
            return -math.inf
        return self._score(found)

    def _predicted_metrics(self, accuracy: float | None, graph: Graph) -> dict[str, Any]:
        costs = graph_costs(graph, self.energy_model)
        costs["estimated_energy_mj"] = costs["energy_mj"]
        costs[self.energy_key] = costs["energy_mj"]
        if accuracy is not None:
            costs[self.accuracy_key] = float(accuracy)
        return costs

    def predicted_reward(self, value: float, graph: Graph) -> float:
        """The reward of ``graph`` at a predicted :meth:`learned_value`, with its exactly known costs.

        ``value`` is what the surrogate predicts of :meth:`learned_value` (by default
        the accuracy); costs come from :func:`graph_costs` (the energy is the
        estimate). This is the searcher's ``reward(value, graph)``. It stays finite so
        searchers can average and rank with it: a graph breaking a constraint
        known before training scores its reward minus ``1 + |alpha|``, below any
        feasible graph of equal or lower costs (for accuracies in [0, 1]).
        """
        metrics = self._predicted_metrics(None, graph)
        value = float(value) - self._costs(metrics)
        if not self._feasible_costs(metrics):
            value -= 1.0 + abs(self.alpha)
        return value


class _CallableObjective(Objective):
    """An :class:`Objective` scoring with a user's ``fn(metrics)``."""

    def __init__(self, fn: Callable[[Mapping[str, Any]], float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fn = fn

    def _score(self, metrics: Mapping[str, Any]) -> float:
        return float(self.fn(metrics))

    def learned_value(self, metrics: Any) -> float | None:
        """The accuracy: ``fn`` may read any metric, so the surrogate learns the accuracy it is given."""
        found = metrics_of(metrics)
        return None if found is None else finite(found.get(self.accuracy_key))

    def predicted_reward(self, value: float, graph: Graph) -> float:
        """``fn`` of the graph's costs with ``value`` as the accuracy (minus ``1 + |alpha|`` when infeasible)."""
        metrics = self._predicted_metrics(value, graph)
        score = self._score(metrics)
        return score if self._feasible_costs(metrics) else score - 1.0 - abs(self.alpha)

    def __repr__(self) -> str:
        return f"Objective.from_callable({self.fn!r})"
