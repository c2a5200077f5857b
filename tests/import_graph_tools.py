"""Helpers of the structure tests: which of the package's modules import which.

Not a test module. Imports are read from the source (:mod:`ast`), anywhere in a module
(functions included), and named by the package's module they reach.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "autograder"


def module_name(path: Path) -> str:
    """The dotted name of the package's module at ``path`` (a package by its ``__init__``)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_paths() -> list[Path]:
    """Every source file of the package."""
    return [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts]


@functools.cache
def package_modules() -> frozenset[str]:
    """The dotted names of every module of the package."""
    return frozenset(module_name(p) for p in source_paths())


def imports(path: Path, modules: set[str] | frozenset[str] | None = None) -> set[str]:
    """The package's modules ``path`` imports, anywhere in it (functions included).

    ``modules`` are the names an import may reach (default: the whole package's).
    """
    if modules is None:
        modules = package_modules()
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            stem = node.module or ""
            root = (base + "." + stem).strip(".") if node.level else stem
            targets = [root] + [f"{root}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            # `from . import x` names a module; `from .m import f` names m.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(paths: list[Path] | None = None) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, for ``paths`` (default: every module)."""
    return {module_name(p): imports(p) for p in (source_paths() if paths is None else paths)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out
