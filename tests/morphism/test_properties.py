"""Property-based checks: random sequences of growing and regularising edits preserve the function."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autonas.graph import Graph, generators
from autonas.morphism import GROWING, REGULARISING, Operation, apply_operations, random_morph

from .conftest import outputs, perturbed

GENERATORS = ["cnn", "resnet", "densenet", "mlp"]


@pytest.mark.parametrize("generator", GENERATORS)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 20))
def test_random_sequences_preserve_function(generator, seed, steps, images):
    parent = perturbed(getattr(generators, generator)((8, 8, 1), 10), seed=seed % 1000)
    child, operations = random_morph(parent, np.random.default_rng(seed), n=steps, kinds=GROWING | REGULARISING)
    assert len(operations) == steps

    np.testing.assert_allclose(outputs(child, images), outputs(parent, images), atol=1e-4, rtol=0)

    # Operations serialise to JSON and replay on the parent to the same architecture.
    replayed_ops = [Operation.from_json(json.dumps(op.to_config())) for op in operations]
    assert replayed_ops == operations
    assert apply_operations(parent, replayed_ops).fingerprint() == child.fingerprint()

    # The child round-trips JSON and trains a step.
    assert Graph.from_json(child.to_json()).fingerprint() == child.fingerprint()
    model = child.to_keras()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    loss = model.train_on_batch(images, np.arange(len(images)) % 10)
    assert np.isfinite(loss)
