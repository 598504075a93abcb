"""A search on a folder of image files, as users have them: mixed sizes, modes, formats and a corrupt file."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.cli import main
from autonas.execution import SerialExecutor
from tests.tasks._image_folder import make_image_folder

pytestmark = pytest.mark.slow  # trains networks or starts processes


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    return root, make_image_folder(root, per_class=20)


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def _decoded(path):
    """The file as plain Pillow gives it, at its own size, in RGB (what a user of the exported model does)."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


def test_cli_fit_on_a_folder_warns_once_about_the_corrupt_file_and_predict_writes_every_readable_image(
    photos, tmp_path
):
    import keras

    root, readable = photos
    model_path, table = tmp_path / "best.keras", tmp_path / "predictions.csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["fit", "--data", str(root), "--output", str(model_path), "--directory", str(tmp_path / "projects"),
                     "--time-limit", "40", "--max-trials", "2", "--workers", "1", "--quiet"])
    assert code == 0 and model_path.is_file()
    about_files = [w for w in caught if "could not be read" in str(w.message)]
    assert len(about_files) == 1 and "broken.jpg" in str(about_files[0].message)
    assert not list((tmp_path / "projects").glob(".autonas-images-*"))  # the decoded copy is removed

    assert main(["predict", "--model", str(model_path), "--data", str(root), "--output", str(table)]) == 0
    rows = _read_csv(table)
    assert rows[0] == ["path", "predicted_class", "checks", "horizontal", "vertical"]
    assert sorted(row[0] for row in rows[1:]) == sorted(str(p) for p in readable)  # one row per readable image
    model = keras.models.load_model(model_path)  # plain Keras
    for row in rows[1:6]:
        expected = model.predict(_decoded(row[0])[None], verbose=0)[0]
        np.testing.assert_allclose([float(p) for p in row[2:]], expected, atol=1e-5)
        assert row[1] == rows[0][2 + int(np.argmax(expected))]


@pytest.mark.backend
def test_a_classifier_fitted_on_a_folder_predicts_files_and_arrays_of_any_size_like_its_exported_model(
    photos, tmp_path
):
    import keras

    root, readable = photos
    classifier = AutoImageClassifier(
        max_trials=2, time_limit=40, executor=SerialExecutor(), directory=tmp_path, image_size=24, seed=0, verbose=0
    )
    with pytest.warns(UserWarning, match="could not be read"):
        classifier.fit(root)
    assert classifier.input_shape_ == (24, 24, 3)
    assert list(classifier.classes_) == ["checks", "horizontal", "vertical"]
    with pytest.warns(UserWarning, match="could not be read"):
        paths, probabilities = classifier.predict_files(root)
    assert paths == sorted(readable)
    # scored on images it never saw: other phases and noise, the same mix of sizes, modes and formats
    held_out = make_image_folder(tmp_path / "held_out", per_class=10, corrupt=False, seed=1)
    paths, probabilities = classifier.predict_files(tmp_path / "held_out")
    assert paths == sorted(held_out)
    labels = np.array([p.parent.name for p in paths])
    accuracy = np.mean(classifier.classes_[probabilities.argmax(axis=1)] == labels)
    assert accuracy >= 0.8, accuracy  # stripes against checks: an easy task, even after two trials

    # TensorBoard: a run per completed trial, with its row of the HParams table
    from tests.tasks.test_tensorboard_log import read_run

    for record in classifier.history_:
        series, hparams = read_run(classifier.project_path_ / "tensorboard" / f"trial_{record.id:04d}")
        assert hparams["architecture"] == record.name
        if record.status == "completed":
            assert len(series["epoch/val_accuracy"]) == record.epochs

    saved = classifier.save_model(tmp_path / "model.keras")
    model = keras.models.load_model(saved)
    for path, expected in list(zip(paths, probabilities))[::7]:
        np.testing.assert_allclose(model.predict(_decoded(path)[None], verbose=0)[0], expected, atol=1e-5)

    # arrays of any size work too; a wrong number of channels is refused
    batch = np.stack([_decoded(paths[0])[:28, :20], _decoded(paths[1])[:28, :20]])
    np.testing.assert_allclose(classifier.predict_proba(batch), model.predict(batch, verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        classifier.predict_proba(batch[..., :1])


@pytest.mark.parametrize("image_size", [0, (24,), (24, 0), "24", (True, 3)])
def test_a_bad_image_size_is_refused_before_any_reading(image_size, tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        AutoImageClassifier(image_size=image_size, directory=tmp_path).fit(tmp_path / "nowhere")


def test_a_folder_with_labels_is_refused(photos, tmp_path):
    with pytest.raises(ValueError, match="y must be None"):
        AutoImageClassifier(directory=tmp_path).fit(photos[0], [0, 1])
