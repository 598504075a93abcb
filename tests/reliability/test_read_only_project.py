"""A read-only view of a project (reports, tools): checksums verified, nothing on disk created, moved or written."""

import hashlib

import pytest

from autonas.engine import DamagedTrialWarning, Project, ProjectFileError, TrialRecord
from autonas.graph import generators
from autonas.tasks.report import read_trials

pytestmark = pytest.mark.slow  # builds Keras models for their weights


def _tree(folder):
    """Every path under ``folder`` with a digest of its bytes (None for folders)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def project_with_a_damaged_trial(tmp_path):
    project = Project(tmp_path / "p")
    for trial_id in (1, 2):
        graph = generators.mlp((8, 8, 1), 3, hidden_units=(4 * trial_id,))
        graph = graph.update_weights(graph.to_keras())
        project.save_trial(TrialRecord(trial_id, None, [], graph.fingerprint(), {"val_accuracy": 0.5}), graph)
    record = project.trial_path(2) / "record.json"
    record.write_text(record.read_text().replace("0.5", "0.9"))  # altered after it was written
    return project.path


def test_a_read_only_view_verifies_trials_and_leaves_every_file_where_it_was(project_with_a_damaged_trial):
    path = project_with_a_damaged_trial
    before = _tree(path)
    view = Project.open_read_only(path)
    with pytest.warns(DamagedTrialWarning, match=r"trial_0002 left out .*read-only.*record.json"):
        records = view.load_trials()
    assert [r.id for r in records] == [1]
    assert view.load_graph(1).has_weights and not view.load_graph(1, weights=False).has_weights
    with pytest.warns(DamagedTrialWarning):
        assert [r.id for r in read_trials(path)] == [1]  # the report reads through the same view
    assert _tree(path) == before  # nothing moved to damaged/, no lock file, nothing written


def test_a_read_only_view_refuses_every_write_naming_the_project(project_with_a_damaged_trial):
    view = Project.open_read_only(project_with_a_damaged_trial)
    graph = generators.mlp((8, 8, 1), 3)
    attempts = {
        "be locked": lambda: view.lock().__enter__(),
        "save a trial": lambda: view.save_trial(TrialRecord(3, None, [], graph.fingerprint(), status="failed"), graph),
        "save the final model": lambda: view.save_final(graph, {}),
        "be cleared": view.clear,
    }
    for what, attempt in attempts.items():
        with pytest.raises(PermissionError, match=f"opened read-only: it cannot {what}"):
            attempt()


def test_a_folder_that_is_no_project_is_refused_and_left_alone(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "project.json").write_text('{"name": "a JavaScript workspace"}')
    for folder in (tmp_path / "missing", tmp_path / "app"):
        with pytest.raises(ValueError, match="not an autonas project"):
            Project.open_read_only(folder)
    assert not (tmp_path / "missing").exists() and sorted(p.name for p in (tmp_path / "app").iterdir()) == ["project.json"]


def test_the_final_model_is_read_only_once_its_files_match_their_checksums(tmp_path):
    """The check a search makes of its trials, made of the final model too (``autonas export`` reads it)."""
    from autonas.tasks.deployment import export_project

    project = Project(tmp_path / "p")
    assert project.load_final_info() is None  # no final model yet
    graph = generators.mlp((8, 8, 1), 3, hidden_units=(4,))
    graph = graph.update_weights(graph.to_keras())
    project.save_final(graph, {"classes": [0, 1]})
    project.save_final(graph, {"classes": [0, 1, 2]})  # replaces the first, leaving nothing aside
    assert sorted(p.name for p in project.path.iterdir()) == ["final", "project.json", "trials"]
    view = Project.open_read_only(project.path)
    assert view.load_final_info() == {"classes": [0, 1, 2]}
    weights = view.final_path / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-1])
    with pytest.raises(ProjectFileError, match=r"final/weights.npz.*does not match its checksum"):
        view.load_final_info()
    with pytest.raises(ProjectFileError, match=r"final/weights.npz"):  # refused before any conversion
        export_project(project.path, tmp_path / "m.keras", "keras")
    assert not (tmp_path / "m.keras").exists()
