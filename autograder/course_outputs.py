"""What grading leaves behind, in nbgrader's layout: autograded notebooks, grades, pages.

While a batch is graded, the :func:`autograded_writer` writes each notebook's autograded copy
(what formgrader opens), in the process that graded it; :func:`record_batch` then records
every graded cell in the gradebook in one transaction, and :func:`write_pages` writes the
feedback pages from the gradebook as it is now. The
``feedback`` command (:func:`regenerate_feedback`) runs the second step again after manual
grading, reading the verdicts back from the autograded notebooks. Each function takes the
gradebook already open (``None``: no gradebook), so that a run opens it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .autograded import (
    METADATA_KEY,
    AutogradedWriter,
    GradedSubmission,
    cell_outcomes,
    read_submitted,
)
from .course import Course
from .feedback import write_feedback, written_answers
from .gradebook import Gradebook, GradebookError
from .gradebook_read import SubmissionRecord, read_records
from .gradebook_write import LatePenalty, apply_late_penalties, write_grades
from .results import grade_from_json
from .submission import NotebookFile

__all__ = [
    "Outputs",
    "autograded_writer",
    "record_batch",
    "regenerate_feedback",
    "write_pages",
]


@dataclass(frozen=True)
class Outputs:
    """Where one run writes.

    Attributes
    ----------
    autograded : Path or None
        The ``autograded/`` folder (nothing written when ``None``).
    feedback : Path
        The ``feedback/`` folder.
    db_url : str or None
        The gradebook (nothing recorded when ``None``).
    course_id : str
    late_penalty : callable or None
        The course's late-submission policy.
    release : callable or None
        ``release(assignment, notebook) -> Path`` of the released notebook, the stand-in for
        a missing or unreadable submission in ``autograded/``.
    """

    autograded: Path | None
    feedback: Path
    db_url: str | None
    course_id: str = ""
    late_penalty: LatePenalty | None = None
    release: object = None

    @classmethod
    def for_course(cls, course: Course, db_url: str | None = None) -> Outputs:
        """The course's own folders, gradebook and policy."""
        return cls(
            autograded=course.step_folder("autograded"),
            feedback=course.step_folder("feedback"),
            db_url=db_url or course.db_url,
            course_id=course.course_id,
            late_penalty=course.late_penalty(),
            release=course.release_notebook,
        )


def _release(outputs: Outputs, assignment: str, notebook: str) -> dict | None:
    if outputs.release is None:
        return None
    return read_submitted(Path(outputs.release(assignment, notebook)))


def autograded_writer(outputs: Outputs, gb, files: list[NotebookFile]) -> AutogradedWriter:
    """What turns each graded notebook into its autograded copy, wherever it is graded.

    Reads once what every notebook needs: the gradebook's recorded cells of each notebook
    (``generate_assignment`` put them there) and the released notebooks (stand-ins for
    missing or unreadable submissions).
    """
    keys = sorted({(nb.assignment, nb.notebook) for nb in files})
    sources = {} if gb is None else {(a, n): gb.source_cells(a, n) for a, n in keys}
    releases = {key: _release(outputs, *key) for key in keys}
    return AutogradedWriter(outputs.autograded, sources, releases)


def record_batch(entries: list[GradedSubmission], outputs: Outputs, gb=None) -> None:
    """Record a graded batch in the gradebook (one transaction), with the course's penalty.

    Raises
    ------
    GradebookError
    """
    if gb is not None:
        write_grades(entries, gb, outputs.late_penalty)


def write_pages(
    entries: list[GradedSubmission], outputs: Outputs, submitted: list[Path], gb=None
) -> dict[tuple[str, str, str], SubmissionRecord]:
    """The feedback pages of recorded notebooks, from the gradebook as it is now.

    Parameters
    ----------
    entries : list of GradedSubmission
    outputs : Outputs
    submitted : list of Path
        Each entry's folder holding ``timestamp.txt`` and ``submission_secret.txt``.
    gb : Gradebook, optional
        The open gradebook; without it the pages show the autograded scores only.

    Returns
    -------
    dict
        The gradebook's records of the notebooks, by ``(student, assignment, notebook)``.
    """
    keys = [(e.grade.student, e.grade.assignment, e.grade.notebook) for e in entries]
    records = read_records(gb, keys) if gb is not None else {}
    for entry, key, folder in zip(entries, keys, submitted, strict=True):
        record = records.get(key)
        write_feedback(
            entry.grade,
            outputs.feedback,
            record,
            written_answers(entry.cells, record),
            folder,
        )
    return records


def _late_penalties_now(gb: Gradebook, keys, penalty: LatePenalty) -> None:
    """Late penalties from the scores as they are now (manual grades included)."""
    wanted = set(keys)
    rows = gb.db.execute(
        "SELECT sa.student_id, a.name, n.name, sa.id, sn.id FROM submitted_notebook sn "
        "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
        "JOIN assignment a ON sa.assignment_id = a.id JOIN notebook n ON sn.notebook_id = n.id"
    ).fetchall()
    notebooks = [(s, sa, sn) for s, a, n, sa, sn in rows if (s, a, n) in wanted]
    try:
        with gb.transaction():
            apply_late_penalties(gb, notebooks, penalty)
    except Exception as exc:
        raise GradebookError(f"updating late penalties failed: {exc}") from exc


def regenerate_feedback(
    outputs: Outputs, gb=None, assignment: str | None = None, student: str | None = None
) -> tuple[int, list[str]]:
    """The ``feedback`` command: pages for every autograded notebook, from the gradebook now.

    Parameters
    ----------
    outputs : Outputs
        ``outputs.autograded`` is read; pages go to ``outputs.feedback``.
    gb : Gradebook, optional
        The open gradebook.
    assignment, student : str, optional
        Only these.

    Returns
    -------
    (int, list of str)
        Pages written, and one line per autograded notebook that could not be read.
    """
    entries, folders, problems = [], [], []
    root = outputs.autograded
    for path in sorted(root.glob("*/*/*.ipynb")) if root and root.is_dir() else []:
        folder = path.parent
        if (assignment and folder.name != assignment) or (
            student and folder.parent.name != student
        ):
            continue
        nb = read_submitted(path)
        try:
            grade = grade_from_json(nb["metadata"][METADATA_KEY])
        except (TypeError, KeyError, ValueError) as exc:
            problems.append(f"{path}: no verdict of this grader ({exc}); grade it again")
            continue
        entries.append(GradedSubmission(grade, cell_outcomes(nb)))
        folders.append(folder)
    keys = [(e.grade.student, e.grade.assignment, e.grade.notebook) for e in entries]
    if gb is not None and outputs.late_penalty is not None:
        _late_penalties_now(gb, keys, outputs.late_penalty)
    write_pages(entries, outputs, folders, gb)
    return len(entries), problems
