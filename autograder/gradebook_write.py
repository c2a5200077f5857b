"""Writing a batch of grades into nbgrader's gradebook, as ``nbgrader autograde`` records them.

For every graded cell of each autograded notebook: the test cells' automatic scores (the
grader's verdicts), the written answers awaiting a manual grade (or 0 when left as handed
out), "No response." on untouched solution cells, the submission's time from
``timestamp.txt``, and the late penalty the course's policy gives. Manual scores and comments
already in the gradebook are kept, so regrading a student replaces only what is automatic;
as in nbgrader, a cell with a manual score is marked for review again.

A batch is one transaction, written with a handful of statements however many students it
holds (``executemany``), so a thousand students cost about as much as a few.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .autograded import GradedSubmission
from .gradebook import Gradebook, GradebookError, from_db_time, lateness, new_id, to_db_time
from .protocol import Flag

__all__ = ["NO_RESPONSE", "apply_late_penalties", "write_grades"]

#: nbgrader's comment on a solution cell left as handed out.
NO_RESPONSE = "No response."
#: Notebook flags that send a submission to the instructor's attention in formgrader.
FLAGGED = frozenset({Flag.TAMPERING, Flag.SANDBOX_ERROR, Flag.GRADER_ERROR})

LatePenalty = Callable[[str, float, float], "float | None"]


@dataclass
class _Rows:
    """The statements of a batch, gathered before anything is written."""

    submissions: list[tuple] = field(default_factory=list)
    timestamps: list[tuple] = field(default_factory=list)
    notebooks: list[tuple] = field(default_factory=list)
    flagged: list[tuple] = field(default_factory=list)
    new_grades: list[tuple] = field(default_factory=list)
    grades: list[tuple] = field(default_factory=list)
    new_comments: list[tuple] = field(default_factory=list)
    comments: list[tuple] = field(default_factory=list)


class _Batch:
    """What the gradebook already holds for the batch's assignments, read in a few queries."""

    def __init__(self, gb: Gradebook, assignments: set[str], students: set[str]):
        db = gb.db
        marks = ",".join("?" * len(assignments))
        db.executemany(
            "INSERT OR IGNORE INTO student (id) VALUES (?)", [(s,) for s in sorted(students)]
        )
        self.assignment_ids = dict(
            db.execute(f"SELECT name, id FROM assignment WHERE name IN ({marks})", [*assignments])
        )
        self.notebook_ids = {
            (a, n): i
            for a, n, i in db.execute(
                "SELECT a.name, n.name, n.id FROM notebook n JOIN assignment a "
                f"ON n.assignment_id = a.id WHERE a.name IN ({marks})",
                [*assignments],
            )
        }
        # Each notebook's graded cells (grade and task cells) and commented cells (solution
        # and task cells), by name.
        self.grade_cells: dict[str, dict[str, str]] = {}
        self.comment_cells: dict[str, dict[str, str]] = {}
        for nb_id, name, kind, cell in db.execute(
            "SELECT notebook_id, name, type, id FROM base_cell WHERE notebook_id IN "
            f"({','.join('?' * len(self.notebook_ids))})",
            [*self.notebook_ids.values()],
        ):
            if kind in ("GradeCell", "TaskCell"):
                self.grade_cells.setdefault(nb_id, {})[name] = cell
            if kind in ("SolutionCell", "TaskCell"):
                self.comment_cells.setdefault(nb_id, {})[name] = cell
        ids = [*self.assignment_ids.values()]
        id_marks = ",".join("?" * len(ids))
        self.submissions = {
            (a, s): i
            for i, a, s in db.execute(
                "SELECT id, assignment_id, student_id FROM submitted_assignment "
                f"WHERE assignment_id IN ({id_marks})",
                ids,
            )
        }
        self.submitted = {
            (sa, nb): i
            for i, sa, nb in db.execute(
                "SELECT sn.id, sn.assignment_id, sn.notebook_id FROM submitted_notebook sn "
                "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
                f"WHERE sa.assignment_id IN ({id_marks})",
                ids,
            )
        }
        # Existing grade and comment rows of these submissions: (notebook, cell) -> row.
        self.grades = {
            (nb, cell): (i, manual)
            for i, nb, cell, manual in db.execute(
                "SELECT g.id, g.notebook_id, g.cell_id, g.manual_score FROM grade g "
                "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
                "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
                f"WHERE sa.assignment_id IN ({id_marks})",
                ids,
            )
        }
        self.comments = {
            (nb, cell): i
            for i, nb, cell in db.execute(
                "SELECT c.id, c.notebook_id, c.cell_id FROM comment c "
                "JOIN submitted_notebook sn ON c.notebook_id = sn.id "
                "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
                f"WHERE sa.assignment_id IN ({id_marks})",
                ids,
            )
        }

    def record(self, entry: GradedSubmission, rows: _Rows) -> tuple[str, str, int]:
        """Rows for one notebook; returns its submission, submitted notebook and grades set."""
        g = entry.grade
        a_id = self.assignment_ids[g.assignment]
        nb_model = self.notebook_ids[(g.assignment, g.notebook)]
        sa = self.submissions.get((a_id, g.student))
        if sa is None:
            sa = self.submissions[(a_id, g.student)] = new_id()
            rows.submissions.append((sa, a_id, g.student, to_db_time(entry.timestamp)))
        elif entry.timestamp is not None:
            rows.timestamps.append((to_db_time(entry.timestamp), sa))
        flagged = int(bool(g.flags & FLAGGED))
        sn = self.submitted.get((sa, nb_model))
        if sn is None:
            sn = self.submitted[(sa, nb_model)] = new_id()
            rows.notebooks.append((sn, sa, nb_model, flagged))
        else:
            rows.flagged.append((flagged, sn))
        scores = dict(entry.cells.scores)
        # A test cell the notebook lacks (a missing or unreadable submission never released
        # into this gradebook) still gets the part's score.
        for result in g.results:
            scores.setdefault(result.grade_id, result.score)
        written = 0
        for name, cell in self.grade_cells.get(nb_model, {}).items():
            auto = scores.get(name)
            auto = None if auto is None else float(auto)
            existing = self.grades.get((sn, cell))
            if existing is None:
                rows.new_grades.append((new_id(), sn, cell, auto, int(auto is None)))
            else:
                # nbgrader's rule: review what has a manual score, and what the machine could
                # not score.
                row, manual = existing
                rows.grades.append((auto, int(manual is not None or auto is None), row))
            written += name in scores
        for name, cell in self.comment_cells.get(nb_model, {}).items():
            auto = NO_RESPONSE if name in entry.cells.untouched else None
            existing = self.comments.get((sn, cell))
            if existing is None:
                rows.new_comments.append((new_id(), sn, cell, auto))
            else:
                rows.comments.append((auto, existing))
        return sa, sn, written


def _execute(db, rows: _Rows) -> None:
    db.executemany(
        "INSERT INTO submitted_assignment (id, assignment_id, student_id, timestamp) "
        "VALUES (?, ?, ?, ?)",
        rows.submissions,
    )
    db.executemany("UPDATE submitted_assignment SET timestamp = ? WHERE id = ?", rows.timestamps)
    db.executemany(
        "INSERT INTO submitted_notebook (id, assignment_id, notebook_id, flagged) "
        "VALUES (?, ?, ?, ?)",
        rows.notebooks,
    )
    db.executemany("UPDATE submitted_notebook SET flagged = ? WHERE id = ?", rows.flagged)
    db.executemany(
        "INSERT INTO grade (id, notebook_id, cell_id, auto_score, needs_manual_grade) "
        "VALUES (?, ?, ?, ?, ?)",
        rows.new_grades,
    )
    db.executemany(
        "UPDATE grade SET auto_score = ?, needs_manual_grade = ? WHERE id = ?", rows.grades
    )
    db.executemany(
        "INSERT INTO comment (id, notebook_id, cell_id, auto_comment) VALUES (?, ?, ?, ?)",
        rows.new_comments,
    )
    db.executemany("UPDATE comment SET auto_comment = ? WHERE id = ?", rows.comments)


def notebook_score(db, submitted_notebook: str) -> float:
    """A submitted notebook's score as nbgrader defines it: each grade's manual score if it
    has one, else its automatic score, plus extra credit; 0 for a grade with neither."""
    [(score,)] = db.execute(
        "SELECT COALESCE(SUM(CASE WHEN manual_score IS NOT NULL THEN manual_score "
        "+ COALESCE(extra_credit, 0.0) WHEN auto_score IS NOT NULL THEN auto_score "
        "+ COALESCE(extra_credit, 0.0) ELSE 0.0 END), 0.0) FROM grade WHERE notebook_id = ?",
        (submitted_notebook,),
    ).fetchall()
    return float(score)


def seconds_late(db, submission: str) -> float:
    """How late a submission was: its time past the due date plus the student's extension."""
    [(stamp, extension, due)] = db.execute(
        "SELECT sa.timestamp, sa.extension, a.duedate FROM submitted_assignment sa "
        "JOIN assignment a ON sa.assignment_id = a.id WHERE sa.id = ?",
        (submission,),
    ).fetchall()
    _, late = lateness(from_db_time(stamp), from_db_time(due), from_db_time(extension))
    return late


def apply_late_penalties(
    gb: Gradebook, notebooks: list[tuple[str, str, str]], penalty: LatePenalty
) -> None:
    """Set each notebook's late penalty from its score now, as nbgrader's ``AssignLatePenalties``
    does (none when on time; between 0 and the score).

    Parameters
    ----------
    gb : Gradebook
        Inside the caller's transaction.
    notebooks : list of (student, submission id, submitted notebook id)
    penalty : callable
    """
    for student, submission, submitted in notebooks:
        late = seconds_late(gb.db, submission)
        value = None
        if late > 0:
            score = notebook_score(gb.db, submitted)
            value = penalty(student, score, late)
            value = None if value is None else min(max(float(value), 0.0), score)
        gb.db.execute(
            "UPDATE submitted_notebook SET late_submission_penalty = ? WHERE id = ?",
            (value, submitted),
        )


def write_grades(
    entries: list[GradedSubmission], gb: Gradebook, late_penalty: LatePenalty | None = None
) -> int:
    """Record a batch of graded notebooks, in one transaction.

    Parameters
    ----------
    entries : list of GradedSubmission
    gb : Gradebook
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
    if not entries:
        return 0
    written = 0
    try:
        with gb.transaction():
            names = {e.grade.assignment for e in entries}
            for assignment in sorted(names):
                gb.ensure_structure(assignment)
            batch = _Batch(gb, names, {e.grade.student for e in entries})
            rows, touched = _Rows(), []
            for entry in entries:
                sa, sn, count = batch.record(entry, rows)
                written += count
                touched.append((entry.grade.student, sa, sn))
            _execute(gb.db, rows)
            if late_penalty is not None:
                apply_late_penalties(gb, touched, late_penalty)
    except Exception as exc:
        raise GradebookError(f"writing to the gradebook failed: {exc}") from exc
    return written
