"""Which Keras backend runs, and what each backend can do: one row per backend in a table."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

__all__ = ["BACKENDS", "CAPABILITIES", "Capabilities", "backend_name", "capabilities", "check_backend_writes"]

#: The Keras backends autonas runs on.
BACKENDS = ("tensorflow", "jax", "torch")


@dataclass(frozen=True)
class Capabilities:
    """What one Keras backend can do, as far as autonas asks.

    Attributes:
        name: The backend, one of :data:`BACKENDS`.
        export_formats: The file formats :mod:`autonas.deploy` writes from a
            model of this backend. The converters (tf2onnx, TensorFlow's Lite
            converter) read the model's TensorFlow graph; elsewhere a ``.keras``
            file converts in a process run with ``KERAS_BACKEND=tensorflow``
            (``autonas export``).
        max_steps_per_execution: Most training steps Keras may run between two
            returns to Python (``steps_per_execution``): fewer callback calls cut
            the host's time per step and let a GPU run ahead
            (benchmarks/results/steps_per_execution.md); Keras refuses more than
            1 under PyTorch.
        compiles_each_batch_shape: Whether the training step is compiled again
            for every new batch shape (``jax.jit``), so an epoch ending on a short
            batch compiles it twice (benchmarks/results/batch_shapes.md).
            TensorFlow's traced functions relax the batch dimension; PyTorch
            runs eagerly.
        native_affine_transform: Whether Keras's ``affine_transform``
            (``RandomTranslation``, ``RandomZoom``) runs as a native kernel
            (TensorFlow's ``ImageProjectiveTransformV3``); elsewhere autonas's
            separable layers (:mod:`autonas.graph.augmentation`) are faster
            (benchmarks/results/separable_augmentation.md).
        own_input_pipeline: Whether trials train from autonas's own shuffled
            batches (:func:`~autonas.backend.shuffled_batches`) instead of
            handing Keras the arrays, whose pipeline waited at the start of each
            epoch (benchmarks/results/trial_anatomy.md).
        bfloat16_on_amx: Whether trials on a CPU with AMX matrix units train
            faster in mixed bfloat16 (:func:`~autonas.backend.fast_dtype_policy`;
            benchmarks/results/bfloat16_trials.md).
        gpu_workers_reusable: Whether a GPU worker may train several trials:
            the allocator gives memory back, the cap can be set again
            (:func:`~autonas.backend.recap_gpu_memory`) and the peak counter
            reset. Elsewhere the allocator keeps what it took and the cap is
            fixed at start, so each GPU trial gets a fresh process (a trial's
            reservation must return to the ledger when it ends).
        compilation_cache: Whether workers can keep compiled programs in a
            persistent cache (:func:`~autonas.backend.compilation_cache`;
            benchmarks/results/jax_cpu.md).
    """

    name: str
    export_formats: tuple[str, ...]
    max_steps_per_execution: int
    compiles_each_batch_shape: bool
    native_affine_transform: bool
    own_input_pipeline: bool
    bfloat16_on_amx: bool
    gpu_workers_reusable: bool
    compilation_cache: bool


#: What each backend can do, one row per backend in :data:`BACKENDS` (read with :func:`capabilities`).
CAPABILITIES: Mapping[str, Capabilities] = MappingProxyType({
    "tensorflow": Capabilities(
        name="tensorflow", export_formats=("keras", "saved_model", "onnx", "litert"), max_steps_per_execution=8,
        compiles_each_batch_shape=False, native_affine_transform=True, own_input_pipeline=True,
        bfloat16_on_amx=True, gpu_workers_reusable=False, compilation_cache=False,
    ),
    "jax": Capabilities(
        name="jax", export_formats=("keras",), max_steps_per_execution=8,
        compiles_each_batch_shape=True, native_affine_transform=False, own_input_pipeline=False,
        bfloat16_on_amx=False, gpu_workers_reusable=False, compilation_cache=True,
    ),
    "torch": Capabilities(
        name="torch", export_formats=("keras",), max_steps_per_execution=1,
        compiles_each_batch_shape=False, native_affine_transform=False, own_input_pipeline=False,
        bfloat16_on_amx=False, gpu_workers_reusable=True, compilation_cache=False,
    ),
})


def backend_name() -> str:
    """The Keras backend of this process: ``"tensorflow"``, ``"jax"`` or ``"torch"``.

    Once Keras is imported, ``keras.config.backend()``; before, what Keras
    would choose on import: ``KERAS_BACKEND``, else the ``backend`` of
    ``keras.json`` (in ``$KERAS_HOME``, else ``~/.keras`` or ``/tmp/.keras``),
    else TensorFlow. Reading it does not import Keras.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"].config.backend()
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    if "KERAS_HOME" in os.environ:
        folder = Path(os.environ["KERAS_HOME"])
    else:
        home = Path(os.path.expanduser("~"))
        folder = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    try:
        return str(json.loads((folder / "keras.json").read_text()).get("backend") or "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def _check(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; autonas knows {BACKENDS}")
    return backend


def capabilities(backend: str | None = None) -> Capabilities:
    """What ``backend`` can do: its row of :data:`CAPABILITIES`.

    Args:
        backend: One of :data:`BACKENDS`; default this process's (:func:`backend_name`).

    Raises:
        ValueError: An unknown backend.
    """
    return CAPABILITIES[_check(backend or backend_name())]


def check_backend_writes(format: str, request: str, remedy: str, backend: str | None = None) -> str:
    """Refuse a request that needs a model written as ``format`` where ``backend`` cannot write it.

    The one check behind :func:`autonas.deploy.check_export` and
    :func:`autonas.objectives.latency.check_latency_runtime`: only a backend
    whose :attr:`Capabilities.export_formats` lists ``format`` can convert a
    model to it.

    Args:
        format: A deployment format (``"onnx"``, ``"litert"``, ...).
        request: What asked, as the user wrote it (``"format='onnx'"``); starts the message.
        remedy: What the user can do instead; ends the message.
        backend: One of :data:`BACKENDS`; default this process's.

    Returns:
        The backend's name.

    Raises:
        ValueError: naming the request, the backend, the formats it writes and the remedy.
    """
    backend = backend or backend_name()
    writes = capabilities(backend).export_formats
    if format not in writes:
        raise ValueError(
            f"{request}: the Keras backend {backend!r} cannot write {format!r} (it writes {list(writes)}); {remedy}"
        )
    return backend
