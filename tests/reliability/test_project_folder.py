"""Items 1 and 2 of the reliability issue: project names stay inside ``directory``, one search per project."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from autonas.cli import main
from autonas.engine import Project, ProjectLockedError

from .conftest import quick_classifier

pytestmark = pytest.mark.slow  # trains networks or starts processes

BAD_NAMES = ["..", ".", "", "../x", "/abs", "a/b", "  ", None, 3]


def _user_files(tmp_path):
    """A user's folders around ``runs/D`` that no project name may touch."""
    files = [
        tmp_path / "runs" / "notes.txt",
        tmp_path / "runs" / "D" / "other_project" / "project.json",
        tmp_path / "runs" / "D" / "data.txt",
        tmp_path / "x" / "keep.txt",
    ]
    for file in files:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("user data")
    return files


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_project_name_that_is_not_one_folder_name_is_refused(tmp_path, small_digits, name, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = _user_files(tmp_path)
    x, _, y, _ = small_digits
    classifier = quick_classifier(tmp_path / "runs" / "D", project_name=name, overwrite=True, max_trials=1)
    with pytest.raises(ValueError, match="project_name must be"):
        classifier.fit(x, y, epochs=1)
    assert all(file.read_text() == "user data" for file in files)
    assert not (tmp_path / "abs").exists() and not (tmp_path / "runs" / "D" / "a").exists()


@pytest.mark.parametrize("name", ["..", ".", "", "../x", "/abs", "a/b"])
def test_the_command_line_refuses_them_too(tmp_path, small_digits, name, capsys):
    files = _user_files(tmp_path)
    x, _, y, _ = small_digits
    np.savez(tmp_path / "d.npz", x=x, y=y)
    code = main(
        ["fit", "--data", str(tmp_path / "d.npz"), "--directory", str(tmp_path / "runs" / "D"), "--project-name", name,
         "--overwrite", "--max-trials", "1", "--workers", "0", "--quiet", "--output", str(tmp_path / "m.keras")]
    )
    assert code == 2
    assert "project_name must be" in capsys.readouterr().err
    assert all(file.read_text() == "user data" for file in files)


def test_overwrite_deletes_only_an_autonas_project(tmp_path, small_digits):
    x, _, y, _ = small_digits
    folder = tmp_path / "photos"
    (folder / "holiday").mkdir(parents=True)
    (folder / "holiday" / "beach.jpg").write_bytes(b"not really a jpeg")
    with pytest.raises(ValueError, match="is not an autonas project"):
        quick_classifier(tmp_path, project_name="photos", overwrite=True, max_trials=1).fit(x, y, epochs=1)
    assert (folder / "holiday" / "beach.jpg").read_bytes() == b"not really a jpeg"
    # an autonas project is emptied and searched afresh
    first = quick_classifier(tmp_path, max_trials=1).fit(x, y, epochs=1)
    (tmp_path / "p" / "trials" / "trial_0001" / "marker").write_text("old")
    again = quick_classifier(tmp_path, max_trials=1, overwrite=True).fit(x, y, epochs=1)
    assert [r.id for r in again.history_] == [r.id for r in first.history_] == [1]
    assert not (tmp_path / "p" / "trials" / "trial_0001" / "marker").exists()


def test_bad_input_with_overwrite_deletes_nothing(tmp_path, small_digits):
    x, _, y, _ = small_digits
    quick_classifier(tmp_path, max_trials=1).fit(x, y, epochs=1)
    with pytest.raises(ValueError, match="len"):
        quick_classifier(tmp_path, max_trials=1, overwrite=True).fit(x, y[:-1], epochs=1)
    assert (tmp_path / "p" / "trials" / "trial_0001" / "weights.npz").exists()


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from autonas.engine import Project
    with Project(sys.argv[1]).lock():
        print("locked", flush=True)
        time.sleep(120)
    """
)


def test_a_second_search_on_a_locked_project_fails_at_once_naming_the_holder(tmp_path, small_digits):
    x, _, y, _ = small_digits
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / "p")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ProjectLockedError, match=rf"{tmp_path / 'p'}.*pid {holder.pid} on host"):
            quick_classifier(tmp_path, max_trials=1).fit(x, y, epochs=1)
        assert not list((tmp_path / "p" / "trials").iterdir())  # refused before any training
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: its lock is taken over, with a warning
    with pytest.warns(RuntimeWarning, match=f"taking over the lock .* pid {holder.pid}"):
        classifier = quick_classifier(tmp_path, max_trials=1).fit(x, y, epochs=1)
    assert [r.status for r in classifier.history_] == ["completed"]


def test_the_lock_is_released_after_fit(tmp_path, small_digits):
    x, _, y, _ = small_digits
    quick_classifier(tmp_path, max_trials=1).fit(x, y, epochs=1)
    with Project(tmp_path / "p").lock():
        pass  # free again
    assert (tmp_path / "p" / ".lock").read_text() == ""
    assert json.loads((tmp_path / "p" / "project.json").read_text())["task"] == "image_classification"
