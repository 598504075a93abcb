"""The package's shape: no import circle (lazy imports included), keras-tuner only in the integrations,
small modules and functions, benchmarks that vary the library through its arguments."""

import ast
import re
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "autonas"
BENCHMARKS = PACKAGE.parent / "benchmarks"
#: A line setting an attribute of a class: ``grep -nE '^\s*[A-Z]\w*\.\w+\s*=' benchmarks/*.py``.
CLASS_ATTRIBUTE = re.compile(r"^\s*([A-Z]\w*)\.\w+\s*=(?!=)")


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST):
    """Every import statement, at any depth (functions too), except those only for type checkers."""
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking_block(node):
            yield from (child for orelse in node.orelse for child in _imports_of(orelse))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def _import_graph() -> tuple[nx.DiGraph, dict[str, set[str]]]:
    """Module -> autonas modules it imports; and module -> every top-level package it imports."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph, packages = nx.DiGraph(), {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        packages[module] = set()
        for node in _imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                packages[module].add(target.split(".")[0])
                resolved = known(target)
                if resolved is not None and resolved != module:
                    graph.add_edge(module, resolved)
    return graph, packages


def test_no_module_imports_back_a_module_that_imports_it():
    graph, _ = _import_graph()
    assert graph.number_of_nodes() > 40  # the package was read
    assert list(nx.simple_cycles(graph)) == []


def test_keras_tuner_is_imported_only_by_the_integrations():
    _, packages = _import_graph()
    importers = sorted(module for module, used in packages.items() if "keras_tuner" in used)
    assert importers and all(module.startswith("autonas.integrations") for module in importers), importers


#: Most lines of code a function may have (its docstring not counted).
MAX_FUNCTION_LINES = 60
#: Most lines a module may have; the exceptions are named with theirs.
MAX_MODULE_LINES = 450
MODULE_LIMITS = {
    "autonas.engine.project": 750,  # the project's store: trial files, checksums, lock, resume
    "autonas.execution.runner": 350,
}
PACKAGE_LIMITS = {"autonas.backend": 350}


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of ``node`` without its docstring."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
            and isinstance(first.value.value, str):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_no_function_is_longer_than_60_lines_of_code():
    long = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > MAX_FUNCTION_LINES:
                long.append(f"{module}.{node.name}: {_code_lines(node)} lines of code")
    assert long == []


def test_modules_stay_small_enough_to_read():
    """At most 450 lines (the project's store is the one larger module); the runner and each backend module 350."""
    large = []
    for module, path in _modules().items():
        limit = MODULE_LIMITS.get(module, MAX_MODULE_LINES)
        limit = next((v for package, v in PACKAGE_LIMITS.items() if module.startswith(package)), limit)
        lines = len(path.read_text().splitlines())
        if lines > limit:
            large.append(f"{module}: {lines} lines > {limit}")
    assert large == []


def _names_from_autonas(tree: ast.AST) -> set[str]:
    """The names a module binds to something it imports from autonas, at any depth."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "autonas" and not node.level:
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name.split(".")[0] == "autonas"
            )
    return names


def _patches(tree: ast.AST, library: set[str]):
    """``(line, text)`` of each assignment to an attribute of a library class (``Class.attribute = ...``,
    ``setattr(Class, ...)``) or of a class in a library module (``module.Class = ...``)."""
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and node.args:
            targets = [ast.Attribute(value=node.args[0], attr="?")]
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in library:
                if target.value.id[:1].isupper() or target.attr[:1].isupper():
                    yield node.lineno, ast.unparse(node).splitlines()[0]


def test_no_benchmark_sets_an_attribute_of_a_library_class():
    """Benchmarks vary the library by the arguments it takes (a Recipe, limits), never by setting class
    attributes: a setting made that way is invisible where the search is described and leaks into what runs next."""
    found = []
    for path in sorted(BENCHMARKS.glob("*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        library = _names_from_autonas(tree)
        for number, line in enumerate(text.splitlines(), 1):
            match = CLASS_ATTRIBUTE.match(line)
            if match and match.group(1) in library:
                found.append(f"{path.name}:{number}: {line.strip()}")
        found += [f"{path.name}:{number}: {text}" for number, text in _patches(tree, library)]
    assert len(list(BENCHMARKS.glob("*.py"))) > 10  # the benchmarks were read
    assert found == []
