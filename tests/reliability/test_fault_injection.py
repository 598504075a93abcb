"""Fault injection: kill -9 at random moments (a search in generations of siblings with successive halving), a full disk at random writes, random bytes in trial files.

Every run must end with a search that resumes (no finished trial lost or
repeated, no stray temporary folder) or with an error naming the file.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from autonas.engine import DamagedTrialWarning, Project, ProjectWriteError

from .conftest import quick_classifier

pytestmark = pytest.mark.slow  # trains networks or starts processes

#: Runs killed at a random moment (each kill lands in a different phase: start-up, training, writing).
KILLS = 4


def _records(project_path):
    trials = project_path / "trials"
    return {p.name: (p / "record.json").read_text() for p in sorted(trials.glob("trial_*"))}


def test_kill_9_at_random_points_loses_and_repeats_no_trial(tmp_path, small_digits):
    x, _, y, _ = small_digits
    np.savez(tmp_path / "data.npz", x=x, y=y)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from autonas import AutoImageClassifier
        from autonas.execution import SerialExecutor
        data = np.load({str(tmp_path / "data.npz")!r})
        AutoImageClassifier(max_trials=200, searcher="random", directory={str(tmp_path)!r}, project_name="p",
                            seed=0, verbose=0, executor=SerialExecutor(), generation_children=2,
                            generation_rungs=2).fit(data["x"], data["y"], epochs=2)
        """
    )
    rng = random.Random(0)
    project = tmp_path / "p"
    seen: dict[str, str] = {}
    killed = 0
    for _ in range(KILLS):
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 12.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        now = _records(project) if project.exists() else {}
        for name, text in seen.items():  # nothing finished is lost or changed
            assert now.get(name) == text, name
        seen = now
    assert killed >= KILLS - 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedTrialWarning)
        # seven more trials: whatever the kills left (on a slow machine, not one finished trial), the
        # initial architectures finish and a generation completes its first rung (at most 3) and promotes
        resumed = quick_classifier(tmp_path, max_trials=len(seen) + 7, generation_children=2,
                                   generation_rungs=2).fit(x, y, epochs=2)
    history = resumed.history_
    assert [r.id for r in history] == list(range(1, len(seen) + 8))  # none lost, none repeated
    assert len({r.fingerprint for r in history if r.operations}) == len([r for r in history if r.operations])
    generations = {}  # the search runs in generations: a no-edit sibling, at most two children, promotions
    for record in history[2:]:
        generations.setdefault(record.generation, []).append(record)
    assert list(generations) == sorted(generations)  # one after the other, never interleaved
    for parent, members in generations.items():
        first_rung = [m for m in members if m.rung == 0]
        assert all(m.parent == parent for m in first_rung) and 1 <= len(first_rung) <= 3
        assert sum(not m.operations for m in first_rung) <= 1
        promoted = [m for m in members if m.rung == 1]
        assert all(m.parent in {f.id for f in first_rung} and not m.operations for m in promoted)
        assert len({m.parent for m in promoted}) == len(promoted) <= 1  # one in three, each once
    for (_, members), following in zip(generations.items(), list(generations)[1:]):
        assert following in {m.id for m in members} | {members[0].parent}
    assert any(m.rung == 1 for members in generations.values() for m in members), [
        (r.id, r.parent, r.generation, r.rung) for r in history]
    for record in history[: len(seen)]:
        assert json.loads(seen[f"trial_{record.id:04d}"]) == record.to_dict()
    assert not list(project.rglob(".tmp-*")) and not list(project.glob(".old-final-*"))
    print(f"fault injection: {KILLS} runs, {killed} killed with SIGKILL, {len(seen)} trials finished, 0 lost")


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root only; skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_at_random_writes_never_corrupts_the_project(small_disk, small_digits):
    x, x_test, y, y_test = small_digits
    rng = random.Random(1)
    outcomes = []
    for run in range(3):
        filler = small_disk / "filler"
        free = shutil.disk_usage(small_disk).free
        filler.write_bytes(b"\0" * max(0, free - rng.randint(30_000, 900_000)))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                classifier = quick_classifier(small_disk, max_trials=run + 3).fit(x, y, epochs=2)
            messages = [str(w.message) for w in caught if "cannot write" in str(w.message)]
            assert all(str(small_disk / "p") in m for m in messages)
            assert classifier.score(x_test, y_test) >= 0.9  # a trained model in memory
            outcomes.append("warned" if messages else "fit")
        except ProjectWriteError as error:  # the project itself could not be written: named
            assert str(small_disk / "p") in str(error)
            outcomes.append("error")
        finally:
            filler.unlink()
        assert not list((small_disk / "p").rglob(".tmp-*")), outcomes
        with warnings.catch_warnings():
            warnings.simplefilter("error", DamagedTrialWarning)
            assert all(r.status in ("completed", "failed") for r in Project(small_disk / "p").load_trials())
    assert "warned" in outcomes or "error" in outcomes, outcomes


def test_random_bytes_in_a_trial_file_are_found_and_named(tmp_path, small_digits):
    x, _, y, _ = small_digits
    quick_classifier(tmp_path, max_trials=3).fit(x, y, epochs=2)
    rng = random.Random(2)
    for run in range(3):
        trials = sorted((tmp_path / "p" / "trials").glob("trial_*"))
        target = rng.choice([f for t in trials for f in t.iterdir()])
        data = bytearray(target.read_bytes())
        offset = rng.randrange(len(data))
        data[offset:offset + 8] = bytes(rng.randrange(256) for _ in range(8))
        target.write_bytes(bytes(data))
        with pytest.warns(DamagedTrialWarning, match=str(target)):
            classifier = quick_classifier(tmp_path, max_trials=3).fit(x, y, epochs=2)
        assert len(classifier.history_) == 3
        assert all(r.status == "completed" for r in classifier.history_)
