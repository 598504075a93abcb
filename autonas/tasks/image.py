"""``AutoImageClassifier``: architecture search for image classification, scikit-learn style."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from autonas.engine.project import Project, TrialRecord
from autonas.engine.search import SearchBudget, SearchData, final_fit_epochs, run_search
from autonas.execution.runner import TrainingSettings, hyperparameter_space, train_graph
from autonas.graph import Graph, generators
from autonas.tasks.data import ImagePreprocessing, LabelEncoder, check_images, check_labels, from_dataset
from autonas.tasks.progress import Progress

__all__ = ["AutoImageClassifier"]

logger = logging.getLogger(__name__)

_SEARCHERS = ("bayesian", "random")


def _positive(value: Any, name: str, kind: type) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or value <= 0:
        expected = "a positive number of seconds" if kind is float else "a positive int"
        raise ValueError(f"{name} must be {expected} or None, got {value!r}")


class AutoImageClassifier:
    """Searches for an image classifier by network morphism and Bayesian optimization.

    Follows scikit-learn's conventions: ``__init__`` only stores its arguments,
    :meth:`fit` returns ``self``, learned state ends in ``_``.

    Args:
        max_trials: Trials in the project, finished ones of a resumed search
            included (None: no limit; then ``time_limit`` stops the search, or
            10 trials when neither is set).
        time_limit: Seconds for the whole :meth:`fit`, final fit included.
        searcher: ``"bayesian"`` (default) or ``"random"``, or a searcher object
            with ``ask()`` / ``tell()``.
        directory: Parent folder of the project folder.
        project_name: Name of the project folder; an existing one is resumed.
        overwrite: Delete the project folder first.
        seed: Seed of the search and of training.
        verbose: 1 prints a line per trial, 0 is quiet.
        max_model_size: Largest number of parameters a trained model may have.
        executor: Reserved for parallel execution (trials run in this process for now).
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

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        _positive(self.max_trials, "max_trials", int)
        _positive(self.time_limit, "time_limit", float)
        _positive(self.max_model_size, "max_model_size", int)
        if isinstance(self.searcher, str) and self.searcher not in _SEARCHERS:
            raise ValueError(f"searcher must be one of {_SEARCHERS} or a searcher object, got {self.searcher!r}")
        if not isinstance(self.searcher, str) and not (hasattr(self.searcher, "ask") and hasattr(self.searcher, "tell")):
            raise ValueError(f"searcher must be one of {_SEARCHERS} or have ask() and tell(), got {self.searcher!r}")

    def _make_searcher(self):
        if not isinstance(self.searcher, str):
            return self.searcher
        from autonas import search

        constraint = None
        if self.max_model_size is not None:
            limit = self.max_model_size

            def constraint(graph: Graph) -> bool:
                return graph.num_params() <= limit

        cls = search.BayesianSearcher if self.searcher == "bayesian" else search.RandomSearcher
        return cls(seed=self.seed, constraint=constraint)

    def _split(self, x: np.ndarray, y: np.ndarray, validation_split: Any, validation_data: Any):
        """Training and validation arrays (images (N, H, W, C), class indices)."""
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            x_val = check_images(validation_data[0], "validation_data[0]")
            y_val = check_labels(validation_data[1], len(x_val), "validation_data[1]")
            if x_val.shape[1:] != x.shape[1:]:
                raise ValueError(
                    f"validation_data[0] has images of shape {x_val.shape[1:]}, but x has {x.shape[1:]}"
                )
            return x, x_val, y, self.encoder_.transform(y_val, "validation_data[1]")
        if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)):
            raise ValueError(f"validation_split must be a float in (0, 1), got {validation_split!r}")
        n_val = int(round(len(y) * validation_split))
        if not 0 < validation_split < 1 or not 0 < n_val < len(y):
            raise ValueError(
                f"validation_split must be a float in (0, 1) leaving examples on both sides, got {validation_split!r}"
            )
        from sklearn.model_selection import train_test_split

        classes = len(self.encoder_.classes_)
        stratify = y if min(n_val, len(y) - n_val) >= classes else None
        return train_test_split(x, y, test_size=n_val, stratify=stratify, random_state=self.seed or 0)

    # ------------------------------------------------------------------ fit
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
            x: Images: numpy (N, H, W) or (N, H, W, C), uint8 or float; or a
                ``tf.data.Dataset`` of ``(image, label)`` (then ``y`` is None).
            y: Labels: ints, strings or one-hot rows.
            validation_split: Fraction of ``x`` held out (stratified) when
                ``validation_data`` is not given.
            validation_data: ``(x_val, y_val)`` to use for validation instead.
            epochs: Epoch cap per trial (default 40, with early stopping).

        Returns:
            self

        Raises:
            ValueError: for bad input, before any training.
            autonas.engine.search.TrialsFailedError: if every trial fails.
        """
        start = time.monotonic()
        self._check_params()
        _positive(epochs, "epochs", int)
        if y is None and hasattr(x, "element_spec"):
            x, y = from_dataset(x)
        elif y is None:
            raise ValueError("y is required unless x is a tf.data.Dataset of (image, label) pairs")
        raw = np.asarray(x)
        x = check_images(raw, "x")
        y = check_labels(y, len(x), "y")
        self.encoder_ = LabelEncoder().fit(y, "y")
        x_train, x_val, y_train, y_val = self._split(x, self.encoder_.transform(y), validation_split, validation_data)
        self.classes_ = self.encoder_.classes_
        self.image_shape_ = tuple(int(s) for s in raw.shape[1:])
        self.input_shape_ = tuple(int(s) for s in x.shape[1:])
        self.preprocessing_ = ImagePreprocessing.fit(x_train)
        data = SearchData(
            self.preprocessing_.transform(x_train), y_train, self.preprocessing_.transform(x_val), y_val
        )

        hp = hyperparameter_space()
        if epochs is not None:
            hp.values["max_epochs"] = epochs
        settings = TrainingSettings.from_hyperparameters(hp)
        fine_tune = TrainingSettings.from_hyperparameters(hp, fine_tune=True)
        self.hyperparameters_ = hp

        project = Project(Path(self.directory) / self.project_name, overwrite=self.overwrite)
        project.check_config(
            {"task": "image_classification", "input_shape": list(self.input_shape_), "classes": self.classes_.tolist()}
        )
        num_classes = len(self.classes_)
        initial = [(name, getattr(generators, name)(self.input_shape_, num_classes)) for name in ("cnn", "resnet", "densenet")]
        if self.max_model_size is not None:
            initial = [(n, g) for n, g in initial if g.num_params() <= self.max_model_size]
            if not initial:
                initial = [("cnn", generators.cnn(self.input_shape_, num_classes, filters=8, max_filters=32, hidden_units=0))]
        max_trials = self.max_trials
        if max_trials is None and self.time_limit is None:
            max_trials = 10
        deadline = None if self.time_limit is None else start + float(self.time_limit)
        progress = Progress(self.verbose, max_trials, deadline)
        history = run_search(
            project=project,
            searcher=self._make_searcher(),
            data=data,
            initial=initial,
            settings=settings,
            fine_tune_settings=fine_tune,
            budget=SearchBudget(max_trials, deadline),
            seed=self.seed,
            accept=None if self.max_model_size is None else (lambda g: g.num_params() <= self.max_model_size),
            on_trial=progress.trial,
        )
        self.history_ = history
        completed = [r for r in history if r.status == "completed"]
        if not completed:
            raise RuntimeError("no trial completed; see history_ for the reasons")
        best = max(completed, key=lambda r: (r.metrics["val_accuracy"], -r.metrics["val_loss"]))
        self.best_trial_ = best
        graph = project.load_graph(best.id)
        graph = self._final_fit(graph, best, data, fine_tune, deadline)
        project.save_final(graph, {"trial": best.id, "fingerprint": best.fingerprint})
        self.best_graph_ = graph
        self.best_model_ = self._export(graph)
        progress.done(best, time.monotonic() - start)
        return self

    def _final_fit(self, graph: Graph, best: TrialRecord, data: SearchData, settings, deadline) -> Graph:
        """Fine-tune the best graph on training + validation data, within the time left."""
        x = np.concatenate([data.x_train, data.x_val])
        y = np.concatenate([data.y_train, data.y_val])
        result = train_graph(
            graph, x, y, settings, epochs=final_fit_epochs(best), deadline=deadline, seed=self.seed
        )
        if result.status != "completed":
            logger.warning("final fit failed (%s); keeping the best trial's weights", result.error)
            return graph
        return result.graph

    # ------------------------------------------------------------------ use
    def _check_fitted(self) -> None:
        if not hasattr(self, "best_model_"):
            raise ValueError("this AutoImageClassifier is not fitted yet; call fit(x, y) first")

    def _export(self, graph: Graph):
        import keras

        network = graph.to_keras(name="network")
        raw = keras.Input(shape=self.image_shape_, name="image")
        x = raw
        if len(self.image_shape_) == 2:
            x = keras.layers.Reshape((*self.image_shape_, 1), name="add_channel")(x)
        x = keras.layers.Normalization(
            axis=-1, mean=list(self.preprocessing_.mean), variance=list(self.preprocessing_.variance), name="standardize"
        )(x)
        outputs = network(x)
        return keras.Model(raw, outputs, name="autonas_image_classifier")

    def export_model(self):
        """The best model with preprocessing inside: takes the raw arrays ``fit`` took.

        ``model.save("model.keras")`` writes a file plain Keras loads
        (``keras.models.load_model``) without importing autonas.
        """
        self._check_fitted()
        return self.best_model_

    def _raw(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[1:] != self.image_shape_:
            raise ValueError(f"x must have images of shape {self.image_shape_} like the training data, got {x.shape[1:]}")
        check_images(x, "x")
        return x.astype(np.float32)

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        self._check_fitted()
        return self.best_model_.predict(self._raw(x), verbose=0, batch_size=256)

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
        """Trials sorted by validation accuracy (failed ones last); prints the table unless told not to."""
        if not hasattr(self, "history_"):
            raise ValueError("this AutoImageClassifier is not fitted yet; call fit(x, y) first")
        ranked = sorted(self.history_, key=lambda r: -(r.val_accuracy if r.val_accuracy is not None else -1))
        ranked = ranked[:top] if top else ranked
        if print_table:
            print(Progress.table(ranked))
        return ranked
