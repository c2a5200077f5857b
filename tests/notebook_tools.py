"""Helpers of the notebook tests: the contract, the notebooks' paths, filling and running them.

Not a test module. The parts and points come from the course contract
(:func:`autograder.checks.contract`), never from a copy here.
"""

from __future__ import annotations

import ast
import copy
import functools
import os
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
#: What a self-check prints when, and only when, every check of its part passed.
PASSED = "passed"


@functools.cache
def contract():
    """The course contract (parts, points, signatures)."""
    from autograder.checks import contract as _contract

    return _contract()


def assignments() -> list[str]:
    """The contract's assignments, in the order students meet them."""
    return [a.name for a in contract().assignments]


def parts(assignment: str) -> dict[str, float]:
    """Part name to points, in notebook order, from the contract."""
    return {p.name: p.points for p in contract().parts_of(assignment)}


def notebook_name(assignment: str) -> str:
    return contract().assignment(assignment).notebook


def source_path(assignment: str) -> Path:
    """The source ``.ipynb`` nbgrader reads (derived from :func:`text_path`)."""
    return SOLUTIONS / assignment / f"{notebook_name(assignment)}.ipynb"


def text_path(assignment: str) -> Path:
    """The source's text form, which instructors edit."""
    return SOLUTIONS / assignment / f"{notebook_name(assignment)}.py"


def release_path(assignment: str, exercises: Path = EXERCISES) -> Path:
    return Path(exercises) / assignment / f"{notebook_name(assignment)}.ipynb"


def read(path: Path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def by_grade_id(nb) -> dict:
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


def is_demo(cell) -> bool:
    return "demo" in cell.metadata.get("tags", [])


def solution_region(source: str) -> str:
    """The cell's source without the solution marker lines (the correct code, in place)."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in SOLUTION_MARKERS)


def calls(assignment: str) -> dict[str, set[str]]:
    """Part -> the parts its solution calls, directly or not (read from the source's code)."""
    sources = by_grade_id(read(source_path(assignment)))
    names = set(parts(assignment))
    direct = {
        p: {
            n.id
            for n in ast.walk(ast.parse(solution_region(sources[p].source)))
            if isinstance(n, ast.Name) and n.id in names and n.id != p
        }
        for p in names
    }
    closed = {}
    for p in names:
        seen, todo = set(), list(direct[p])
        while todo:
            q = todo.pop()
            if q not in seen:
                seen.add(q)
                todo += direct[q]
        closed[p] = seen
    return closed


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader commands: this interpreter's bin/ first (for alembic)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _apply_edits(code: str, edits, gid: str, label: str = "") -> str:
    """``code`` with ``edits``, one ``(old, new)`` or a list of them, applied in order.

    Each ``old`` must occur (in the code as the earlier edits left it), so an edit that no
    longer applies fails the test loudly; ``label`` starts that message.
    """
    for old, new in [edits] if isinstance(edits, tuple) else edits:
        assert old in code, f"{label}{old!r} does not occur in the solution of {gid}"
        code = code.replace(old, new)
    return code


def fill_release(release_nb, source_nb, slips=None, answers=True):
    """A copy of a release notebook with every solution cell filled with the source's code.

    Parameters
    ----------
    release_nb, source_nb : NotebookNode
    slips : dict, optional
        ``{grade_id: (old, new)}`` or ``{grade_id: [(old, new), ...]}``: replace ``old`` by
        ``new`` in that part's correct code. ``old`` must occur, so a slip that no longer
        applies fails the test loudly.
    answers : bool
        Fill the written answers with the model answers (else keep nbgrader's stub).
    """
    slips = dict(slips or {})
    sources = by_grade_id(source_nb)
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("solution"):
            continue
        gid = meta["grade_id"]
        if cell.cell_type == "markdown":
            if answers:
                cell.source = sources[gid].source
            continue
        text = solution_region(sources[gid].source)
        if gid in slips:
            text = _apply_edits(text, slips.pop(gid), gid, "slip ")
        cell.source = text
    assert not slips, f"slips for unknown parts: {sorted(slips)}"
    return nb


def run(nb, cwd: Path, timeout: int = 120):
    """Execute a notebook with this interpreter's kernel, errors allowed; returns it."""
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


class Kernel:
    """One Jupyter kernel that runs many notebooks top to bottom, each in a clean namespace.

    Starting a kernel costs about a second; a notebook of these assignments runs in a few
    tenths. Between notebooks the kernel's namespace is reset (``%reset -f``), so nothing a
    variant defined is seen by the next one.
    """

    def __init__(self, cwd: Path, timeout: int = 120):
        from nbclient import NotebookClient

        self.client = NotebookClient(
            nbformat.v4.new_notebook(),
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(cwd)}},
        )
        self._context = self.client.setup_kernel()
        self._context.__enter__()
        # Plain tracebacks: the same exceptions and messages, formatted ten times faster.
        self.execute("%xmode Plain")

    def run(self, nb, cells=None):
        """Execute ``nb`` (a copy) after a namespace reset; returns the executed copy.

        Parameters
        ----------
        nb : NotebookNode
        cells : iterable of int, optional
            Only these cells, in this order (default: all, top to bottom).
        """
        nb = copy.deepcopy(nb)
        self.client.nb = nb
        self.execute("%reset -f")
        for index in range(len(nb.cells)) if cells is None else cells:
            self.client.execute_cell(nb.cells[index], index)
        return nb

    def execute(self, source: str):
        """Run one extra cell in the current namespace (no reset); returns the cell."""
        cell = nbformat.v4.new_code_cell(source)
        scratch = nbformat.v4.new_notebook(cells=[cell])
        # nbclient stores the executed cell back into the client's notebook at its index.
        current, self.client.nb = self.client.nb, scratch
        try:
            self.client.execute_cell(cell, 0)
        finally:
            self.client.nb = current
        return scratch.cells[0]

    def close(self):
        self._context.__exit__(None, None, None)


def errors(cell) -> list:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def stderr_text(cell) -> str:
    return "".join(
        o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"
    )


def stdout_text(cell) -> str:
    return "".join(
        o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stdout"
    )


def all_text(cell) -> str:
    """Everything a cell showed: streams, results and error messages with tracebacks."""
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type == "error":
            out.append(strip_ansi("\n".join(o.traceback)))
        elif "data" in o:
            out.append(str(o.data.get("text/plain", "")))
    return "\n".join(out)


def execute_result(cell) -> str | None:
    for o in cell.get("outputs", []):
        if o.output_type == "execute_result":
            return o.data.get("text/plain")
    return None


def error_message(cell) -> str:
    return "\n".join(f"{e.ename}: {e.evalue}" for e in errors(cell))


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def source_cells(assignment: str) -> dict:
    """The source notebook's cells by grade_id, derived from its text form."""
    from autograder.sources import derive

    return by_grade_id(derive(text_path(assignment)))


def student_namespace(assignment: str, edits=None, extra: str = "") -> dict:
    """A namespace like a student's kernel: setup cells and solutions run, in order.

    Parameters
    ----------
    assignment : str
    edits : dict, optional
        ``{part: (old, new)}`` or ``{part: [(old, new), ...]}`` applied to the solution code,
        or ``{part: source}`` to replace a solution cell outright.
    extra : str
        Code run at the end (a student's experiments, say).
    """
    edits = dict(edits or {})
    namespace = {"__name__": "__main__"}
    nb = read(source_path(assignment))
    for cell in nb.cells:
        gid = grade_id(cell) or ""
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not (gid.startswith("setup_") or meta.get("solution")):
            continue
        code = solution_region(cell.source)
        change = edits.pop(gid, None)
        if isinstance(change, str):
            code = change
        elif change is not None:
            code = _apply_edits(code, change, gid)
        exec(compile(code, f"<{gid}>", "exec"), namespace)
    assert not edits, f"edits for unknown parts: {sorted(edits)}"
    if extra:
        exec(compile(extra, "<extra>", "exec"), namespace)
    return namespace
