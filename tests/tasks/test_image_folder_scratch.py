"""Issue 27: no ``.autonas-images-*`` folder (a folder's images decoded for a search) outlives its search:
removed on SIGTERM, and those of processes that died are removed at the next start."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from autonas.tasks.prepare import prepare_folder
from tests.tasks._image_folder import make_image_folder

pytestmark = pytest.mark.slow  # trains networks or starts processes


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    make_image_folder(root, per_class=6, corrupt=False)
    return root


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _prepare(photos, parent):
    return prepare_folder(photos, None, 0.25, None, 0, parent, (8, 8))


def test_scratch_folders_of_dead_processes_are_removed_at_the_next_start(photos, tmp_path):
    first = _prepare(photos, tmp_path)
    name = first.scratch.name
    assert name.startswith(".autonas-images-") and f"-{os.getpid()}-" in name  # the owner's pid is in its name
    prefix = name[: name.index(f"-{os.getpid()}-") + 1]  # .autonas-images-<host>-
    shutil.rmtree(first.scratch)
    dead = _dead_pid()
    stale = tmp_path / f"{prefix}{dead}-abc"
    kept = [
        tmp_path / f"{prefix}{os.getpid()}-own",  # this process's: a search still running here
        tmp_path / f"{prefix}{os.getppid()}-live",  # a live process's
        tmp_path / f".autonas-images-otherhost-{dead}-far",  # another machine's, on a shared disk
        tmp_path / ".autonas-images-abc123",  # no pid: whose it is cannot be told
    ]
    for folder in (stale, *kept):
        folder.mkdir()
        (folder / "x_train.npy").write_bytes(b"data")
    second = _prepare(photos, tmp_path)
    try:
        assert not stale.exists()
        assert all((folder / "x_train.npy").read_bytes() == b"data" for folder in kept)
        assert second.scratch.exists() and f"-{os.getpid()}-" in second.scratch.name
    finally:
        shutil.rmtree(second.scratch)


_FIT_THEN_SIGTERM = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path

    import autonas.tasks.image as image
    from autonas import AutoImageClassifier
    from autonas.execution import SerialExecutor

    directory = Path(sys.argv[2])
    real_final_fit = image.final_fit

    def final_fit(*args, **kwargs):  # SIGTERM as the final fit starts
        print("scratch:", sorted(p.name for p in directory.glob(".autonas-images-*")), flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        return real_final_fit(*args, **kwargs)

    image.final_fit = final_fit
    AutoImageClassifier(directory=directory, max_trials=1, seed=0, verbose=0, image_size=8,
                        searcher="random", executor=SerialExecutor()).fit(sys.argv[1], epochs=1)
    print("fit returned", flush=True)
    """
)


def test_sigterm_during_the_final_fit_removes_the_images_read_from_a_folder(photos, tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", _FIT_THEN_SIGTERM, str(photos), str(tmp_path)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert run.returncode == 128 + signal.SIGTERM, run.stderr
    assert "scratch: ['.autonas-images-" in run.stdout and "fit returned" not in run.stdout
    assert not list(tmp_path.glob(".autonas-images-*"))
    assert (tmp_path / "image_classifier" / ".lock").read_text() == ""  # the project's lock was released
