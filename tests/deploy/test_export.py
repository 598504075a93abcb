"""Exported files run in their own runtime, without autonas or Keras, and predict as the Keras model does.

One tiny search on digits (uint8 8×8 arrays) and one on a folder of image files
of mixed sizes, shared by the file. Float files: the Keras model's class
probabilities within 1e-4; int8 LiteRT: the same top-1 class on at least 99 % of
held-out images.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.cli import main
from autonas.datasets import load_digits
from autonas.execution import SerialExecutor
from autonas.tasks.predict_files import predict_images
from tests.tasks._image_folder import make_image_folder

pytestmark = pytest.mark.slow  # trains networks or starts processes

RUNTIME = Path(__file__).with_name("_runtime.py")
SUFFIX = {"onnx": ".onnx", "litert": ".tflite", "saved_model": ""}


def _search(directory: Path, name: str, x, y=None, **options) -> AutoImageClassifier:
    classifier = AutoImageClassifier(
        max_trials=1, executor=SerialExecutor(), directory=directory, project_name=name, seed=0, verbose=0,
        tensorboard=False, **options,
    )
    return classifier.fit(x, y, epochs=3)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A one-trial search on digits and its held-out images (uint8, as the user has them)."""
    x_train, x_test, y_train, _ = load_digits()
    return _search(tmp_path_factory.mktemp("digits"), "digits", x_train, y_train), x_test


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A one-trial search on a folder of image files, and held-out files of other sizes decoded with Pillow."""
    from PIL import Image

    root = tmp_path_factory.mktemp("photos")
    make_image_folder(root / "train", per_class=20, corrupt=False)
    held_out = make_image_folder(root / "held_out", per_class=34, corrupt=False, seed=1)
    classifier = _search(root, "photos", str(root / "train"), image_size=16)
    images = []
    for path in held_out:
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("RGB"), dtype=np.float32))
    return classifier, images, predict_images(classifier.export_model(), images)


def _run(format: str, model: Path, batches: dict[str, np.ndarray], folder: Path) -> dict[str, np.ndarray]:
    """Each batch through ``model`` in a process that imports only numpy and the runtime (see ``_runtime.py``)."""
    inputs, outputs = folder / "inputs.npz", folder / "outputs.npz"
    np.savez(inputs, **{name: np.asarray(batch, dtype=np.float32) for name, batch in batches.items()})
    result = subprocess.run(
        [sys.executable, str(RUNTIME), format, str(model), str(inputs), str(outputs)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(outputs) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _single_images(images: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {f"image_{i:03d}": image[None] for i, image in enumerate(images)}


def _stacked(outputs: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([outputs[name] for name in sorted(outputs)])


@pytest.mark.parametrize("format", ["onnx", "litert", "saved_model"])
def test_a_float_file_of_an_array_classifier_gives_the_keras_probabilities_in_its_runtime(format, digits, tmp_path):
    classifier, x_test = digits
    path = classifier.export(tmp_path / f"digits{SUFFIX[format]}", format=format)
    got = _run(format, path, {"all": x_test, "one": x_test[:1]}, tmp_path)
    expected = classifier.predict_proba(x_test)
    np.testing.assert_allclose(got["all"], expected, atol=1e-4)
    np.testing.assert_allclose(got["one"], expected[:1], atol=1e-4)


def test_an_int8_litert_file_of_an_array_classifier_keeps_the_top_class(digits, tmp_path):
    classifier, x_test = digits
    path = classifier.export(tmp_path / "digits_int8.tflite", format="litert", quantize="int8")
    float_size = classifier.export(tmp_path / "digits.tflite", format="litert").stat().st_size
    assert path.stat().st_size < 0.5 * float_size
    got = _run("litert", path, {"all": x_test}, tmp_path)["all"]
    expected = classifier.predict_proba(x_test)
    assert np.mean(got.argmax(axis=1) == expected.argmax(axis=1)) >= 0.99


@pytest.mark.parametrize("format", ["onnx", "litert"])
def test_a_float_file_of_a_folder_classifier_resizes_any_image_like_the_keras_model(format, photos, tmp_path):
    classifier, images, expected = photos
    assert len({image.shape for image in images}) > 3  # many sizes, all different from the training 16×16
    path = classifier.export(tmp_path / f"photos{SUFFIX[format]}", format=format)
    np.testing.assert_allclose(_stacked(_run(format, path, _single_images(images), tmp_path)), expected, atol=1e-4)


def test_an_int8_litert_file_of_a_folder_classifier_keeps_the_top_class_on_held_out_files(photos, tmp_path):
    classifier, images, expected = photos
    path = classifier.export(tmp_path / "photos_int8.tflite", format="litert", quantize="int8")
    top = _stacked(_run("litert", path, _single_images(images), tmp_path)).argmax(axis=1)
    assert np.mean(top == expected.argmax(axis=1)) >= 0.99


def test_the_onnx_file_names_its_input_and_carries_the_class_names(digits, tmp_path):
    import onnx

    classifier, _ = digits
    proto = onnx.load(str(classifier.export(tmp_path / "digits.onnx", format="onnx")))
    assert [i.name for i in proto.graph.input] == ["image"] and [o.name for o in proto.graph.output] == ["output"]
    assert {p.key: p.value for p in proto.metadata_props}["classes"] == '["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]'


def test_autonas_export_writes_the_projects_final_model_and_an_int8_file_calibrated_on_a_folder(photos, tmp_path):
    classifier, images, expected = photos
    project = str(classifier.project_path_)
    onnx_path, int8_path = tmp_path / "cli.onnx", tmp_path / "cli_int8.tflite"
    assert main(["export", project, "--format", "onnx", "--output", str(onnx_path)]) == 0
    got = _run("onnx", onnx_path, _single_images(images[:5]), tmp_path)
    np.testing.assert_allclose(_stacked(got), expected[:5], atol=1e-4)
    train = Path(project).parent / "train"
    assert main(["export", project, "--format", "litert", "--quantize", "int8", "--calibration-data", str(train),
                 "--output", str(int8_path)]) == 0
    assert int8_path.stat().st_size > 0
    assert main(["export", project, "--format", "keras", "--trial", "1", "--output", str(tmp_path / "t1.keras")]) == 0


def test_bad_export_requests_are_refused_before_any_work(digits, tmp_path, monkeypatch, capsys):
    import autonas.deploy as deploy
    from autonas.deploy import converters

    classifier, _ = digits

    def no_work(*args, **kwargs):
        raise AssertionError("a converter ran")

    for name in ("to_onnx", "to_litert", "to_saved_model"):
        monkeypatch.setattr(converters, name, no_work)
    cases = [
        (dict(format="tflite"), ValueError, r"format must be one of \['keras', 'litert', 'onnx', 'saved_model'\]"),
        (dict(format="onnx", quantize="int8"), ValueError, "quantize for format='onnx' must be None"),
        (dict(format="litert", quantize="int4"), ValueError, r"must be None or one of \['int8'\]"),
        (dict(format="litert", quantize="int8", calibration_data=np.zeros((3, 5, 5))), ValueError, "shape"),
        (dict(format="litert", quantize="int8", calibration_data=np.full((3, 8, 8), 0.5)), ValueError, "x \\* 255"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            classifier.export(tmp_path / "m.tflite", **kwargs)
    with pytest.raises(ValueError, match="must end in .onnx"):
        classifier.export(tmp_path / "m.tflite", format="onnx")
    monkeypatch.setattr(deploy, "backend_name", lambda: "jax")
    with pytest.raises(ValueError, match="backend 'jax'.*KERAS_BACKEND=tensorflow"):
        classifier.export(tmp_path / "m.onnx", format="onnx")
    monkeypatch.undo()
    monkeypatch.setattr(deploy.importlib.util, "find_spec", lambda name: None if name == "tf2onnx" else object())
    with pytest.raises(ImportError, match=r"\['tf2onnx'\].*pip install autonas\[deploy\]"):
        classifier.export(tmp_path / "m.onnx", format="onnx")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    assert main(["export", str(tmp_path), "--format", "onnx", "--output", str(tmp_path / "m.onnx")]) == 2
    assert "not an autonas project folder" in capsys.readouterr().err
    assert main(["export", str(classifier.project_path_), "--format", "litert", "--quantize", "int8",
                 "--output", str(tmp_path / "m.tflite")]) == 2
    assert "needs calibration_data" in capsys.readouterr().err
