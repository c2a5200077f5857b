"""Helpers of the notebook tests: the contract, running notebooks, filling a release.

Not a test module. ``tests/test_notebooks.py``, ``tests/test_release.py`` and
``tests/test_nbgrader_roundtrip.py`` import it.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

#: COURSE.md, "Exercise contract": assignment -> {function: points}, in no particular order.
CONTRACT = {
    "mlp_backprop": {
        "forward": 2,
        "mse_loss": 1,
        "grad_output": 1,
        "grad_layer3": 2,
        "grad_layer2": 3,
        "grad_layer1": 3,
        "backward": 2,
        "numerical_gradient": 2,
        "relative_error": 1,
    },
    "logistic_hessian": {
        "sigmoid": 1,
        "logistic_loss": 2,
        "logistic_grad": 2,
        "logistic_hessian": 3,
        "hessian_diagonal": 2,
        "newton_step": 2,
        "fit_newton": 2,
    },
}

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def source_path(assignment: str) -> Path:
    return SOLUTIONS / assignment / f"{assignment}.ipynb"


def release_path(assignment: str, exercises: Path = EXERCISES) -> Path:
    return Path(exercises) / assignment / f"{assignment}.ipynb"


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


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader commands: this interpreter's bin/ first (for alembic)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def fill_release(release_nb, source_nb, slips=None, answers=True):
    """A copy of a release notebook with every solution cell filled with the source's code.

    Parameters
    ----------
    release_nb, source_nb : NotebookNode
    slips : dict, optional
        ``{grade_id: (old, new)}``: replace ``old`` by ``new`` in that part's correct code.
        ``old`` must occur, so a slip that no longer applies fails the test loudly.
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
            old, new = slips.pop(gid)
            assert old in text, f"slip {old!r} does not occur in the solution of {gid}"
            text = text.replace(old, new)
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


def execute_result(cell) -> str | None:
    for o in cell.get("outputs", []):
        if o.output_type == "execute_result":
            return o.data.get("text/plain")
    return None


def error_message(cell) -> str:
    return "\n".join(f"{e.ename}: {e.evalue}" for e in errors(cell))


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
