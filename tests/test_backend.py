"""autonas.backend: what each Keras backend's worker is told, checked without a GPU and in this process's backend.

Real worker processes of every backend: tests/test_backend_processes.py.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from autonas import backend
from autonas.backend import WorkerLimits, worker_environment
from autonas.execution import TrainingSettings
from autonas.execution.memory import MIB
from autonas.graph import generators

pytestmark = [pytest.mark.slow, pytest.mark.backend]  # trains networks; runs again under JAX and PyTorch in CI

GIB = 1 << 30


# ------------------------------------------------------------------ which backend
def test_the_backend_is_keras_once_keras_is_imported():
    assert backend.backend_name() == keras.config.backend()


def test_before_keras_is_imported_the_backend_is_read_as_keras_would(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "keras")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert backend.backend_name() == "tensorflow"  # no keras.json: Keras's default
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert backend.backend_name() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # the variable wins over the file
    assert backend.backend_name() == "torch"


# ------------------------------------------------------------------ environment (pure)
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_a_cpu_worker_hides_the_gpu_and_sizes_its_thread_pools(name):
    env = worker_environment(name, WorkerLimits(threads=3, inter_op_threads=2))
    assert env["KERAS_BACKEND"] == name
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"
    assert ("PJRT_NPROC" in env) == (name == "jax")  # XLA's CPU pool: the only knob JAX obeys
    if name == "jax":
        assert env["PJRT_NPROC"] == "3"
        assert env["JAX_PLATFORMS"] == "cpu"
    assert not any(key.startswith("XLA_PYTHON_CLIENT") for key in env)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_default_threads_leave_the_pools_alone(name):
    env = worker_environment(name, WorkerLimits())
    assert not {"OMP_NUM_THREADS", "PJRT_NPROC"} & set(env)


def test_a_capped_jax_gpu_worker_gets_its_share_as_a_fraction_and_no_preallocation():
    limits = WorkerLimits(use_gpu=True, gpu_memory_bytes=2 * GIB, gpu_total_bytes=8 * GIB)
    env = worker_environment("jax", limits)
    assert "CUDA_VISIBLE_DEVICES" not in env and "JAX_PLATFORMS" not in env
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert env["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.250"
    # rounded down: the fraction never allows more than the reservation
    odd = WorkerLimits(use_gpu=True, gpu_memory_bytes=1000 * MIB, gpu_total_bytes=3 * 1000 * MIB)
    assert float(worker_environment("jax", odd)["XLA_PYTHON_CLIENT_MEM_FRACTION"]) * 3000 * MIB <= 1000 * MIB


def test_a_jax_gpu_worker_without_a_known_total_is_not_capped_but_does_not_preallocate():
    env = worker_environment("jax", WorkerLimits(use_gpu=True, gpu_memory_bytes=2 * GIB))
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert "XLA_PYTHON_CLIENT_MEM_FRACTION" not in env


@pytest.mark.parametrize("name", ["tensorflow", "torch"])
def test_tensorflow_and_torch_gpu_caps_are_calls_not_environment(name):
    env = worker_environment(name, WorkerLimits(use_gpu=True, gpu_memory_bytes=2 * GIB, gpu_total_bytes=8 * GIB))
    assert env == {"KERAS_BACKEND": name}


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="numpy"):
        worker_environment("numpy", WorkerLimits())
    with pytest.raises(ValueError, match="mxnet"):
        backend.capabilities("mxnet")


# ------------------------------------------------------------------ what each backend can do
def test_the_capability_table_has_one_row_per_backend_and_the_running_one_is_read_by_default():
    assert tuple(backend.CAPABILITIES) == backend.BACKENDS
    assert all(backend.capabilities(name).name == name for name in backend.BACKENDS)
    assert backend.capabilities() is backend.capabilities(keras.config.backend())
    with pytest.raises(AttributeError):  # a frozen row: what a backend can do is not changed at run time
        backend.capabilities("torch").max_steps_per_execution = 8


def test_what_each_backend_can_do():
    def column(field: str) -> list:
        return [getattr(backend.capabilities(name), field) for name in backend.BACKENDS]  # tensorflow, jax, torch

    assert column("gpu_workers_reusable") == [False, False, True]  # only PyTorch's allocator gives memory back
    assert column("max_steps_per_execution") == [8, 8, 1]  # Keras refuses more than one under PyTorch
    assert column("compiles_each_batch_shape") == [False, True, False]  # jax.jit: a program per input shape
    assert column("native_affine_transform") == [True, False, False]  # ImageProjectiveTransformV3
    assert column("own_input_pipeline") == [True, False, False]  # tf.data
    assert column("bfloat16_on_amx") == [True, False, False]  # oneDNN on the AMX units
    assert column("compilation_cache") == [False, True, False]  # JAX's persistent cache
    assert column("export_formats") == [("keras", "saved_model", "onnx", "litert"), ("keras",), ("keras",)]


def test_a_format_the_backend_cannot_write_is_refused_naming_the_request_and_the_remedy():
    assert backend.check_backend_writes("onnx", "format='onnx'", "use TensorFlow", backend="tensorflow") == "tensorflow"
    assert backend.check_backend_writes("keras", "format='keras'", "-", backend="torch") == "torch"
    for name in ("jax", "torch"):
        with pytest.raises(ValueError, match=rf"^latency_runtime='litert': the Keras backend '{name}' cannot write "
                                             r"'litert' \(it writes \['keras'\]\); use TensorFlow$"):
            backend.check_backend_writes("litert", "latency_runtime='litert'", "use TensorFlow", backend=name)


# ------------------------------------------------------------------ calls on a simulated GPU
def test_tensorflow_caps_its_logical_gpu_to_the_reservation(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    calls = []
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    monkeypatch.setattr(tf.config, "set_logical_device_configuration", lambda device, configs: calls.append((device, configs)))
    backend.configure_worker(WorkerLimits(use_gpu=True, gpu_memory_bytes=1536 * MIB), backend="tensorflow")
    [(device, [config])] = calls
    assert device == "GPU:0" and config.memory_limit == 1536
    calls.clear()
    backend.configure_worker(WorkerLimits(use_gpu=False, gpu_memory_bytes=1536 * MIB), backend="tensorflow")
    assert calls == []


def test_torch_caps_its_process_to_the_reservation_as_a_fraction(monkeypatch):
    torch = pytest.importorskip("torch")
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: SimpleNamespace(total_memory=8 * GIB))
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", lambda fraction, device: calls.append((fraction, device)))
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(("threads", n)))
    monkeypatch.setattr(torch, "set_num_interop_threads", lambda n: calls.append(("interop", n)))
    backend.configure_worker(WorkerLimits(threads=2, inter_op_threads=1, use_gpu=True, gpu_memory_bytes=2 * GIB), backend="torch")
    assert calls == [("threads", 2), ("interop", 1), (0.25, 0)]


def test_only_torch_sets_a_reused_workers_gpu_cap_again(monkeypatch):
    assert not backend.recap_gpu_memory(GIB, 8 * GIB, backend="tensorflow")  # fixed when the runtime starts
    assert not backend.recap_gpu_memory(GIB, 8 * GIB, backend="jax")
    torch = pytest.importorskip("torch")
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", lambda fraction, device: calls.append((fraction, device)))
    assert backend.recap_gpu_memory(2 * GIB, 8 * GIB, backend="torch") and backend.recap_gpu_memory(3 * GIB, 8 * GIB, backend="torch")
    assert calls == [(0.25, 0), (0.375, 0)]


def test_no_peak_is_read_without_a_gpu():
    assert backend.peak_gpu_bytes() is None


# ------------------------------------------------------------------ out of memory
def test_out_of_memory_is_recognised_by_type_or_status_and_nothing_else_is():
    assert backend.is_out_of_memory(MemoryError())
    assert not backend.is_out_of_memory(ValueError("ZOOM layer has 3 inputs"))  # "OOM" alone is not enough
    assert not backend.is_out_of_memory(RuntimeError("shapes (3, 4) and (5,) do not match"))


def test_tensorflow_resource_exhausted_is_out_of_memory():
    tf = pytest.importorskip("tensorflow")
    assert backend.is_out_of_memory(tf.errors.ResourceExhaustedError(None, None, "no message that says it"))
    assert not backend.is_out_of_memory(tf.errors.InvalidArgumentError(None, None, "Incompatible shapes"))


def test_jax_resource_exhausted_is_out_of_memory():
    jax = pytest.importorskip("jax")
    assert backend.is_out_of_memory(jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Failed to allocate 4.00GiB"))
    assert not backend.is_out_of_memory(jax.errors.JaxRuntimeError("INVALID_ARGUMENT: Incompatible shapes"))


def test_torch_cuda_out_of_memory_is_out_of_memory():
    torch = pytest.importorskip("torch")
    assert backend.is_out_of_memory(torch.cuda.OutOfMemoryError("no message that says it"))
    assert not backend.is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


def test_compilation_cache_is_set_for_jax_workers_only_and_restored(tmp_path, monkeypatch):
    """Under JAX the cache variables point at the folder inside the block and are gone after; a user's own
    cache and other backends are left alone."""
    import os

    from autonas.backend import compilation_cache

    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", raising=False)
    with compilation_cache(tmp_path / "cache", backend="jax") as active:
        assert active
        assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "cache")
        assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert "JAX_COMPILATION_CACHE_DIR" not in os.environ
    assert "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ
    for other in ("tensorflow", "torch"):
        with compilation_cache(tmp_path / "cache", backend=other) as active:
            assert not active and "JAX_COMPILATION_CACHE_DIR" not in os.environ
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/user/cache")
    with compilation_cache(tmp_path / "cache", backend="jax") as active:
        assert not active and os.environ["JAX_COMPILATION_CACHE_DIR"] == "/user/cache"


def test_a_learning_rate_set_during_fit_reaches_the_training_step():
    """The annealing callback's rate is what the steps use, under every backend (under JAX Keras keeps the
    training state apart from the variables between steps): a deadline already past anneals the rate to zero
    after the first step, so three epochs leave the weights where that one step put them."""
    import time

    import keras

    from autonas.execution.schedule import cosine_annealing as _annealing

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, size=64)

    def trained(epochs: int, steps: int | None, callbacks: list) -> list:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
        data = (x[:16], y[:16]) if steps == 1 else (x, y)
        model.fit(*data, batch_size=16, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
        return model.get_weights()

    one_step = trained(1, 1, [])
    annealed = trained(3, None, [_annealing(0.1, total_steps=12, deadline=time.monotonic() - 1.0)])
    unannealed = trained(3, None, [])
    for after_one, after_three in zip(one_step, annealed):
        np.testing.assert_allclose(after_three, after_one, atol=1e-6)
    assert not np.allclose(unannealed[0], one_step[0], atol=1e-3)


# ------------------------------------------------------------------ input pipeline
def test_shuffled_batches_cover_every_row_once_an_epoch_in_a_new_seeded_order():
    pytest.importorskip("tensorflow")
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 2, 2, 1), np.float32)
    y = np.arange(10)
    batches = backend.shuffled_batches(x, y, batch_size=4, seed=3, backend="tensorflow")
    epochs = [[(np.asarray(bx), np.asarray(by)) for bx, by in batches] for _ in range(2)]
    orders = []
    for epoch in epochs:
        assert [len(by) for _, by in epoch] == [4, 4, 2]  # the last batch is short, as Keras's own
        assert all(np.array_equal(bx[:, 0, 0, 0], by) for bx, by in epoch)  # images stay with their labels
        order = np.concatenate([by for _, by in epoch])
        assert sorted(order.tolist()) == list(range(10))
        orders.append(order.tolist())
    assert orders[0] != orders[1]  # reshuffled each epoch
    again = backend.shuffled_batches(x, y, batch_size=4, seed=3, backend="tensorflow")
    assert np.concatenate([np.asarray(by) for _, by in again]).tolist() == orders[0]  # seeded
    assert backend.shuffled_batches(x, y, 4, 3, backend="jax") is None  # the arrays go to Keras as they are
    assert backend.shuffled_batches(x, y, 4, 3, backend="torch") is None


def test_a_trial_traces_its_training_step_once(digits, monkeypatch):
    """Keras's TensorFlow trainer made the optimiser's variables while tracing, so it traced the step twice."""
    from autonas.execution.runner import train_graph

    if keras.config.backend() == "torch":
        pytest.skip("PyTorch's trainer runs the step eagerly: nothing is traced")
    traces = []
    train_step = keras.Model.train_step

    def counted(self, *args, **kwargs):  # Python runs here only while the step is traced (TF, JAX)
        traces.append(1)
        return train_step(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "train_step", counted)
    x_train, _, y_train, _ = digits
    settings = TrainingSettings(learning_rate=3e-3, batch_size=32, max_epochs=2, schedule="cosine")
    result = train_graph(generators.cnn((8, 8, 1), 10, filters=4), x_train[:128], y_train[:128], settings,
                         validation=(x_train[128:192], y_train[128:192]), seed=0, measure=False)
    assert result.status == "completed" and result.epochs == 2
    assert len(traces) == 1
