"""Rules of the suite itself: under CI a skip for a missing install fails; wall-clock asserts run alone; test
processes share the cores."""

import ast
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent

_SKIPS = '''
import pytest

def test_missing_package():
    pytest.importorskip("a_package_nobody_installed")

def test_missing_data():
    pytest.skip("dataset-fashion-mnist is not installed")

def test_backend_without_the_feature():
    pytest.skip("PyTorch's trainer runs the step eagerly: nothing is traced")
'''


@pytest.mark.parametrize("ci", ["true", ""])
def test_under_ci_a_skip_for_a_missing_install_fails_and_other_skips_stay_skips(pytester, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.makepyfile(test_skips=_SKIPS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:xdist")
    if ci:
        result.assert_outcomes(failed=2, skipped=1)
        result.stdout.fnmatch_lines(["*CI=true and this test was skipped for a missing install*must install it*"])
    else:
        result.assert_outcomes(skipped=3)


def _timed_asserts(path: Path) -> list[int]:
    """Lines of ``path`` that assert on a clock reading (``time.monotonic()``, ``time.time()``,
    ``perf_counter()``, or a name bound to one) in tests not marked ``timing``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_timing = "pytest.mark.timing" in ast.unparse(tree.body[0]) if tree.body else False
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
            continue
        if module_timing or any("timing" in ast.unparse(d) for d in node.decorator_list):
            continue
        elapsed = set()  # names bound to a time span: elapsed = time.monotonic() - start
        for inner in ast.walk(node):
            if isinstance(inner, ast.Assign) and _measures_a_span(inner.value, set()):
                elapsed |= {target.id for target in inner.targets if isinstance(target, ast.Name)}
        lines += [inner.lineno for inner in ast.walk(node)
                  if isinstance(inner, ast.Assert) and _measures_a_span(inner.test, elapsed)]
    return lines


#: Clock readings, as they appear in source.
CLOCKS = ("monotonic()", "time.time()", "perf_counter()")


def _measures_a_span(node: ast.AST, elapsed: set[str]) -> bool:
    """Whether ``node`` holds a subtraction with a clock reading in it, or a name bound to one."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id in elapsed:
            return True
        if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Sub):
            if any(clock in ast.unparse(inner) for clock in CLOCKS):
                return True
    return False


def test_wall_clock_asserts_are_only_in_tests_marked_timing():
    """Beside other test processes on 2 cores a wall-clock bound is a coin toss: such asserts run alone."""
    offenders = {
        str(path.relative_to(TESTS)): lines
        for path in sorted(TESTS.rglob("test_*.py"))
        if (lines := _timed_asserts(path))
    }
    assert not offenders, f"assert on a clock reading outside a test marked timing: {offenders}"


def test_each_test_process_gets_its_share_of_the_cores_unless_the_user_set_the_threads(monkeypatch):
    from tests import conftest

    for name in conftest._THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(conftest.os, "cpu_count", lambda: 4)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    conftest._share_the_cores_between_test_processes()
    assert not any(name in conftest.os.environ for name in conftest._THREAD_VARIABLES)  # one process: all cores
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")  # the user's own setting wins
    conftest._share_the_cores_between_test_processes()
    assert {name: conftest.os.environ[name] for name in conftest._THREAD_VARIABLES} == {
        "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "3", "TF_NUM_INTRAOP_THREADS": "2"}
