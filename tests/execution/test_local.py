"""LocalExecutor: trials in spawned worker processes, in parallel, surviving dead workers."""

import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from autonas.engine import Project, SearchBudget, run_search
from autonas.execution import DeviceMemory, LocalExecutor, SerialExecutor, TrainingData, TrainingSettings, TrialJob
from autonas.execution.memory import MIB, estimate_training_bytes
from autonas.graph import generators
from autonas.search import RandomSearcher

pytestmark = pytest.mark.slow  # trains networks or starts processes
# Marked `backend` (run again under JAX and PyTorch in CI): the tests where a worker process trains,
# fails or dies under the backend; the scheduling and memory admission tests are the same on every backend.

QUICK = TrainingSettings(max_epochs=4, patience=4, batch_size=32, learning_rate=3e-3)


@pytest.fixture(scope="module")
def data(digits):
    x_train, x_test, y_train, y_test = digits
    return TrainingData(x_train[:600], y_train[:600], x_test[:200], y_test[:200])


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="max_workers"):
        LocalExecutor(max_workers=0)
    with pytest.raises(ValueError, match="device"):
        LocalExecutor(device="tpu")
    with pytest.raises(RuntimeError, match="start"):
        LocalExecutor().submit(TrialJob(1, generators.mlp((8, 8, 1), 10), QUICK))


def _four_graphs():
    return [
        (f"{kind}-{i}", getattr(generators, kind)((8, 8, 1), 10, **kwargs))
        for i, (kind, kwargs) in enumerate(
            [("mlp", {}), ("cnn", {"filters": 4}), ("resnet", {"filters": 4}),
             ("densenet", {"growth_rate": 3, "initial_filters": 6})]
        )
    ]


def _run(tmp_path, executor, data, on_epoch=None):
    return run_search(
        project=Project(tmp_path, overwrite=True),
        searcher=RandomSearcher(seed=0),
        data=data,
        initial=_four_graphs(),
        settings=QUICK,
        fine_tune_settings=QUICK,
        budget=SearchBudget(max_trials=4, deadline=None),
        seed=0,
        executor=executor,
        on_epoch=on_epoch,
    )


@pytest.mark.backend
def test_two_workers_run_four_trials_like_a_serial_run(tmp_path, data):
    executor = LocalExecutor(max_workers=2)
    told = {"parallel": [], "serial": []}
    parallel = _run(tmp_path / "parallel", executor, data, lambda *epoch: told["parallel"].append(epoch))
    serial = _run(tmp_path / "serial", SerialExecutor(), data, lambda *epoch: told["serial"].append(epoch))
    # both report each trial's progress: its start (0 epochs) and every epoch, of the 4 planned
    for records, reports in ((parallel, told["parallel"]), (serial, told["serial"])):
        for record in records:
            assert [(done, planned) for trial, done, planned in reports if trial == record.id] == [
                (epoch, 4) for epoch in range(record.epochs + 1)
            ]
    assert executor.on_epoch is None  # the search's listener is not left on the executor
    assert executor.peak_concurrency == 2
    assert [r.status for r in parallel] == ["completed"] * 4, [r.error for r in parallel]
    assert {r.id: r.fingerprint for r in parallel} == {r.id: r.fingerprint for r in serial}
    # records come in the order trials finished; compare trial by trial
    accuracies = np.array([r.metrics["val_accuracy"] for r in sorted(parallel, key=lambda r: r.id)])
    expected = np.array([r.metrics["val_accuracy"] for r in sorted(serial, key=lambda r: r.id)])
    assert accuracies.mean() > 0.5  # trained, not guessed (10 classes)
    # the same seeds give nearly the same training (thread counts differ, so not bit for bit)
    np.testing.assert_allclose(accuracies, expected, atol=0.1)
    # the workers are gone after the search
    assert executor.worker_pids() == []


@pytest.mark.backend
def test_a_killed_worker_fails_its_trial_and_the_executor_goes_on(data):
    slow = TrainingSettings(max_epochs=500, patience=500, batch_size=8)
    with LocalExecutor(max_workers=2) as executor:
        executor.start(data)
        doomed = executor.submit(TrialJob(1, generators.cnn((8, 8, 1), 10, filters=8), slow))
        healthy = executor.submit(TrialJob(2, generators.mlp((8, 8, 1), 10), QUICK))
        deadline = time.monotonic() + 60
        while len(executor.worker_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        victim = executor.worker_pids()[0]
        time.sleep(3)  # let it get into training
        os.kill(victim, signal.SIGKILL)
        result = doomed.result(timeout=60)
        assert result.status == "failed"
        assert "SIGKILL" in result.error
        assert healthy.result(timeout=120).status == "completed"
        after = executor.submit(TrialJob(3, generators.mlp((8, 8, 1), 10), QUICK))
        assert after.result(timeout=120).status == "completed"
        pids = [worker.process.pid for worker in executor.pool.workers]  # idle workers, kept for reuse
        assert victim not in pids and pids
    time.sleep(0.5)
    assert not any(_alive(pid) for pid in pids)


def test_a_crashed_worker_has_its_trial_retried_once_in_a_fresh_worker(tmp_path, data):
    """A worker that dies of SIGSEGV as its trial starts: the trial is trained again, once.

    Trial 1's worker crashes once: the retry completes and says so. Trial 2's worker crashes at
    both tries: a failed trial naming the signal, with the Python stacks in the worker's log.
    """
    crashes = {1: 1, 2: 2}  # trial -> how many of its starts crash
    with LocalExecutor(max_workers=1, log_dir=tmp_path) as executor:

        def crash_at_start(trial, done, planned):
            if done == 0 and crashes.get(trial, 0) > 0:
                crashes[trial] -= 1
                worker = next(w for w in executor.pool.workers if w.task and w.task.job.trial_id == trial)
                os.kill(worker.process.pid, signal.SIGSEGV)

        executor.on_epoch = crash_at_start
        executor.start(data)
        survivor = executor.submit(TrialJob(1, generators.mlp((8, 8, 1), 10), QUICK)).result(timeout=180)
        doomed = executor.submit(TrialJob(2, generators.mlp((8, 8, 1), 10), QUICK)).result(timeout=180)
    assert survivor.status == "completed", survivor.error
    assert "crashed (SIGSEGV" in survivor.metrics["executor_notes"]
    assert doomed.status == "failed" and "killed by SIGSEGV" in doomed.error
    with open(doomed.metrics["worker_log"]) as log:
        assert "Segmentation fault" in log.read()  # faulthandler's report, with the stacks
    assert crashes == {1: 0, 2: 0}


def test_only_fault_signals_count_as_crashes():
    from autonas.execution.pool import crash_signal

    assert crash_signal(-signal.SIGSEGV) is signal.SIGSEGV and crash_signal(-signal.SIGABRT) is signal.SIGABRT
    assert crash_signal(-signal.SIGKILL) is None and crash_signal(-signal.SIGTERM) is None
    assert crash_signal(0) is None and crash_signal(1) is None and crash_signal(None) is None


def test_shutdown_kills_running_workers_and_fails_their_trials(data):
    slow = TrainingSettings(max_epochs=500, patience=500, batch_size=8)
    executor = LocalExecutor(max_workers=1)
    executor.start(data)
    running = executor.submit(TrialJob(1, generators.cnn((8, 8, 1), 10, filters=8), slow))
    queued = executor.submit(TrialJob(2, generators.mlp((8, 8, 1), 10), QUICK))
    deadline = time.monotonic() + 60
    while not executor.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = executor.worker_pids()
    executor.shutdown()
    assert running.result(timeout=5).error.startswith("abandoned")
    assert queued.result(timeout=5).status == "failed"
    time.sleep(0.5)
    assert pids and not any(_alive(pid) for pid in pids)


@pytest.mark.backend
def test_a_worker_error_is_a_failed_trial_and_autonas_bugs_are_raised(data):
    from autonas.errors import FatalError

    with LocalExecutor(max_workers=1) as executor:
        executor.start(data)
        wrong_input = generators.mlp((4, 4, 1), 10)  # the data are 8×8 images: fitting fails
        result = executor.submit(TrialJob(1, wrong_input, QUICK)).result(timeout=120)
        assert result.status == "failed" and "Traceback" in result.metrics["traceback"]
        with pytest.raises(FatalError, match="trial 2"):  # a job without a graph is autonas's own bug
            executor.submit(TrialJob(2, "not a graph", QUICK)).result(timeout=120)


def test_gpu_memory_decides_how_many_trials_run_at_once(data):
    """A simulated GPU with room for two trials: three submitted, never more than two at once.

    The workers find no real GPU and train on CPU; what is tested is the admission by the ledger.
    """
    per_process = 256 * MIB
    estimate = estimate_training_bytes(generators.mlp((8, 8, 1), 10), QUICK.batch_size)
    free = int(2.5 * (per_process + estimate))  # room for two reservations, not three
    device = DeviceMemory(lambda: (free, 4 * free), per_process_bytes=per_process, safety_fraction=0.0)
    with LocalExecutor(max_workers=3, device="gpu", memory=device) as executor:
        executor.start(data)
        assert executor.use_gpu and executor.ledger.capacity == free
        futures = [executor.submit(TrialJob(i, generators.mlp((8, 8, 1), 10), QUICK)) for i in range(3)]
        results = [f.result(timeout=180) for f in futures]
        idle = [w for w in executor.pool.workers if w.task is None]  # reused workers (PyTorch) keep their process
        assert executor.ledger.reserved == len(idle) * per_process
    assert [r.status for r in results] == ["completed"] * 3
    assert executor.peak_concurrency == 2


def test_a_trial_too_large_for_the_gpu_fails_instead_of_waiting(data):
    device = DeviceMemory(lambda: (600 * MIB, 1024 * MIB), per_process_bytes=256 * MIB, safety_fraction=0.0)
    with LocalExecutor(max_workers=2, device="gpu", memory=device) as executor:
        executor.start(data)
        big = generators.cnn((8, 8, 1), 10)
        assert not executor.accepts(big, TrainingSettings(batch_size=4096))
        result = executor.submit(TrialJob(1, big, TrainingSettings(batch_size=4096))).result(timeout=30)
    assert result.status == "failed" and "MiB of GPU memory" in result.error


def test_out_of_memory_is_retried_once_alone_at_half_the_batch():
    from concurrent.futures import Future

    from autonas.execution import FailureKind, TrialResult
    from autonas.execution.local import _Task
    from autonas.execution.pool import PooledWorker
    from autonas.execution.memory import MemoryLedger

    executor = LocalExecutor(max_workers=2, device="gpu")
    executor.ledger = MemoryLedger(DeviceMemory(lambda: (8 << 30, 16 << 30), safety_fraction=0.0))
    graph = generators.cnn((8, 8, 1), 10)
    task = _Task(TrialJob(1, graph, TrainingSettings(batch_size=64)), Future(), estimate=3 << 30)
    out_of_memory = TrialResult("failed", error="ResourceExhaustedError", failure_kind=FailureKind.OUT_OF_MEMORY)
    assert executor._retry_out_of_memory(task, out_of_memory)
    retry = executor._pending[0]
    assert retry.job.settings.batch_size == 32 and retry.exclusive and retry.retried
    assert retry.future is task.future
    # an exclusive trial waits for an idle device, and nothing starts beside it
    executor.pool.workers = [PooledWorker(process=None, task=task)]
    assert not executor._can_start(retry)
    executor.pool.workers = [PooledWorker(process=None, task=retry)]
    assert not executor._can_start(_Task(TrialJob(2, graph, QUICK), Future(), estimate=1))
    # failing again, alone: no second retry, and models that large are refused from then on
    assert executor.ledger.fits_alone(retry.estimate)
    assert not executor._retry_out_of_memory(retry, out_of_memory)
    assert not executor.ledger.fits_alone(retry.estimate)
    # any other failure is not retried, whatever its text says: the kind decides
    other = _Task(TrialJob(3, graph, QUICK), Future())
    assert not executor._retry_out_of_memory(other, TrialResult("failed", error="ValueError: nan"))
    worded = TrialResult("failed", error="out of memory, says the text", failure_kind=FailureKind.OTHER)
    assert not executor._retry_out_of_memory(_Task(TrialJob(4, graph, QUICK), Future()), worded)


@pytest.mark.backend
def test_a_script_without_a_main_guard_can_use_workers(tmp_path):
    """Workers never re-import the user's ``__main__``, so top-level code runs once."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np\n"
        "from autonas.execution import LocalExecutor, TrainingData, TrainingSettings, TrialJob\n"
        "from autonas.graph import generators\n"
        "print('top level ran', flush=True)\n"
        "rng = np.random.default_rng(0)\n"
        "x, y = rng.random((64, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 64)\n"
        "with LocalExecutor(max_workers=1) as executor:\n"
        "    executor.start(TrainingData(x, y, x, y))\n"
        "    job = TrialJob(1, generators.mlp((8, 8, 1), 3), TrainingSettings(max_epochs=1))\n"
        "    print('status', executor.submit(job).result(timeout=120).status, flush=True)\n"
    )
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("top level ran") == 1
    assert "status completed" in done.stdout


def test_workers_are_replaced_after_their_trials_and_every_trial_completes(data):
    tiny = TrainingSettings(max_epochs=1, patience=1)
    seen = set()
    with LocalExecutor(max_workers=1, trials_per_worker=2) as executor:
        executor.start(data)
        for trial_id in range(1, 6):
            future = executor.submit(TrialJob(trial_id, generators.mlp((8, 8, 1), 10), tiny))
            seen.update(executor.worker_pids())
            assert future.result(timeout=120).status == "completed"
            seen.update(w.process.pid for w in executor.pool.workers)
        # a worker on its last trial already has its successor: never more than one spare
        assert len(executor.pool.workers) <= 2
    assert len(seen) >= 3  # five trials, two per worker
    time.sleep(0.5)
    assert not any(_alive(pid) for pid in seen)


@pytest.mark.parametrize("reusable", [True, False], ids=["pytorch-like", "fresh-process"])
def test_gpu_workers_are_reused_only_where_the_backend_gives_memory_back(data, tmp_path, monkeypatch, reusable):
    """A simulated GPU with room for two trials: four trials, each worker told its trial's cap.

    PyTorch's workers are reused (here the backend's answer is simulated; the workers train on CPU);
    TensorFlow's and JAX's get one process per trial. An idle reused worker keeps its process's memory reserved.
    """
    from autonas.execution import local

    row = dataclasses.replace(local.capabilities(), gpu_workers_reusable=reusable)
    monkeypatch.setattr(local, "capabilities", lambda backend=None: row)
    per_process = 256 * MIB
    graphs = [generators.mlp((8, 8, 1), 10, hidden_units=(units,)) for units in (16, 256, 32, 512)]
    estimates = [estimate_training_bytes(g, QUICK.batch_size) for g in graphs]
    correction = 40.0  # as if measured peaks had been 40× the estimates: caps of GiBs, each its own
    free = int(2.5 * (per_process + correction * max(estimates)))
    device = DeviceMemory(lambda: (free, 4 * free), per_process_bytes=per_process, safety_fraction=0.0)
    with LocalExecutor(max_workers=2, device="gpu", memory=device, log_dir=tmp_path) as executor:
        executor.start(data)
        executor.ledger.correction = correction
        assert executor.reuse_gpu_workers is reusable
        futures = [executor.submit(TrialJob(i, g, QUICK, measure=False)) for i, g in enumerate(graphs)]
        results = [f.result(timeout=240) for f in futures]
        idle = [w for w in executor.pool.workers if w.task is None]
        assert executor.ledger.reserved == len(idle) * per_process  # only idle workers' own memory is held
    assert [r.status for r in results] == ["completed"] * 4
    assert executor.peak_concurrency <= 2
    for result, estimate in zip(results, estimates):
        assert result.metrics["gpu_limit_bytes"] == int(estimate * correction) // MIB * MIB  # its own cap
    logs = {r.metrics["worker_log"] for r in results}
    assert len(logs) == (2 if reusable else 4)


def test_idle_gpu_workers_are_let_go_when_a_trial_needs_their_memory():
    from concurrent.futures import Future
    from types import SimpleNamespace

    from autonas.execution.local import _Task
    from autonas.execution.memory import MemoryLedger
    from autonas.execution.pool import PooledWorker

    def idle_worker():
        process = SimpleNamespace(is_alive=lambda: True, join=lambda timeout=None: None, kill=lambda: None, pid=1)
        return PooledWorker(SimpleNamespace(connection=SimpleNamespace(send=lambda m: None, close=lambda: None),
                                            log_path=None, **vars(process)))

    executor = LocalExecutor(max_workers=4, device="gpu")
    executor.use_gpu = executor.reuse_gpu_workers = True
    executor.ledger = MemoryLedger(DeviceMemory(lambda: (4 << 30, 8 << 30), per_process_bytes=1 << 30, safety_fraction=0.0))
    workers = [idle_worker() for _ in range(3)]
    executor.pool.workers = list(workers)
    for worker in workers:
        executor._hold(worker)
    assert executor.ledger.reserved == 3 << 30
    task = _Task(TrialJob(1, generators.mlp((8, 8, 1), 10), QUICK), Future(), estimate=2 << 30)  # 3 GiB with its process
    assert not executor._can_start(task)  # 3 GiB held + 2 GiB more: one spare worker let go
    assert len(executor.pool.workers) == 2 and executor.ledger.reserved == 2 << 30
    assert executor._can_start(task)  # the first idle worker's memory becomes the trial's; the other's stays held
    assert executor.ledger.reserved == (1 << 30) + (3 << 30)


# ------------------------------------------------------------------ a trial's deadline (run_job)
@pytest.mark.timing  # compares clock readings taken a call apart: run alone
def test_a_trials_share_counts_from_when_it_starts_and_the_search_clock_from_when_it_was_issued(data, monkeypatch):
    """``max_seconds`` is not used up by waiting for a worker; ``seconds_left`` is."""
    from autonas.execution import TrialResult
    from autonas.execution import executor as executor_module

    calls = []

    def train_graph(graph, x, y, settings, **kwargs):
        calls.append({**kwargs, "called_at": time.monotonic()})
        return TrialResult("completed", graph, {})

    monkeypatch.setattr(executor_module, "train_graph", train_graph)
    graph, long_ago = generators.mlp((8, 8, 1), 10), time.time() - 1000

    def time_given(**job):
        executor_module.run_job(TrialJob(1, graph, QUICK, **job), data)
        call = calls[-1]
        return None if call["deadline"] is None else call["deadline"] - call["called_at"]

    assert 1.5 < time_given(max_seconds=2, issued_at=long_ago) <= 2.0  # waited 1000 s, still its 2 s
    assert time_given(seconds_left=2, issued_at=long_ago) < 0  # the search's clock ran out while it waited
    assert 1.5 < time_given(seconds_left=1000, max_seconds=2, issued_at=time.time()) <= 2.0  # the earlier end
    assert 1.5 < time_given(seconds_left=5, max_seconds=60, issued_at=time.time() - 3) <= 2.0
    assert time_given() is None
    assert calls[-1]["timed"] is True
    time_given(timed_costs=False)
    assert calls[-1]["timed"] is False  # the job's timed_costs reach the training


@pytest.mark.timing
def test_a_job_issued_long_ago_still_trains_for_its_share(data):
    import keras  # noqa: F401 - imported before the clock starts, as a worker does before its first job

    from autonas.execution.executor import run_job

    endless = TrainingSettings(max_epochs=100_000, batch_size=32)  # the default cosine schedule
    graph, long_ago = generators.mlp((8, 8, 1), 10), time.time() - 1000
    start = time.monotonic()
    result = run_job(TrialJob(1, graph, endless, max_seconds=6, issued_at=long_ago, measure=False), data)
    elapsed = time.monotonic() - start
    assert result.status == "completed", result.error
    assert result.metrics["stopped_at_time_limit"]
    # it trained until its share ended: a share counted from issued_at would have ended it after its first
    # batch (building the model and compiling its step: ~1-3 s on busy cores)
    assert elapsed >= 6
    assert elapsed < 6 + 20  # and stopped there (plus a batch and a validation, compiled)

    out_of_time = run_job(TrialJob(2, graph, endless, seconds_left=2, issued_at=long_ago, measure=False), data)
    assert out_of_time.status == "completed", out_of_time.error
    assert out_of_time.metrics["stopped_at_time_limit"]
    assert out_of_time.epochs == 1 and out_of_time.metrics["last_epoch_fraction"] < 1.0  # stopped at once
