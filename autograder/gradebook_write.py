"""Writing a batch of grades into nbgrader's gradebook, as ``nbgrader autograde`` records them.

For every graded cell of each autograded notebook: the test cells' automatic scores (the
grader's verdicts), the written answers awaiting a manual grade (or 0 when left as handed
out), "No response." on untouched solution cells, the submission's time from
``timestamp.txt``, and the late penalty the course's policy gives. Manual scores and comments
already in the gradebook are kept, so regrading a student replaces only what is automatic;
as in nbgrader, a cell with a manual score is marked for review again.

All writes of a batch go into one transaction: a thousand students are one commit.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from .gradebook import GradebookError, ensure_structure
from .nbgrader_cells import compute_checksum, determine_grade, grade_id, is_grade, is_solution
from .nbgrader_cells import is_task as _is_task
from .protocol import Flag
from .results import NotebookGrade

__all__ = ["GradedSubmission", "NO_RESPONSE", "write_grades"]

#: nbgrader's comment on a solution cell left as handed out.
NO_RESPONSE = "No response."
#: Notebook flags that send a submission to the instructor's attention in formgrader.
FLAGGED = frozenset({Flag.TAMPERING, Flag.SANDBOX_ERROR, Flag.GRADER_ERROR})

LatePenalty = Callable[[str, float, float], "float | None"]


@dataclass
class GradedSubmission:
    """One graded notebook on its way into the gradebook.

    Attributes
    ----------
    grade : NotebookGrade
    cells : list of dict
        The autograded notebook's cells (JSON), whose grade cells carry the scores.
    timestamp : datetime.datetime or None
        When it was submitted (UTC), from ``timestamp.txt``.
    """

    grade: NotebookGrade
    cells: list[dict]
    timestamp: datetime.datetime | None = None


def _submitted_notebook(session, api, assignment, student, notebook_model):
    """The student's submission of the assignment and of this notebook, created if new with
    a grade row for every grade cell and a comment row for every solution cell (as
    ``Gradebook.add_submission`` makes them)."""
    submission = (
        session.query(api.SubmittedAssignment)
        .filter_by(assignment_id=assignment.id, student_id=student.id)
        .one_or_none()
    )
    if submission is None:
        submission = api.SubmittedAssignment(assignment=assignment, student=student)
        session.add(submission)
    nb = next((n for n in submission.notebooks if n.notebook_id == notebook_model.id), None)
    rows: list = []
    if nb is None:
        nb = api.SubmittedNotebook(notebook=notebook_model, assignment=submission)
        rows.append(nb)
    # Rows for every cell, including cells added to the notebook since this submission was
    # first recorded. SQLAlchemy 2 does not cascade along backrefs: every new row is added.
    graded = {g.cell_id for g in nb.grades}
    commented = {c.cell_id for c in nb.comments}
    for cell in [*notebook_model.grade_cells, *notebook_model.task_cells]:
        if cell.id not in graded:
            rows.append(api.Grade(cell_id=cell.id, notebook=nb))
    for cell in [*notebook_model.solution_cells, *notebook_model.task_cells]:
        if cell.id not in commented:
            rows.append(api.Comment(cell_id=cell.id, notebook=nb))
    session.add_all(rows)
    return submission, nb


def _record(entry: GradedSubmission, nb, notebook_model) -> int:
    """Scores and automatic comments of one notebook, from its cells; returns the grades set."""
    # By cell id: rows created above are not flushed yet, so `grade.cell` is unset.
    grade_names = {c.id: c.name for c in notebook_model.grade_cells} | {
        c.id: c.name for c in notebook_model.task_cells
    }
    comment_names = {c.id: c.name for c in notebook_model.solution_cells} | {
        c.id: c.name for c in notebook_model.task_cells
    }
    grades = {grade_names.get(g.cell_id): g for g in nb.grades}
    comments = {comment_names.get(c.cell_id): c for c in nb.comments}
    scored = set()
    for cell in entry.cells:
        name = grade_id(cell)
        if name is None:
            continue
        if is_grade(cell) and name in grades:
            auto, _ = determine_grade(cell)
            _set_auto(grades[name], auto)
            scored.add(name)
        if is_solution(cell) and name in comments:
            checksum = cell["metadata"]["nbgrader"].get("checksum")
            untouched = checksum == compute_checksum(cell) and not _is_task(cell)
            comments[name].auto_comment = NO_RESPONSE if untouched else None
    # A test cell the notebook lacks (a missing or unreadable submission never released into
    # this gradebook) still gets the part's score.
    for result in entry.grade.results:
        if result.grade_id in grades and result.grade_id not in scored:
            _set_auto(grades[result.grade_id], result.score)
            scored.add(result.grade_id)
    nb.flagged = bool(entry.grade.flags & FLAGGED)
    return len(scored)


def _set_auto(grade, auto: float | None) -> None:
    grade.auto_score = None if auto is None else float(auto)
    # nbgrader's rule: review what has a manual score, and what the machine could not score.
    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None


def apply_late_penalties(session, notebooks, penalty: LatePenalty) -> None:
    """Set each notebook's late penalty from its current score, as nbgrader's
    ``AssignLatePenalties`` does (0 when on time)."""
    for submission, nb in notebooks:
        session.expire(nb)  # its score is a SQL expression: read it as it is now
        late = submission.total_seconds_late
        nb.late_submission_penalty = None
        if late > 0:
            nb.late_submission_penalty = penalty(submission.student_id, float(nb.score), late)


def write_grades(
    entries: list[GradedSubmission], gb, late_penalty: LatePenalty | None = None
) -> int:
    """Record a batch of graded notebooks, in one transaction.

    Parameters
    ----------
    entries : list of GradedSubmission
    gb : nbgrader.api.Gradebook
        The open gradebook (:func:`autograder.gradebook.open_gradebook`).
    late_penalty : callable, optional
        ``penalty(student, score, seconds_late) -> float or None``; the course's policy
        (:meth:`autograder.course.Course.late_penalty`). Without it no penalty is set.

    Returns
    -------
    int
        The number of grades written.

    Raises
    ------
    GradebookError
        When the transaction fails (nothing of it is kept).
    """
    from nbgrader import api

    written = 0
    session = gb.db
    try:
        for assignment in sorted({e.grade.assignment for e in entries}):
            ensure_structure(gb, assignment)
        known = {s.id for s in session.query(api.Student).all()}
        for student in sorted({e.grade.student for e in entries} - known):
            session.add(api.Student(id=student))
        session.flush()
        assignments = {a.name: a for a in session.query(api.Assignment).all()}
        students = {s.id: s for s in session.query(api.Student).all()}
        touched = []
        with session.no_autoflush:
            for entry in entries:
                g = entry.grade
                assignment = assignments[g.assignment]
                notebook_model = next(n for n in assignment.notebooks if n.name == g.notebook)
                submission, nb = _submitted_notebook(
                    session, api, assignment, students[g.student], notebook_model
                )
                if entry.timestamp is not None:
                    submission.timestamp = entry.timestamp
                written += _record(entry, nb, notebook_model)
                touched.append((submission, nb))
        session.flush()
        if late_penalty is not None:
            apply_late_penalties(session, touched, late_penalty)
        session.commit()
    except Exception as exc:
        session.rollback()
        raise GradebookError(f"writing to the gradebook failed: {exc}") from exc
    return written
