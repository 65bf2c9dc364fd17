"""The shape ARCHITECTURE.md promises: no import cycle, units of a readable size, one name
per concept.

Every import counts, those under ``TYPE_CHECKING`` and inside functions too: a cycle hidden
by a lazy import is still two modules that cannot be read, or changed, one without the
other. The sizes are the bars of issue 14 (a function reads on one screen or two, a class
does one job). Public class names are unique across the package, as griffe requires of its
own (``tests/test_api.py::test_unique_names``), so that a name in a traceback, a docstring
cross-reference or a review names one thing.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "migdocs"

#: The longest function and class, in lines (decorators and docstrings included).
MAX_FUNCTION_LINES = 100
MAX_CLASS_LINES = 450


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, wherever the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return {module for module in found if module in modules and module != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_module_imports_itself_back() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    described = [
        ", ".join(f"{m} → {sorted(graph[m] & set(cycle))}" for m in cycle)
        for cycle in _cycles(graph)
    ]
    assert described == []


def test_the_cycle_finder_finds_a_cycle_and_an_import_inside_a_function(tmp_path: Path) -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    module = tmp_path / "late.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from migdocs import runs\n"
        "def f() -> None:\n    from migdocs.checks import engine\n",
        encoding="utf-8",
    )
    modules = {**_modules(), "migdocs.late": module}
    assert _imports("migdocs.late", module, modules) == {"migdocs.runs", "migdocs.checks.engine"}


def _definitions() -> Iterator[tuple[str, ast.AST, int]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(SRC)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                end = node.end_lineno or node.lineno
                yield f"{where} {node.name}", node, end - first + 1


def test_functions_and_classes_are_of_a_readable_size() -> None:
    too_long = {
        place: lines
        for place, node, lines in _definitions()
        if lines > (MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES)
    }
    assert too_long == {}


def test_public_class_names_are_unique() -> None:
    names = Counter(
        node.name
        for _, node, _ in _definitions()
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_")
    )
    assert [name for name, count in names.items() if count > 1] == []
