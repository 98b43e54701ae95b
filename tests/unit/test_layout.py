"""Every service is laid out alike: one package per area of the product, the same roles in files
of the same names, and imports with no cycle between modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
# The roles an area's modules play; a few areas have a module named for the product's own word.
ROLES = {"__init__", "routes", "handlers", "usecases", "store", "models", "rules"}
PRODUCT_WORDS = {"plans"}  # search/plans.py: which index serves a filter and sort
# What the whole service shares sits at the top of its package.
TOP = {"__init__", "settings", "keys", "errors", "http", "inbox", "publishing"}


def _packages() -> list[Path]:
    return sorted(p for p in SERVICES.glob("*/chalicelib/*") if p.is_dir())


def _areas(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*") if p.is_dir() and p.name != "__pycache__")


@pytest.mark.parametrize("package", _packages(), ids=lambda p: p.name)
def test_each_area_holds_only_its_roles(package: Path) -> None:
    for module in package.glob("*.py"):
        assert module.stem in TOP, f"{module}: top-level modules are shared by every area"
    for area in _areas(package):
        assert (area / "__init__.py").exists(), f"{area} is a package"
        for module in area.glob("*.py"):
            assert module.stem in ROLES | PRODUCT_WORDS, f"{module}: not one of the roles"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", _packages(), ids=lambda p: p.name)
def test_imports_have_no_cycle(package: Path) -> None:
    root = package.parent.parent  # services/<svc>: where `chalicelib` is importable from
    modules = {_module_name(p, root): p for p in package.rglob("*.py")}
    graph = {
        name: {m for m in _imports(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }
    # Importing a module runs its package's __init__ first; those are docstrings only here.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
