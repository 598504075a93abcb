"""Tutorial 1: search for a digits classifier, score it, export it and load it back with plain Keras.

Run it from the repository root:

    python tutorials/01_quick_start.py            # up to five minutes on a laptop CPU
    python tutorials/01_quick_start.py --quick    # under a minute and a half (or AUTONAS_TUTORIAL_QUICK=1)

Everything it writes goes to a fresh temporary folder (printed at the start), or to --output-dir /
the AUTONAS_TUTORIAL_DIR environment variable.
"""

# TensorFlow prints a lot while it starts; level 2 keeps only errors. Set it before importing
# anything that imports TensorFlow.
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402

import numpy as np  # noqa: E402

from _settings import tutorial_settings  # noqa: E402  (tutorials/_settings.py, beside this file)


def main() -> None:
    quick, output = tutorial_settings(__doc__.splitlines()[0])
    print(f"quick mode: {quick}; writing into {output}")
    start = time.monotonic()

    # --------------------------------------------------------------------------------------------
    # 1. The data.
    #
    # autonas.datasets.load_digits() gives scikit-learn's 8x8 handwritten digits (shipped inside
    # scikit-learn, nothing is downloaded) as uint8 images of shape (N, 8, 8), split 70/30 into
    # training and test sets. This is the shape raw image data usually has: no channel axis, no
    # scaling. AutoImageClassifier takes it as it is.
    # --------------------------------------------------------------------------------------------
    from autonas.datasets import load_digits

    x_train, x_test, y_train, y_test = load_digits()
    print(f"training images {x_train.shape} {x_train.dtype}, test images {x_test.shape}, classes {np.unique(y_train)}")
    if quick:
        # A third of the training images is plenty to see every step.
        x_train, y_train = x_train[:600], y_train[:600]

    # --------------------------------------------------------------------------------------------
    # 2. The search.
    #
    # The constructor only stores settings (scikit-learn style). The budget is given by
    #   max_trials  - how many architectures to train in total,
    #   time_limit  - seconds for the whole fit(), the final fit included.
    # The project (every trial's record, architecture and weights) is written to
    # directory/project_name; overwrite=True starts afresh instead of resuming (see tutorial 5).
    #
    # fit() trains two small initial architectures (a CNN and a ResNet sized for 8x8 images),
    # then repeatedly morphs a trained one into a child (deeper, wider, a new skip connection)
    # that starts from its parent's weights, chosen by Bayesian optimization. Every trial trains a
    # fixed number of epochs on a cosine learning-rate schedule that ends annealed. Finally the
    # best architecture is fine-tuned on training + validation data. One line is printed per
    # trial. `epochs` sets the initial architectures' epochs and caps the children's; in quick
    # mode it keeps the trials short.
    # --------------------------------------------------------------------------------------------
    from autonas import AutoImageClassifier

    classifier = AutoImageClassifier(
        max_trials=2 if quick else 8,
        time_limit=None if quick else 300,
        directory=output,
        project_name="quick_start",
        overwrite=True,
        seed=0,
        verbose=1,
    )
    classifier.fit(x_train, y_train, epochs=2 if quick else None)

    # --------------------------------------------------------------------------------------------
    # 3. How good is it?
    #
    # score() is scikit-learn's: accuracy on labelled data. evaluate() adds the cross-entropy.
    # predict() returns labels of the kind fit() got (here ints; strings work too).
    # --------------------------------------------------------------------------------------------
    accuracy = classifier.score(x_test, y_test)
    print(f"test accuracy: {accuracy:.4f}")
    print("evaluate:", classifier.evaluate(x_test, y_test))
    print("first ten predictions:", classifier.predict(x_test[:10]), "true:", y_test[:10])

    # --------------------------------------------------------------------------------------------
    # 4. The leaderboard.
    #
    # One row per trial, best first by the objective's reward (with the default objective, the
    # validation accuracy; ties go to the lower validation loss): its parent ("-" for an initial
    # architecture), status, reward, validation accuracy, parameters, epochs, seconds, and a readable
    # name (the generator, or the morphism operations applied to the parent). It returns the
    # TrialRecords too; their `metrics` hold every cost measured (latency, energy, ...).
    # --------------------------------------------------------------------------------------------
    ranked = classifier.leaderboard(top=5)
    best = classifier.best_trial_
    print(
        f"best trial: {best.id} ({best.name}), val_accuracy {best.metrics['val_accuracy']:.4f}, "
        f"{best.metrics['params']:,} parameters, {best.metrics['macs']:,} multiply-adds per image"
    )
    print(f"{len(ranked)} trials shown; project folder: {classifier.project_path_}")

    # --------------------------------------------------------------------------------------------
    # 5. Export, save, and load with plain Keras.
    #
    # export_model() returns an ordinary keras.Model that includes the preprocessing: it takes
    # the same raw uint8 (N, 8, 8) arrays fit() took and returns class probabilities (columns in
    # the order of classifier.classes_). The saved .keras file loads with
    # keras.models.load_model, no autonas needed on the machine that loads it.
    # --------------------------------------------------------------------------------------------
    import keras

    model = classifier.export_model()
    path = output / "digits.keras"
    model.save(path)
    restored = keras.models.load_model(path)

    expected = classifier.predict_proba(x_test)
    probabilities = restored.predict(x_test, verbose=0)
    difference = float(np.max(np.abs(probabilities - expected)))
    restored_accuracy = float(np.mean(classifier.classes_[probabilities.argmax(axis=1)] == y_test))
    print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"round trip: max |difference| of the probabilities {difference:.2e}, accuracy {restored_accuracy:.4f}")
    assert difference < 1e-4, "the reloaded model should compute what the classifier computes"

    print(f"tutorial 01 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
