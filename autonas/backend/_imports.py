"""Starting Keras without noise, and seeding without importing TensorFlow under another backend."""

from __future__ import annotations

import os
import sys

from autonas.backend._capabilities import backend_name

__all__ = ["import_keras_quietly", "set_random_seed"]


def import_keras_quietly() -> None:
    """Import Keras (and start its backend's devices) with native stderr sent to a scratch file.

    TensorFlow's and XLA's C++ logging (``absl::InitializeLog``, oneDNN, CUDA
    probes) writes to file descriptor 2 whatever ``TF_CPP_MIN_LOG_LEVEL``
    says, so a user would see dozens of such lines between autonas's output.
    They are held back while Keras and its backend start; if that fails, what
    was written is shown with the error. A no-op once Keras is imported.
    """
    if "keras" in sys.modules:
        return
    import tempfile

    try:
        saved = os.dup(2)
    except OSError:  # no stderr descriptor: nothing to keep quiet
        import keras  # noqa: F401

        return
    with tempfile.TemporaryFile() as scratch:
        sys.stderr.flush()
        os.dup2(scratch.fileno(), 2)
        try:
            import keras

            if keras.config.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices()  # the CUDA probe logs here
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def set_random_seed(seed: int) -> None:
    """Seed Python's, NumPy's and Keras's random numbers, as ``keras.utils.set_random_seed``, without
    importing TensorFlow under another backend.

    Keras also seeds TensorFlow whenever it is installed (for ``tf.data``
    pipelines), importing it in a process that runs JAX or PyTorch: seconds
    and hundreds of megabytes in every worker, for nothing, since autonas
    feeds those backends arrays (benchmarks/results/worker_start.md). A
    TensorFlow already imported (a ``tf.data`` input read here) is seeded too.
    """
    import keras
    from keras.src.utils import module_utils

    tensorflow = getattr(module_utils, "tensorflow", None)  # Keras's lazy handle on TensorFlow
    if backend_name() == "tensorflow" or "tensorflow" in sys.modules or not hasattr(tensorflow, "_available"):
        keras.utils.set_random_seed(seed)  # also where a Keras release no longer has that handle
        return
    known = tensorflow._available
    tensorflow._available = False  # read as not installed for this call only
    try:
        keras.utils.set_random_seed(seed)
    finally:
        tensorflow._available = known
