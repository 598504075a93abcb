"""Every generator's network learns the digits data set in a short run."""

import keras
import numpy as np
import pytest

from autonas.graph import generators

pytestmark = pytest.mark.slow  # trains networks or starts processes

#: Epochs per generator: the conv nets pass 98% after about 4 epochs; the MLP
#: learns more slowly (about 96.5% after 15 epochs), so it gets more of its cheap epochs.
EPOCHS = {"cnn": 8, "resnet": 8, "densenet": 8, "mlp": 30}


@pytest.mark.parametrize("name", list(EPOCHS))
def test_generator_reaches_95_percent_on_digits(name, digits, predict):
    """Trained with Adam 1e-3, batch 32, the net scores >= 95% on the held-out split."""
    x_train, x_test, y_train, y_test = digits
    keras.utils.set_random_seed(0)
    graph = getattr(generators, name)((8, 8, 1), 10)
    model = graph.to_keras()
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=EPOCHS[name], batch_size=32, verbose=0)

    accuracy = float(np.mean(predict(model, x_test).argmax(axis=1) == y_test))
    assert accuracy >= 0.95, f"{name}: test accuracy {accuracy:.3f}"

    # The trained weights survive the trip back into the graph.
    rebuilt = graph.update_weights(model).to_keras()
    assert float(np.mean(predict(rebuilt, x_test).argmax(axis=1) == y_test)) == accuracy
