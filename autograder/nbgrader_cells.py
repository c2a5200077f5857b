"""nbgrader's rules for cells, restated so the grader's hot path does not import nbgrader.

nbgrader decides from a cell's metadata whether it is a grade, solution, locked or task cell,
fingerprints it with a checksum, and reads a graded cell's points from its outputs. The
functions here give the same answers as ``nbgrader.utils`` (``tests/test_nbgrader_cells.py``
compares them on every cell of the course's notebooks), for plain dicts as well as nbformat
nodes; importing ``nbgrader.utils`` pulls in nbformat's schema machinery, seconds on a cold
start.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = [
    "compute_checksum",
    "determine_grade",
    "grade_id",
    "is_grade",
    "is_locked",
    "is_solution",
    "is_task",
]


def _meta(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def grade_id(cell: dict) -> str | None:
    """The cell's ``grade_id``, or ``None`` for a cell nbgrader does not track."""
    return _meta(cell).get("grade_id")


def is_task(cell: dict) -> bool:
    return bool(_meta(cell).get("task", False))


def is_grade(cell: dict) -> bool:
    return bool(_meta(cell).get("grade", False))


def is_solution(cell: dict) -> bool:
    return bool(_meta(cell).get("solution", False))


def is_locked(cell: dict) -> bool:
    """Locked cells are overwritten from the gradebook: grade cells that are not solutions,
    and cells marked locked."""
    if not _meta(cell) or is_solution(cell):
        return False
    return is_grade(cell) or bool(_meta(cell).get("locked", False))


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def compute_checksum(cell: dict) -> str:
    """nbgrader's fingerprint of a cell: source, type, flags, id and points (MD5, hex)."""
    m = hashlib.md5()  # noqa: S324 (nbgrader's own choice; a fingerprint, not a secret)
    for part in (
        _source(cell),
        cell["cell_type"],
        str(is_grade(cell)),
        str(is_solution(cell)),
        str(is_locked(cell)),
        _meta(cell)["grade_id"],
    ):
        m.update(part.encode("utf-8"))
    if is_grade(cell):
        m.update(str(float(_meta(cell)["points"])).encode("utf-8"))
    return m.hexdigest()


def _partial(text: Any, max_points: float) -> float:
    """A test cell's last value read as partial credit, as nbgrader reads it."""
    if isinstance(text, list):
        if len(text) > 1:
            return max_points
        text = text[0]
    try:
        grade = float(text)
    except ValueError:
        return max_points
    if grade > max_points:
        raise ValueError("partial credit cannot be greater than maximum points for cell")
    return grade if grade >= 0.0 else max_points


def determine_grade(cell: dict) -> tuple[float | None, float]:
    """The automatic score of a grade cell and its points, as nbgrader's autograde records it.

    A written answer left as handed out scores 0; any other written answer awaits a manual
    grade (``None``). A code cell with an error or anything on stderr scores 0; its last value,
    when it has one, is partial credit; otherwise it earns every point.

    Parameters
    ----------
    cell : dict
        A grade cell with its outputs.

    Returns
    -------
    (float or None, float)
    """
    if not is_grade(cell):
        raise ValueError("cell is not a grade cell")
    max_points = float(_meta(cell)["points"])
    if is_solution(cell):
        unchanged = _meta(cell).get("checksum") == compute_checksum(cell)
        return (0, max_points) if unchanged else (None, max_points)
    if cell["cell_type"] != "code":
        return None, max_points
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "error" or (kind == "stream" and output.get("name") == "stderr"):
            return 0, max_points
        if kind == "execute_result":
            text = output.get("data", {}).get("text/plain")
            if not text:
                raise KeyError("output ['data']['text/plain'] does not exist")
            return _partial(text, max_points), max_points
    return max_points, max_points
