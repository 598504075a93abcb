"""The one place that knows which Keras backend runs: TensorFlow, JAX or PyTorch.

Everything else in autonas trains through ``keras.*``; what differs per
backend lives here, one module per concern, all imported from
``autonas.backend``:

* ``_capabilities``: which backend runs (:func:`backend_name`) and what each
  can do, one row per backend (:class:`Capabilities`, :func:`capabilities`),
  with the one check of what a backend can convert a model to
  (:func:`check_backend_writes`);
* ``_workers``: what a worker process may use and how each backend is told
  (:class:`WorkerLimits`, :func:`worker_environment`,
  :func:`configure_worker`, :func:`recap_gpu_memory`), the threads read back
  and JAX's compilation cache;
* ``_memory``: GPU memory peaks, out-of-memory errors, clearing state;
* ``_imports``: importing Keras quietly, seeding without TensorFlow;
* ``_training``: a trial's input pipeline and dtype policy;
* ``_adversarial``: gradients with respect to the input (attacks, adversarial training).

Nothing here imports a framework at module level: each is imported only
inside the functions of its backend, so autonas works with TensorFlow alone.
"""

from __future__ import annotations

from autonas.backend._adversarial import adversarial_training, input_gradient
from autonas.backend._capabilities import (
    BACKENDS,
    CAPABILITIES,
    Capabilities,
    backend_name,
    capabilities,
    check_backend_writes,
)
from autonas.backend._imports import import_keras_quietly, set_random_seed
from autonas.backend._memory import clear_session, is_out_of_memory, peak_gpu_bytes
from autonas.backend._training import fast_dtype_policy, shuffled_batches
from autonas.backend._workers import (
    COMPILATION_CACHE_BYTES,
    WorkerLimits,
    compilation_cache,
    configure_worker,
    intra_op_threads,
    recap_gpu_memory,
    worker_environment,
)

__all__ = [
    "BACKENDS",
    "CAPABILITIES",
    "COMPILATION_CACHE_BYTES",
    "Capabilities",
    "WorkerLimits",
    "adversarial_training",
    "backend_name",
    "capabilities",
    "check_backend_writes",
    "clear_session",
    "compilation_cache",
    "configure_worker",
    "fast_dtype_policy",
    "import_keras_quietly",
    "input_gradient",
    "intra_op_threads",
    "is_out_of_memory",
    "peak_gpu_bytes",
    "recap_gpu_memory",
    "set_random_seed",
    "shuffled_batches",
    "worker_environment",
]

