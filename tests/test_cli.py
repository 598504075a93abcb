"""The command line: ``autonas fit`` on an .npz file, and its errors."""

import os

import keras
import numpy as np

import pytest

from autonas.cli import main
from autonas.datasets import load_digits

pytestmark = pytest.mark.slow  # trains networks or starts processes


def test_fit_writes_a_loadable_model(tmp_path, capsys):
    x_train, _, y_train, _ = load_digits()
    data = tmp_path / "digits.npz"
    np.savez(data, x=x_train[:300], y=y_train[:300])
    output = tmp_path / "out" / "best.keras"
    code = main(
        ["fit", "--data", str(data), "--max-trials", "1", "--time-limit", "120", "--output", str(output),
         "--directory", str(tmp_path / "projects"), "--searcher", "random", "--quiet", "--workers", "0"]
    )  # --workers 0: in this process
    assert code == 0
    assert (tmp_path / "projects" / "digits" / "trials" / "trial_0001" / "record.json").exists()
    model = keras.models.load_model(output)
    assert model.predict(x_train[:5], verbose=0).shape == (5, 10)
    assert "exported model" in capsys.readouterr().out


def test_fit_reports_bad_data_clearly(tmp_path, capsys):
    data = tmp_path / "bad.npz"
    np.savez(data, images=np.zeros((4, 8, 8)))
    assert main(["fit", "--data", str(data)]) == 2
    assert "must hold arrays x and y" in capsys.readouterr().err
    np.savez(data, x=np.zeros((4, 8, 8)), y=np.zeros(4))
    assert main(["fit", "--data", str(data), "--directory", str(tmp_path)]) == 2
    assert "at least 2 classes" in capsys.readouterr().err
    assert main(["fit", "--data", str(tmp_path / "missing.npz")]) == 2


def test_fit_with_two_local_workers_prints_progress_lines_only(tmp_path):
    """The terminal shows autonas's lines; the workers' output (TensorFlow's C++ logging) goes to the project."""
    import json
    import subprocess
    import sys

    x_train, _, y_train, _ = load_digits()
    data = tmp_path / "digits.npz"
    np.savez(data, x=x_train[:300], y=y_train[:300])
    command = [sys.executable, "-m", "autonas", "fit", "--data", str(data), "--max-trials", "2", "--time-limit", "300",
               "--output", str(tmp_path / "m.keras"), "--directory", str(tmp_path / "projects"), "--searcher", "random",
               "--workers", "2"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    printed = (run.stdout + run.stderr).splitlines()
    native = [line for line in printed if any(word in line for word in ("absl", "oneDNN", "cuInit", "cuda", "I0000", "E0000"))]
    assert not native, native
    assert sum(line.startswith(("trial 1/2 ", "trial 2/2 ")) for line in printed) == 2
    project = tmp_path / "projects" / "digits"
    records = sorted((project / "trials").glob("trial_*/record.json"))
    assert len(records) == 2
    for record in records:
        log = json.loads(record.read_text())["metrics"]["worker_log"]
        assert log.startswith(str(project / "logs")) and os.path.exists(log)


def test_executor_options_are_checked(tmp_path, capsys):
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((4, 8, 8)), y=np.arange(4) % 2)
    assert main(["fit", "--data", str(data), "--workers", "-1"]) == 2
    assert "--workers must be 0 (in this process) or a positive int" in capsys.readouterr().err
    assert main(["fit", "--data", str(data), "--workers", "2", "--ray-address", "local"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["fit", "--data", str(data), "--generation-rungs", "2"]) == 2
    assert "generation_rungs=2 needs generations" in capsys.readouterr().err


def test_the_searcher_choices_are_the_library_s_searchers(tmp_path, capsys, monkeypatch):
    """--searcher offers what autonas.search.SEARCHERS holds: one list, not a copy of its names."""
    from autonas.search import SEARCHERS, RandomSearcher

    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--data", str(tmp_path / "d.npz"), "--searcher", "grid"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --searcher: invalid choice: 'grid'" in err
    assert f"choose from {', '.join(repr(name) for name in SEARCHERS)}" in err
    monkeypatch.setitem(SEARCHERS, "another", RandomSearcher)
    assert main(["fit", "--data", str(tmp_path / "missing.npz"), "--searcher", "another"]) == 2
    assert "does not exist" in capsys.readouterr().err  # past the option: the data is what is missing


@pytest.mark.parametrize("command", ["demo", "fit"])
@pytest.mark.parametrize("limit", ["-5", "0", "nan", "inf", "soon"])
def test_a_bad_time_limit_is_refused_with_a_usage_line_not_a_traceback(command, limit, tmp_path, capsys):
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((4, 8, 8)), y=np.arange(4) % 2)
    options = ["--data", str(data)] if command == "fit" else []
    with pytest.raises(SystemExit) as exit_:
        main([command, *options, "--time-limit", limit, "--directory", str(tmp_path / "projects")])
    assert exit_.value.code == 2
    assert f"argument --time-limit: expected a finite number of seconds > 0, got '{limit}'" in capsys.readouterr().err
    assert not (tmp_path / "projects").exists()  # refused before any project folder


def test_demo_refuses_what_fit_refuses_with_the_same_clean_line(tmp_path, capsys):
    """The classifier's own refusals (here: a project in use by another fit) read `autonas demo: ...`."""
    from autonas.engine import Project

    with Project(tmp_path / "digits_demo").lock():
        assert main(["demo", "--directory", str(tmp_path), "--time-limit", "5"]) == 2
    assert "autonas demo:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "--max-trials", "0", "--directory", str(tmp_path)])
    assert "argument --max-trials: expected an int >= 1, got '0'" in capsys.readouterr().err


def test_fit_on_a_directory_that_cannot_be_written_says_so(tmp_path, capsys):
    """A --directory that cannot be created or written is named in one line, not a traceback, before training."""
    x_train, _, y_train, _ = load_digits()
    data = tmp_path / "digits.npz"
    np.savez(data, x=x_train[:100], y=y_train[:100])
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be: no project can be written under it, even by root")
    code = main(
        ["fit", "--data", str(data), "--directory", str(blocker / "projects"), "--max-trials", "1", "--quiet",
         "--workers", "0", "--output", str(tmp_path / "m.keras")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("autonas fit: cannot write the project folder to ") and str(blocker / "projects") in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.keras").exists()


def _zip(path, entries):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def _tiny_model_file(path):
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.save(path)
    return path


def test_predict_names_a_model_file_keras_cannot_read(tmp_path, capsys):
    images = tmp_path / "x.npz"
    np.savez(images, x=np.zeros((2, 8, 8, 1), np.float32))
    models = {
        "not keras": _zip(tmp_path / "a.keras", {"readme.txt": "a zip of something else"}),
        "broken config": _zip(tmp_path / "b.keras", {"config.json": '{"class_name": ', "metadata.json": "{}"}),
        "broken metadata": _zip(tmp_path / "c.keras", {"config.json": "{}", "metadata.json": "{bad"}),
    }
    import zipfile

    broken_info = _tiny_model_file(tmp_path / "d.keras")
    with zipfile.ZipFile(broken_info, "a") as archive:
        archive.writestr("autonas.json", '{"classes": [')
    models["broken class names"] = broken_info
    for what, model in models.items():
        code = main(["predict", "--model", str(model), "--data", str(images), "--output", str(tmp_path / "p.csv")])
        err = capsys.readouterr().err
        assert code == 2, what
        assert err.startswith(f"autonas predict: --model {str(model)!r}"), (what, err)
        assert "Traceback" not in err, what
    assert not (tmp_path / "p.csv").exists()
