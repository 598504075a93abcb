"""Items 5, 8, 9 and 10: input on the wrong scale, --output checked first, clear errors, tiny classes."""

import os

import numpy as np
import pytest

from autonas.cli import main
from autonas.tasks.data import LabelEncoder, PixelScale, split_keeping_every_class
from autonas.tasks.prepare import split_for_validation

from .conftest import quick_classifier

pytestmark = pytest.mark.slow  # trains networks or starts processes


@pytest.fixture(scope="module")
def fitted_on_uint8(small_digits, tmp_path_factory):
    x, _, y, _ = small_digits
    return quick_classifier(tmp_path_factory.mktemp("scale"), max_trials=1).fit(x, y, epochs=4)


def test_images_scaled_to_unit_range_are_refused_after_training_on_uint8(fitted_on_uint8, small_digits):
    _, x_test, _, y_test = small_digits
    assert fitted_on_uint8.score(x_test, y_test) >= 0.9
    assert fitted_on_uint8.score(x_test.astype("float32"), y_test) >= 0.9  # same scale, other dtype: fine
    scaled = x_test.astype("float32") / 255
    for method in ("predict", "predict_proba"):
        with pytest.raises(ValueError, match=r"x holds floats in \[0, 1\].*\[0, 255\] \(uint8\)"):
            getattr(fitted_on_uint8, method)(scaled)
    with pytest.raises(ValueError, match=r"x holds floats in \[0, 1\]"):
        fitted_on_uint8.score(scaled, y_test)


def test_uint8_images_are_refused_after_training_on_unit_floats(small_digits, tmp_path):
    x, x_test, y, y_test = small_digits
    classifier = quick_classifier(tmp_path, max_trials=1).fit(x.astype("float32") / 255, y, epochs=4)
    assert classifier.score(x_test.astype("float32") / 255, y_test) >= 0.9
    with pytest.raises(ValueError, match=r"x holds values up to 255.*trained on floats in \[0, 1\]"):
        classifier.predict(x_test)


def test_validation_data_on_another_scale_is_refused_before_training(small_digits, tmp_path):
    x, x_test, y, y_test = small_digits
    with pytest.raises(ValueError, match=r"validation_data\[0\] holds floats in \[0, 1\]"):
        quick_classifier(tmp_path, max_trials=1).fit(x, y, validation_data=(x_test / 255.0, y_test))
    assert not (tmp_path / "p").exists()


def test_pixel_scale_rule():
    byte = PixelScale.of(np.array([0, 17, 255], dtype=np.uint8))
    byte.check(np.array([0.0, 0.0]))  # all black: nothing to tell
    byte.check(np.array([3.0, 200.0]))
    with pytest.raises(ValueError):
        byte.check(np.array([0.2, 0.9]))
    unit = PixelScale.of(np.array([0.0, 0.5, 1.0], dtype=np.float32))
    unit.check(np.array([0.1, 1.2]))
    with pytest.raises(ValueError):
        unit.check(np.array([0, 128], dtype=np.uint8))
    standardised = PixelScale.of(np.array([-2.5, 0.0, 3.1]))
    standardised.check(np.array([-0.3, 0.4]))  # not a 0–255 scale: no rule applies


@pytest.mark.parametrize(
    ("output", "message"),
    [("model.h5", "must be a file name ending in .keras"), ("folder.keras/", "is a folder"),
     ("a_file/m.keras", "cannot write in")],
)
def test_fit_checks_output_before_searching(tmp_path, small_digits, capsys, output, message):
    x, _, y, _ = small_digits
    np.savez(tmp_path / "d.npz", x=x, y=y)
    if output.endswith("/"):
        output = str(tmp_path / output)
        os.makedirs(output)
    if output.startswith("a_file"):
        (tmp_path / "a_file").write_text("a file, not a folder")
        output = str(tmp_path / output)
    code = main(["fit", "--data", str(tmp_path / "d.npz"), "--output", output, "--directory", str(tmp_path / "runs"),
                 "--workers", "0", "--quiet"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # no search started


def test_demo_checks_output_before_searching(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path / "m.txt"), "--directory", str(tmp_path / "runs")]) == 2
    assert ".keras" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((4, 8, 8), np.uint8), [0, 1, None, 1], r"y contains missing labels \(None or NaN\) at positions \[2\]"),
        (np.zeros((4, 8, 8), np.uint8), [0, "a", 1, "a"], "y mixes numbers and strings"),
        ([np.zeros((8, 8)), np.zeros((8, 8)), np.zeros((9, 8)), np.zeros((8, 8))], [0, 1, 0, 1],
         r"x must be an array of equally shaped images"),
        (np.array([np.zeros((8, 8)), np.zeros((9, 8))] * 2, dtype=object), [0, 1, 0, 1], "x must hold numbers"),
    ],
)
def test_unhelpful_numpy_errors_become_messages_naming_the_argument(tmp_path, x, y, message):
    with pytest.raises(ValueError, match=message):
        quick_classifier(tmp_path, max_trials=1).fit(x, y)


def test_an_npz_that_is_not_a_zip_is_named(tmp_path, capsys):
    fake = tmp_path / "data.npz"
    fake.write_bytes(b"this is not a zip archive" * 10)
    assert main(["fit", "--data", str(fake)]) == 2
    assert f"--data {str(fake)!r} is not an .npz archive" in capsys.readouterr().err


def test_every_class_keeps_a_training_image_when_classes_are_tiny(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(1000), 2)
    x = rng.integers(0, 256, (len(y), 4, 4)).astype(np.uint8)
    encoder = LabelEncoder().fit(y)
    with pytest.warns(UserWarning, match="every class keeps a training example"):
        x_train, x_val, y_train, y_val = split_for_validation(x, y, 0.2, None, encoder, PixelScale.of(x), seed=None)
    assert len(np.unique(y_train)) == 1000
    assert len(y_val) == 400 and len(y_train) == 1600
    # the split is a partition
    assert sorted(np.concatenate([y_train, y_val]).tolist()) == sorted(y.tolist())


def test_split_keeping_every_class_when_the_rest_is_short():
    y = np.array([0, 0, 1, 1, 2, 2, 3])
    train, val = split_keeping_every_class(y, n_val=5, seed=1)
    assert set(y[train]) == {0, 1, 2, 3}
    assert len(val) == 3 and not set(train) & set(val)
