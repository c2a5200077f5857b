"""Reading the gradebook back as it is now: scores, manual grades, comments, lateness.

The feedback pages are written from here after formgrader's manual grading, so they show what
the instructor decided, not only what the grader found. Three queries per assignment load
every submission's grades and comments, so a class's pages cost a few round trips, not
thousands.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .gradebook import Gradebook, GradebookError, from_db_time, lateness

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
    gb: Gradebook, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], SubmissionRecord]:
    """The gradebook's records of some submitted notebooks, in a few queries.

    Parameters
    ----------
    gb : Gradebook
    keys : list of (student, assignment, notebook)

    Returns
    -------
    dict
        From each key the gradebook knows to its record.

    Raises
    ------
    GradebookError
    """
    wanted = set(keys)
    out: dict[tuple[str, str, str], SubmissionRecord] = {}
    try:
        for assignment in sorted({a for _, a, _ in wanted}):
            ids = {}
            for row in gb.db.execute(_SUBMISSIONS, (assignment,)):
                sn, student, notebook, first, last, stamp, ext, due, penalty = row
                key = (student, assignment, notebook)
                if key not in wanted:
                    continue
                ids[sn] = key
                record = out[key] = SubmissionRecord(
                    student, assignment, notebook, first, last, from_db_time(stamp)
                )
                record.duedate, record.seconds_late = lateness(
                    record.timestamp, from_db_time(due), from_db_time(ext)
                )
                record.late_penalty = float(penalty or 0.0)
            for sn, name, auto, manual, needs, max_score, written in gb.db.execute(
                _GRADES, (assignment,)
            ):
                if sn in ids:
                    out[ids[sn]].cells[name] = CellScore(
                        name, bool(written), auto, manual, float(max_score or 0.0), bool(needs)
                    )
            for sn, name, auto, manual in gb.db.execute(_COMMENTS, (assignment,)):
                if sn in ids:
                    out[ids[sn]].comments[name] = CellComment(name, auto, manual)
    except Exception as exc:
        raise GradebookError(f"reading the gradebook failed: {exc}") from exc
    return out


# The submitted notebooks of one assignment, with their student, times and penalty.
_SUBMISSIONS = """
SELECT sn.id, sa.student_id, n.name, st.first_name, st.last_name, sa.timestamp,
       sa.extension, a.duedate, sn.late_submission_penalty
FROM submitted_notebook sn
JOIN submitted_assignment sa ON sn.assignment_id = sa.id
JOIN assignment a ON sa.assignment_id = a.id
JOIN notebook n ON sn.notebook_id = n.id
JOIN student st ON sa.student_id = st.id
WHERE a.name = ?
"""
# Their grades: the cell's name, scores, maximum, and whether it is a written answer (a grade
# cell that is also a solution cell).
_GRADES = """
SELECT g.notebook_id, b.name, g.auto_score, g.manual_score, g.needs_manual_grade,
       COALESCE(gc.max_score, tc.max_score),
       EXISTS (SELECT 1 FROM base_cell s WHERE s.notebook_id = b.notebook_id
               AND s.name = b.name AND s.type = 'SolutionCell')
FROM grade g
JOIN base_cell b ON g.cell_id = b.id
LEFT JOIN grade_cells gc ON gc.id = b.id
LEFT JOIN task_cells tc ON tc.id = b.id
JOIN submitted_notebook sn ON g.notebook_id = sn.id
JOIN submitted_assignment sa ON sn.assignment_id = sa.id
JOIN assignment a ON sa.assignment_id = a.id
WHERE a.name = ?
"""
# Their comments, by cell name.
_COMMENTS = """
SELECT c.notebook_id, b.name, c.auto_comment, c.manual_comment
FROM comment c
JOIN base_cell b ON c.cell_id = b.id
JOIN submitted_notebook sn ON c.notebook_id = sn.id
JOIN submitted_assignment sa ON sn.assignment_id = sa.id
JOIN assignment a ON sa.assignment_id = a.id
WHERE a.name = ?
"""
