"""What a trial's training asks of the backend: its input pipeline and its dtype policy."""

from __future__ import annotations

import os

from autonas.backend._capabilities import capabilities

__all__ = ["fast_dtype_policy", "shuffled_batches"]

#: CPU flags (``/proc/cpuinfo``) of matrix units that multiply bfloat16 fast: Intel's AMX.
_BFLOAT16_MATRIX_FLAGS = frozenset({"amx_bf16"})


def shuffled_batches(x, y, batch_size: int, seed: int | None, backend: str | None = None):
    """Training batches of arrays in a new random order each epoch, made by the backend's own input
    pipeline where handing Keras the arrays costs time; None where the arrays are best handed over.

    Only where :attr:`~autonas.backend.Capabilities.own_input_pipeline`
    (TensorFlow): a ``tf.data`` pipeline of shuffled row indices, a batch of
    rows gathered per step, with tf.data's autotuning off. Keras's own
    pipeline for arrays autotunes, and each epoch after one that ended with
    a validation pass waited before its first step
    (benchmarks/results/trial_anatomy.md). Other backends take the arrays (None).
    """
    if not capabilities(backend).own_input_pipeline:
        return None
    import numpy as np
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    images, labels = tf.constant(np.asarray(x)), tf.constant(np.asarray(y))
    rows = int(images.shape[0])
    order = tf.data.Dataset.range(rows).shuffle(rows, seed=seed, reshuffle_each_iteration=True)
    batches = order.batch(batch_size).map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))
    return batches.prefetch(1).with_options(options)


def _cpu_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> frozenset[str]:
    """The flags of this machine's first CPU in ``cpuinfo`` (empty where there is none: not Linux)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def fast_dtype_policy(backend: str | None = None) -> str:
    """The Keras dtype policy in which ``backend`` trains fastest here: ``"mixed_bfloat16"`` or ``"float32"``.

    Mixed bfloat16 (bfloat16 arithmetic, float32 weights) only where
    :attr:`~autonas.backend.Capabilities.bfloat16_on_amx` (TensorFlow: oneDNN
    runs its convolutions on the matrix units), on a CPU with AMX and no GPU
    visible: there trials ran faster at the same accuracy
    (benchmarks/results/bfloat16_trials.md). Elsewhere float32.
    """
    if not capabilities(backend).bfloat16_on_amx or not _BFLOAT16_MATRIX_FLAGS & _cpu_flags():
        return "float32"
    import tensorflow as tf

    return "float32" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"
