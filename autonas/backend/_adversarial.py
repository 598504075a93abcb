"""Gradients with respect to a network's input: what attacks and adversarial training need of each backend.

Keras 3 has no backend-neutral gradient, so each backend's own is taken here: a
``tf.GradientTape``, ``jax.grad`` over the model's stateless call, or ``torch.autograd``.
The cross-entropy is taken from the logits where the network ends in a softmax
activation (a probability's logarithm saturates, and with it the gradient).
"""

from __future__ import annotations

import types
from collections.abc import Callable

import numpy as np

from autonas.backend._capabilities import backend_name

__all__ = ["adversarial_training", "input_gradient"]


def _logits_model(model):
    """``model`` up to its softmax: the logits, where the cross-entropy's gradient does not saturate."""
    import keras

    last = model.layers[-1]
    if getattr(last, "activation", None) is keras.activations.softmax and type(last).__name__ == "Activation":
        return keras.Model(model.inputs, last.input)
    return None


def input_gradient(model, backend: str | None = None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``(x, labels) -> d/dx`` of the summed sparse cross-entropy of ``model`` at ``x``, as numpy.

    Taken from the logits when the model ends in a softmax activation (no saturation), else from
    the probabilities. Inference mode (batch-norm statistics, no dropout).
    """
    import keras

    name = backend_name() if backend is None else backend
    logits = _logits_model(model)
    network, from_logits = (logits, True) if logits is not None else (model, False)

    def loss(outputs, labels):
        outputs = keras.ops.cast(outputs, "float32")
        return keras.ops.sum(keras.losses.sparse_categorical_crossentropy(labels, outputs, from_logits=from_logits))

    if name == "tensorflow":
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def gradient(x, labels):
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = loss(network(x, training=False), labels)
            return tape.gradient(value, x)

        return lambda x, labels: gradient(tf.constant(x, tf.float32), tf.constant(labels, tf.int32)).numpy()
    if name == "jax":
        import jax

        def value(x, labels, trainable, non_trainable):
            outputs, _ = network.stateless_call(trainable, non_trainable, x, training=False)
            return loss(outputs, labels)

        gradient = jax.jit(jax.grad(value))

        def call(x, labels):
            trainable = [v.value for v in network.trainable_variables]
            non_trainable = [v.value for v in network.non_trainable_variables]
            return np.asarray(gradient(np.asarray(x, np.float32), np.asarray(labels, np.int32), trainable, non_trainable))

        return call
    if name == "torch":
        import torch

        def call(x, labels):
            inputs = keras.ops.convert_to_tensor(np.asarray(x, np.float32)).requires_grad_(True)
            targets = keras.ops.convert_to_tensor(np.asarray(labels, np.int32))
            (grad,) = torch.autograd.grad(loss(network(inputs, training=False), targets), inputs)
            return grad.detach().cpu().numpy()

        return call
    raise ValueError(f"no input gradient for the Keras backend {name!r}")


def _same_variables(a, b) -> bool:
    return [id(v) for v in a.variables] == [id(v) for v in b.variables]


def adversarial_training(
    model, epsilon: np.ndarray, lower: np.ndarray, upper: np.ndarray, seed: int = 0, backend: str | None = None
) -> None:
    """Make ``model.fit`` (after ``compile``) train on FGSM examples with a random start (Wong, Rice & Kolter, 2020).

    Each batch ``x`` is replaced by ``clip(x + δ, lower, upper)``: δ drawn uniformly in ``[−ε, ε]``,
    one signed gradient step of ``1.25 ε`` on the cross-entropy (from the logits, in inference mode),
    projected back into ``[−ε, ε]``. ``epsilon``, ``lower`` and ``upper`` are per-channel arrays in
    the network's input units (broadcast over the last axis). Validation stays on clean images.
    """
    import keras

    name = backend_name() if backend is None else backend
    logits = _logits_model(model)
    network, from_logits = (logits, True) if logits is not None and _same_variables(logits, model) else (model, False)
    epsilon = np.asarray(epsilon, np.float32)
    lower, upper = np.asarray(lower, np.float32), np.asarray(upper, np.float32)

    def loss(outputs, labels):
        outputs = keras.ops.cast(outputs, "float32")
        return keras.ops.sum(keras.losses.sparse_categorical_crossentropy(labels, outputs, from_logits=from_logits))

    def perturbed(x, delta, gradient):
        # numpy constants as the backend's tensors: PyTorch multiplies no ndarray by a tensor
        eps, low, high = (keras.ops.convert_to_tensor(value) for value in (epsilon, lower, upper))
        delta = keras.ops.clip(delta + 1.25 * eps * keras.ops.sign(gradient), -eps, eps)
        return keras.ops.stop_gradient(keras.ops.clip(x + delta, low, high))

    original = type(model).train_step
    if name == "jax":
        step = _jax_step(network, loss, perturbed, epsilon, seed, original)
    else:
        gradient_at, generator = _eager_gradient(name, network, loss), keras.random.SeedGenerator(seed)

        def step(self, data):
            x, y, *rest = data if isinstance(data, tuple) else (data,)
            x = keras.ops.cast(x, "float32")
            delta = keras.random.uniform(keras.ops.shape(x), -1.0, 1.0, seed=generator)
            delta = delta * keras.ops.convert_to_tensor(epsilon)
            return original(self, (perturbed(x, delta, gradient_at(x, y, delta)), y, *rest))

    model.train_step = types.MethodType(step, model)
    model.train_function = None  # made again, with this step, when fit starts


def _eager_gradient(name: str, network, loss):
    """``(x, y, delta) -> d loss / d delta`` at ``x + delta``, inside TensorFlow's or PyTorch's training step."""
    if name == "tensorflow":
        import tensorflow as tf

        def gradient_at(x, y, delta):
            with tf.GradientTape() as tape:
                tape.watch(delta)
                value = loss(network(x + delta, training=False), y)
            return tape.gradient(value, delta)

        return gradient_at
    if name == "torch":
        import torch

        def gradient_at(x, y, delta):
            delta = delta.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(loss(network(x + delta, training=False), y), delta)
            return grad.detach()

        return gradient_at
    raise ValueError(f"no adversarial training for the Keras backend {name!r}")


def _jax_step(network, loss, perturbed, epsilon: np.ndarray, seed: int, original):
    """JAX's stateless training step on perturbed batches: the random start comes from ``seed`` folded with
    the optimiser's step count (a stateful generator cannot advance inside the compiled step)."""
    import jax

    key = jax.random.PRNGKey(seed)

    def step(self, state, data):
        x, y, *rest = data if isinstance(data, tuple) else (data,)
        trainable, non_trainable = state[0], state[1]
        iterations = next(i for i, v in enumerate(self.optimizer.variables) if v is self.optimizer.iterations)
        delta = jax.random.uniform(jax.random.fold_in(key, state[2][iterations]), x.shape, minval=-1.0, maxval=1.0)
        delta = delta * epsilon

        def value(d):
            outputs, _ = network.stateless_call(trainable, non_trainable, x + d, training=False)
            return loss(outputs, y)

        return original(self, state, (perturbed(x, delta, jax.grad(value)(delta)), y, *rest))

    return step
