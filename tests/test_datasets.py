"""Offline data sets: digits' split, the IDX reader and the Fashion-MNIST loader."""

import gzip

import numpy as np
import pytest

from autonas.datasets import FASHION_MNIST_DIR, fashion_mnist, load_digits, read_idx

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
