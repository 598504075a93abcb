"""Property-based checks: random sequences of growing and regularising edits preserve the function, and every
edit :func:`legal_operations` lists applies to networks such sequences grew."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autonas.graph import Graph, generators
from autonas.morphism import (
    GROWING,
    REGULARISING,
    SHRINKING,
    Operation,
    RemoveSkip,
    apply_operations,
    legal_operations,
    random_morph,
)

from .conftest import outputs, perturbed

pytestmark = pytest.mark.slow  # trains networks or starts processes

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


def _grown(generator: str, seed: int, steps: int = 12) -> Graph:
    """A 12×12×3, 5-class network with random weights, grown by ``steps`` random function-preserving edits.

    Layers grow to 128 channels at most: wider ones only make the edits slower to apply.
    """
    parent = perturbed(getattr(generators, generator)((12, 12, 3), 5), seed=seed)
    rng = np.random.default_rng(seed)
    grown, operations = random_morph(parent, rng, n=steps, kinds=GROWING | REGULARISING, max_width=128)
    assert len(operations) == steps
    return grown


def _changes_size_as_its_kind_says(parent: Graph, child: Graph, operation: Operation) -> bool:
    before, after = parent.num_params(), child.num_params()
    if operation.kind in GROWING:
        return after > before
    if operation.kind in SHRINKING:  # dropping an identity shortcut removes no weight
        return after < before or (isinstance(operation, RemoveSkip) and after == before)
    return after == before


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("generator", ["cnn", "resnet", "densenet"])
def test_every_listed_edit_applies_to_grown_networks(generator, seed):
    """Issue 27: no edit that legal_operations lists may fail, on grown networks with weights as on fresh ones.

    Every edit of every kind is applied and its child validated (shapes and weight shapes); building Keras
    models is the slow part, so the outputs are compared on a sample: two function-preserving edits keep
    them, a shrinking one gives finite probabilities.
    """
    grown = _grown(generator, seed)
    operations = legal_operations(grown)
    assert {op.kind for op in operations} & SHRINKING and {op.kind for op in operations} & GROWING
    children = {}
    for operation in operations:
        child = operation.apply(grown, rng=seed).validate()
        assert _changes_size_as_its_kind_says(grown, child, operation), operation
        children[operation] = child

    x = np.random.default_rng(seed).normal(size=(4, 12, 12, 3)).astype(np.float32)
    expected = outputs(grown, x)
    rng = np.random.default_rng(seed)
    preserving = [op for op in operations if op.preserves_function]
    for index in rng.choice(len(preserving), size=2, replace=False):
        operation = preserving[index]
        np.testing.assert_allclose(outputs(children[operation], x), expected, atol=1e-4, rtol=0, err_msg=str(operation))
    shrinking = [op for op in operations if op.kind in SHRINKING]
    probabilities = outputs(children[shrinking[rng.integers(len(shrinking))]], x)
    assert probabilities.shape == expected.shape and np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
