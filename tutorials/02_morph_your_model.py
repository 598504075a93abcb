"""Tutorial 2: morph your own Keras model (deeper, wider, skip connections) without changing what it computes.

Run it from the repository root:

    python tutorials/02_morph_your_model.py            # about half a minute on a laptop CPU
    python tutorials/02_morph_your_model.py --quick    # fewer epochs (or AUTONAS_TUTORIAL_QUICK=1)

Nothing is searched here: you build a small CNN yourself, train it, and edit it with the same
network morphisms the search uses. Each edit keeps the trained function, which is why autonas's
children need only a few epochs. Files go to a temporary folder (or --output-dir /
AUTONAS_TUTORIAL_DIR).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402

import numpy as np  # noqa: E402




def max_difference(model_a, model_b, x) -> float:
    """Largest absolute difference between two models' outputs on ``x``."""
    return float(np.max(np.abs(model_a.predict(x, verbose=0) - model_b.predict(x, verbose=0))))

from _settings import tutorial_settings  # noqa: E402  (tutorials/_settings.py, beside this file)


def main() -> None:
    quick, output = tutorial_settings(__doc__.splitlines()[0])
    print(f"quick mode: {quick}; writing into {output}")
    start = time.monotonic()

    import keras

    from autonas.datasets import load_digits
    from autonas.graph import Graph
    from autonas.morphism import (
        GROWING,
        REGULARISING,
        AddSkip,
        Deeper,
        Wider,
        apply_operations,
        legal_operations,
        morph,
        random_morph,
    )

    # --------------------------------------------------------------------------------------------
    # 1. Data, scaled to [0, 1] with a channel axis: (N, 8, 8, 1) float32.
    # --------------------------------------------------------------------------------------------
    x_train, x_test, y_train, y_test = load_digits()
    x_train = (x_train.astype("float32") / 255.0)[..., None]
    x_test = (x_test.astype("float32") / 255.0)[..., None]

    # --------------------------------------------------------------------------------------------
    # 2. Your model: a plain Sequential CNN.
    #
    # autonas reads Sequential and functional models made of Conv2D, Dense, BatchNormalization,
    # activations, pooling, Flatten, Dropout, Add and Concatenate. Give the layers names: the
    # morphism operations refer to layers by name. A Conv2D with activation="relu" is read as two
    # nodes, the convolution ("conv_a") and its activation ("conv_a_relu").
    # --------------------------------------------------------------------------------------------
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_a"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_b"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(10, activation="softmax", name="classifier"),
        ],
        name="my_cnn",
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = 8 if quick else 20
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"my_cnn after {epochs} epochs: test accuracy {accuracy:.4f}, {model.count_params():,} parameters")

    # --------------------------------------------------------------------------------------------
    # 3. The model as an autonas Graph.
    #
    # Graph.from_keras reads the architecture and the trained weights. The graph is plain data:
    # it knows its shapes, parameters and multiply-accumulates without building anything.
    # --------------------------------------------------------------------------------------------
    graph = Graph.from_keras(model)
    print(graph.summary())
    assert graph.num_params() == model.count_params()

    # legal_operations lists every edit that applies to this graph. The growing ones preserve the
    # function: Deeper after each ReLU, Wider (doubling) for each Conv2D/Dense whose width does not
    # reach the output, AddSkip / ConcatSkip between pairs of ReLU outputs. AddDropout and Augment
    # are identities at inference. The shrinking ones (Narrower, Shallower, RemoveSkip) drop the
    # least important channels, layers or skips and change the function a little.
    operations = legal_operations(graph)
    print(f"{len(operations)} legal operations:")
    for operation in operations:
        print("   ", operation)

    # --------------------------------------------------------------------------------------------
    # 4. One morphism at a time, straight on the Keras model.
    #
    # morph(model, operation) returns a new Keras model; the original is untouched. The outputs
    # agree up to float32 round-off.
    #   Wider("conv_a", 32):  Net2WiderNet - conv_a gets 32 filters by copying some of its 16,
    #                         and conv_b divides the copied inputs by the number of copies.
    #   Deeper("conv_a"):     a new conv-BN-ReLU block after conv_a's ReLU, initialised to the
    #                         identity (possible because its input is non-negative).
    #   AddSkip(src, dst):    dst's output plus a zero-initialised projection of src's output.
    # --------------------------------------------------------------------------------------------
    for operation in (Wider("conv_a", 32), Deeper("conv_a"), AddSkip("conv_a_relu", "conv_b_relu")):
        child = morph(model, operation)
        difference = max_difference(model, child, x_test)
        print(
            f"{str(operation):<36} {model.count_params():>6,} -> {child.count_params():>6,} parameters, "
            f"max |difference| of the outputs {difference:.2e}"
        )
        assert difference <= 1e-4, f"{operation} should preserve the function"

    # --------------------------------------------------------------------------------------------
    # 5. Several operations in a row, on the graph.
    #
    # Operations are small records: they print readably, serialise to JSON (op.to_config()), and
    # apply_operations replays a recorded sequence on its parent. random_morph draws legal
    # operations at random, the way the random-search baseline does.
    # --------------------------------------------------------------------------------------------
    sequence = [Wider("conv_b", 64), Deeper("conv_b"), Deeper("conv_a")]
    child_graph = apply_operations(graph, sequence)
    child = child_graph.to_keras()
    difference = max_difference(model, child, x_test)
    print(f"{' + '.join(map(str, sequence))}: max |difference| {difference:.2e}")
    assert difference <= 1e-4, "a sequence of growing edits should preserve the function"

    random_graph, random_ops = random_morph(graph, rng=0, n=3, kinds=GROWING | REGULARISING)
    random_child = random_graph.to_keras()
    print(f"random_morph: {[str(op) for op in random_ops]}")
    difference = max_difference(model, random_child, x_test)
    print(f"random child: {random_graph.num_params():,} parameters, max |difference| {difference:.2e}")
    assert difference <= 1e-4, "growing and regularising edits should preserve the function at inference"

    # --------------------------------------------------------------------------------------------
    # 6. Train the child further.
    #
    # The child starts from the parent's function, so its accuracy starts where the parent's
    # ended. At a constant learning rate, as here, fine-tune with a smaller rate than for training
    # from scratch: a fresh Adam at the full rate moves every weight at once and undoes part of
    # what was learned (docs/morphism.md). autonas's search trains children otherwise: each
    # restarts a cosine schedule at the full rate and anneals it to zero over its epochs, a warm
    # restart as in SGDR and NASH (docs/execution.md, "The training recipe").
    # --------------------------------------------------------------------------------------------
    child.compile(optimizer=keras.optimizers.Adam(3e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, before = child.evaluate(x_test, y_test, verbose=0)
    child.fit(x_train, y_train, epochs=3 if quick else 5, batch_size=32, verbose=0)
    _, after = child.evaluate(x_test, y_test, verbose=0)
    print(f"child test accuracy: {before:.4f} when created (the parent's), {after:.4f} after fine-tuning")

    # The child is an ordinary Keras model; the graph saves as graph.json + weights.npz.
    child.save(output / "child.keras")
    Graph.from_keras(child).save(output / "child_graph")
    print(f"saved {output / 'child.keras'} and {output / 'child_graph'}")
    print(f"tutorial 02 done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
