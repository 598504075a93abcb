"""What a fitted classifier offers: predictions, exported models and the search's record."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from autonas.engine.project import TrialRecord
from autonas.graph import Graph
from autonas.tasks.data import as_array, check_images, check_labels
from autonas.tasks.deployment import ClassifierFace, write_export
from autonas.tasks.export import export_classifier, save_classifier
from autonas.tasks.folders import read_images
from autonas.tasks.predict_files import predict_images
from autonas.tasks.progress import Progress

__all__ = ["FittedClassifier"]


class FittedClassifier:
    """The methods of a classifier once :meth:`fit` has run (a mixin of :class:`~autonas.AutoImageClassifier`).

    They read what ``fit`` learned: ``best_model_``, ``history_``,
    ``objective_``, ``classes_``, ``encoder_``, ``image_shape_``,
    ``preprocessing_``, ``pixel_scale_``, ``calibration_sample_`` and the project.
    """

    def _check_fitted(self) -> None:
        if not hasattr(self, "best_model_"):
            raise ValueError("this AutoImageClassifier is not fitted yet; call fit(x, y) first")

    def _export(self, graph: Graph):
        return export_classifier(graph, self.image_shape_, self.preprocessing_)

    def _face(self) -> ClassifierFace:
        """The input and classes of the exported model."""
        return ClassifierFace(
            tuple(self.image_shape_), self.preprocessing_, self.pixel_scale_, tuple(str(c) for c in self.classes_)
        )

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

    def export(
        self,
        path: str | os.PathLike,
        format: str,
        trial_id: int | None = None,
        quantize: str | None = None,
        calibration_data: Any = None,
    ) -> Path:
        """Write :meth:`export_model` as a file for the runtime it will run in (Keras's ``model.export``).

        The file takes the raw images ``fit`` took (as float32; preprocessing,
        and for a classifier fitted on a folder the resizing of any image
        size, inside) and returns class probabilities, columns in the order of
        ``classes_``. Needs ``pip install autonas[deploy]`` for ONNX.

        Args:
            path: The file to write: ``.keras``, ``.onnx``, ``.tflite``, or a
                new or empty folder for ``"saved_model"``.
            format: ``"keras"`` (as :meth:`save_model`), ``"saved_model"``
                (TensorFlow), ``"onnx"`` (onnxruntime) or ``"litert"``
                (TensorFlow Lite's successor, ``ai_edge_litert``). Under JAX or
                PyTorch only ``"keras"`` (see ``docs/deploy.md``).
            trial_id: None for the best model, or a completed trial's id.
            quantize: None (float32), or ``"int8"`` with ``format="litert"``:
                post-training quantisation of weights and activations,
                calibrated on ``calibration_data``.
            calibration_data: Images for ``"int8"`` like those ``fit`` took;
                default: up to 200 training images kept by ``fit``
                (``calibration_sample_``).

        Returns:
            The path written.

        Raises:
            ValueError: if not fitted, or for an unknown format, one the Keras
                backend cannot write, a ``quantize`` the format lacks, or a
                bad path, before any work.
            ImportError: naming ``pip install autonas[deploy]`` when a converter is missing.
        """
        from autonas.deploy import check_export

        self._check_fitted()
        given = calibration_data is not None
        if quantize is not None and not given:
            calibration_data = self.calibration_sample_
        check_export(format, path, quantize, calibration_data, tuple(self.image_shape_))
        if quantize is not None and given:
            for image in calibration_data:
                self.pixel_scale_.check(np.asarray(image), "calibration_data")
        return write_export(self.export_model(trial_id), self._face(), path, format, quantize, calibration_data)

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
        """The trials no other beats on validation accuracy, energy per inference and size at once
        (and batch-1 latency or robust accuracy, when the objective reads it: ``Objective.pareto_objectives``).

        Trials that failed or break a constraint are left out.
        """
        from autonas.objectives import pareto_front

        self._check_fitted()
        allowed = [r for r in self.history_ if self.objective_.reward(r) not in (None, -np.inf)]
        return pareto_front(allowed, self.objective_.pareto_objectives)

    def plot_pareto(self, path: str | os.PathLike, cost: str = "energy_mj") -> Path:
        """Write a PNG of the trials' accuracy against energy (marker area: size), the front highlighted.

        ``cost="latency_ms"`` plots batch-1 latency instead, labelled with the runtime that measured
        it; ``cost="robust_accuracy"`` the accuracy under the objective's attack. Needs matplotlib
        (``pip install autonas[plot]``).
        """
        from autonas.objectives.plots import plot_trials

        self._check_fitted()
        return plot_trials(self.history_, {r.id for r in self.pareto_front()}, path, cost)

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

    def robustness(
        self,
        x: Any,
        y: Any,
        attack: str | None = None,
        epsilon: float | None = None,
        steps: int | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """The fitted model's accuracy under an L∞ attack on labelled images (ART's FGSM or PGD).

        The network is attacked at its input size, each pixel moved by at most
        ``epsilon`` of the images' scale (see :class:`~autonas.objectives.robustness.PixelBox`).
        Needs ``pip install autonas[robust]``.

        Args:
            x: Images like those ``fit`` took.
            y: Their labels.
            attack: ``"pgd"`` or ``"fgsm"``; default the objective's (``Objective(attack=...)``).
            epsilon: Budget on the [0, 1] pixel scale; default the objective's (0.1 unless set).
            steps: PGD steps; default the objective's (10 unless set).
            seed: Seed of PGD's random start (default: the classifier's ``seed``).

        Returns:
            ``robust_accuracy``, ``clean_accuracy`` and the attack's ``attack``, ``attack_epsilon``,
            ``attack_steps``, ``attack_images`` and ``attack_seconds``.

        Raises:
            ValueError: if not fitted, for images or labels unlike ``fit``'s, or a bad attack setting.
            ImportError: naming ``pip install autonas[robust]`` when the attack library is missing.
        """
        from autonas.objectives.robustness import Attack, PixelBox, measure_robustness
        from autonas.tasks.prepare import resize_images

        self._check_fitted()
        objective = self.objective_
        raw = self._raw(x)
        index = self.encoder_.transform(check_labels(y, len(raw), "y"))
        chosen = Attack(attack or objective.attack, float(objective.epsilon if epsilon is None else epsilon),
                        int(objective.attack_steps if steps is None else steps), images=len(raw))
        images = raw[..., None] if raw.ndim == 3 else raw
        network = self.best_graph_.to_keras()
        images = resize_images(images, tuple(network.input_shape[1:3]))
        box = PixelBox(tuple(self.preprocessing_.mean), tuple(self.preprocessing_.variance), *self.pixel_scale_.box())
        return measure_robustness(network, self.preprocessing_.transform(images), index, chosen, box,
                                  self.seed if seed is None else seed)

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

