"""The documentation: the site builds with ``mkdocs build --strict`` (every warning is an error), and
the manual in ``docs/`` refers to the measurements in ``benchmarks/results/`` instead of holding them.

Measurements live in ``benchmarks/results/``, one Markdown page per question beside its JSON,
indexed in ``benchmarks/RESULTS.md``. mkdocs builds only ``docs/``, so the docs name a results page
by its repository path in a code span (``benchmarks/results/final_fit_share.md``), never a link.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains networks or starts processes

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = ROOT / "benchmarks" / "results"
INDEX = ROOT / "benchmarks" / "RESULTS.md"

#: A path to something in benchmarks/results/ as the docs, the README and the index write it.
RESULTS_PATH = re.compile(r"benchmarks/results/([A-Za-z0-9_.\-]*[A-Za-z0-9_\-])")
#: A results page named by its path.
RESULTS_PAGE = re.compile(r"benchmarks/results/[A-Za-z0-9_.\-]+\.md")
#: What makes a docs page bear measured figures: a standard error ("s.e."), a mean ± its error
#: ("0.8951 ± 0.0033"), the date of a measurement ("2026-12-03") or a figure said to be measured
#: somewhere ("measured on 2 CPU cores", "Measured once on the development machine").
FIGURES = re.compile(r"s\.e\.|\d\s*±\s*\d|\b20\d\d-\d\d-\d\d\b|\b[Mm]easured (?:on|once|here|with|by|in)\b")
#: The page on the search is the manual's, not the lab notebook's.
SEARCH_PAGE_MAX_LINES = 250
#: What every results page says (see benchmarks/RESULTS.md).
RESULTS_PAGE_PARTS = ("**Question.**", "**Command", "**Commit:**", "**Machine:**", "**Raw output:**", "## Decision")


def _docs_pages() -> list[Path]:
    return sorted(page for page in DOCS.rglob("*.md") if "_ext" not in page.relative_to(DOCS).parts)


def _results_pages() -> list[Path]:
    return sorted(RESULTS.glob("*.md"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


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
                 "design/index.html", "api/classifier/index.html"):
        assert (site / page).is_file(), f"{page} was not built"
    api = (site / "api" / "classifier" / "index.html").read_text(encoding="utf-8")
    assert "export_model" in api, "the API reference does not document AutoImageClassifier.export_model"


def test_named_results_exist():
    """Every benchmarks/results/... path in the docs, the README and the index names a file there."""
    missing = []
    for page in [*_docs_pages(), ROOT / "README.md", INDEX]:
        text = page.read_text(encoding="utf-8")
        named = set(RESULTS_PATH.findall(text))
        if page == INDEX:  # the index links its pages relative to benchmarks/
            named |= set(re.findall(r"\]\(results/([^)\s]+)\)", text))
        missing += [f"{_name(page)} names benchmarks/results/{name}, which does not exist"
                    for name in sorted(named) if not (RESULTS / name).is_file()]
    assert not missing, "\n".join(missing)


def test_pages_with_figures_name_their_results():
    """A docs page that states measured figures says where the measurement is."""
    silent = []
    for page in _docs_pages():
        text = page.read_text(encoding="utf-8")
        figure = FIGURES.search(text)
        if figure and not RESULTS_PAGE.search(text):
            line = text.count("\n", 0, figure.start()) + 1
            silent.append(f"{_name(page)}:{line} states a measured figure ({figure.group(0)!r}) but names no "
                          "results page (`benchmarks/results/<question>.md`)")
    assert not silent, "\n".join(silent)


def test_search_page_is_short():
    lines = len((DOCS / "search.md").read_text(encoding="utf-8").splitlines())
    assert lines <= SEARCH_PAGE_MAX_LINES, (
        f"docs/search.md has {lines} lines, more than {SEARCH_PAGE_MAX_LINES}: "
        "measurement logs belong in benchmarks/results/, one page per question"
    )


def test_results_are_indexed_and_described():
    """Every results page is in benchmarks/RESULTS.md and says how it was measured; every JSON is named."""
    index = INDEX.read_text(encoding="utf-8")
    pages = {page: page.read_text(encoding="utf-8") for page in _results_pages()}
    problems = [f"benchmarks/results/{page.name} is not indexed in benchmarks/RESULTS.md"
                for page in pages if f"results/{page.name}" not in index]
    for page, text in pages.items():
        problems += [f"benchmarks/results/{page.name} lacks {part!r}" for part in RESULTS_PAGE_PARTS
                     if part not in text]
    everything = "\n".join(pages.values())
    problems += [f"benchmarks/results/{data.name} is named by no results page in benchmarks/results/"
                 for data in sorted(RESULTS.glob("*.json")) if data.name not in everything]
    assert not problems, "\n".join(problems)
