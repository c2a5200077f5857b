"""Writing the grades into nbgrader's gradebook, through nbgrader's own ``Gradebook`` API.

``nbgrader export`` and formgrader read the gradebook, so grades written here show there like
the ones ``nbgrader autograde`` writes: one ``Grade.auto_score`` per test cell
(``test_<function>``) of each student's submitted notebook. Missing structure is created:
the assignment, its notebook and the contract's grade cells (``nbgrader generate_assignment``
normally does that; manually graded cells it created are kept), the students, and their
submissions (mirroring ``Gradebook.add_submission``: a grade row for every grade cell, a
comment row for every solution cell, so formgrader can grade the written answers).

All writes of a batch go into one transaction: a thousand students are one commit, not a
thousand.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .checks import contract
from .results import NotebookGrade

__all__ = ["GradebookError", "default_db_url", "open_gradebook", "write_grades"]


class GradebookError(Exception):
    """The gradebook cannot be opened or written (the grader itself cannot finish)."""


def default_db_url(course_root: str | Path = ".") -> str:
    """The course's gradebook: ``nbgrader_config.py``'s ``db_url``, else ``gradebook.db``.

    Parameters
    ----------
    course_root : str or Path
        The folder with ``nbgrader_config.py`` (the repository root).

    Returns
    -------
    str
        An SQLAlchemy URL, ``sqlite:///<root>/gradebook.db`` unless configured otherwise.
    """
    root = Path(course_root).resolve()
    config = root / "nbgrader_config.py"
    if config.is_file():
        try:
            from traitlets.config.loader import PyFileConfigLoader

            loaded = PyFileConfigLoader(config.name, str(root)).load_config()
            url = loaded.get("CourseDirectory", {}).get("db_url")
            if isinstance(url, str) and url:
                return url
        except Exception:  # an unreadable config falls back to nbgrader's default location
            pass
    return f"sqlite:///{root / 'gradebook.db'}"


def _course_id(course_root: str | Path = ".") -> str:
    root = Path(course_root).resolve()
    config = root / "nbgrader_config.py"
    if config.is_file():
        try:
            from traitlets.config.loader import PyFileConfigLoader

            loaded = PyFileConfigLoader(config.name, str(root)).load_config()
            course = loaded.get("CourseDirectory", {}).get("course_id")
            if isinstance(course, str) and course:
                return course
        except Exception:  # same fallback as nbgrader: its default course id
            pass
    return "default_course"


def _ensure_structure(gb, assignment: str) -> None:
    """Assignment, notebook and ``test_*`` grade cells, created if ``generate_assignment``
    has not made them yet."""
    notebook = contract().assignment(assignment).notebook
    gb.update_or_create_assignment(assignment)
    try:
        gb.find_notebook(notebook, assignment)
    except Exception:
        gb.add_notebook(notebook, assignment)
    for part in contract().parts_of(assignment):
        name = part.grade_id
        points = float(part.points)
        try:
            cell = gb.find_grade_cell(name, notebook, assignment)
            if cell.max_score != points:
                cell.max_score = points
        except Exception:
            gb.add_grade_cell(name, notebook, assignment, max_score=points, cell_type="code")
    gb.db.commit()


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


def open_gradebook(db_url: str, course_id: str | None = None):
    """nbgrader's ``Gradebook`` on ``db_url``, created if needed.

    Raises
    ------
    GradebookError
        When it cannot be opened.
    """
    from nbgrader import api

    # A new gradebook is stamped with the schema's head: read it here (see alembic_head).
    api.get_alembic_version = alembic_head
    try:
        return api.Gradebook(db_url, course_id=course_id or _course_id())
    except Exception as exc:
        raise GradebookError(f"cannot open the gradebook {db_url}: {exc}") from exc


def write_grades(grades: list[NotebookGrade], db_url: str, course_id: str | None = None) -> int:
    """Write every part's score as the ``auto_score`` of its test cell.

    Parameters
    ----------
    grades : list of NotebookGrade
    db_url : str
        SQLAlchemy URL of the gradebook.
    course_id : str, optional
        nbgrader's course id; read from ``nbgrader_config.py`` in the working directory when
        omitted.

    Returns
    -------
    int
        Number of grades written.

    Raises
    ------
    GradebookError
        When the database cannot be opened or the transaction fails.
    """
    from nbgrader import api

    gb = open_gradebook(db_url, course_id)
    written = 0
    try:
        for assignment in sorted({g.assignment for g in grades}):
            _ensure_structure(gb, assignment)
        session = gb.db
        known = {s.id for s in session.query(api.Student).all()}
        for student in sorted({g.student for g in grades} - known):
            session.add(api.Student(id=student))
        session.flush()
        assignments = {a.name: a for a in session.query(api.Assignment).all()}
        # Rows are added explicitly before any query flushes (no autoflush half-way).
        with session.no_autoflush:
            for g in grades:
                assignment = assignments[g.assignment]
                nb_model = next(n for n in assignment.notebooks if n.name == g.notebook)
                submission = (
                    session.query(api.SubmittedAssignment)
                    .filter_by(assignment_id=assignment.id, student_id=g.student)
                    .one_or_none()
                )
                if submission is None:
                    submission = api.SubmittedAssignment(
                        assignment=assignment, student=session.get(api.Student, g.student)
                    )
                    session.add(submission)
                submitted_nb = next(
                    (n for n in submission.notebooks if n.notebook_id == nb_model.id), None
                )
                if submitted_nb is None:
                    # SQLAlchemy 2 does not cascade along backrefs: every new row is added.
                    submitted_nb = api.SubmittedNotebook(notebook=nb_model, assignment=submission)
                    rows = [submitted_nb]
                    for cell in nb_model.grade_cells:
                        rows.append(api.Grade(cell_id=cell.id, notebook=submitted_nb))
                    for cell in nb_model.solution_cells:
                        rows.append(api.Comment(cell_id=cell.id, notebook=submitted_nb))
                    for cell in nb_model.task_cells:
                        rows.append(api.Comment(cell_id=cell.id, notebook=submitted_nb))
                        rows.append(api.Grade(cell_id=cell.id, notebook=submitted_nb))
                    session.add_all(rows)
                # By cell id: grades created above are not flushed yet, so `grade.cell` is unset.
                names = {c.id: c.name for c in nb_model.grade_cells}
                by_cell = {names.get(grade.cell_id): grade for grade in submitted_nb.grades}
                for result in g.results:
                    name = result.grade_id
                    grade = by_cell.get(name)
                    if grade is None:
                        cell = next(c for c in nb_model.grade_cells if c.name == name)
                        grade = api.Grade(cell_id=cell.id, notebook=submitted_nb)
                        session.add(grade)
                        by_cell[name] = grade
                    grade.auto_score = float(result.score)
                    grade.needs_manual_grade = False
                    written += 1
                submitted_nb.flagged = bool(
                    g.flags & {"tampering", "sandbox-error", "grader-error"}
                )
        session.commit()
    except GradebookError:
        raise
    except Exception as exc:
        gb.db.rollback()
        raise GradebookError(f"writing to the gradebook {db_url} failed: {exc}") from exc
    finally:
        gb.close()
    return written
