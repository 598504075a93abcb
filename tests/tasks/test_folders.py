"""Reading image folders: listing, decoding, sizes, skipped files, chunked statistics and batches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autonas.tasks import folders
from autonas.tasks.data import ImagePreprocessing
from autonas.tasks.folders import default_image_size, read_images, scan_image_folder, write_image_array
from tests.tasks._image_folder import make_image_folder


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    written = make_image_folder(root, per_class=8)
    return root, written


def test_scan_lists_classes_in_sorted_order_with_their_files(image_folder):
    root, written = image_folder
    listing = scan_image_folder(root)
    assert listing.class_names == ("checks", "horizontal", "vertical")
    assert len(listing.paths) == len(written) + 1  # the corrupt file has an image name too
    for path, label in zip(listing.paths, listing.labels):
        assert path.parent.name == listing.class_names[label]


@pytest.mark.parametrize("layout, message", [
    ({"only": 2}, "at least 2"),
    ({"a": 2, "b": 0}, "holds no image file"),
])
def test_bad_folders_are_refused_naming_the_folder(tmp_path, layout, message):
    from PIL import Image

    for name, count in layout.items():
        (tmp_path / name).mkdir()
        for i in range(count):
            Image.new("L", (8, 8)).save(tmp_path / name / f"{i}.png")
    (tmp_path / "notes.txt").write_text("a file beside the class folders is no class")
    if "b" in layout:
        (tmp_path / "b" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=message) as error:
        scan_image_folder(tmp_path)
    assert str(tmp_path) in str(error.value)


def test_a_path_that_is_not_a_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        scan_image_folder(tmp_path / "missing")


def test_default_size_is_the_median_scaled_to_at_most_64_pixels():
    assert default_image_size([(20, 30), (48, 48), (90, 60)]) == (48, 48)
    assert default_image_size([(640, 480), (800, 600), (1024, 768)]) == (48, 64)  # (height, width)
    assert default_image_size([(8, 8), (9, 9), (28, 28)]) == (9, 9)
    assert default_image_size([(2, 3), (3, 3)]) == (8, 8)  # never below 8 pixels


def test_images_are_decoded_to_disk_in_chunks_skipping_the_corrupt_file_with_one_warning(
    image_folder, tmp_path, monkeypatch
):
    root, written = image_folder
    monkeypatch.setattr(folders, "CHUNK_IMAGES", 5)  # several chunks
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read = write_image_array(scan_image_folder(root), tmp_path / "images.npy", (12, 16))
    about_files = [w for w in caught if "could not be read" in str(w.message)]
    assert len(about_files) == 1 and "broken.jpg" in str(about_files[0].message)
    assert "skipped 1 of" in str(about_files[0].message)
    assert isinstance(read.images, np.memmap) and read.images.dtype == np.uint8
    assert read.images.shape == (len(written), 12, 16, 3)  # mixed L / RGB / RGBA: RGB
    assert sorted(read.paths) == sorted(written)
    # each row is its file, decoded and resized by read_image
    for row in (0, 7, len(written) - 1):
        np.testing.assert_array_equal(read.images[row], folders.read_image(read.paths[row], 3, (12, 16)))


def test_a_folder_of_grey_images_is_read_with_one_channel(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (10 + i, 12), dtype=np.uint8), "L").save(tmp_path / name / f"{i}.png")
    read = write_image_array(scan_image_folder(tmp_path), tmp_path / "out.npy")
    assert read.images.shape == (6, 11, 12, 1)


def test_a_class_left_without_readable_images_is_refused(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "0.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "1.png")
    (tmp_path / "b" / "0.png").write_bytes(b"")
    with pytest.warns(UserWarning, match="could not be read"), pytest.raises(ValueError, match=r"\['b'\]"):
        write_image_array(scan_image_folder(tmp_path), tmp_path / "out.npy")


def test_read_images_keeps_sizes_or_resizes_for_a_fixed_input(image_folder):
    root, written = image_folder
    with pytest.warns(UserWarning, match="could not be read"):
        paths, images = read_images(root, (None, None, 3))
    assert paths == sorted(written)
    assert {image.shape[:2] for image in images} == {(h, w) for w, h in folders_sizes(written)}
    paths, images = read_images(written[0], (10, 10))
    assert images[0].shape == (10, 10) and images[0].dtype == np.uint8
    with pytest.raises(ValueError, match="does not exist"):
        read_images(root / "missing", (None, None, 3))


def folders_sizes(paths):
    from PIL import Image

    sizes = set()
    for path in paths:
        with Image.open(path) as image:
            sizes.add(image.size)
    return sizes


def test_chunked_statistics_equal_numpy_on_all_rows_and_on_chosen_rows(monkeypatch, tmp_path):
    from autonas.tasks import data

    monkeypatch.setattr(data, "CHUNK_BYTES", 7 * 5 * 4 * 3 * 8)  # 7 images a chunk
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(50, 5, 4, 3)).astype(np.uint8)
    rows = np.sort(rng.choice(50, 31, replace=False))
    for chosen in (None, rows):
        expected = x if chosen is None else x[chosen]
        pre = ImagePreprocessing.fit(x, chosen)
        np.testing.assert_allclose(pre.mean, expected.mean(axis=(0, 1, 2)), rtol=1e-12)
        np.testing.assert_allclose(pre.variance, expected.var(axis=(0, 1, 2)), rtol=1e-10)
    written = pre.transform_to_file(x, rows, tmp_path / "x.npy")
    np.testing.assert_allclose(written, pre.transform(x[rows]), rtol=1e-6)


def test_array_batches_visit_every_row_of_every_part_once_an_epoch():
    from autonas.execution.batches import array_batches

    x_parts = [np.arange(10, dtype=np.float32)[:, None], np.arange(10, 17, dtype=np.float32)[:, None]]
    y_parts = [np.arange(10), np.arange(10, 17)]
    batches = array_batches(x_parts, y_parts, batch_size=4, shuffle=True, seed=0)
    assert len(batches) == 5
    orders = []
    for _ in range(2):
        seen = []
        for i in range(len(batches)):
            x, y = batches[i]
            np.testing.assert_array_equal(x[:, 0], y)  # rows keep their labels
            seen.extend(y.tolist())
        assert sorted(seen) == list(range(17))
        orders.append(seen)
        batches.on_epoch_end()
    assert orders[0] != orders[1]  # a new order each epoch


def test_the_local_executor_links_an_npy_file_instead_of_copying_it(tmp_path):
    from autonas.execution.shared_data import share_array

    np.save(tmp_path / "a.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    share_array(mapped, tmp_path / "linked.npy")
    assert (tmp_path / "linked.npy").is_symlink()
    share_array(mapped[1:], tmp_path / "copied.npy")  # a part of the file: copied
    assert not (tmp_path / "copied.npy").is_symlink()
    np.testing.assert_array_equal(np.load(tmp_path / "copied.npy"), mapped[1:])
    share_array(np.ones(3), tmp_path / "plain.npy")
    assert not (tmp_path / "plain.npy").is_symlink()


def test_array_batches_round_an_epoch_to_whole_executions_of_full_batches():
    from autonas.execution.batches import array_batches, epoch_rows

    assert epoch_rows(600, 32) == 608 and epoch_rows(590, 32) == 576  # the nearest multiple
    assert epoch_rows(3, 4) == 4 and epoch_rows(1000, 32, 8) == 1024
    for rows, expected_batches in ((17, 4), (23, 6)):  # 16 rows (1 left out), 24 rows (1 repeated)
        x = np.arange(rows, dtype=np.float32)[:, None]
        batches = array_batches([x], [np.arange(rows)], batch_size=4, shuffle=True, seed=0, steps_multiple=2)
        assert len(batches) == expected_batches
        epochs = []
        for _ in range(3):
            seen = []
            for i in range(len(batches)):
                xb, yb = batches[i]
                assert xb.shape == (4, 1)  # every batch full
                np.testing.assert_array_equal(xb[:, 0], yb)
                seen.extend(yb.tolist())
            counts = np.bincount(seen, minlength=rows)
            if rows == 23:
                assert counts.min() == 1 and counts.max() == 2 and counts.sum() == 24
            else:
                assert counts.max() == 1 and counts.sum() == 16
            epochs.append(tuple(np.flatnonzero(counts != 1)))
            batches.on_epoch_end()
        assert len(set(epochs)) > 1  # the row left out or repeated changes from epoch to epoch
    with pytest.raises(ValueError, match="steps_multiple needs shuffle"):
        array_batches([x], [np.arange(rows)], batch_size=4, shuffle=False, steps_multiple=2)


@pytest.mark.parametrize("compiles_each_shape", [False, True])
def test_trainings_read_full_batches_only_where_the_backend_compiles_each_shape(monkeypatch, compiles_each_shape):
    from autonas.execution import inputs as runner_inputs

    monkeypatch.setattr(runner_inputs, "compiles_each_batch_shape", lambda: compiles_each_shape)
    monkeypatch.setattr(runner_inputs, "shuffled_batches", lambda *args: None)  # a backend that takes the arrays
    x, y = np.zeros((600, 8, 8, 1), np.float32), np.zeros(600, int)
    validation = (x[:100], y[:100])
    ragged = runner_inputs.fit_inputs(x, y, validation, batch_size=32, seed=0)
    even = runner_inputs.fit_inputs(x[:576], y[:576], validation, batch_size=32, seed=0)  # 18 full batches
    assert isinstance(even["x"], np.ndarray) and even["batch_size"] == 32 and even["validation_data"] is validation
    if compiles_each_shape:
        assert len(ragged["x"]) == 19 and ragged["x"][18][0].shape == (32, 8, 8, 1)  # 608 rows
        assert ragged["validation_data"] is validation and ragged["validation_batch_size"] == 32
        executions = runner_inputs.fit_inputs(x[:576], y[:576], validation, batch_size=32, seed=0, per_execution=4)
        assert len(executions["x"]) == 20  # 18 steps rounded to whole executions of 4
    else:
        assert ragged["x"] is x and ragged["batch_size"] == 32


def test_tensorflow_trains_from_its_own_shuffled_batches_and_validates_on_the_arrays():
    from autonas.backend import backend_name
    from autonas.execution import inputs as runner_inputs

    if backend_name() != "tensorflow":
        pytest.skip("only TensorFlow gets autonas's own pipeline (autonas.backend.shuffled_batches)")
    x, y = np.zeros((600, 8, 8, 1), np.float32), np.arange(600) % 3
    validation = (x[:100], y[:100])
    inputs = runner_inputs.fit_inputs(x, y, validation, batch_size=32, seed=0)
    assert inputs["shuffle"] is False  # shuffled in the pipeline; Keras would warn that it cannot
    assert inputs["validation_data"] is validation and inputs["validation_batch_size"] == 32
    sizes = [len(batch_y) for _, batch_y in inputs["x"]]
    assert sizes == [32] * 18 + [24]  # every row once, in batches of 32

