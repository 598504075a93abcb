"""GPU memory peaks, out-of-memory errors, and clearing a finished trial's state, per backend.

Peaks: TensorFlow's ``tf.config.experimental.get_memory_info("GPU:0")["peak"]``,
JAX's ``jax.devices()[0].memory_stats()["peak_bytes_in_use"]``, PyTorch's
``torch.cuda.max_memory_reserved()``.
"""

from __future__ import annotations

import gc
import sys

from autonas.backend._capabilities import backend_name

__all__ = ["clear_session", "is_out_of_memory", "peak_gpu_bytes"]

#: Words of out-of-memory messages, for errors whose type says nothing (lower case).
_OOM_WORDS = ("out of memory", "resource_exhausted", "resource exhausted", "oom when allocating")


def peak_gpu_bytes() -> int | None:
    """Most GPU memory this process's framework has held on the first GPU (None: no GPU or unknown).

    TensorFlow and JAX report the allocator's peak bytes in use; PyTorch the
    peak its caching allocator reserved (what other processes could not use).
    """
    backend = backend_name()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            if not tf.config.list_logical_devices("GPU"):
                return None
            return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "gpu":
                return None
            peak = (device.memory_stats() or {}).get("peak_bytes_in_use")
            return None if peak is None else int(peak)
        if backend == "torch":
            import torch

            if not torch.cuda.is_available():
                return None
            return int(torch.cuda.max_memory_reserved(0))
    except (ValueError, RuntimeError, KeyError):
        return None
    return None


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` means the device (or host) ran out of memory.

    By type where the framework is loaded (TensorFlow's
    ``ResourceExhaustedError``, PyTorch's ``torch.cuda.OutOfMemoryError``,
    ``MemoryError``), and for JAX's ``JaxRuntimeError`` (XLA's status in the
    message) and anything else by the words of the message
    (``RESOURCE_EXHAUSTED``, ``out of memory``, ``OOM when allocating``).
    Never imports a framework.
    """
    if isinstance(error, MemoryError):
        return True
    types: list[type] = []
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None:
        exhausted = getattr(getattr(tensorflow, "errors", None), "ResourceExhaustedError", None)
        types += [exhausted] if isinstance(exhausted, type) else []
    torch = sys.modules.get("torch")
    if torch is not None:
        out_of_memory = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
        types += [out_of_memory] if isinstance(out_of_memory, type) else []
    if types and isinstance(error, tuple(types)):
        return True
    text = str(error).lower()
    return any(words in text for words in _OOM_WORDS)


def clear_session() -> None:
    """Drop the finished trial's state so a reused worker does not grow.

    Keras's global state (``keras.backend.clear_session()``), Python garbage,
    then per backend: JAX's compilation caches (``jax.clear_caches()``);
    PyTorch's cached GPU blocks (``torch.cuda.empty_cache()``) and peak
    counter; TensorFlow's GPU peak counter.
    """
    import keras

    keras.backend.clear_session()
    gc.collect()
    backend = backend_name()
    if backend == "jax":
        import jax

        jax.clear_caches()
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    elif backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            try:
                tf.config.experimental.reset_memory_stats("GPU:0")
            except (ValueError, RuntimeError):
                pass
