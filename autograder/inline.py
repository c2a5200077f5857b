"""Pasting the self-check modules into a notebook's setup cells, for the student release.

In the instructor's source notebook a setup cell may do nothing but import from
:mod:`autograder.selfcheck` (comments aside)::

    from autograder.selfcheck.mlp import check

Students do not have the course's package, so the release replaces such a cell with the code
of the modules it imports, and of the modules those import from, dependencies first; a module
pasted into an earlier cell of the same notebook is not pasted again. Each module keeps its
code as written; its docstring becomes a comment and its imports from the package itself
(``from .core import ...``) are dropped, because the code they name is pasted above.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from dataclasses import dataclass

__all__ = [
    "PACKAGE",
    "InlineError",
    "imports_of",
    "inline_cell",
    "module_code",
    "selfcheck_imports",
]

#: The package whose modules are pasted into student notebooks.
PACKAGE = "autograder.selfcheck"
#: What pasted code may import: numpy and the standard library (students have numpy and
#: matplotlib only).
_ALLOWED_TOP_MODULES = frozenset({"numpy"}) | frozenset(sys.stdlib_module_names)

_HEADER = (
    "# The code of autograder/selfcheck/{files} (in the course's repository), pasted in by\n"
    "# the release so that this notebook needs only numpy. Run this cell; you need not read\n"
    "# it (it holds no answer to a graded part).\n"
)


class InlineError(ValueError):
    """A setup cell that cannot be turned into self-contained code; the message says why."""


@dataclass(frozen=True)
class _Module:
    name: str
    source: str
    tree: ast.Module

    @property
    def file(self) -> str:
        return self.name.rsplit(".", 1)[-1] + ".py"


def _load(name: str) -> _Module:
    source = inspect.getsource(importlib.import_module(name))
    return _Module(name, source, ast.parse(source))


def selfcheck_imports(source: str) -> list[tuple[str, list[str]]] | None:
    """What a cell imports from the self-check package, if that is all it does.

    Parameters
    ----------
    source : str
        A code cell's source.

    Returns
    -------
    list of (module, names), or None
        ``None`` when the cell does anything besides such imports (or has none).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    found = []
    for node in tree.body:
        if not (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module is not None
            and node.module.startswith(PACKAGE + ".")
        ):
            return None
        found.append((node.module, [a.name for a in node.names]))
    return found or None


def imports_of(source: str) -> frozenset[str]:
    """The top-level import statements of a cell, as ``ast.unparse`` writes them."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    return frozenset(
        ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
    )


def _dependencies(module: _Module) -> list[str]:
    """The package modules ``module`` imports with a relative import, in order."""
    base = module.name.rsplit(".", 1)[0]
    return [
        f"{base}.{node.module}"
        for node in module.tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
    ]


def _defined_names(module: _Module) -> set[str]:
    names = set()
    for node in module.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def module_code(name: str, imported: frozenset[str] = frozenset()) -> str:
    """The code of one package module as it is pasted: no package imports, no docstring.

    The module's docstring (its first paragraph) becomes a comment, so a student reading the
    cell learns what the code is for.

    Parameters
    ----------
    name : str
        The module, ``autograder.selfcheck.<x>``.
    imported : frozenset of str
        Import statements an earlier cell of the notebook already ran (``"import numpy as
        np"``), left out here: importing again would pick up whatever the cells in between
        put in ``sys.modules`` in place of numpy.

    Raises
    ------
    InlineError
        If the module imports anything but numpy and the standard library, or has
        ``from __future__`` imports (which only work at the top of a file).
    """
    module = _load(name)
    lines = module.source.splitlines()
    drop: set[int] = set()
    comment: list[str] = []
    for index, node in enumerate(module.tree.body):
        span = range(node.lineno - 1, node.end_lineno)
        if (
            index == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            first = inspect.cleandoc(node.value.value).split("\n\n")[0].replace("``", "`")
            comment = ["# " + line if line else "#" for line in first.split("\n")]
            drop.update(span)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            drop.update(span)
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            raise InlineError(f"{name} has a __future__ import; pasted code cannot have one")
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and ast.unparse(node) in imported:
            drop.update(span)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            tops = (
                [a.name.split(".")[0] for a in node.names]
                if isinstance(node, ast.Import)
                else [(node.module or "").split(".")[0]]
            )
            bad = [t for t in tops if t not in _ALLOWED_TOP_MODULES]
            if bad:
                raise InlineError(f"{name} imports {bad}: pasted code may use numpy only")
    kept = [line for i, line in enumerate(lines) if i not in drop]
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join([*comment, "", *kept]).strip("\n") + "\n"


def inline_cell(
    source: str, already: set[str], imported: frozenset[str] = frozenset()
) -> tuple[str, list[str]] | None:
    """The pasted code that replaces a setup cell importing from the self-check package.

    Parameters
    ----------
    source : str
        The cell's source.
    already : set of str
        Modules pasted into earlier cells of the same notebook (not pasted again).
    imported : frozenset of str
        Import statements earlier cells ran (see :func:`module_code`).

    Returns
    -------
    (str, list of str), or None
        The new source and the modules it pastes; ``None`` if the cell does not only import
        from the package.

    Raises
    ------
    InlineError
        If an imported name is not defined by the pasted modules, or a module cannot be
        pasted (see :func:`module_code`).
    """
    imports = selfcheck_imports(source)
    if imports is None:
        return None
    order: list[str] = []

    def visit(name: str, seen: tuple[str, ...]) -> None:
        if name in seen:
            raise InlineError(f"import cycle through {name}")
        for dep in _dependencies(_load(name)):
            visit(dep, (*seen, name))
        if name not in order and name not in already:
            order.append(name)

    for name, _ in imports:
        visit(name, ())
    # Pasted modules share the notebook's namespace: a name two of them define would make
    # one module's code call the other's.
    owner: dict[str, str] = {}
    for module in [*sorted(already), *order]:
        for defined in _defined_names(_load(module)):
            if defined in owner and owner[defined] != module:
                raise InlineError(f"{module} and {owner[defined]} both define {defined!r}")
            owner[defined] = module
    available = set(owner)
    for name, names in imports:
        missing = sorted(set(names) - available)
        if missing:
            raise InlineError(f"{name} does not define {missing}")
    if not order:
        return "# (the self-check code is pasted into an earlier cell)", []
    files = ", ".join(_load(m).file for m in order)
    parts = [_HEADER.format(files=files)] + [module_code(m, imported) for m in order]
    # Two blank lines between modules, as between top-level definitions.
    return "\n\n\n".join(p.strip("\n") for p in parts), order
