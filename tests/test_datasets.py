"""Offline data sets: digits' split, the generated colour shapes, the IDX reader and the Fashion-MNIST loader."""

import gzip

import numpy as np
import pytest

from autonas.datasets import (
    FASHION_MNIST_DIR,
    SHAPE_CLASSES,
    _shape_mask,
    colour_shapes,
    fashion_mnist,
    hard_colour_shapes,
    load_digits,
    read_idx,
)

pytestmark = pytest.mark.slow  # trains networks or starts processes


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


def test_digits_split_is_stratified_uint8():
    x_train, x_test, y_train, y_test = load_digits()
    assert x_train.dtype == np.uint8 and x_train.shape[1:] == (8, 8)
    assert len(x_test) == pytest.approx(0.3 * (len(x_train) + len(x_test)), abs=1)
    assert set(np.unique(y_test)) == set(range(10))
    assert x_train.max() == 255


def test_colour_shapes_defaults_give_the_images_the_figures_were_measured_on():
    x_train, x_test, y_train, y_test = colour_shapes()
    assert x_train.shape == (1470, 32, 32, 3) and x_test.shape == (630, 32, 32, 3) and x_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [245] * 6
    # pixel sums of the images benchmarks/results/colour_shapes.md and fidelity.md were measured on
    assert int(x_train.astype(np.int64).sum()) == 572018128 and int(x_test.astype(np.int64).sum()) == 242440361


def test_hard_colour_shapes_has_ten_balanced_classes_and_depends_on_its_seed_only():
    x_train, x_test, y_train, y_test = hard_colour_shapes(400)
    assert x_train.shape == (280, 48, 48, 3) and x_test.shape == (120, 48, 48, 3)
    assert np.bincount(np.concatenate([y_train, y_test])).tolist() == [40] * 10
    np.testing.assert_array_equal(hard_colour_shapes(400)[0], x_train)
    assert not np.array_equal(hard_colour_shapes(400, random_state=1)[0], x_train)


def test_every_shape_class_draws_its_own_nonempty_mask():
    rows, cols = np.mgrid[0:32, 0:32].astype(np.float32) + 0.5
    masks = [_shape_mask(label, rows - 16, cols - 16, 10.0, np.random.default_rng(0))
             for label in range(len(SHAPE_CLASSES))]
    assert all(mask.sum() >= 20 for mask in masks)
    assert len({mask.tobytes() for mask in masks}) == len(SHAPE_CLASSES)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"classes": 11}, "classes must be from 2 to 10"), ({"classes": 1}, "classes must be"),
     ({"clutter": -1}, "clutter must be 0 or more"), ({"occlusion": 1.0}, "occlusion must be in"),
     ({"noise": float("nan")}, "noise must be 0 or more"), ({"n_samples": 15, "classes": 10}, "n_samples must be at least 20")],
)
def test_colour_shapes_options_out_of_range_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        colour_shapes(**options)


def test_fashion_mnist_reads_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.array([9, 0, 3, 3, 1], np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:2])  # not gzipped works too
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:2])
    x_train, x_test, y_train, y_test = fashion_mnist(tmp_path)
    np.testing.assert_array_equal(x_train, images)
    np.testing.assert_array_equal(y_test, labels[:2])
    assert y_train.dtype == np.int64 and x_test.shape == (2, 28, 28)


def test_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist(tmp_path)


def test_a_file_that_is_not_idx_is_rejected(tmp_path):
    bad = tmp_path / "x.idx"
    bad.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="header says"):
        read_idx(short)


@pytest.mark.skipif(not FASHION_MNIST_DIR.exists(), reason="dataset-fashion-mnist is not installed")
def test_installed_fashion_mnist_has_the_official_split():
    x_train, x_test, y_train, y_test = fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
