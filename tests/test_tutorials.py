"""Every tutorial runs top to bottom in quick mode (AUTONAS_TUTORIAL_QUICK=1), passes its own asserts
(function preserved, files agree with Keras, accuracy reached) and prints its key lines."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains networks or starts processes

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
#: Seconds per script; quick mode aims at 90 s on 2 CPU cores, this leaves room for a loaded machine.
TIMEOUT = 300

CASES = {
    "01_quick_start.py": ["test accuracy:", "round trip: max |difference|", "tutorial 01 done"],
    "02_morph_your_model.py": ["legal operations:", "max |difference| of the outputs", "tutorial 02 done"],
    "03_multi_objective.py": ["Pareto front: trials", "hypervolume of the front", "tutorial 03 done"],
    # Ray is installed wherever the suite runs (make test, .ci/run): its executor must really run
    "04_parallel_and_ray.py": ["LocalExecutor: peak concurrency", "RayExecutor: ran", "tutorial 04 done"],
    "05_resume_and_export.py": ["resumed:", "finished trials kept unchanged", "tutorial 05 done"],
    "06_your_own_images.py": ["held-out accuracy:", "plain Keras on", "autonas predict:", "tutorial 06 done"],
    "07_deploy.py": ["runtime-only process imported: []", "onnxruntime against Keras", "int8 LiteRT", "tutorial 07 done"],
    "08_robust.py": ["plain search: test accuracy", "robust search: test accuracy", "Pareto front", "tutorial 08 done"],
    "09_ask_tell.py": ["resumed: 3 trials on disk", "a child starts at", "tutorial 09 done"],
}


def test_every_tutorial_is_tested():
    assert sorted(p.name for p in TUTORIALS.glob("[0-9][0-9]_*.py")) == sorted(CASES)


@pytest.mark.parametrize("script", sorted(CASES))
def test_tutorial_runs_in_quick_mode(script, tmp_path):
    env = {**os.environ, "AUTONAS_TUTORIAL_QUICK": "1", "AUTONAS_TUTORIAL_DIR": str(tmp_path),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        result = subprocess.run(
            [sys.executable, str(TUTORIALS / script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{script} ran longer than {TIMEOUT} s:\n{error.stdout}\n{error.stderr}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{script} exited with {result.returncode}:\n{output[-6000:]}"
    for line in CASES[script]:
        assert line in result.stdout, f"{script} did not print {line!r}:\n{output[-6000:]}"
