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
    """The assignment, its notebook, each part's test cell and solution cell, added where the
    release has not made them; the contract's points win over stale ones. Cells nbgrader
    created (written answers) are kept.

    Rows are added to the session, not committed: they belong to the caller's transaction
    (nbgrader's own ``add_*`` methods would commit each row).
    """
    from nbgrader import api

    session = gb.db
    a = session.query(api.Assignment).filter_by(name=assignment).one_or_none()
    if a is None:
        a = api.Assignment(name=assignment, course_id=gb.course_id)
        session.add(a)
    name = contract().assignment(assignment).notebook
    nb = next((n for n in a.notebooks if n.name == name), None)
    if nb is None:
        nb = api.Notebook(name=name, assignment=a)
        session.add(nb)
    grade_cells = {c.name: c for c in nb.grade_cells}
    solution_cells = {c.name for c in nb.solution_cells}
    for part in contract().parts_of(assignment):
        cell = grade_cells.get(part.grade_id)
        if cell is None:
            cell = api.GradeCell(name=part.grade_id, notebook=nb, cell_type="code")
            session.add(cell)
        cell.max_score = float(part.points)
        if part.name not in solution_cells:  # so formgrader can comment on the student's code
            session.add(api.SolutionCell(name=part.name, notebook=nb))
    session.flush()


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
