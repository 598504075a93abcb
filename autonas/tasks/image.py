"""``AutoImageClassifier``: architecture search for image classification, scikit-learn style."""

from __future__ import annotations

import contextlib
import numbers
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autonas._checks import check_int, check_positive, check_seed
from autonas.backend import import_keras_quietly
from autonas.engine._signals import sigterm_exits_cleanly
from autonas.engine.final_fit import final_fit
from autonas.engine.project import Project, ProjectWriteError, TrialRecord, project_folder
from autonas.engine.loop import SearchBudget, TrialsFailedError, run_search
from autonas.engine.recipe import ChildTimeLimit, Recipe
from autonas.execution.executor import Executor, SerialExecutor, TrainingData
from autonas.graph import Graph, generators
from autonas.search import SEARCHERS, is_searcher
from autonas.tasks.data import as_array, check_images, check_labels
from autonas.tasks.export import export_classifier, save_classifier
from autonas.tasks.folders import read_images
from autonas.tasks.predict_files import predict_images
from autonas.tasks.prepare import check_image_size, prepare_arrays, prepare_folder
from autonas.tasks.progress import Progress
from autonas.tasks.tensorboard_log import TensorBoardLog

__all__ = ["AutoImageClassifier"]

_SEARCHERS = tuple(SEARCHERS)
#: The initial architectures, small (the morphisms grow them), each with ever slimmer settings to
#: try under size constraints: the first that meets them is trained.
_INITIAL = (
    ("cnn", (
        {"filters": 16, "max_filters": 64, "hidden_units": 32},
        {"filters": 8, "max_filters": 32, "hidden_units": 0},
        {"filters": 4, "max_filters": 16, "hidden_units": 0},
    )),
    ("resnet", ({"filters": 8}, {"filters": 4}, {"filters": 2})),
)
#: Below this ``time_limit`` (seconds) the default executor trains in the search's own process:
#: starting worker processes and importing the backend in them would take much of the budget.
_IN_PROCESS_BELOW_SECONDS = 60.0
#: Below this ``time_limit`` (seconds) fit warns at once: it cannot train anything useful in it.
_SHORTEST_USEFUL_SECONDS = 10.0
#: What a search that found no model within the constraints leaves, to inspect its trials.
_SEARCH_RECORD = ("objective_", "training_settings_", "history_", "project_path_")


class AutoImageClassifier:
    """Searches for an image classifier by network morphism and Bayesian optimization.

    Follows scikit-learn's conventions: ``__init__`` only stores its arguments,
    :meth:`fit` returns ``self``, learned state ends in ``_``.

    Args:
        max_trials: Trials in the project, finished ones of a resumed search
            included (None: no limit; then ``time_limit`` stops the search, or
            10 trials when neither is set).
        time_limit: Seconds for the whole :meth:`fit`, final fit included.
        searcher: ``"bayesian"`` (default), ``"random"``, ``"more-training"``
            (no edits: the best network trained on, the control the others
            must beat), or a searcher object with ``ask()`` / ``tell()``.
        generation_children: None (default): the searcher proposes one child
            at a time, of whichever trained model it likes. A number ``k``:
            the search runs in generations of siblings at equal budget, ``k``
            children of the best network so far and the network itself
            trained on alike (same schedule, same seed); the best member leads
            the next generation and the searcher learns what each edit gained
            over its no-edit sibling. A searcher object needs
            ``ask_children(parent_id)`` for it (every
            :class:`~autonas.search.MorphismSearcher` has it).
        directory: Parent folder of the project folder.
        project_name: Name of the project folder; an existing one is resumed.
        overwrite: Delete the project folder first.
        seed: Seed of the search and of training.
        verbose: 1 prints a line per trial, 0 is quiet.
        max_model_size: Largest model, in bytes of float32 weights (4 per
            parameter); larger candidates are never trained.
        max_params: Largest number of parameters; larger candidates are never trained.
        max_power: Largest power in watts during inference (measured after
            training; a trial above it cannot be the best).
        max_latency: Largest latency in ms at batch 1 (measured after training,
            like ``max_power``).
        objective: What the search maximises: None (validation accuracy), an
            :class:`autonas.objectives.Objective` (MONAS's mix of accuracy,
            energy and size, with its own constraints), or a callable
            ``fn(metrics) -> float``.
        executor: Where trials run: None (default) is a
            :class:`~autonas.execution.LocalExecutor` (worker processes, one per
            core on CPU, as many as the free GPU memory holds on a GPU), or,
            with a ``time_limit`` under 60 s, this process (worker start-up
            would take much of it); ``SerialExecutor()`` trains in this
            process one trial after the other; ``RayExecutor()`` runs trials on Ray. With more than one
            worker, trials finish in an order that depends on timing, so the
            same ``seed`` gives the same search only with ``SerialExecutor()``
            or ``LocalExecutor(max_workers=1)``.
        image_size: ``(height, width)`` (or one int for both) that images read
            from a folder are resized to for training (default: the median
            height and width of the folder's images, scaled down to at most
            64 pixels on the longer side). Arrays are trained on as given.
        tensorboard: Write TensorBoard logs under ``<project>/tensorboard``:
            each trial's per-epoch curves and the HParams table of trials
            (``tensorboard --logdir <project>``).
    """

    def __init__(
        self,
        max_trials: int | None = None,
        time_limit: float | None = None,
        searcher: Any = "bayesian",
        directory: str | os.PathLike = ".",
        project_name: str = "image_classifier",
        overwrite: bool = False,
        seed: int | None = None,
        verbose: int = 1,
        max_model_size: int | None = None,
        executor: Any = None,
        max_params: int | None = None,
        max_power: float | None = None,
        max_latency: float | None = None,
        objective: Any = None,
        image_size: int | tuple[int, int] | None = None,
        tensorboard: bool = True,
        generation_children: int | None = None,
    ) -> None:
        self.max_trials = max_trials
        self.time_limit = time_limit
        self.searcher = searcher
        self.directory = directory
        self.project_name = project_name
        self.overwrite = overwrite
        self.seed = seed
        self.verbose = verbose
        self.max_model_size = max_model_size
        self.executor = executor
        self.max_params = max_params
        self.max_power = max_power
        self.max_latency = max_latency
        self.objective = objective
        self.image_size = image_size
        self.tensorboard = tensorboard
        self.generation_children = generation_children

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        check_positive(self.max_trials, "max_trials", integer=True, optional=True)
        check_positive(self.time_limit, "time_limit", optional=True, unit=" of seconds")
        check_positive(self.max_model_size, "max_model_size", integer=True, optional=True)
        check_seed(self.seed, "seed", optional=True)
        if not isinstance(self.verbose, numbers.Integral):  # bools too: verbose=True prints
            raise ValueError(f"verbose must be an int (0: quiet, 1: a line per trial), got {self.verbose!r}")
        check_image_size(self.image_size)
        for name in ("overwrite", "tensorboard"):  # a truthy string must not empty a project
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.executor is not None and not isinstance(self.executor, Executor):
            raise ValueError(
                f"executor must be None or an autonas.execution.Executor (e.g. LocalExecutor()), got {self.executor!r}"
            )
        if isinstance(self.searcher, str) and self.searcher not in _SEARCHERS:
            raise ValueError(f"searcher must be one of {_SEARCHERS} or a searcher object, got {self.searcher!r}")
        if not isinstance(self.searcher, str) and not is_searcher(self.searcher):
            raise ValueError(f"searcher must be one of {_SEARCHERS} or have ask() and tell(), got {self.searcher!r}")
        check_int(self.generation_children, "generation_children", optional=True)
        if self.generation_children is not None and self.generation_children < 0:
            raise ValueError(f"generation_children must be 0 or more, or None, got {self.generation_children!r}")
        if (
            self.generation_children and not isinstance(self.searcher, str)
            and not callable(getattr(self.searcher, "ask_children", None))
        ):
            raise ValueError(
                f"generation_children={self.generation_children} needs a searcher with ask_children(parent_id), "
                f"got {type(self.searcher).__name__}; pass generation_children=None to ask it one child at a time"
            )

    def _make_objective(self):
        """The :class:`~autonas.objectives.Objective` with the limits given here merged in.

        Raises:
            ValueError: for a bad objective or limit, or a limit given here and, differently, in an Objective.
        """
        from autonas.objectives import as_objective

        limits = {"max_params": self.max_params, "max_power": self.max_power, "max_latency": self.max_latency}
        return as_objective(self.objective, limits, given_by="AutoImageClassifier")

    def _constraint(self, child_limit: ChildTimeLimit | None = None):
        """The hard constraints known before training, as one ``graph -> bool`` (with ``child_limit``,
        also the predicted trial time of a time-limited search's children)."""
        objective, size = self.objective_, self.max_model_size

        def feasible(graph: Graph) -> bool:
            too_big = size is not None and graph.num_params() * 4 > size
            too_slow = child_limit is not None and not child_limit.allows(graph)
            return not too_big and not too_slow and objective.feasible_before_training(graph)

        return feasible

    def _make_executor(self) -> Executor:
        """The user's executor, else worker processes (:class:`LocalExecutor`), or this process
        (:class:`SerialExecutor`) for a time limit too short to start workers in."""
        if self.executor is not None:
            return self.executor
        if self.time_limit is not None and self.time_limit < _IN_PROCESS_BELOW_SECONDS:
            return SerialExecutor()
        from autonas.execution.local import LocalExecutor

        return LocalExecutor()

    def _make_searcher(self, constraint):
        if not isinstance(self.searcher, str):
            return self.searcher
        from autonas import search

        from autonas.morphism import GROWING, REGULARISING

        # shrinking edits only pay where smaller networks score better
        shrink = self.objective_.rewards_smaller_models or self.max_model_size is not None
        return search.SEARCHERS[self.searcher](
            seed=self.seed,
            objective=self.objective_.predicted_reward,
            constraint=constraint,
            kinds=None if shrink else GROWING | REGULARISING,
        )

    def _initial_graphs(self) -> list[tuple[str, Graph]]:
        """The initial architectures, each slimmed (halved widths) until it meets the constraints.

        An architecture still too big at a quarter of its widths is left out.
        """
        num_classes = len(self.classes_)
        feasible = self._constraint()
        initial = []
        for name, ladder in _INITIAL:
            for rung, kwargs in enumerate(ladder):
                graph = generators.BY_NAME[name](self.input_shape_, num_classes, **kwargs)
                if feasible(graph):
                    initial.append((name if not rung else f"{name} (slim: {kwargs})", graph))
                    break
        return initial

    def _prepare_data(self, x: Any, y: Any, validation_split: Any, validation_data: Any) -> TrainingData:
        """Check, encode and split the input, learn the standardisation; sets the data attributes.

        Images read from a folder live on disk in ``self._scratch`` until :meth:`fit` ends.
        """
        if isinstance(x, (str, os.PathLike)):
            prepared = prepare_folder(
                x, y, validation_split, validation_data, self.seed, self.directory, check_image_size(self.image_size)
            )
        else:
            prepared = prepare_arrays(x, y, validation_split, validation_data, self.seed)
        self._scratch = prepared.scratch
        self.encoder_ = prepared.encoder
        self.classes_ = prepared.encoder.classes_
        self.pixel_scale_ = prepared.pixel_scale
        self.image_shape_ = prepared.image_shape
        self.input_shape_ = prepared.input_shape
        self.preprocessing_ = prepared.preprocessing
        return prepared.data

    # ------------------------------------------------------------------ fit
    @sigterm_exits_cleanly()  # SIGTERM runs fit's finally (the images read from a folder are removed)
    def fit(
        self,
        x: Any,
        y: Any = None,
        validation_split: float = 0.2,
        validation_data: Any = None,
        epochs: int | None = None,
    ) -> AutoImageClassifier:
        """Search for the best architecture, then fit it on training + validation data.

        Args:
            x: Images: numpy (N, H, W) or (N, H, W, C), uint8 or float; a
                ``tf.data.Dataset`` of ``(image, label)``; or the path of a
                folder with one subfolder of image files (JPEG, PNG, BMP, GIF)
                per class, read a chunk at a time and resized to
                ``image_size`` (then ``y`` is None).
            y: Labels: ints, strings or one-hot rows.
            validation_split: Fraction of ``x`` held out (stratified) when
                ``validation_data`` is not given.
            validation_data: ``(x_val, y_val)`` to use for validation instead.
            epochs: Epochs of an initial architecture's trial; children train
                at most as many. Default (:class:`~autonas.engine.recipe.Recipe`):
                as many as see 48,000 training examples for an initial
                architecture and 8,000 for a child (1 to 40 epochs), each on
                a cosine schedule that ends annealed.

        Returns:
            self

        Raises:
            ValueError: for bad input, before any training.
            autonas.engine.TrialsFailedError: if no trial completes.
        """
        start = time.monotonic()
        self._check_params()
        check_positive(epochs, "epochs", integer=True, optional=True)
        if self.time_limit is not None and self.time_limit < _SHORTEST_USEFUL_SECONDS:
            warnings.warn(
                f"time_limit={self.time_limit:g} s is shorter than a search can use: starting the backend and "
                "building and compiling a first network take seconds on their own, so fit will take longer than "
                f"that and return a barely trained model; give at least {_SHORTEST_USEFUL_SECONDS:g} s",
                UserWarning,
                stacklevel=3,  # the caller of fit (fit is wrapped by sigterm_exits_cleanly)
            )
        with self._all_or_nothing():  # a refused or failed fit leaves the estimator as it was
            self.objective_ = self._make_objective()
            folder = project_folder(self.directory, self.project_name)
            self._scratch = None
            try:
                data = self._prepare_data(x, y, validation_split, validation_data)
                project = Project(folder)  # created only once the input checked out; emptied only under the lock
                with project.lock():  # held for the whole fit: a second search on this folder fails at once
                    if self.overwrite:
                        project.clear()
                    return self._search(project, data, epochs, start)
            finally:
                if self._scratch is not None:  # images read from a folder
                    shutil.rmtree(self._scratch, ignore_errors=True)
                del self._scratch

    def _learned_state(self) -> dict[str, Any]:
        """What :meth:`fit` sets: the attributes ending in ``_`` and the private ones (``_project``)."""
        return {name: value for name, value in vars(self).items() if name.endswith("_") or name.startswith("_")}

    def _set_learned_state(self, state: dict[str, Any]) -> None:
        """Make ``state`` the whole learned state (the parameters set in ``__init__`` stay)."""
        for name in self._learned_state():
            delattr(self, name)
        vars(self).update(state)

    @contextlib.contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """Put the learned state back as it was when the block raises: never a half-updated estimator.

        A fit refused (e.g. the project holds a search on other data) or failed
        keeps the previous model, classes, pixel scale and image shape, or stays
        unfitted. One exception: a search that ran but has no trial within the
        constraints (:class:`TrialsFailedError`) leaves an unfitted estimator that
        holds that search's record (``history_``, for ``leaderboard()`` and
        ``report()``), as documented, and nothing of an earlier fit.
        """
        before = self._learned_state()
        try:
            yield
        except TrialsFailedError:
            after = self._learned_state()
            searched = "history_" in after and after["history_"] is not before.get("history_")
            self._set_learned_state({n: after[n] for n in _SEARCH_RECORD if n in after} if searched else before)
            raise
        except BaseException:
            self._set_learned_state(before)
            raise

    def _search(self, project: Project, data: TrainingData, epochs: int | None, start: float) -> AutoImageClassifier:
        """The search, the final fit and the export, in a locked project (the body of :meth:`fit`)."""
        import_keras_quietly()  # before TensorBoard's writer imports TensorFlow: its native logging off the terminal
        recipe, rows = Recipe(), len(data.x_train)
        initial, fine_tune = recipe.initial_settings(rows, epochs), recipe.child_settings(rows, epochs)
        self.training_settings_ = {"initial": initial, "child": fine_tune}
        project.check_config(
            {"task": "image_classification", "input_shape": list(self.input_shape_), "classes": self.classes_.tolist()}
        )
        max_trials = 10 if self.max_trials is None and self.time_limit is None else self.max_trials
        deadline = None if self.time_limit is None else start + float(self.time_limit)
        executor = self._make_executor()
        child_limit = None
        if self.time_limit is not None:
            child_limit = ChildTimeLimit.for_budget(
                (1.0 - SearchBudget.final_fit_fraction) * float(self.time_limit), executor.max_workers,
                fine_tune.max_epochs, recipe.trials,
            )
        constraint = self._constraint(child_limit)
        progress = Progress(self.verbose, max_trials, deadline, self.objective_)
        log = TensorBoardLog(project.path, self.objective_) if self.tensorboard else None
        if log is not None:
            log.start()

        def on_trial(record: TrialRecord, history: list[TrialRecord]) -> None:
            if child_limit is not None:
                child_limit.observe(record)
            progress.trial(record, history)
            if log is not None:
                log.trial(record)

        with progress:  # live bars of the running trials, on a terminal
            self.history_ = run_search(
                project=project,
                searcher=self._make_searcher(constraint),
                data=data,
                initial=self._initial_graphs(),
                settings=initial,
                fine_tune_settings=fine_tune,
                budget=SearchBudget(max_trials, deadline),
                seed=self.seed,
                accept=constraint,
                on_trial=on_trial,
                executor=executor,
                rank=self.objective_.rank_key,
                on_epoch=progress.epoch,
                timed_costs=self.objective_.needs_measured_costs,
                generation_children=self.generation_children,
            )
        self.project_path_ = project.path
        self.best_trial_ = self._best_trial()
        self._warn_if_too_short(self.best_trial_)
        graph = final_fit(project.load_graph(self.best_trial_.id), self.best_trial_, data, fine_tune, deadline, self.seed)
        self.best_graph_ = graph
        self.best_model_ = self._export(graph)
        self._project = project  # trials not written (disk full) stay readable for export_model
        try:
            project.save_final(graph, {"trial": self.best_trial_.id, "fingerprint": self.best_trial_.fingerprint})
        except ProjectWriteError as error:
            warnings.warn(
                f"{error}; the fitted classifier is complete in memory: predict() works and "
                "export_model().save(path) can write the model elsewhere",
                RuntimeWarning,
                stacklevel=4,  # the caller of fit (fit is wrapped by sigterm_exits_cleanly)
            )
        progress.done(self.best_trial_, time.monotonic() - start)
        return self

    def _warn_if_too_short(self, best: TrialRecord) -> None:
        """Say so when ``time_limit`` did not leave the best trial one whole epoch, with the trial's own pace."""
        fraction = best.metrics.get("last_epoch_fraction")
        if self.time_limit is None or best.epochs > 1 or fraction is None:
            return
        if best.metrics.get("startup_seconds"):  # the pace was measured after the first steps
            pace = (f"an epoch takes about {best.metrics['seconds_per_epoch']:.1f} s after "
                    f"{best.metrics['startup_seconds']:.1f} s of start-up: building and compiling the model")
        else:
            pace = f"it ran only its first steps, which build and compile the model: {best.seconds:.1f} s in all"
        warnings.warn(
            f"time_limit={self.time_limit:g} s is shorter than one epoch of training takes here: the best trial "
            f"(trial {best.id}) stopped after {fraction:.0%} of its first epoch ({pace}), so the model is far from "
            "trained; raise time_limit",
            UserWarning,
            stacklevel=5,  # the caller of fit (fit is wrapped by sigterm_exits_cleanly)
        )

    def _best_trial(self) -> TrialRecord:
        """The completed trial of highest reward within the constraints (ties: lower validation loss).

        Raises:
            TrialsFailedError: if no trial completed within the constraints.
        """
        best = max(self.history_, key=self.objective_.rank_key, default=None)
        if best is None or self.objective_.rank_key(best)[0] == -np.inf:
            raise TrialsFailedError("no trial completed within the constraints; see history_ for the reasons")
        return best

    # ------------------------------------------------------------------ use
    def _check_fitted(self) -> None:
        if not hasattr(self, "best_model_"):
            raise ValueError("this AutoImageClassifier is not fitted yet; call fit(x, y) first")

    def _export(self, graph: Graph):
        return export_classifier(graph, self.image_shape_, self.preprocessing_)

    def export_model(self, trial_id: int | None = None):
        """A model with preprocessing inside: it takes the raw arrays ``fit`` took.

        ``model.save("model.keras")`` writes a file plain Keras loads
        (``keras.models.load_model``) without importing autonas.

        Args:
            trial_id: None for the best model (after the final fit), or the id
                of any trial (e.g. a member of :meth:`pareto_front`), with the
                weights it trained.

        Raises:
            ValueError: if not fitted, or the trial does not exist or did not complete.
        """
        self._check_fitted()
        if trial_id is None:
            return self.best_model_
        record = next((r for r in self.history_ if r.id == trial_id), None)
        if record is None or record.status != "completed":
            raise ValueError(f"trial_id {trial_id!r} is not a completed trial of this search")
        return self._export(self._project.load_graph(trial_id))

    def save_model(self, path: str | os.PathLike, trial_id: int | None = None) -> Path:
        """Save :meth:`export_model` as a ``.keras`` file that also holds the class names.

        Plain Keras loads it (``keras.models.load_model``); ``autonas predict``
        reads the class names from it.
        """
        return save_classifier(self.export_model(trial_id), path, self.classes_, self.pixel_scale_)

    def report(self, path: str | os.PathLike) -> Path:
        """Write one self-contained HTML page about the search: the leaderboard, best reward so far
        against time, the Pareto front, the morphism tree and the best architecture.

        Needs matplotlib (``pip install autonas[plot]``); ``autonas report <project>`` writes the same page.
        """
        from autonas.tasks.report import write_report

        if not hasattr(self, "history_"):
            raise ValueError("this AutoImageClassifier is not fitted yet; call fit(x, y) first")
        return write_report(self.project_path_, path, self.objective_, self.history_, getattr(self, "best_graph_", None))

    def pareto_front(self) -> list[TrialRecord]:
        """The trials no other beats on validation accuracy, energy per inference and size at once.

        Trials that failed or break a constraint are left out.
        """
        from autonas.objectives import pareto_front

        self._check_fitted()
        allowed = [r for r in self.history_ if self.objective_.reward(r) not in (None, -np.inf)]
        return pareto_front(allowed)

    def plot_pareto(self, path: str | os.PathLike) -> Path:
        """Write a PNG of the trials' accuracy against energy (marker area: size), the front highlighted.

        Needs matplotlib (``pip install autonas[plot]``).
        """
        from autonas.objectives.plots import plot_trials

        self._check_fitted()
        return plot_trials(self.history_, {r.id for r in self.pareto_front()}, path)

    def _raw(self, x: Any) -> np.ndarray:
        """``x`` checked against the training images: shape, values and scale (see :class:`PixelScale`)."""
        x = as_array(x, "x")
        expected = self.image_shape_
        if x.ndim != len(expected) + 1 or any(e is not None and e != s for e, s in zip(expected, x.shape[1:])):
            shown = tuple("any" if e is None else e for e in expected)
            raise ValueError(f"x must have images of shape {shown} like the training data, got {x.shape[1:]}")
        check_images(x, "x")
        self.pixel_scale_.check(x, "x")
        return x.astype(np.float32)

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        ``x``: images like those ``fit`` took, or the path of an image file or
        of a folder (every image file below it, in sorted path order; see
        :meth:`predict_files` for the paths).
        """
        self._check_fitted()
        if isinstance(x, (str, os.PathLike)):
            return self.predict_files(x)[1]
        x = self._raw(x)
        if self.image_shape_[0] is None:  # any size: the model resizes; one size per batch
            return predict_images(self.best_model_, list(x))
        return self.best_model_.predict(x, verbose=0, batch_size=256)

    def predict_files(self, path: str | os.PathLike) -> tuple[list[Path], np.ndarray]:
        """The image files at ``path`` (a file or a folder, searched to any depth) and their class probabilities.

        Each file is decoded with Pillow as the model takes it: in the training
        images' channels (grey or RGB, alpha dropped), resized to the training
        shape unless the model resizes itself (trained on a folder), divided by
        255 when the training images were floats in [0, 1]. Unreadable files
        are skipped with one warning.
        """
        self._check_fitted()
        paths, images = read_images(path, self.image_shape_)
        if self.pixel_scale_.unit:  # trained on floats in [0, 1]: decoded files are 0-255
            images = [image / np.float32(255.0) for image in images]
        return paths, predict_images(self.best_model_, images)

    def predict(self, x: Any) -> np.ndarray:
        """Predicted labels, of the type ``y`` had in ``fit``."""
        self._check_fitted()
        return self.encoder_.inverse_transform(self.predict_proba(x).argmax(axis=1))

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        """``{"accuracy": ..., "loss": ...}`` on labelled data (loss: mean cross-entropy)."""
        probabilities = self.predict_proba(x)
        index = self.encoder_.transform(check_labels(y, len(probabilities), "y"))
        chosen = np.clip(probabilities[np.arange(len(index)), index], 1e-12, 1.0)
        return {"accuracy": float(np.mean(probabilities.argmax(axis=1) == index)), "loss": float(-np.mean(np.log(chosen)))}

    def score(self, x: Any, y: Any) -> float:
        """Accuracy (scikit-learn's ``score``)."""
        return self.evaluate(x, y)["accuracy"]

    def leaderboard(self, top: int | None = None, print_table: bool = True) -> list[TrialRecord]:
        """Trials best first by the objective's reward (ties: lower validation loss), those failed or
        breaking a constraint last: the ranking that chose ``best_trial_``. Prints the table (with a
        reward column) unless told not to."""
        if not hasattr(self, "history_"):
            raise ValueError("this AutoImageClassifier is not fitted yet; call fit(x, y) first")
        ranked = sorted(self.history_, key=self.objective_.rank_key, reverse=True)  # stable: earlier first on ties
        ranked = ranked[:top] if top else ranked
        if print_table:
            print(Progress.table(ranked, self.objective_))
        return ranked

