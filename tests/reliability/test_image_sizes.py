"""One sizing rule for arrays and folders: large images train smaller, the exported model resizes inside."""

import warnings

import keras
import numpy as np
import pytest

from autonas.tasks.folders import MAX_DEFAULT_SIDE
from autonas.tasks.prepare import prepare_arrays, resize_images, training_size

from .conftest import quick_classifier


def _stripes(n: int, side: int, channels: int = 3, seed: int = 0):
    """uint8 images whose class is the stripes' direction: readable at any size."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rows = (np.arange(side) // max(1, side // 8)) % 2
    horizontal = np.broadcast_to(rows[:, None], (side, side))
    patterns = np.stack([horizontal, horizontal.T]) * 160 + 40
    x = patterns[y][..., None] + rng.integers(0, 40, (n, side, side, 1))
    return np.repeat(x, channels, axis=-1).astype(np.uint8), y


def test_the_training_size_is_the_folders_rule_and_a_shrink_is_said_naming_image_size():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert training_size(28, 28, None) == (28, 28)  # small images: as given, silently
        assert training_size(6, 5, None) == (6, 5)  # tiny ones too (folders take at least 8 a side)
        assert training_size(512, 512, (512, 512)) == (512, 512)  # asked for: silently
    with pytest.warns(UserWarning, match=r"512x384 pixels: they are trained at 64x48 .*image_size=\(512, 384\)"):
        assert training_size(512, 384, None) == (MAX_DEFAULT_SIDE, 48)


def test_resizing_keeps_a_constant_image_and_takes_the_mean_of_what_it_shrinks():
    x = np.full((3, 96, 96, 2), 7.0, dtype=np.float32)
    assert np.allclose(resize_images(x, (32, 32)), 7.0, atol=1e-4)
    checker = ((np.indices((64, 64)).sum(axis=0) % 2) * 255.0).astype(np.float32)[None, ..., None]
    small = resize_images(checker, (16, 16))
    assert small.shape == (1, 16, 16, 1)
    assert np.allclose(small[0, 2:-2, 2:-2], 127.5, atol=2.0)  # antialiased: no aliasing to 0 or 255


def test_prepared_arrays_are_trained_smaller_and_validation_data_alike():
    x, y = _stripes(40, 128)
    x_val, y_val = _stripes(10, 128, seed=1)
    with pytest.warns(UserWarning, match="trained at 64x64"):
        prepared = prepare_arrays(x, y, 0.2, (x_val, y_val), seed=0)
    assert prepared.image_shape == (128, 128, 3)
    assert prepared.input_shape == (64, 64, 3)
    assert prepared.data.x_train.shape == (40, 64, 64, 3) and prepared.data.x_val.shape == (10, 64, 64, 3)
    kept = prepare_arrays(x, y, 0.2, None, seed=0, image_size=(128, 128))
    assert kept.input_shape == (128, 128, 3)


@pytest.mark.slow
@pytest.mark.backend
def test_large_arrays_search_at_the_default_size_and_the_model_takes_them_at_their_own(tmp_path):
    x, y = _stripes(120, 160)
    x_test, y_test = _stripes(40, 160, seed=2)
    with pytest.warns(UserWarning, match=r"160x160 pixels: they are trained at 64x64"):
        classifier = quick_classifier(tmp_path, max_trials=1).fit(x, y, epochs=2)
    assert classifier.input_shape_ == (64, 64, 3)
    assert classifier.best_model_.input_shape == (None, 160, 160, 3)
    assert classifier.score(x_test, y_test) >= 0.9  # stripes are plain at 64x64 too
    with pytest.raises(ValueError, match=r"images of shape \(160, 160, 3\)"):
        classifier.predict(x_test[:, :64, :64])  # the training size is the model's business, not the user's
    path = classifier.save_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(path)
    assert np.allclose(loaded.predict(x_test.astype("float32"), verbose=0), classifier.predict_proba(x_test), atol=1e-5)
    assert classifier.calibration_sample_.shape[1:] == (160, 160, 3)  # as the exported model takes them
