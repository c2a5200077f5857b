"""The package's shape: no import cycles, no module that does too much, a light install."""

from __future__ import annotations

import tomllib

import pytest

try:
    import import_graph_tools as ig
except ImportError:  # tests/ imported as a package
    from tests import import_graph_tools as ig

PACKAGE = ig.PACKAGE
#: A module past this many lines does several things; split it along its seams.
MAX_MODULE_LINES = 600


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_the_package_has_no_import_cycle():
    """Can every module be understood without the modules that import it?"""
    graph = ig.graph()
    # A package's __init__ re-exports its modules, and a module may import its own package's
    # siblings through it: those arrows say "part of", not "depends on".
    graph = {m: {t for t in ts if t not in _ancestors(m)} for m, ts in graph.items()}
    assert ig.cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    """Does the check above see a cycle when there is one (so its silence means something)?"""
    assert ig.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert ig.cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_module_does_too_much(path):
    """Is every module short enough to do one thing?"""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines"


def test_the_grader_installs_without_the_book_or_a_cluster():
    """Are the book's toolchain, Dask and scikit-learn extras, not the grader's dependencies?"""
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for heavy in ("jupyter-book", "sphinx", "distributed", "dask", "scikit-learn", "autograd"):
        assert heavy not in core, heavy
    extras = project["optional-dependencies"]
    assert any("jupyter-book" in d for d in extras["book"])
    assert any("distributed" in d for d in extras["dask"])
