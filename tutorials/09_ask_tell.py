"""Tutorial 9: drive the search from your own training loop with ask / tell.

Run it from the repository root:

    python tutorials/09_ask_tell.py            # about a minute on a laptop CPU
    python tutorials/09_ask_tell.py --quick    # under a minute (or AUTONAS_TUTORIAL_QUICK=1)

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
    # 1. The data, prepared by you.
    #
    # AutoImageClassifier scales and splits the data itself. With ask / tell you train the models,
    # so you prepare the data: here the digits scaled to [0, 1] with a channel axis, and a
    # validation split of your own to score each network on.
    # --------------------------------------------------------------------------------------------
    from autonas.datasets import load_digits

    x_train, x_test, y_train, y_test = load_digits()
    x_train = (x_train[..., None] / 255.0).astype("float32")
    x_fit, y_fit, x_val, y_val = x_train[:1000], y_train[:1000], x_train[1000:], y_train[1000:]
    print(f"training images {x_fit.shape}, validation images {x_val.shape}")

    # --------------------------------------------------------------------------------------------
    # 2. Ask, train your way, tell.
    #
    # autonas.Search holds the searcher and the project folder (locked while the search is open).
    # ask() returns a Proposal: .model is an uncompiled keras.Model, .parent the trial it was
    # morphed from (None for the initial networks), .operations the morphism. A child carries its
    # parent's trained weights: the morphisms preserve the function, so it starts where its
    # parent ended. Compile and fit it as you like (here AdamW and a few epochs), then tell the
    # search a score where higher is better; tell() reads the trained weights back from the model
    # and writes the trial to the project. Every trial is kept on disk with the searcher's state.
    # --------------------------------------------------------------------------------------------
    import keras

    import autonas

    keras.utils.set_random_seed(0)  # your training's randomness; the searcher has its own seed

    def train(proposal: autonas.Proposal, epochs: int) -> tuple[float, float]:
        """Your own training: the accuracy the network starts from, and the one it ends with."""
        model = proposal.model
        model.compile(optimizer=keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=1e-4),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        before = model.evaluate(x_val, y_val, verbose=0)[1]
        model.fit(x_fit, y_fit, epochs=epochs, batch_size=32, verbose=0)
        return before, model.evaluate(x_val, y_val, verbose=0)[1]

    rounds, epochs = (4, 4) if quick else (10, 8)
    starts = []  # (parent's told score, the child's accuracy before training)
    arguments = dict(directory=output, project_name="ask_tell", input_shape=(8, 8, 1), num_classes=10,
                     searcher="bayesian", seed=0)

    def one_round(search: autonas.Search) -> None:
        """Ask, train, tell."""
        proposal = search.ask()
        before, accuracy = train(proposal, epochs)
        search.tell(proposal, accuracy, metrics={"start_accuracy": before})
        if proposal.parent is not None:
            parent = next(r for r in search.history if r.id == proposal.parent)
            starts.append((parent.metrics["score"], before))
        origin = "initial" if proposal.parent is None else f"child of {proposal.parent}: {proposal.name}"
        print(f"trial {proposal.trial_id} ({origin}): val accuracy {before:.3f} -> {accuracy:.3f}")

    with autonas.Search(**arguments) as search:
        for _ in range(rounds - 1):
            one_round(search)

    # --------------------------------------------------------------------------------------------
    # 3. Stop, and go on later.
    #
    # Opening the same project again restores the trials and the searcher's saved state: the next
    # proposal is the one an uninterrupted search would have made.
    # --------------------------------------------------------------------------------------------
    with autonas.Search(**arguments) as search:
        print(f"resumed: {len(search.history)} trials on disk")
        one_round(search)
        best = search.best()
        model = search.best_model()

    x_test = (x_test[..., None] / 255.0).astype("float32")
    test_accuracy = float(np.mean(model.predict(x_test, verbose=0).argmax(axis=1) == y_test))
    print(f"best trial: {best.id} ({best.name}), val accuracy {best.metrics['score']:.4f}, "
          f"{best.metrics['params']:,} parameters; test accuracy {test_accuracy:.4f}")
    for parent_score, child_start in starts:
        print(f"a child starts at {child_start:.3f}, its parent ended at {parent_score:.3f}")
    assert best.metrics["score"] >= 0.8, "a few epochs on the digits should reach 80 % validation accuracy"
    assert starts and all(abs(child - parent) < 0.05 for parent, child in starts), \
        "a child should start from its parent's accuracy (function-preserving morphisms)"
    print(f"tutorial 09 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
