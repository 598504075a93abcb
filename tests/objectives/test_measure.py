"""Latency and energy measurement: the real fallback here, NVML and RAPL through fakes."""

import sys
import time
import types

import numpy as np
import pytest

from autonas.graph import generators
from autonas.objectives import estimate_energy, measure_costs, measure_energy, measure_latency

FAST = {"min_seconds": 0.2, "idle_seconds": 0.1, "poll_interval": 0.01}


@pytest.fixture(scope="module")
def small_cnn():
    return generators.cnn((16, 16, 1), 10, filters=16)


@pytest.fixture
def no_nvml(monkeypatch):
    """pynvml cannot be imported, whatever this machine has."""
    monkeypatch.setitem(sys.modules, "pynvml", None)


# ---------------------------------------------------------------------- latency
def test_latency_medians_for_batch_1_and_32():
    # Enough work per example (about 10 M MACs) that batch 32 clearly outweighs the per-call overhead.
    graph = generators.cnn((32, 32, 3), 10, filters=32)
    start = time.perf_counter()
    latency = measure_latency(graph, batch_sizes=(1, 32), repeats=9, warmup=2)
    print(f"latency {latency}, measured in {time.perf_counter() - start:.2f} s")
    assert latency["latency_ms_batch_1"] > 0
    assert latency["latency_ms_batch_32"] >= latency["latency_ms_batch_1"]
    assert latency["latency_ms"] == latency["latency_ms_batch_1"]
    assert latency["latency_repeats"] == 9


def test_latency_calls_the_model_in_inference_mode_on_a_fixed_input():
    seen = []

    def model(x, training=True):
        seen.append((x.shape, training, float(x.sum())))
        return x

    measure_latency(model, (3, 2), batch_sizes=(4, 1), repeats=3, warmup=1)
    assert [s[:2] for s in seen] == [((1, 3, 2), False)] + [((4, 3, 2), False)] + [((1, 3, 2), False), ((4, 3, 2), False)] * 3
    assert len({s[2] for s in seen if s[0][0] == 4}) == 1


def test_latency_rejects_bad_arguments(small_cnn):
    with pytest.raises(ValueError, match="batch_sizes"):
        measure_latency(small_cnn, batch_sizes=(0,))
    with pytest.raises(ValueError, match="input shape"):
        measure_latency(lambda x, training=False: x)


def test_measure_costs_records_every_metric(small_cnn):
    metrics = measure_costs(small_cnn, energy_method="estimate", repeats=3, warmup=1)
    for key in ("params", "model_bytes", "macs", "latency_ms", "latency_ms_batch_32", "energy_mj", "power_w"):
        assert metrics[key] > 0, key
    assert metrics["energy_source"] == "estimate"
    assert metrics["params"] == small_cnn.num_params()
    assert metrics["estimated_energy_mj"] == metrics["energy_mj"]
    # The estimate states the average power of a batch-1 inference: mJ per ms is W.
    assert metrics["power_w"] == pytest.approx(metrics["energy_mj"] / metrics["latency_ms_batch_1"])


# ---------------------------------------------------------------------- fallback
def test_without_gpu_or_rapl_the_estimate_is_used_and_says_why(small_cnn, no_nvml, tmp_path):
    result = measure_energy(small_cnn, rapl_root=tmp_path)
    assert result["energy_source"] == "estimate"
    assert result["energy_mj"] == pytest.approx(estimate_energy(small_cnn)["energy_mj"])
    assert "nvml" in result["energy_note"] and "rapl" in result["energy_note"]
    assert result["power_w"] is None  # no latency given


def test_this_machine_falls_back_to_the_estimate(small_cnn):
    result = measure_energy(small_cnn)  # the real pynvml (if any) and /sys/class/powercap
    if result["energy_source"] != "estimate":
        pytest.skip(f"this machine measures energy with {result['energy_source']}")
    assert result["energy_mj"] > 0
    assert "no measured source" in result["energy_note"]


def test_the_estimate_can_be_forced(small_cnn, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeGpu().module())  # would measure, if asked
    result = measure_energy(small_cnn, method="estimate", latency_ms=2.0)
    assert result["energy_source"] == "estimate"
    assert result["power_w"] == pytest.approx(result["energy_mj"] / 2.0)


def test_a_forced_unavailable_source_raises(small_cnn, no_nvml, tmp_path):
    with pytest.raises(RuntimeError, match="nvml"):
        measure_energy(small_cnn, method="nvml")
    with pytest.raises(RuntimeError, match="rapl"):
        measure_energy(small_cnn, method="rapl", rapl_root=tmp_path)
    with pytest.raises(ValueError, match="method"):
        measure_energy(small_cnn, method="watts")


def test_an_estimate_needs_an_architecture(no_nvml, tmp_path):
    with pytest.raises(ValueError, match="architecture"):
        measure_energy(lambda x, training=False: x, (3,), rapl_root=tmp_path)


# ---------------------------------------------------------------------- NVML
class FakeGpu:
    """A fake pynvml device: idle power plus a fixed energy per inference of ``model``."""

    def __init__(self, idle_w=50.0, busy_w=150.0, per_call_mj=2.0, counter=True, init_error=None):
        self.idle_w, self.busy_w, self.per_call_mj = idle_w, busy_w, per_call_mj
        self.counter, self.init_error = counter, init_error
        self.start = time.perf_counter()
        self.calls = 0
        self.last_call = -1.0
        self.shutdowns = 0

    def model(self, x, training=True):
        assert training is False
        self.calls += 1
        self.last_call = time.perf_counter()
        return np.zeros((len(x), 2), np.float32)

    def module(self):
        gpu = self
        fake = types.ModuleType("pynvml")

        class NVMLError(Exception):
            pass

        def init():
            if gpu.init_error:
                raise NVMLError(gpu.init_error)

        def shutdown():
            gpu.shutdowns += 1

        def energy(handle):
            assert handle == "gpu0"
            if not gpu.counter:
                raise NVMLError("Not Supported")
            return int(gpu.idle_w * 1e3 * (time.perf_counter() - gpu.start) + gpu.per_call_mj * gpu.calls)

        def power(handle):
            # busy once the timed loop has started (after the two warm-up calls and the idle window);
            # not from the time since the last call, which a loaded machine stretches
            busy = gpu.calls > 2
            return int(1e3 * (gpu.busy_w if busy else gpu.idle_w))

        fake.NVMLError = NVMLError
        fake.nvmlInit = init
        fake.nvmlShutdown = shutdown
        fake.nvmlDeviceGetCount = lambda: 1
        fake.nvmlDeviceGetHandleByIndex = lambda index: f"gpu{index}"
        fake.nvmlDeviceGetTotalEnergyConsumption = energy
        fake.nvmlDeviceGetPowerUsage = power
        return fake


def test_nvml_energy_counter_minus_idle(monkeypatch, tmp_path):
    gpu = FakeGpu(idle_w=50.0, per_call_mj=2.0)
    monkeypatch.setitem(sys.modules, "pynvml", gpu.module())
    result = measure_energy(gpu.model, (4,), rapl_root=tmp_path, **FAST)
    assert result["energy_source"] == "nvml"
    assert result["energy_meter"] == "energy counter"
    assert result["energy_mj"] == pytest.approx(2.0, rel=0.02)
    assert result["idle_power_w"] == pytest.approx(50.0, rel=0.02)
    assert result["power_w"] > result["idle_power_w"]
    assert result["energy_seconds"] >= FAST["min_seconds"]
    assert result["energy_inferences"] == gpu.calls - 2  # two warm-up calls
    assert gpu.shutdowns == 1


def test_nvml_batch_energy_is_per_example(monkeypatch):
    gpu = FakeGpu(idle_w=0.0, per_call_mj=8.0)
    monkeypatch.setitem(sys.modules, "pynvml", gpu.module())
    result = measure_energy(gpu.model, (4,), method="nvml", batch_size=4, **FAST)
    assert result["energy_batch_size"] == 4
    assert result["energy_mj"] == pytest.approx(2.0, rel=0.02)


def test_nvml_power_samples_when_there_is_no_counter(monkeypatch):
    gpu = FakeGpu(idle_w=50.0, busy_w=150.0, counter=False)
    monkeypatch.setitem(sys.modules, "pynvml", gpu.module())
    result = measure_energy(gpu.model, (4,), method="nvml", **FAST)
    assert result["energy_meter"] == "power samples"
    assert result["idle_power_w"] == pytest.approx(50.0, rel=1e-3)
    assert result["power_w"] == pytest.approx(150.0, rel=1e-3)
    # 100 W above idle over the loop, shared by its inferences (mJ = W × s × 1000)
    expected = 100.0 * result["energy_seconds"] * 1e3 / result["energy_inferences"]
    assert result["energy_mj"] == pytest.approx(expected, rel=1e-3)


def test_nvml_without_a_driver_falls_back(monkeypatch, tmp_path, small_cnn):
    gpu = FakeGpu(init_error="NVML Shared Library Not Found")
    monkeypatch.setitem(sys.modules, "pynvml", gpu.module())
    result = measure_energy(small_cnn, rapl_root=tmp_path)
    assert result["energy_source"] == "estimate"
    assert "NVML Shared Library Not Found" in result["energy_note"]
    assert gpu.calls == 0


# ---------------------------------------------------------------------- RAPL
MAX_RANGE_UJ = 50_000
PER_CALL_UJ = 10


def fake_powercap(root, start_uj):
    """A powercap folder with one package zone, its core sub-zone and the control folder."""
    (root / "intel-rapl").mkdir()
    package = root / "intel-rapl:0"
    core = root / "intel-rapl:0:0"
    for zone, name in ((package, "package-0"), (core, "core")):
        zone.mkdir()
        (zone / "name").write_text(name + "\n")
        (zone / "energy_uj").write_text(f"{start_uj}\n")
        (zone / "max_energy_range_uj").write_text(f"{MAX_RANGE_UJ}\n")
    return [package / "energy_uj", core / "energy_uj"]


def test_rapl_counters_with_wrap_around(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    start = MAX_RANGE_UJ - 25  # wraps on the third call, and again every 5,000 calls
    counters = fake_powercap(tmp_path, start)
    calls = 0

    def model(x, training=True):
        nonlocal calls
        calls += 1
        value = f"{(start + PER_CALL_UJ * calls) % MAX_RANGE_UJ}\n"
        for counter in counters:  # the core zone is part of the package: never counted twice
            counter.write_text(value)
        return x

    result = measure_energy(model, (2,), rapl_root=tmp_path, **FAST)
    assert result["energy_source"] == "rapl"
    assert result["energy_mj"] == pytest.approx(PER_CALL_UJ / 1e3)
    assert result["idle_power_w"] == 0.0
    assert result["energy_inferences"] == calls - 2
    assert result["energy_seconds"] >= FAST["min_seconds"]


def test_unreadable_rapl_counters_fall_back(no_nvml, tmp_path, small_cnn):
    fake_powercap(tmp_path, 0)
    (tmp_path / "intel-rapl:0" / "max_energy_range_uj").unlink()
    result = measure_energy(small_cnn, rapl_root=tmp_path)
    assert result["energy_source"] == "estimate"
    assert "rapl: cannot read" in result["energy_note"]


# ---------------------------------------------------------------------- untimed costs
class _Untouchable:
    """A model that must not be run."""

    def __call__(self, *args, **kwargs):
        raise AssertionError("the model was run")

    predict = __call__


def test_untimed_costs_are_the_graphs_and_the_estimate_and_never_run_the_model(small_cnn, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeGpu().module())  # would measure, if asked
    metrics = measure_costs(small_cnn, _Untouchable(), timed=False)
    for key in ("params", "macs", "model_bytes", "estimated_energy_mj", "energy_mj"):
        assert metrics[key] > 0, key
    assert metrics["params"] == small_cnn.num_params()
    assert metrics["energy_source"] == "estimate"
    assert metrics["energy_mj"] == pytest.approx(metrics["estimated_energy_mj"])
    assert not [key for key in metrics if key.startswith("latency")]
