"""Helpers for the graph tests, exposed as fixtures."""

import keras
import numpy as np
import pytest

from tests.morphism.conftest import perturbed


def _predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Inference-mode outputs of ``model`` on ``x`` as a numpy array."""
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture
def random_weights():
    """Function ``(graph, seed=0) -> graph`` setting random, non-trivial weights."""
    return perturbed


@pytest.fixture
def predict():
    """Function ``(model, x) -> np.ndarray`` running a model in inference mode."""
    return _predict


@pytest.fixture(autouse=True)
def _seed():
    """Make Keras initialisation and numpy draws reproducible in every test."""
    keras.utils.set_random_seed(0)
