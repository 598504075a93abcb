"""Items 6 and 7: time limits kept whatever the image size, temporary data removed on SIGTERM."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from autonas import AutoImageClassifier
from autonas.execution import LocalExecutor, TrainingData

from .conftest import quick_classifier

pytestmark = pytest.mark.slow  # trains networks or starts processes


@pytest.mark.timing  # a wall-clock promise: run alone (make test, .ci/run)
def test_a_time_limit_below_one_epoch_says_so(tmp_path, small_digits):
    x, _, y, _ = small_digits
    x = np.repeat(x, 6, axis=0)  # 3,600 images: an epoch takes longer than the limit
    y = np.repeat(y, 6)
    start = time.monotonic()
    with pytest.warns(UserWarning) as caught:
        classifier = quick_classifier(tmp_path, time_limit=1).fit(x, y)
    assert time.monotonic() - start < 30
    assert classifier.best_model_ is not None
    messages = [str(w.message) for w in caught]
    # said at once, before any training, and again with the trial's own pace after it
    assert "time_limit=1 s is shorter than a search can use" in messages[0]
    assert any("time_limit=1 s is shorter than one epoch" in m for m in messages[1:])
    assert all(w.filename == __file__ for w in caught if "time_limit=1 s" in str(w.message))  # the caller's line


@pytest.mark.timing
def test_large_images_keep_the_time_limit(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    x = (rng.integers(0, 256, (40, 128, 128, 3)) * 0.5 + y[:, None, None, None] * 100).astype(np.uint8)
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = AutoImageClassifier(time_limit=30, directory=tmp_path, seed=0, verbose=0).fit(x, y)
    elapsed = time.monotonic() - start
    trials = [(r.id, r.status, r.epochs, round(r.seconds, 1), round(r.metrics.get("startup_seconds") or 0.0, 1))
              for r in classifier.history_]
    # at most 10 % over
    assert elapsed <= 33, f"{elapsed:.1f} s; phases {classifier.fit_seconds_}; trials (id, status, epochs, " \
        f"seconds, start-up) {trials}"
    assert classifier.history_


def test_sigterm_removes_the_training_data_copy(tmp_path, small_digits):
    x, _, y, _ = small_digits
    np.savez(tmp_path / "data.npz", x=x, y=y)
    temp = tmp_path / "tmp"
    temp.mkdir()
    script = textwrap.dedent(
        f"""
        import numpy as np
        from autonas import AutoImageClassifier
        from autonas.execution import LocalExecutor
        data = np.load({str(tmp_path / "data.npz")!r})
        AutoImageClassifier(max_trials=50, directory={str(tmp_path)!r}, seed=0, verbose=0,
                            executor=LocalExecutor(max_workers=1)).fit(data["x"], data["y"], epochs=30)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "TMPDIR": str(temp)})
    try:
        deadline = time.monotonic() + 120
        while not list(temp.glob("autonas-data-*")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(temp.glob("autonas-data-*"))
        time.sleep(2.0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        process.kill()
    assert not list(temp.glob("autonas-data-*"))
    assert (tmp_path / "image_classifier" / ".lock").read_text() == ""


def test_data_copies_of_dead_searches_are_removed_at_the_next_start(tmp_path, small_digits, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"autonas-data-{dead.pid}-abc"
    alive = tmp_path / f"autonas-data-{os.getppid()}-def"
    for folder in (stale, alive):
        folder.mkdir()
        (folder / "x_train.npy").write_bytes(b"0")
    x, x_test, y, y_test = small_digits
    executor = LocalExecutor(max_workers=1)
    executor.start(TrainingData(x[..., None] / 255.0, y, x_test[..., None] / 255.0, y_test))
    try:
        assert not stale.exists() and alive.exists()
    finally:
        executor.shutdown()
    assert not list(tmp_path.glob(f"autonas-data-{os.getpid()}-*"))


def test_cpu_workers_run_together_only_as_far_as_memory_allows(small_digits):
    from autonas.execution import TrainingSettings, TrialJob
    from autonas.execution.memory import MIB, HostMemory
    from autonas.graph import generators

    x, x_test, y, y_test = small_digits
    data = TrainingData(x[..., None] / 255.0, y, x_test[..., None] / 255.0, y_test)
    settings = TrainingSettings(max_epochs=2)
    graphs = [generators.mlp((8, 8, 1), 10), generators.cnn((8, 8, 1), 10, filters=4)]
    for capacity, expected in ((1400 * MIB, 1), (None, 2)):  # room for one worker, then no limit
        executor = LocalExecutor(max_workers=2)
        executor.start(data)
        try:
            executor.host_memory = HostMemory(capacity)
            futures = [executor.submit(TrialJob(i + 1, g, settings)) for i, g in enumerate(graphs)]
            results = [f.result() for f in futures]
        finally:
            executor.shutdown()
        assert [r.status for r in results] == ["completed", "completed"]
        assert executor.peak_concurrency == expected
        assert all(r.metrics["worker_peak_rss_bytes"] > 100 * MIB for r in results)
