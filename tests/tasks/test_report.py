"""The HTML report of a search: every trial in the leaderboard, plots that render in a real headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from autonas import AutoImageClassifier
from autonas.cli import main
from autonas.execution import SerialExecutor

pytestmark = pytest.mark.slow  # trains networks or starts processes

BROWSERS = ("chromium", "chromium-headless-shell", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def fitted(digits, tmp_path_factory):
    x_train, _, y_train, _ = digits
    directory = tmp_path_factory.mktemp("projects")
    classifier = AutoImageClassifier(max_trials=4, executor=SerialExecutor(), directory=directory, seed=0, verbose=0,
                                     tensorboard=False)
    return classifier.fit(x_train[:400], y_train[:400], epochs=2)


def test_the_report_lists_every_trial_and_inlines_its_plots(fitted, tmp_path):
    page = fitted.report(tmp_path / "report.html").read_text()
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td>", page)
    assert sorted(int(trial) for _, trial in rows) == sorted(r.id for r in fitted.history_)
    assert [int(rank) for rank, _ in rows] == list(range(1, len(fitted.history_) + 1))
    assert rows[0][1] == str(fitted.best_trial_.id)  # ranked as the classifier chose
    assert page.count("src='data:image/png;base64,") == 4  # progress, Pareto front, tree, architecture
    assert "http://" not in page and "https://" not in page  # self-contained


def test_autonas_report_writes_the_page_from_the_project_folder(fitted, tmp_path, capsys):
    assert main(["report", str(fitted.project_path_), "--output", str(tmp_path / "r.html")]) == 0
    assert "<table id='leaderboard'>" in (tmp_path / "r.html").read_text()
    assert main(["report", str(tmp_path)]) == 2
    assert "not an autonas project folder" in capsys.readouterr().err


def test_the_report_opens_in_headless_chromium_without_console_errors(fitted, tmp_path):
    browser = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if browser is None:
        pytest.skip("no headless Chromium (Debian: apt-get install chromium-headless-shell); .ci/run installs it")
    page = fitted.report(tmp_path / "report.html")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=5000"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-3000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console  # no script errors, no failed loads reported by the page
    assert 'data-images-rendered="4/4"' in dom.stdout  # every plot decoded to an image with a width
    assert len(re.findall(r"<tr><td>\d+</td>", dom.stdout)) == len(fitted.history_)
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000  # a page of tables and plots, not a blank one
    print(f"screenshot: {shot}")
