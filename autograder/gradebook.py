"""nbgrader's gradebook: opening it, and the structure the grader relies on.

The gradebook is nbgrader's own SQLite database, read and written through nbgrader's own
``Gradebook`` API, so ``nbgrader export``, formgrader and the exchange commands see the
grader's work as they see ``nbgrader autograde``'s. ``nbgrader generate_assignment`` (run by
``python -m autograder release``) records each assignment's cells there; when grading a tree
that was never released into this gradebook, the assignment, its notebook and its test cells
are created from the contract (:func:`ensure_structure`). Writing grades is
:mod:`autograder.gradebook_write`; reading them back for feedback,
:mod:`autograder.gradebook_read`.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .autograded import SourceCell
from .checks import contract

__all__ = [
    "GradebookError",
    "alembic_head",
    "default_db_url",
    "ensure_structure",
    "open_gradebook",
    "source_cells",
]


class GradebookError(Exception):
    """The gradebook cannot be opened or written (the grader itself cannot finish)."""


def default_db_url(root: str | Path = ".") -> str:
    """nbgrader's default gradebook of a folder: ``sqlite:///<root>/gradebook.db``."""
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


@functools.cache
def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, read in this process.

    nbgrader stamps a new gradebook with it, and asks for it by running its ``alembic``
    command in a subprocess (a second or more of start-up, and a failure when the virtual
    environment's ``bin/`` is not on ``PATH``). The migration scripts ship with nbgrader, so
    alembic can read the head from them here, without a process of its own.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def open_gradebook(db_url: str, course_id: str = ""):
    """nbgrader's ``Gradebook`` on ``db_url``, created if needed.

    Parameters
    ----------
    db_url : str
        SQLAlchemy URL.
    course_id : str
        nbgrader's course id, as ``CourseDirectory.course_id`` says (empty when unset, as in
        nbgrader's own commands).

    Raises
    ------
    GradebookError
        When it cannot be opened.
    """
    from nbgrader import api

    # A new gradebook is stamped with the schema's head: read it here (see alembic_head).
    api.get_alembic_version = alembic_head
    try:
        return api.Gradebook(db_url, course_id=course_id)
    except Exception as exc:
        raise GradebookError(f"cannot open the gradebook {db_url}: {exc}") from exc


def ensure_structure(gb, assignment: str) -> None:
    """The assignment, its notebook, each part's test cell and solution cell, created where
    the release has not made them; the contract's points win over stale ones. Cells nbgrader
    created (written answers) are kept."""
    from nbgrader.api import MissingEntry

    notebook = contract().assignment(assignment).notebook
    gb.update_or_create_assignment(assignment)
    try:
        gb.find_notebook(notebook, assignment)
    except MissingEntry:
        gb.add_notebook(notebook, assignment)
    for part in contract().parts_of(assignment):
        try:
            cell = gb.find_grade_cell(part.grade_id, notebook, assignment)
            if cell.max_score != float(part.points):
                cell.max_score = float(part.points)
        except MissingEntry:
            gb.add_grade_cell(
                part.grade_id, notebook, assignment, max_score=float(part.points), cell_type="code"
            )
        try:  # so that formgrader can take a comment on the student's code
            gb.find_solution_cell(part.name, notebook, assignment)
        except MissingEntry:
            gb.add_solution_cell(part.name, notebook, assignment)
    gb.db.commit()


def source_cells(gb, assignment: str, notebook: str) -> dict[str, SourceCell]:
    """The cells ``generate_assignment`` recorded for a notebook, in notebook order.

    Returns
    -------
    dict of str to SourceCell
        Empty when the notebook was never released into this gradebook.
    """
    from nbgrader.api import MissingEntry

    try:
        nb = gb.find_notebook(notebook, assignment)
    except MissingEntry:
        return {}
    points = {c.name: float(c.max_score) for c in nb.grade_cells}
    cells = sorted(nb.source_cells, key=lambda c: c.id)
    return {
        c.name: SourceCell(
            c.name, c.cell_type, bool(c.locked), c.source, c.checksum, points.get(c.name)
        )
        for c in cells
    }
