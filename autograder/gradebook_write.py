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

from collections.abc import Callable
from dataclasses import dataclass

from .autograded import GradedSubmission
from .gradebook import GradebookError, ensure_structure
from .protocol import Flag

__all__ = ["NO_RESPONSE", "apply_late_penalties", "write_grades"]

#: nbgrader's comment on a solution cell left as handed out.
NO_RESPONSE = "No response."
#: Notebook flags that send a submission to the instructor's attention in formgrader.
FLAGGED = frozenset({Flag.TAMPERING, Flag.SANDBOX_ERROR, Flag.GRADER_ERROR})

LatePenalty = Callable[[str, float, float], "float | None"]


@dataclass
class _Cells:
    """A notebook's cells as the gradebook numbers them, looked up once per batch."""

    grades: dict[str, str]  # cell id -> name, grade and task cells
    comments: dict[str, str]  # cell id -> name, solution and task cells

    @classmethod
    def of(cls, notebook_model) -> _Cells:
        tasks = {c.id: c.name for c in notebook_model.task_cells}
        return cls(
            {c.id: c.name for c in notebook_model.grade_cells} | tasks,
            {c.id: c.name for c in notebook_model.solution_cells} | tasks,
        )


class _Batch:
    """Everything the batch touches, loaded in a few queries rather than a few per notebook."""

    def __init__(self, session, api, assignment_names: set[str], student_ids: set[str]):
        from sqlalchemy.orm import selectinload

        self.session, self.api = session, api
        known = {s.id for s in session.query(api.Student).all()}
        session.add_all(api.Student(id=s) for s in sorted(student_ids - known))
        session.flush()
        self.students = {s.id: s for s in session.query(api.Student).all()}
        self.assignments = {
            a.name: a
            for a in session.query(api.Assignment)
            .filter(api.Assignment.name.in_(assignment_names))
            .options(selectinload(api.Assignment.notebooks))
        }
        self.submissions = {
            (s.assignment_id, s.student_id): s
            for s in session.query(api.SubmittedAssignment)
            .filter(api.SubmittedAssignment.assignment_id.in_(
                [a.id for a in self.assignments.values()]
            ))
            .options(
                selectinload(api.SubmittedAssignment.notebooks).selectinload(
                    api.SubmittedNotebook.grades
                ),
                selectinload(api.SubmittedAssignment.notebooks).selectinload(
                    api.SubmittedNotebook.comments
                ),
            )
        }  # fmt: skip
        self.cells: dict[str, _Cells] = {}

    def notebook(self, assignment: str, notebook: str):
        model = next(n for n in self.assignments[assignment].notebooks if n.name == notebook)
        if model.id not in self.cells:
            self.cells[model.id] = _Cells.of(model)
        return model, self.cells[model.id]

    def submitted(self, assignment: str, student: str, notebook_model):
        """The student's submission of the assignment and of this notebook, created if new
        with a grade row for every grade cell and a comment row for every solution cell (as
        ``Gradebook.add_submission`` makes them)."""
        api, a = self.api, self.assignments[assignment]
        submission = self.submissions.get((a.id, student))
        if submission is None:
            submission = api.SubmittedAssignment(assignment=a, student=self.students[student])
            self.session.add(submission)
            self.submissions[(a.id, student)] = submission
        nb = next((n for n in submission.notebooks if n.notebook_id == notebook_model.id), None)
        rows: list = []
        if nb is None:
            nb = api.SubmittedNotebook(notebook=notebook_model, assignment=submission)
            rows.append(nb)
        # Rows for every cell, including cells added to the notebook since this submission
        # was first recorded. SQLAlchemy 2 does not cascade along backrefs: every new row is
        # added.
        cells = self.cells[notebook_model.id]
        graded = {g.cell_id for g in nb.grades}
        commented = {c.cell_id for c in nb.comments}
        rows += [api.Grade(cell_id=i, notebook=nb) for i in cells.grades if i not in graded]
        rows += [api.Comment(cell_id=i, notebook=nb) for i in cells.comments if i not in commented]
        self.session.add_all(rows)
        return submission, nb


def _record(entry: GradedSubmission, nb, cells: _Cells) -> int:
    """Scores and automatic comments of one notebook, from its cells; returns the grades set."""
    # By cell id: rows created above are not flushed yet, so `grade.cell` is unset.
    grades = {cells.grades.get(g.cell_id): g for g in nb.grades}
    comments = {cells.comments.get(c.cell_id): c for c in nb.comments}
    scored = set()
    for name, auto in entry.cells.scores.items():
        if name in grades:
            _set_auto(grades[name], auto)
            scored.add(name)
    for name, comment in comments.items():
        comment.auto_comment = NO_RESPONSE if name in entry.cells.untouched else None
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
        late = submission.total_seconds_late
        if late > 0:
            session.expire(nb)  # its score is a SQL expression: read it as it is now
            nb.late_submission_penalty = penalty(submission.student_id, float(nb.score), late)
        else:
            nb.late_submission_penalty = None


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
        names = {e.grade.assignment for e in entries}
        for assignment in sorted(names):
            ensure_structure(gb, assignment)
        batch = _Batch(session, api, names, {e.grade.student for e in entries})
        touched = []
        with session.no_autoflush:
            for entry in entries:
                g = entry.grade
                model, cells = batch.notebook(g.assignment, g.notebook)
                submission, nb = batch.submitted(g.assignment, g.student, model)
                if entry.timestamp is not None:
                    submission.timestamp = entry.timestamp
                written += _record(entry, nb, cells)
                touched.append((submission, nb))
        session.flush()
        if late_penalty is not None:
            apply_late_penalties(session, touched, late_penalty)
        session.commit()
    except Exception as exc:
        session.rollback()
        raise GradebookError(f"writing to the gradebook failed: {exc}") from exc
    return written
