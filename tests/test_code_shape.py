"""The package's shape rules (#16), read from the source with `ast`: no module over 350 lines
and no function over 60 unless the allow-list below says why, and no import cycle between
moralbench's own modules at import time."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "moralbench"
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60

#: "path relative to moralbench/" or "path::function" -> why it may be longer
ALLOWED_LONG: dict[str, str] = {}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def python_files(root: Path = PACKAGE) -> list[Path]:
    return sorted(root.rglob("*.py"))


def functions(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """(name, lines from `def` to its last line) for every function, nested ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, (node.end_lineno or node.lineno) - node.lineno + 1


def oversized(root: Path = PACKAGE) -> dict[str, int]:
    """Everything over the limits, keyed as in `ALLOWED_LONG`, with its length in lines."""
    found = {}
    for path in python_files(root):
        source = path.read_text(encoding="utf-8")
        key = path.relative_to(root).as_posix()
        if len(source.splitlines()) > MAX_MODULE_LINES:
            found[key] = len(source.splitlines())
        for name, length in functions(ast.parse(source, filename=str(path))):
            if length > MAX_FUNCTION_LINES:
                found[f"{key}::{name}"] = length
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_time_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported: not those inside a function
    (deferred until called) or under `if TYPE_CHECKING:` (never run)."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))


def _targets(
    node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]
) -> set[str]:
    """The package's modules an import statement needs: the module named, each submodule
    named in `from X import y`, and the packages above them that the importer is not in;
    also a package above the importer that `from` reads a name (not a submodule) out of, as
    that name is only there once the package's `__init__` has run."""
    reads_parent = set()
    if isinstance(node, ast.Import):
        named = {alias.name for alias in node.names}
    else:
        base = node.module or ""
        if node.level:
            package = importer if is_package else importer.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        named = {base} | {f"{base}.{alias.name}" for alias in node.names}
        if any(f"{base}.{alias.name}" not in known for alias in node.names):
            reads_parent = {base} & known
    loaded = set(reads_parent)
    for name in named:
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            ancestor = ".".join(parts[:depth])
            inside = importer == ancestor or importer.startswith(ancestor + ".")
            if ancestor in known and not inside:
                loaded.add(ancestor)
    return loaded


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    paths = {module_name(path, root): path for path in python_files(root)}
    known = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[name] = set()
        for node in import_time_imports(tree):
            graph[name] |= _targets(node, name, is_package, known) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None when the graph is acyclic (depth-first search)."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_module_or_function_over_the_limits_without_a_reason() -> None:
    unexplained = {k: n for k, n in oversized().items() if k not in ALLOWED_LONG}
    assert not unexplained, (
        f"over {MAX_MODULE_LINES} lines a module / {MAX_FUNCTION_LINES} a function "
        f"(split it, or add it to ALLOWED_LONG with the reason): {unexplained}"
    )


def test_allow_list_names_only_what_is_still_too_long() -> None:
    stale = set(ALLOWED_LONG) - set(oversized())
    assert not stale, f"within the limits now; remove from ALLOWED_LONG: {sorted(stale)}"
    assert all(reason.strip() for reason in ALLOWED_LONG.values())


def test_no_import_cycle_between_the_packages_modules() -> None:
    graph = import_graph()
    assert "moralbench.runner" in graph["moralbench"]  # the graph sees relative imports
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("from .sub import b\n\ndef f():\n" + "    x = 1\n" * 60)
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import C\n"
        "def g():\n    from .. import a\n"
    )
    (pkg / "c.py").write_text("from .sub.b import g\n")
    assert oversized(pkg) == {"a.py::f": 61}
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"}
    assert graph["pkg.sub.b"] == set()  # deferred and type-checking imports do not count
    assert find_cycle(graph) is None
    (pkg / "sub" / "b.py").write_text("from .. import a\n")
    assert find_cycle(import_graph(pkg)) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    (pkg / "sub" / "b.py").write_text("from .. import f\n")  # a name set by pkg/__init__
    assert find_cycle(import_graph(pkg)) == ["pkg", "pkg.a", "pkg.sub.b", "pkg"]
