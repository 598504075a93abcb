"""GPU memory planning on a simulated device: estimates, the ledger of reservations, corrections."""

import pytest

from autonas.execution import DeviceMemory, MemoryLedger, estimate_training_bytes
from autonas.execution.memory import MIB, WORKSPACE_BYTES
from autonas.graph import generators

pytestmark = pytest.mark.slow  # trains networks or starts processes

GIB = 1024 * MIB


def fake_device(free_gib, per_process_mib=512, safety=0.0):
    return DeviceMemory(lambda: (int(free_gib * GIB), 80 * GIB), per_process_bytes=per_process_mib * MIB, safety_fraction=safety)


def test_estimate_counts_weights_optimizer_slots_and_activations():
    graph = generators.cnn((32, 32, 3), 10)
    params = graph.num_params()
    activations = sum(int(__import__("math").prod(graph.shape(n))) for n in graph.nodes)
    assert estimate_training_bytes(graph, 1, "adam") == params * 16 + activations * 8 + WORKSPACE_BYTES
    assert estimate_training_bytes(graph, 1, "sgd") == params * 12 + activations * 8 + WORKSPACE_BYTES
    # activations scale with the batch, weights do not
    grow = estimate_training_bytes(graph, 65, "adam") - estimate_training_bytes(graph, 1, "adam")
    assert grow == activations * 8 * 64
    assert estimate_training_bytes(generators.cnn((64, 64, 3), 10), 32) > estimate_training_bytes(graph, 32)


def test_ledger_admits_as_many_trials_as_the_free_memory_holds():
    ledger = MemoryLedger(fake_device(free_gib=10, per_process_mib=512))
    estimate = 2 * GIB - 512 * MIB  # 2 GiB per trial with its process
    admitted = [ledger.try_reserve(i, estimate) for i in range(8)]
    assert admitted == [True] * 5 + [False] * 3
    assert ledger.running == 5 and ledger.reserved == 10 * GIB
    ledger.release(0)
    assert ledger.try_reserve("next", estimate)
    assert not ledger.try_reserve("one more", estimate)


def test_more_free_memory_runs_more_trials_at_once():
    counts = []
    for free in (2, 6, 20):
        ledger = MemoryLedger(fake_device(free_gib=free, safety=0.1))
        counts.append(sum(ledger.try_reserve(i, 1 * GIB) for i in range(64)))
    assert counts[0] < counts[1] < counts[2]
    assert counts == [1, 3, 12]  # floor(0.9 * free / 1.5 GiB), at least one when it fits alone


def test_a_trial_larger_than_the_device_is_never_admitted():
    ledger = MemoryLedger(fake_device(free_gib=4))
    assert not ledger.fits_alone(8 * GIB)
    assert not ledger.try_reserve("huge", 8 * GIB)
    assert ledger.fits_alone(1 * GIB)


def test_measured_peaks_correct_later_estimates():
    ledger = MemoryLedger(fake_device(free_gib=10, per_process_mib=0))
    assert ledger.cost(GIB) == GIB
    ledger.observe_peak(estimate=GIB, peak_bytes=2 * GIB)  # the model under-estimated by half
    assert ledger.correction == pytest.approx(2.0)
    assert ledger.cost(GIB) == 2 * GIB
    assert sum(ledger.try_reserve(i, GIB) for i in range(10)) == 5
    ledger.observe_peak(estimate=GIB, peak_bytes=GIB)  # the largest ratio is kept
    assert ledger.correction == pytest.approx(2.0)
    # a first measurement below the estimate lowers the factor, never under 0.5
    other = MemoryLedger(fake_device(free_gib=10))
    other.observe_peak(estimate=4 * GIB, peak_bytes=GIB)
    assert other.correction == pytest.approx(0.5)


def test_out_of_memory_alone_lowers_the_largest_admitted_model():
    ledger = MemoryLedger(fake_device(free_gib=10, per_process_mib=0))
    assert ledger.fits_alone(6 * GIB)
    ledger.observe_out_of_memory(6 * GIB)
    assert not ledger.fits_alone(6 * GIB)
    assert ledger.fits_alone(5 * GIB)


def test_no_readable_device_means_no_capacity():
    ledger = MemoryLedger(DeviceMemory(lambda: None))
    assert ledger.capacity == 0
    assert not ledger.fits_alone(1)


def test_gpu_memory_is_read_from_nvidia_smi_without_nvidia_ml_py(tmp_path, monkeypatch):
    from autonas.execution import memory

    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho '1000, 4000'\necho '3000, 8000'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))  # only the fake
    monkeypatch.setattr(memory, "nvml_free_bytes", lambda index=0: None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert memory.gpu_free_bytes() == (1000 * MIB, 4000 * MIB)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert memory.gpu_free_bytes() == (3000 * MIB, 8000 * MIB)
    for hidden in ("", "-1"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
        assert memory.gpu_free_bytes() is None
    fake.unlink()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert memory.gpu_free_bytes() is None
