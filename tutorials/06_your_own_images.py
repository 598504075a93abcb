"""Tutorial 6: search on your own image files, then predict from Python and from the command line.

Run it from the repository root:

    python tutorials/06_your_own_images.py            # a few minutes on a laptop CPU
    python tutorials/06_your_own_images.py --quick    # about a minute (or AUTONAS_TUTORIAL_QUICK=1)

Your photos are not in this repository, so the tutorial first writes a folder of image files the
way people have them (generated shapes: PNG and JPEG, several sizes, grey and colour) into a
temporary folder (or --output-dir / AUTONAS_TUTORIAL_DIR). Point the same calls at your folder.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import csv  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from _settings import tutorial_settings  # noqa: E402  (tutorials/_settings.py, beside this file)


def write_photos(root: Path, images: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> None:
    """Save ``images`` as files under ``root/<class name>/``: mixed sizes, formats and modes, as real folders are."""
    from PIL import Image

    sizes = ((40, 40), (64, 48), (50, 75), (96, 96))
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(image, "RGB").resize(sizes[i % len(sizes)], Image.Resampling.BILINEAR)
        if i % 5 == 0:
            picture = picture.convert("L")  # a few grey photos among the colour ones
        picture.save(folder / f"img_{i:04d}.{'jpg' if i % 2 else 'png'}")
    (root / names[0] / "thumbs.db.jpg").write_bytes(b"not an image at all")  # every real folder has one


def main() -> None:
    quick, output = tutorial_settings(__doc__.splitlines()[0])
    print(f"quick mode: {quick}; writing into {output}")
    start = time.monotonic()

    import keras

    from autonas import AutoImageClassifier
    from autonas.datasets import SHAPE_CLASSES, colour_shapes

    # --------------------------------------------------------------------------------------------
    # 1. A folder of images.
    #
    # The layout is keras.utils.image_dataset_from_directory's: one subfolder per class, named
    # after the class, with the image files anywhere below it (JPEG, PNG, BMP or GIF; grey, RGB
    # or RGBA; any sizes).
    # --------------------------------------------------------------------------------------------
    x_train, x_test, y_train, y_test = colour_shapes(n_samples=600 if quick else 2100, image_size=32)
    photos, held_out = output / "photos", output / "held_out"
    write_photos(photos, x_train, y_train, SHAPE_CLASSES)
    write_photos(held_out, x_test, y_test, SHAPE_CLASSES)
    print(f"wrote {len(x_train)} training and {len(x_test)} held-out image files under {output}")

    # --------------------------------------------------------------------------------------------
    # 2. fit() on the folder.
    #
    # Files are decoded with Pillow a chunk at a time and written to a scratch folder beside the
    # project (directory/.autonas-images-<host>-<pid>-XXXX, removed when fit ends; a folder larger
    # than memory is never held whole); files that cannot be read are skipped with one warning
    # naming them. Every image is resized to one training size: by default the median height and
    # width of the folder, scaled so that the longer side is at most 64 pixels;
    # image_size=(height, width) chooses another. Grey images are read as RGB when the folder
    # also holds colour ones.
    # --------------------------------------------------------------------------------------------
    classifier = AutoImageClassifier(
        max_trials=2 if quick else 8, time_limit=60 if quick else 600, directory=output,
        project_name="shapes_search", overwrite=True, seed=0, image_size=32,
    )
    classifier.fit(photos, epochs=4 if quick else None)
    print(f"classes {classifier.classes_.tolist()}; trained on images of shape {classifier.input_shape_}")

    # --------------------------------------------------------------------------------------------
    # 3. Predict files.
    #
    # predict_files() reads a file or a folder (to any depth) and returns the paths it read with
    # the class probabilities; predict() and predict_proba() take such a path as well as arrays.
    # --------------------------------------------------------------------------------------------
    paths, probabilities = classifier.predict_files(held_out)
    truth = np.array([path.parent.name for path in paths])
    accuracy = float(np.mean(classifier.classes_[probabilities.argmax(axis=1)] == truth))
    print(f"held-out accuracy: {accuracy:.4f} on {len(paths)} files")

    # --------------------------------------------------------------------------------------------
    # 4. The exported model takes images of any size.
    #
    # It resizes inside (a Resizing layer, bilinear and antialiased), so plain Keras predicts on
    # a photo decoded at its own size. save_model() also stores the class names in the .keras
    # file, where `autonas predict` finds them.
    # --------------------------------------------------------------------------------------------
    model_path = classifier.save_model(output / "shapes.keras")
    model = keras.models.load_model(model_path)
    from PIL import Image

    with Image.open(paths[0]) as image:
        photo = np.asarray(image.convert("RGB"))
    direct = model.predict(photo[None].astype("float32"), verbose=0)[0]
    difference = np.max(np.abs(direct - probabilities[0]))
    print(f"plain Keras on {paths[0].name} ({photo.shape[0]}x{photo.shape[1]}): max |difference| to "
          f"predict_files {difference:.2e}")
    assert difference <= 1e-4, "the saved model should resize and predict as the classifier does"

    # --------------------------------------------------------------------------------------------
    # 5. The command line.
    #
    #     autonas fit --data photos/ --image-size 32 --output shapes.keras
    #     autonas predict --model shapes.keras --data held_out/ --output predictions.csv
    #
    # predict writes one row per readable image: its path, the predicted class and the
    # probability of each class.
    # --------------------------------------------------------------------------------------------
    table = output / "predictions.csv"
    subprocess.run([sys.executable, "-m", "autonas", "predict", "--model", str(model_path), "--data", str(held_out),
                    "--output", str(table)], check=True)
    with open(table, newline="") as handle:
        rows = list(csv.reader(handle))
    print(f"autonas predict: {len(rows) - 1} rows, columns {rows[0][:3]} ...; first row {rows[1][:2]}")
    assert len(rows) - 1 == len(paths), "one row per readable held-out image"

    # --------------------------------------------------------------------------------------------
    # 6. A view of the search.
    #
    # report() writes one HTML page (leaderboard, progress, Pareto front, morphism tree, the best
    # architecture); `autonas report <project>` writes the same from the project folder. The
    # project's tensorboard/ folder holds each trial's curves and the HParams table of trials:
    #     tensorboard --logdir <project>/tensorboard
    # --------------------------------------------------------------------------------------------
    page = classifier.report(output / "report.html")
    print(f"report: {page}; TensorBoard logs: {classifier.project_path_ / 'tensorboard'}")
    print(f"tutorial 06 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
