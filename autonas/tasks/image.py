"""``AutoImageClassifier``: architecture search for image classification, scikit-learn style."""

from __future__ import annotations

import numbers
import os
import shutil
import time
import warnings
from typing import Any

import numpy as np

from autonas._checks import check_positive, check_seed
from autonas.backend import import_keras_quietly
from autonas.engine._signals import sigterm_exits_cleanly
from autonas.engine.final_fit import final_fit
from autonas.engine.generations import check_generation_children, check_generation_rungs
from autonas.engine.project import Project, ProjectWriteError, TrialRecord, project_folder
from autonas.engine.loop import TrialsFailedError, run_plan
from autonas.engine.recipe import Recipe
from autonas.engine.spec import SearchSpec
from autonas.execution.executor import Executor, TrainingData
from autonas.objectives.robustness import PixelBox
from autonas.search import check_searcher
from autonas.tasks.deployment import calibration_sample, export_info
from autonas.tasks.fitted import FittedClassifier
from autonas.tasks.learned_state import all_or_nothing
from autonas.tasks.prepare import check_image_size, prepare_arrays, prepare_folder
from autonas.tasks.progress import Progress
from autonas.tasks.short_limits import warn_if_barely_trained, warn_if_unusably_short
from autonas.tasks.tensorboard_log import TensorBoardLog

__all__ = ["AutoImageClassifier"]

#: Bytes of float32 weights per parameter: how the deprecated ``max_model_size`` becomes ``max_params``.
_BYTES_PER_PARAM = 4


class AutoImageClassifier(FittedClassifier):
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
        generation_rungs: With generations, rounds of successive halving on
            inherited weights per generation (1, default: none). With 2, the
            best third of a generation's members (at least one) train on from
            their own weights for twice the child schedule more, and the best
            of them leads the next generation; scores compare within a rung.
        directory: Parent folder of the project folder.
        project_name: Name of the project folder; an existing one is resumed.
        overwrite: Delete the project folder first.
        seed: Seed of the search and of training.
        verbose: 1 prints a line per trial, 0 is quiet.
        max_model_size: Deprecated: give ``max_params`` (this many bytes of
            float32 weights, 4 per parameter, is ``max_model_size // 4``
            parameters; a ``DeprecationWarning`` says so).
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
        image_size: ``(height, width)`` (or one int for both) that images are
            resized to for training, from a folder or arrays alike (default:
            the median height and width of the images, scaled down to at most
            64 pixels on the longer side, with a warning when arrays are
            shrunk). The exported model takes the images at their own size
            and resizes them inside.
        tensorboard: Write TensorBoard logs under ``<project>/tensorboard``:
            each trial's per-epoch curves and the HParams table of trials
            (``tensorboard --logdir <project>``).
        recipe: How trials and the final fit train and how a time limit is
            split between them (None, default: ``Recipe()``,
            whose defaults are the measured ones); a
            :class:`~autonas.engine.recipe.Recipe` with other values, e.g.
            ``Recipe(final_fit_fraction=0.15)``, for an experiment.
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
        generation_rungs: int = 1,
        recipe: Recipe | None = None,
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
        self.generation_rungs = generation_rungs
        self.recipe = recipe

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
        check_searcher(self.searcher)
        check_generation_children(self.generation_children, self.searcher)
        check_generation_rungs(self.generation_rungs, self.generation_children)
        if self.recipe is not None and not isinstance(self.recipe, Recipe):
            raise ValueError(f"recipe must be None or an autonas.engine.recipe.Recipe, got {self.recipe!r}")

    def _make_objective(self):
        """The :class:`~autonas.objectives.Objective` with the limits given here merged in.

        Raises:
            ValueError: for a bad objective or limit, a limit given here and, differently, in an Objective,
                or a ``latency_runtime`` the Keras backend cannot convert to.
            ImportError: naming what to install for a ``latency_runtime`` (``pip install autonas[deploy]``).
        """
        from autonas.objectives import as_objective
        from autonas.objectives.latency import check_latency_runtime
        from autonas.objectives.robustness import check_robustness_available

        limits = {"max_params": self._max_params(), "max_power": self.max_power, "max_latency": self.max_latency}
        objective = as_objective(self.objective, limits, given_by="AutoImageClassifier")
        if objective.needs_measured_costs:  # the runtime's packages and a backend that converts, before any training
            check_latency_runtime(objective.latency_runtime, available=True)
        if objective.reads_robustness:  # the attack library, before any training
            check_robustness_available()
        return objective

    def _max_params(self) -> int | None:
        """``max_params``, or the deprecated ``max_model_size`` converted (4 bytes a parameter), with a warning.

        Raises:
            ValueError: for both given.
        """
        if self.max_model_size is None:
            return self.max_params
        if self.max_params is not None:
            raise ValueError("max_model_size is deprecated and max_params is given: give max_params only")
        converted = int(self.max_model_size) // _BYTES_PER_PARAM
        warnings.warn(
            f"max_model_size is deprecated: give max_params={converted} (4 bytes of float32 weights a parameter)",
            DeprecationWarning,
            stacklevel=5,  # the caller of fit: fit's wrapper (sigterm_exits_cleanly), fit, _make_objective, here
        )
        return converted

    def _spec(self) -> SearchSpec:
        """The search these arguments describe (after :meth:`_check_params`, with ``objective_`` set)."""
        return SearchSpec(
            objective=self.objective_, searcher=self.searcher, max_trials=self.max_trials,
            time_limit=self.time_limit, seed=self.seed, generation_children=self.generation_children,
            generation_rungs=self.generation_rungs, executor=self.executor, recipe=self.recipe or Recipe(),
        )

    def _prepare_data(self, x: Any, y: Any, validation_split: Any, validation_data: Any) -> TrainingData:
        """Check, encode and split the input, learn the standardisation; sets the data attributes.

        Images read from a folder live on disk in ``self._scratch`` until :meth:`fit` ends.
        """
        if isinstance(x, (str, os.PathLike)):
            prepared = prepare_folder(
                x, y, validation_split, validation_data, self.seed, self.directory, check_image_size(self.image_size)
            )
        else:
            prepared = prepare_arrays(x, y, validation_split, validation_data, self.seed, check_image_size(self.image_size))
        self._scratch = prepared.scratch
        self.encoder_ = prepared.encoder
        self.classes_ = prepared.encoder.classes_
        self.pixel_scale_ = prepared.pixel_scale
        self.image_shape_ = prepared.image_shape
        self.input_shape_ = prepared.input_shape
        self.preprocessing_ = prepared.preprocessing
        self.calibration_sample_ = calibration_sample(prepared.data.x_train, self._face(), self.seed)
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
                at most as many. Default: the ``recipe``'s lengths (those of
                ``Recipe()``:
                as many as see 48,000 training examples for an initial
                architecture and 8,000 for a child (1 to 40 epochs; under
                one epoch, one epoch on that many of the images), each on a
                cosine schedule that ends annealed).

        Returns:
            self

        Raises:
            ValueError: for bad input, before any training.
            ImportError: for an objective's ``latency_runtime`` whose packages are missing, before any training.
            autonas.engine.TrialsFailedError: if no trial completes.
        """
        start = time.monotonic()
        self._check_params()
        check_positive(epochs, "epochs", integer=True, optional=True)
        warn_if_unusably_short(self.time_limit, stacklevel=3)  # the caller of fit (wrapped by sigterm_exits_cleanly)
        with all_or_nothing(self):  # a refused or failed fit leaves the estimator as it was
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

    def _search(self, project: Project, data: TrainingData, epochs: int | None, start: float) -> AutoImageClassifier:
        """The search, the final fit and the export, in a locked project (the body of :meth:`fit`)."""
        import_keras_quietly()  # before TensorBoard's writer imports TensorFlow: its native logging off the terminal
        searching = time.monotonic()
        project.check_config(
            {"task": "image_classification", "input_shape": list(self.input_shape_), "classes": self.classes_.tolist()}
        )
        box = PixelBox(tuple(self.preprocessing_.mean), tuple(self.preprocessing_.variance), *self.pixel_scale_.box())
        plan = self._spec().plan(self.input_shape_, len(self.classes_), len(data.x_train), len(data.x_val), start, epochs,
                                 box=box)
        final, budget = plan.final_settings, plan.budget
        self.training_settings_ = {"initial": plan.settings, "child": plan.fine_tune_settings, "final": final}
        progress = Progress(self.verbose, budget.max_trials, budget.deadline, self.objective_)
        log = TensorBoardLog(project.path, self.objective_) if self.tensorboard else None
        if log is not None:
            log.start()

        def on_trial(record: TrialRecord, history: list[TrialRecord]) -> None:
            progress.trial(record, history)
            if log is not None:
                log.trial(record)

        with progress:  # live bars of the running trials, on a terminal
            self.history_ = run_plan(project, data, plan.observed_by(on_trial, progress.epoch))
        self.project_path_ = project.path
        self.best_trial_ = self._best_trial()
        warn_if_barely_trained(self.time_limit, self.best_trial_, self.history_, stacklevel=4)  # the caller of fit
        fitting = time.monotonic()
        graph = final_fit(project.load_graph(self.best_trial_.id), self.best_trial_, data, final, budget.deadline, self.seed)
        self.best_graph_ = graph
        saving = time.monotonic()
        self.best_model_ = self._export(graph)
        self._project = project  # trials not written (disk full) stay readable for export_model
        try:
            info = {"trial": self.best_trial_.id, "fingerprint": self.best_trial_.fingerprint, **export_info(self._face())}
            project.save_final(graph, info)
        except ProjectWriteError as error:
            warnings.warn(
                f"{error}; the fitted classifier is complete in memory: predict() works and "
                "export_model().save(path) can write the model elsewhere",
                RuntimeWarning,
                stacklevel=4,  # the caller of fit (fit is wrapped by sigterm_exits_cleanly)
            )
        end = time.monotonic()
        self.fit_seconds_ = {
            "preparing": searching - start, "searching": fitting - searching, "final_fit": saving - fitting,
            "saving": end - saving, "total": end - start,
        }
        progress.done(self.best_trial_, end - start)
        return self

    def _best_trial(self) -> TrialRecord:
        """The completed trial of highest reward within the constraints (ties: lower validation loss).

        Raises:
            TrialsFailedError: if no trial completed within the constraints.
        """
        best = max(self.history_, key=self.objective_.rank_key, default=None)
        if best is None or self.objective_.rank_key(best)[0] == -np.inf:
            raise TrialsFailedError("no trial completed within the constraints; see history_ for the reasons")
        return best
