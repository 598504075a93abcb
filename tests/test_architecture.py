"""The package's shape: no import circle (lazy imports included), keras-tuner only in the integrations."""

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "autonas"


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


def test_no_function_is_longer_than_80_lines():
    long = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 80:
                long.append(f"{module}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert long == []
