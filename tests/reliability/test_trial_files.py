"""Items 3 and 4: a full disk loses nothing in memory; missing or corrupt trial files are set aside, by path."""

import errno
import json
import shutil

import keras
import pytest

from autonas.engine import DamagedTrialWarning, Project, ProjectFileError
from autonas.graph import Graph

from .conftest import accuracy, quick_classifier

pytestmark = pytest.mark.slow  # trains networks or starts processes


def _disk_full_after(monkeypatch, good_writes):
    """Make ``Graph.save_weights`` fail with ENOSPC after ``good_writes`` calls."""
    calls = {"n": 0}
    original = Graph.save_weights

    def save_weights(self, path):
        calls["n"] += 1
        if calls["n"] > good_writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, path)

    monkeypatch.setattr(Graph, "save_weights", save_weights)


def test_a_full_disk_stops_the_search_but_keeps_every_trained_trial(tmp_path, small_digits, monkeypatch):
    x, x_test, y, y_test = small_digits
    _disk_full_after(monkeypatch, good_writes=1)
    classifier = quick_classifier(tmp_path, max_trials=4)
    with pytest.warns(RuntimeWarning) as caught:
        classifier.fit(x, y, epochs=3)
    messages = " | ".join(str(w.message) for w in caught)
    assert "cannot write trial 2" in messages and str(tmp_path / "p" / "trials" / "trial_0002") in messages
    assert "No space left on device" in messages
    assert "cannot write the final model" in messages and str(tmp_path / "p" / "final") in messages
    # trial 2 trained and is kept in memory; no trial was started after the disk filled
    assert [r.id for r in classifier.history_] == [1, 2]
    assert all(r.status == "completed" for r in classifier.history_)
    assert accuracy(classifier, x_test, y_test) >= 0.9  # what the trials trained is there in memory
    for trial in (None, 1, 2):
        path = tmp_path / f"elsewhere_{trial}.keras"
        classifier.export_model(trial).save(path)
        assert keras.models.load_model(path).predict(x_test[:3], verbose=0).shape == (3, 10)
    # no half-written folders, and the project resumes once there is room again
    assert not list((tmp_path / "p").rglob(".tmp-*"))
    assert not (tmp_path / "p" / "final").exists()
    monkeypatch.undo()
    resumed = quick_classifier(tmp_path, max_trials=3).fit(x, y, epochs=2)
    assert [r.id for r in resumed.history_] == [1, 2, 3]
    assert (tmp_path / "p" / "final" / "weights.npz").exists()


def _searched(tmp_path, small_digits, trials=3):
    x, _, y, _ = small_digits
    return quick_classifier(tmp_path, max_trials=trials).fit(x, y, epochs=3)


@pytest.fixture(scope="module")
def searched(tmp_path_factory, small_digits):
    """Finished projects of 2 and 3 trials (each test damages its own copy) and their best trials' ids."""
    made = {}
    for trials in (2, 3):
        root = tmp_path_factory.mktemp(f"searched_{trials}")
        made[trials] = (root / "p", _searched(root, small_digits, trials).best_trial_.id)
    return made


def _copy(searched, trials, tmp_path):
    """A copy of the finished project of ``trials`` trials as ``tmp_path / "p"``; returns its best trial's id."""
    source, best = searched[trials]
    shutil.copytree(source, tmp_path / "p")
    return best


def test_a_deleted_weights_file_is_reported_and_its_trial_set_aside(tmp_path, small_digits, searched):
    x, x_test, y, y_test = small_digits
    best = _copy(searched, 3, tmp_path)
    weights = tmp_path / "p" / "trials" / f"trial_{best:04d}" / "weights.npz"
    weights.unlink()
    with pytest.warns(DamagedTrialWarning, match=rf"{weights}.* is missing"):
        resumed = quick_classifier(tmp_path, max_trials=4).fit(x, y, epochs=3)
    ids = [r.id for r in resumed.history_]
    assert best not in ids and len(ids) == 4 and max(ids) == 5  # set aside, its id not reused
    assert (tmp_path / "p" / "damaged" / f"trial_{best:04d}" / "record.json").exists()
    assert resumed.best_trial_.id != best
    assert accuracy(resumed, x_test, y_test) >= 0.9
    with pytest.raises(ValueError, match=f"trial_id {best}"):
        resumed.export_model(best)


@pytest.mark.parametrize("damage", ["truncate record", "flip weights", "delete graph", "garbage checksums"])
def test_a_corrupt_trial_file_is_named_and_the_search_goes_on(tmp_path, small_digits, searched, damage):
    x, _, y, _ = small_digits
    _copy(searched, 2, tmp_path)
    folder = tmp_path / "p" / "trials" / "trial_0001"
    if damage == "truncate record":
        target = folder / "record.json"
        target.write_text(target.read_text()[:40])
    elif damage == "flip weights":
        target = folder / "weights.npz"
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "delete graph":
        target = folder / "graph.json"
        target.unlink()
    else:
        target = folder / "checksums.json"
        target.write_bytes(b"\x00\xff garbage")
    with pytest.warns(DamagedTrialWarning, match=str(target)):
        resumed = quick_classifier(tmp_path, max_trials=3).fit(x, y, epochs=2)
    assert [r.id for r in resumed.history_] == [2, 3, 4]  # the damaged trial does not count
    assert resumed.history_[0].to_dict() == json.loads((tmp_path / "p" / "trials" / "trial_0002" / "record.json").read_text())


def test_load_graph_checks_files_and_names_them(tmp_path, small_digits, searched):
    _copy(searched, 2, tmp_path)
    project = Project(tmp_path / "p")
    assert project.load_graph(1).has_weights
    weights = tmp_path / "p" / "trials" / "trial_0001" / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ProjectFileError, match=str(weights)):
        project.load_graph(1)


def test_a_corrupt_project_json_is_named(tmp_path, small_digits, searched):
    x, _, y, _ = small_digits
    _copy(searched, 2, tmp_path)
    (tmp_path / "p" / "project.json").write_text('{"task": ')
    with pytest.raises(ValueError, match=str(tmp_path / "p" / "project.json")):
        quick_classifier(tmp_path, max_trials=2).fit(x, y, epochs=1)
    assert (tmp_path / "p" / "trials" / "trial_0001" / "weights.npz").exists()


def test_checksums_cover_every_trial_file(tmp_path, small_digits, searched):
    _copy(searched, 2, tmp_path)
    folder = tmp_path / "p" / "trials" / "trial_0001"
    listed = json.loads((folder / "checksums.json").read_text())
    assert sorted(listed) == ["graph.json", "record.json", "weights.npz"]
    assert all(len(digest) == 64 for digest in listed.values())
    assert Graph.load(folder).has_weights
