"""Issue 27: ``overwrite`` empties only autonas's own projects (told by project.json's content), old projects
still resume, and a damaged weights file of an older project (no checksums) is set aside by name. No training."""

import json

import numpy as np
import pytest

from autonas.engine import DamagedTrialWarning, Project, ProjectFileError, ProjectWriteError, TrialRecord
from autonas.engine.loop import SearchBudget, run_search
from autonas.execution import SerialExecutor, TrainingData, TrainingSettings
from autonas.graph import generators

from .conftest import quick_classifier

pytestmark = pytest.mark.slow  # trains networks or starts processes

#: What AutoImageClassifier stores for 8×8 digits (see ``AutoImageClassifier._search``).
DIGITS_CONFIG = {"task": "image_classification", "input_shape": [8, 8, 1], "classes": list(range(10))}

FOREIGN = {
    "an Nx workspace": {"name": "app", "projectType": "application", "sourceRoot": "app/src"},
    "a list": ["app"],
    "another format": {"format": "nx-project", "version": 1},
    "a bad version": {"format": "autonas-project", "version": "1"},
    "extra keys": {**DIGITS_CONFIG, "sourceRoot": "src"},
    "another task": {"task": "build", "input_shape": [8], "classes": []},
}


def _workspace(folder, content):
    """A JavaScript workspace: its own project.json and a source file that must survive."""
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "main.ts").write_text("console.log('hello')")
    (folder / "project.json").write_text(json.dumps(content))
    return folder / "src" / "main.ts"


@pytest.mark.parametrize("content", FOREIGN.values(), ids=FOREIGN.keys())
def test_overwrite_refuses_a_folder_whose_project_json_is_another_programs(tmp_path, small_digits, content):
    x, _, y, _ = small_digits
    sentinel = _workspace(tmp_path / "app", content)
    before = (tmp_path / "app" / "project.json").read_text()
    for overwrite in (True, False):  # emptied or resumed into: both refused
        classifier = quick_classifier(tmp_path, project_name="app", overwrite=overwrite, max_trials=1)
        with pytest.raises(ValueError, match=rf"'{tmp_path / 'app'}' is not an autonas project"):
            classifier.fit(x, y, epochs=1)
    with pytest.raises(ValueError, match="is not an autonas project"):
        Project(tmp_path / "app", overwrite=True)
    assert sentinel.read_text() == "console.log('hello')"
    assert (tmp_path / "app" / "project.json").read_text() == before
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == ["project.json", "src"]


def test_an_unreadable_project_json_is_named_and_nothing_is_deleted(tmp_path):
    sentinel = _workspace(tmp_path / "app", {})
    (tmp_path / "app" / "project.json").write_text('{"name": ')
    with pytest.raises(ProjectFileError, match=str(tmp_path / "app" / "project.json")):
        Project(tmp_path / "app", overwrite=True)
    assert sentinel.exists()


def test_a_new_project_json_carries_the_format_marker_and_the_config(tmp_path):
    project = Project(tmp_path / "p")
    assert json.loads((tmp_path / "p" / "project.json").read_text()) == {"format": "autonas-project", "version": 1}
    project.check_config(DIGITS_CONFIG)
    stored = json.loads((tmp_path / "p" / "project.json").read_text())
    assert stored == {"format": "autonas-project", "version": 1, **DIGITS_CONFIG}
    Project(tmp_path / "p").check_config(DIGITS_CONFIG)  # the same search resumes
    with pytest.raises(ValueError, match="holds a search on other data"):
        Project(tmp_path / "p").check_config({**DIGITS_CONFIG, "classes": [0, 1]})


def test_a_project_of_a_newer_autonas_is_not_resumed(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "project.json").write_text(json.dumps({"format": "autonas-project", "version": 2}))
    with pytest.raises(ValueError, match="newer autonas.*version 2"):
        Project(tmp_path / "p")


def _weighted_graph():
    graph = generators.cnn((8, 8, 1), 10, filters=4, stages=1)
    return graph.update_weights(graph.to_keras())  # Keras's initial weights: no training needed


def _project_with_trials(folder, trials=(1,), checksums=True):
    """A project holding completed trials (untrained weights), as an earlier search left it."""
    project = Project(folder)
    for trial_id in trials:
        graph = _weighted_graph()
        record = TrialRecord(trial_id, None, [], graph.fingerprint(), metrics={"val_accuracy": 0.5})
        project.save_trial(record, graph)
        if not checksums:  # written before checksums existed
            (project.trial_path(trial_id) / "checksums.json").unlink()
    return project


@pytest.mark.parametrize("legacy", [{}, DIGITS_CONFIG], ids=["empty", "plain config"])
def test_a_project_of_an_earlier_autonas_resumes_and_can_be_overwritten(tmp_path, legacy):
    _project_with_trials(tmp_path / "p")
    (tmp_path / "p" / "project.json").write_text(json.dumps(legacy))  # what earlier versions wrote
    resumed = Project(tmp_path / "p")
    resumed.check_config(DIGITS_CONFIG)
    assert [r.id for r in resumed.load_trials()] == [1]
    assert resumed.load_graph(1).has_weights
    if legacy:  # an old search on other data is still told apart
        with pytest.raises(ValueError, match="holds a search on other data"):
            resumed.check_config({**DIGITS_CONFIG, "input_shape": [16, 16, 3]})
    Project(tmp_path / "p", overwrite=True)
    assert not list((tmp_path / "p" / "trials").iterdir())
    assert json.loads((tmp_path / "p" / "project.json").read_text()) == {"format": "autonas-project", "version": 1}


def test_a_classifier_recognises_an_old_style_project(tmp_path, small_digits):
    x, _, y, _ = small_digits
    _project_with_trials(tmp_path / "p")
    (tmp_path / "p" / "project.json").write_text(json.dumps({**DIGITS_CONFIG, "input_shape": [16, 16, 3]}))
    with pytest.raises(ValueError, match="holds a search on other data"):  # resumed as autonas's, not refused
        quick_classifier(tmp_path, max_trials=1).fit(x, y, epochs=1)
    assert (tmp_path / "p" / "trials" / "trial_0001" / "weights.npz").exists()


def test_a_truncated_weights_file_without_checksums_is_named(tmp_path):
    project = _project_with_trials(tmp_path / "p", checksums=False)
    weights = project.trial_path(1) / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ProjectFileError, match=rf"'{weights}' cannot be loaded \(BadZipFile"):
        project.load_graph(1)
    weights.write_bytes(b"")
    with pytest.raises(ProjectFileError, match=str(weights)):
        project.load_graph(1)


class _SilentSearcher:
    """Learns nothing and proposes nothing: the search only resumes."""

    def __init__(self):
        self.told = []

    def tell(self, trial_id, graph, score):
        self.told.append(trial_id)

    def ask(self):
        return None


def test_resuming_sets_aside_a_trial_with_a_truncated_weights_file_and_no_checksums(tmp_path):
    project = _project_with_trials(tmp_path / "p", trials=(1, 2), checksums=False)
    weights = project.trial_path(1) / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-200])
    rng = np.random.default_rng(0)
    data = TrainingData(rng.random((20, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 20),
                        rng.random((10, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 10))
    searcher = _SilentSearcher()
    with pytest.warns(DamagedTrialWarning, match=str(weights)):
        history = run_search(
            project=Project(tmp_path / "p"),
            searcher=searcher,
            data=data,
            initial=[],
            settings=TrainingSettings(max_epochs=1),
            fine_tune_settings=TrainingSettings(max_epochs=1),
            budget=SearchBudget(max_trials=5, deadline=None),
            seed=0,
            executor=SerialExecutor(),
        )
    assert [r.id for r in history] == [2] and searcher.told == ["2"]
    assert (tmp_path / "p" / "damaged" / "trial_0001" / "weights.npz").exists()
    assert not project.trial_path(1).exists()


def test_a_lock_that_cannot_be_written_is_named(tmp_path):
    project = Project(tmp_path / "p")
    (tmp_path / "p" / ".lock").mkdir()  # cannot be opened as a file, even by root
    with pytest.raises(ProjectWriteError, match=rf"cannot write the lock to '{tmp_path / 'p' / '.lock'}'"):
        with project.lock():
            pass
