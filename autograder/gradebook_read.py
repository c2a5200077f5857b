"""Reading the gradebook back as it is now: scores, manual grades, comments, lateness.

The feedback pages are written from here after formgrader's manual grading, so they show what
the instructor decided, not only what the grader found. One query per assignment loads every
submission's grades and comments, so a class's pages cost one round trip, not thousands.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .gradebook import GradebookError

__all__ = ["CellComment", "CellScore", "SubmissionRecord", "read_records"]


@dataclass(frozen=True)
class CellScore:
    """One graded cell of a submitted notebook.

    Attributes
    ----------
    name : str
        Its ``grade_id``.
    written : bool
        A written answer (graded by hand), not a test cell.
    auto_score, manual_score : float or None
    max_score : float
    needs_manual_grade : bool
    """

    name: str
    written: bool
    auto_score: float | None
    manual_score: float | None
    max_score: float
    needs_manual_grade: bool

    @property
    def score(self) -> float:
        """What counts: the manual score when there is one, else the automatic one."""
        if self.manual_score is not None:
            return self.manual_score
        return self.auto_score or 0.0


@dataclass(frozen=True)
class CellComment:
    """The comments on one solution cell: nbgrader's automatic one and the instructor's."""

    name: str
    auto_comment: str | None
    manual_comment: str | None


@dataclass
class SubmissionRecord:
    """One student's notebook as the gradebook has it now.

    Attributes
    ----------
    student, assignment, notebook : str
    first_name, last_name : str or None
    timestamp, duedate : datetime.datetime or None
        UTC; the due date includes the student's extension.
    seconds_late : float
    late_penalty : float
        Points taken off this notebook for lateness.
    cells : dict of str to CellScore
    comments : dict of str to CellComment
    """

    student: str
    assignment: str
    notebook: str
    first_name: str | None = None
    last_name: str | None = None
    timestamp: datetime.datetime | None = None
    duedate: datetime.datetime | None = None
    seconds_late: float = 0.0
    late_penalty: float = 0.0
    cells: dict[str, CellScore] = field(default_factory=dict)
    comments: dict[str, CellComment] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values())

    @property
    def total(self) -> float:
        """The score after the late penalty (never below zero)."""
        return max(0.0, self.score - self.late_penalty)


def read_records(
    gb, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], SubmissionRecord]:
    """The gradebook's records of some submitted notebooks.

    Parameters
    ----------
    gb : nbgrader.api.Gradebook
        The open gradebook.
    keys : list of (student, assignment, notebook)

    Returns
    -------
    dict
        From each key the gradebook knows to its record.

    Raises
    ------
    GradebookError
    """
    from nbgrader import api
    from sqlalchemy.orm import selectinload

    wanted = set(keys)
    out: dict[tuple[str, str, str], SubmissionRecord] = {}
    try:
        for assignment in sorted({a for _, a, _ in wanted}):
            query = (
                gb.db.query(api.SubmittedNotebook)
                .join(api.SubmittedAssignment)
                .join(api.Assignment)
                .filter(api.Assignment.name == assignment)
                .options(
                    selectinload(api.SubmittedNotebook.grades).selectinload(api.Grade.cell),
                    selectinload(api.SubmittedNotebook.comments).selectinload(api.Comment.cell),
                    selectinload(api.SubmittedNotebook.notebook),
                    selectinload(api.SubmittedNotebook.assignment).selectinload(
                        api.SubmittedAssignment.student
                    ),
                )
            )
            for nb in query:
                key = (nb.assignment.student_id, assignment, nb.notebook.name)
                if key in wanted:
                    out[key] = _record(nb)
    except Exception as exc:
        raise GradebookError(f"reading the gradebook failed: {exc}") from exc
    return out


def _record(nb) -> SubmissionRecord:
    submission = nb.assignment
    solutions = {c.cell.name for c in nb.comments}
    return SubmissionRecord(
        student=submission.student_id,
        assignment=submission.assignment.name,
        notebook=nb.notebook.name,
        first_name=submission.student.first_name,
        last_name=submission.student.last_name,
        timestamp=submission.timestamp,
        duedate=submission.duedate,
        seconds_late=float(submission.total_seconds_late),
        late_penalty=float(nb.late_submission_penalty or 0.0),
        cells={
            g.cell.name: CellScore(
                g.cell.name,
                g.cell.name in solutions,
                g.auto_score,
                g.manual_score,
                float(g.cell.max_score),
                bool(g.needs_manual_grade),
            )
            for g in nb.grades
        },
        comments={
            c.cell.name: CellComment(c.cell.name, c.auto_comment, c.manual_comment)
            for c in nb.comments
        },
    )
