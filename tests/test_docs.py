"""The documentation site builds with ``mkdocs build --strict`` (every warning is an error)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains networks or starts processes

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]'")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    for page in ("index.html", "getting_started/index.html", "objectives/index.html", "faq/index.html",
                 "api/classifier/index.html"):
        assert (site / page).is_file(), f"{page} was not built"
    api = (site / "api" / "classifier" / "index.html").read_text(encoding="utf-8")
    assert "export_model" in api, "the API reference does not document AutoImageClassifier.export_model"
