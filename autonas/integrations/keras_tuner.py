"""Network-morphism search inside a stock keras-tuner ``Tuner``.

:class:`MorphismOracle` is a ``keras_tuner.Oracle`` whose trials are
architectures: first the initial ones, then children that an autonas searcher
(:class:`~autonas.search.BayesianSearcher` by default) grows from trained
trials by function-preserving morphisms. :class:`MorphismHyperModel` builds a
trial's Keras model (a child starts from its parent's trained weights) and,
after training, hands the trained weights back to the oracle so that the
trial's own children inherit them::

    oracle = MorphismOracle(input_shape=(28, 28, 1), num_classes=10, max_trials=10)
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=MorphismHyperModel(oracle),
                              directory="runs", project_name="morph")
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=10)
    model = tuner.get_best_models()[0]

A trial's hyperparameter values name its architecture: ``"architecture"`` is
the key the oracle keeps the graph under (the id of the trial that introduced
it), ``"parent"`` the parent's key (empty for an initial architecture) and
``"operations"`` the morphisms from the parent, printed (or ``"initial: NAME"``).
Other hyperparameters of the space (for instance ones the hypermodel declares)
take their defaults: the oracle searches architectures only.

Limitations: the oracle and the hypermodel must live in one process (the
graphs and trained weights travel between them in memory), so keras-tuner's
distributed mode is not supported; the project directory must be on the local
file system (graphs are saved next to keras-tuner's trial files).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from autonas.backend import import_keras_quietly

import_keras_quietly()

import keras  # noqa: E402
import keras_tuner  # noqa: E402
from keras_tuner.engine.trial import TrialStatus

from autonas._checks import check_positive, check_seed
from autonas.engine.recipe import Recipe
from autonas.engine.spec import SearchSpec
from autonas.execution.compiling import build_training_state, compile_for_training
from autonas.graph import Graph
from autonas.integrations._trials import DEFAULT_INITIAL, BestEpochKeeper, TrialArchitecture, initial_architectures_of
from autonas.morphism import Operation
from autonas.objectives import as_objective
from autonas.search import Searcher, check_searcher

__all__ = ["DEFAULT_INITIAL", "FINE_TUNE_FACTOR", "MorphismHyperModel", "MorphismOracle"]

logger = logging.getLogger(__name__)

_STATE_FORMAT = 1
#: Hyperparameter values naming a trial's architecture.
ARCHITECTURE, PARENT, OPERATIONS = "architecture", "parent", "operations"
#: A child's rate as a fraction of the initial one, at a constant rate (benchmarks/results/child_learning_rate.md).
FINE_TUNE_FACTOR = 0.1


class MorphismOracle(keras_tuner.Oracle):
    """A keras-tuner oracle proposing network-morphism children of trained trials.

    The initial architectures are tried first, in order; then each trial is a
    child that ``searcher`` grows from a trained trial. A searcher named here
    is built as :class:`~autonas.AutoImageClassifier` builds it for the same
    limits (:meth:`~autonas.engine.spec.SearchSpec.make_searcher`):
    the same edit kinds (growing and regularising ones; shrinking ones too
    under ``max_params``) and the same constraint, from the oracle's ``spec``
    (a :class:`~autonas.engine.spec.SearchSpec`). Every finished trial is
    told to the searcher with its trained weights (see
    :meth:`record_trained`) and its score, or as failed. The search stops at
    ``max_trials`` or when the searcher has nothing to propose.

    Use it with :class:`MorphismHyperModel` (or a hypermodel that builds
    :meth:`architecture` and calls :meth:`record_trained` after training).

    Saving and resuming: each trial's starting graph and trained graph (with
    weights) are saved in its keras-tuner trial folder, and :meth:`get_state`
    keeps their lineage; on reload the searcher is rebuilt by telling it every
    finished trial again, in order. Not restored: the searcher's random state
    and its model beyond what the replayed trials give, and proposals that
    were in flight (a trial interrupted while running is retried as it was).
    Reload with the same ``initial``, ``searcher`` and ``objective``; a
    searcher object must be fresh.

    Args:
        initial: The architectures to start from: a :class:`~autonas.graph.Graph`
            (its weights, if any, are the starting point), a ``keras.Model``
            (read with :meth:`Graph.from_keras`), a generator name (``"cnn"``,
            ``"resnet"``, ``"densenet"``, ``"mlp"``: built with its defaults),
            or a list or ``{name: item}`` dict of them. None: :data:`DEFAULT_INITIAL`,
            slimmed under ``max_params`` as the classifier's are.
        input_shape: Image shape, for generator names.
        num_classes: Number of classes, for generator names.
        searcher: ``"bayesian"`` (default), ``"random"``, or an
            :class:`~autonas.search.Searcher` object (not told anything yet).
        objective: The keras-tuner objective (default ``"val_accuracy"``); for a
            ``"min"`` objective the searcher maximises its negative.
        max_trials: Trials in all, initial ones included (default 10).
        seed: Seed of the searcher built from a name, 0 to ``2**32 - 1`` (None: a random one).
        max_params: Largest number of parameters (None: no limit): a larger
            child is never proposed, as in the classifier's search.
        hyperparameters: Optional extra keras-tuner search space; its
            hyperparameters take their default values.
        allow_new_entries: As for ``keras_tuner.Oracle``.
        tune_new_entries: As for ``keras_tuner.Oracle``.
        max_retries_per_trial: As for ``keras_tuner.Oracle``.
        max_consecutive_failed_trials: As for ``keras_tuner.Oracle``.

    Raises:
        ValueError: naming the argument, for a bad ``initial``, ``input_shape``,
            ``num_classes``, ``searcher``, ``max_trials``, ``seed`` or ``max_params``.
    """

    def __init__(
        self,
        initial: Graph | keras.Model | str | Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        input_shape: Sequence[int] | None = None,
        num_classes: int | None = None,
        searcher: str | Searcher = "bayesian",
        objective: Any = "val_accuracy",
        max_trials: int = 10,
        seed: int | None = None,
        max_params: int | None = None,
        hyperparameters: keras_tuner.HyperParameters | None = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
    ) -> None:
        check_positive(max_trials, "max_trials", integer=True)
        check_searcher(searcher)
        check_seed(seed, "seed", optional=True)
        limits = as_objective(None, {"max_params": max_params}, given_by="MorphismOracle")
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        # keras-tuner turns seed=0 into a random one: the searcher takes the seed given
        self.spec = SearchSpec(objective=limits, searcher=searcher, seed=seed if seed is not None else self.seed)
        self.initial_architectures: list[tuple[str, Graph]] = initial_architectures_of(
            initial, input_shape, num_classes, self.spec
        )
        self.searcher: Searcher = self._new_searcher()
        self._architectures: dict[str, TrialArchitecture] = {}

    # ------------------------------------------------------------------ for the hypermodel
    def architecture(self, key: str) -> Graph:
        """The graph trial ``key`` starts from (a child's carries its inherited weights).

        Raises:
            ValueError: for an unknown key.
        """
        return self._get(key).graph

    def is_morphed(self, key: str) -> bool:
        """Whether trial ``key`` is a child (it starts from inherited weights)."""
        return self._get(key).parent is not None

    def record_trained(self, key: str, model: keras.Model, value: float | None = None) -> None:
        """Keep the trained weights of trial ``key``, for its children to inherit.

        Call it after training, with the weights to inherit (those of the epoch
        the trial is scored by). With several executions per trial, the one
        whose objective ``value`` is best is kept. Calls for a trial that has
        already ended (say, retraining the best hyperparameters after the
        search) are ignored: the searcher has its weights already.

        Args:
            key: The trial's ``"architecture"`` hyperparameter value.
            model: The trained model, built from :meth:`architecture`.
            value: The objective value these weights reached, if known.

        Raises:
            ValueError: for an unknown key, or a model not built from the trial's graph.
        """
        record = self._get(key)
        if record.trial_id in self.end_order:
            logger.info("trial %s has ended; its recorded weights are kept", record.trial_id)
            return
        if value is not None and record.trained is not None and record.trained_value is not None:
            if not self.objective.better_than(value, record.trained_value):
                return
        try:
            trained = record.graph.copy().update_weights(model)
        except ValueError as error:
            raise ValueError(f"model is not built from trial {key!r}'s architecture: {error}") from None
        record.trained, record.trained_value = trained, value

    # ------------------------------------------------------------------ inspection
    def trained_graph(self, trial_id: str) -> Graph | None:
        """The trained graph (with weights) of a trial, or None when it has none."""
        return self._get(trial_id).trained

    def lineage(self, trial_id: str) -> tuple[str | None, tuple[Operation, ...]]:
        """``(parent trial id, operations)`` of a trial; ``(None, ())`` for an initial one."""
        record = self._get(trial_id)
        return record.parent, record.operations

    def best_graph(self) -> Graph | None:
        """The trained graph of the best completed trial, or None before one completes."""
        best = [t for t in self.get_best_trials(1) if t.status == TrialStatus.COMPLETED]
        return self.trained_graph(best[0].trial_id) if best else None

    # ------------------------------------------------------------------ keras_tuner.Oracle
    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """The next initial architecture, else the searcher's next child.

        Returns:
            ``{"status": RUNNING, "values": ...}``; ``IDLE`` while other tuners
            run trials and the searcher has nothing yet; ``STOPPED`` when it has
            nothing to propose.
        """
        started = {record.fingerprint for record in self._architectures.values()}
        pending = [(n, g) for n, g in self.initial_architectures if g.fingerprint() not in started]
        if pending:
            name, graph = pending[0]
            record = TrialArchitecture(trial_id, graph.copy(), graph.fingerprint(), None, (), name)
        else:
            proposal = self.searcher.ask()
            if proposal is None:
                if self.ongoing_trials:
                    return {"status": TrialStatus.IDLE, "values": None}
                logger.info("the searcher has nothing more to propose: the search stops")
                return {"status": TrialStatus.STOPPED, "values": None}
            graph = proposal.graph
            record = TrialArchitecture(
                trial_id, graph, graph.fingerprint(), str(proposal.parent_id), tuple(proposal.operations), ""
            )
        self._architectures[trial_id] = record
        self._save_graph(trial_id, record.graph, "start")
        values = self._default_values()
        values.update({ARCHITECTURE: trial_id, PARENT: record.parent or "", OPERATIONS: record.description})
        return {"status": TrialStatus.RUNNING, "values": values}

    @keras_tuner.synchronized
    def end_trial(self, trial: keras_tuner.engine.trial.Trial) -> None:
        """End the trial as keras-tuner does, then tell the searcher once it is final.

        A completed trial is told with its trained graph and score, a failed
        one with ``None``; a trial sent for retry is told when its retry ends.
        """
        super().end_trial(trial)
        trial = self.trials[trial.trial_id]
        record = self._architectures.get(trial.trial_id)
        if record is None:
            return
        if trial.status == TrialStatus.INVALID:  # to be retried: forget this run's weights
            record.trained = record.trained_value = None
            return
        if trial.status == TrialStatus.COMPLETED and record.trained is not None:
            self._save_graph(trial.trial_id, record.trained, "trained")
        self._tell(trial)
        if self._attached():
            self.save()

    def get_state(self) -> dict[str, Any]:
        """keras-tuner's state plus each trial's lineage (graphs are saved in the trial folders)."""
        state = super().get_state()
        state["autonas"] = {
            "format": _STATE_FORMAT,
            "trials": {
                trial_id: {
                    "fingerprint": record.fingerprint,
                    "parent": record.parent,
                    "operations": [op.to_config() for op in record.operations],
                    "name": record.name,
                }
                for trial_id, record in self._architectures.items()
            },
        }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Reload: read the trials' graphs back and tell the searcher every finished trial again."""
        super().set_state(state)
        saved = state["autonas"]  # a KeyError becomes keras-tuner's "Error reloading `Oracle`"
        if saved.get("format") != _STATE_FORMAT:
            raise ValueError(f"unsupported autonas oracle state format {saved.get('format')!r}")
        if isinstance(self.spec.searcher, str):
            self.searcher = self._new_searcher()
        self._architectures = {}
        for trial_id, entry in saved["trials"].items():
            graph = self._load_graph(trial_id, "start")
            if graph is None:
                logger.warning("trial %s: its starting graph is missing; the trial is left out", trial_id)
                continue
            operations = tuple(Operation.from_config(config) for config in entry["operations"])
            record = TrialArchitecture(trial_id, graph, entry["fingerprint"], entry["parent"], operations, entry["name"])
            record.trained = self._load_graph(trial_id, "trained")
            self._architectures[trial_id] = record
        for trial_id in self.end_order:
            if trial_id in self._architectures and trial_id in self.trials:
                try:
                    self._tell(self.trials[trial_id])
                except ValueError as error:  # a searcher object that already knew the trial
                    logger.warning("trial %s was not told again: %s", trial_id, error)

    # ------------------------------------------------------------------ internals
    def _new_searcher(self) -> Searcher:
        """The searcher the classifier would build for these limits (a searcher object: itself)."""
        return self.spec.make_searcher(self.spec.constraint())

    def _get(self, key: str) -> TrialArchitecture:
        record = self._architectures.get(str(key))
        if record is None:
            raise ValueError(f"unknown architecture key {key!r}: no trial of this oracle has it")
        return record

    def _tell(self, trial: keras_tuner.engine.trial.Trial) -> None:
        record = self._architectures[trial.trial_id]
        if trial.status == TrialStatus.COMPLETED:
            value = None if trial.score is None else float(trial.score)
            if value is not None and math.isfinite(value):
                value = value if self.objective.direction == "max" else -value
                graph = record.trained
                if graph is None:
                    logger.warning(
                        "trial %s: no trained weights were recorded; its children start untrained", trial.trial_id
                    )
                    graph = record.graph.copy()
                    graph.clear_weights()
                self.searcher.tell(trial.trial_id, graph, value)
                return
        self.searcher.tell(trial.trial_id, record.graph, None)

    def _default_values(self) -> dict[str, Any]:
        hps = keras_tuner.HyperParameters()
        hps.merge(self.hyperparameters.space)
        return dict(hps.values)

    def _attached(self) -> bool:
        return getattr(self, "_directory", None) is not None and getattr(self, "_project_name", None) is not None

    def _graph_dir(self, trial_id: str, kind: str) -> str:
        return os.path.join(self._get_trial_dir(trial_id), f"autonas_{kind}")

    def _save_graph(self, trial_id: str, graph: Graph, kind: str) -> None:
        if self._attached():
            graph.save(self._graph_dir(trial_id, kind))

    def _load_graph(self, trial_id: str, kind: str) -> Graph | None:
        directory = self._graph_dir(trial_id, kind)
        return Graph.load(directory) if os.path.exists(os.path.join(directory, "graph.json")) else None


def _key(hp: keras_tuner.HyperParameters) -> str | None:
    key = hp.values.get(ARCHITECTURE)
    return None if key is None else str(key)


class MorphismHyperModel(keras_tuner.HyperModel):
    """Builds and trains the architecture a :class:`MorphismOracle` chose for a trial.

    :meth:`build` returns the trial's Keras model (a child with its inherited
    weights) compiled with Adam, sparse categorical cross-entropy and
    accuracy; children use ``fine_tune_learning_rate``. Override
    :meth:`compile_model` for another loss or optimiser. :meth:`fit` trains,
    restores the epoch keras-tuner scores the trial by, and hands the weights
    to :meth:`MorphismOracle.record_trained`.

    Without an ``"architecture"`` value (keras-tuner builds once from the bare
    search space when the tuner starts), :meth:`build` returns the first
    initial architecture.

    Args:
        oracle: The :class:`MorphismOracle` of the tuner.
        learning_rate: Adam's learning rate for initial architectures (None, default: the
            recipe's rate for training at a constant rate,
            :attr:`~autonas.engine.recipe.Recipe.constant_learning_rate`, 1e-3).
        fine_tune_learning_rate: For children (default ``learning_rate × FINE_TUNE_FACTOR`` = ``learning_rate / 10``:
            a full rate undoes part of the inherited skill, benchmarks/results/child_learning_rate.md).
        fine_tune_epochs: If set, children train at most this many epochs
            (``epochs`` given to ``search`` applies to initial architectures).
        name: Optional name of the hypermodel.

    Raises:
        ValueError: naming the argument, for a bad ``oracle``, learning rate or epoch count.
    """

    def __init__(
        self,
        oracle: MorphismOracle,
        *,
        learning_rate: float | None = None,
        fine_tune_learning_rate: float | None = None,
        fine_tune_epochs: int | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(oracle, MorphismOracle):
            raise ValueError(f"oracle must be a MorphismOracle, got {type(oracle).__name__}")
        learning_rate = Recipe().constant_learning_rate if learning_rate is None else learning_rate
        check_positive(learning_rate, "learning_rate")
        if fine_tune_learning_rate is not None:
            check_positive(fine_tune_learning_rate, "fine_tune_learning_rate")
        check_positive(fine_tune_epochs, "fine_tune_epochs", integer=True, optional=True)
        super().__init__(name=name)
        self.oracle = oracle
        self.learning_rate = float(learning_rate)
        self.fine_tune_learning_rate = float(fine_tune_learning_rate or learning_rate * FINE_TUNE_FACTOR)
        self.fine_tune_epochs = fine_tune_epochs

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """The compiled Keras model of the trial's architecture, with its starting weights."""
        key = _key(hp)
        if key is None:
            graph, morphed = self.oracle.initial_architectures[0][1], False
        else:
            graph, morphed = self.oracle.architecture(key), self.oracle.is_morphed(key)
        model = graph.to_keras()
        self.compile_model(model, morphed=morphed)
        return model

    def compile_model(self, model: keras.Model, *, morphed: bool) -> None:
        """Compile ``model``; ``morphed`` is True for a child that starts from inherited weights."""
        compile_for_training(model, self.fine_tune_learning_rate if morphed else self.learning_rate)

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        """Train with ``model.fit(*args, **kwargs)`` and report the weights to the oracle.

        Returns:
            The ``History`` of ``model.fit``.
        """
        key = _key(hp)
        if key is not None and self.fine_tune_epochs is not None and self.oracle.is_morphed(key) and len(args) < 4:
            kwargs["epochs"] = min(int(kwargs.get("epochs", 1)), self.fine_tune_epochs)
        tracker = BestEpochKeeper(self.oracle.objective)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), tracker]
        x, y = kwargs.get("x", args[0] if args else None), kwargs.get("y", args[1] if len(args) > 1 else None)
        build_training_state(model, x, y)  # before fit: TensorFlow then traces the training step once
        history = model.fit(*args, **kwargs)
        tracker.best.restore(model)
        if key is not None:
            self.oracle.record_trained(key, model, tracker.value)
        return history
