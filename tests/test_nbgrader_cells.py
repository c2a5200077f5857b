"""nbgrader's cell rules, restated in autograder.nbgrader_cells: the same answers as nbgrader's
own ``nbgrader.utils`` on every cell of the course's notebooks, as handed out, as submitted,
and tampered with."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbgrader import utils

from autograder import nbgrader_cells as ours

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = [
    *sorted((REPO / "exercises").glob("*/*.ipynb")),
    *sorted((REPO / "samples" / "submitted" / "bo_rewritten").glob("*/*.ipynb")),
]


def _variants(cell):
    """The cell, and versions a student (or a bug) could make of it."""
    yield cell
    edited = copy.deepcopy(cell)
    edited.source += "\n# edited"
    yield edited
    for flag in ("grade", "solution", "locked", "task"):
        if "nbgrader" in cell.metadata:
            flipped = copy.deepcopy(cell)
            flipped.metadata.nbgrader[flag] = not flipped.metadata.nbgrader.get(flag, False)
            yield flipped
    if cell.cell_type == "code" and utils.is_grade(cell):
        for output in (
            nbformat.v4.new_output("error", ename="E", evalue="", traceback=[]),
            nbformat.v4.new_output("stream", name="stderr", text="warn"),
            nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"}),
            nbformat.v4.new_output("execute_result", data={"text/plain": "'text'"}),
            nbformat.v4.new_output("execute_result", data={"text/plain": "-1"}),
            nbformat.v4.new_output("stream", name="stdout", text="fine"),
        ):
            scored = copy.deepcopy(cell)
            scored.outputs = [output]
            yield scored


def _outcome(fn, cell):
    """What ``fn(cell)`` gives: its value, or the type of what it raised."""
    try:
        return fn(cell)
    except Exception as exc:  # both sides must fail alike on a malformed cell
        return type(exc)


def _disagreements(cell) -> list[str]:
    plain = dict(cell)  # the JSON form the grader reads
    out = [
        name
        for name in ("is_grade", "is_solution", "is_locked", "is_task")
        if getattr(ours, name)(plain) != getattr(utils, name)(cell)
    ]
    checks = []
    if "grade_id" in cell.metadata.get("nbgrader", {}):
        checks.append("compute_checksum")
    if utils.is_grade(cell):
        checks.append("determine_grade")
    for name in checks:
        if _outcome(getattr(ours, name), plain) != _outcome(getattr(utils, name), cell):
            out.append(name)
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_the_rules_agree_with_nbgraders(path):
    """Do flags, checksum and automatic score come out as nbgrader's own functions say, for
    every cell and every tampered version of it?"""
    found = {}
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for j, variant in enumerate(_variants(cell)):
            if bad := _disagreements(variant):
                found[f"cell {i}, variant {j}"] = bad
    assert found == {}


def test_the_notebooks_hold_every_kind_of_cell():
    """Do the cells above include tests, written answers and locked cells (so the comparison
    covers every branch)?"""
    cells = [c for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells]
    assert any(utils.is_grade(c) and not utils.is_solution(c) for c in cells)
    assert any(utils.is_grade(c) and utils.is_solution(c) for c in cells)
    assert any(utils.is_locked(c) and not utils.is_grade(c) for c in cells)
