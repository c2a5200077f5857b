"""What grading leaves behind, in nbgrader's layout: autograded notebooks, grades, pages.

After a batch is graded, :func:`record_batch` writes each notebook's autograded copy (what
formgrader opens) and records every graded cell in the gradebook in one transaction;
:func:`write_pages` then writes the feedback pages from the gradebook as it is now. The
``feedback`` command (:func:`regenerate_feedback`) runs the second step again after manual
grading, reading the verdicts back from the autograded notebooks. Each function takes the
gradebook already open (``None``: no gradebook), so that a run opens it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .autograded import (
    METADATA_KEY,
    SourceCell,
    autograded_notebook,
    read_submitted,
    write_autograded,
)
from .course import Course, read_timestamp
from .feedback import write_feedback, written_answers
from .gradebook import GradebookError, source_cells
from .gradebook_read import SubmissionRecord, read_records
from .gradebook_write import GradedSubmission, LatePenalty, apply_late_penalties, write_grades
from .results import NotebookGrade, grade_from_json
from .submission import NotebookFile

__all__ = ["Outputs", "record_batch", "regenerate_feedback", "write_pages"]


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


def _sources(gb, grades) -> dict[tuple[str, str], dict[str, SourceCell]]:
    """The gradebook's recorded cells of every notebook in the batch."""
    if gb is None:
        return {}
    pairs = sorted({(g.assignment, g.notebook) for g in grades})
    return {(a, n): source_cells(gb, a, n) for a, n in pairs}


def _release(outputs: Outputs, assignment: str, notebook: str) -> dict | None:
    if outputs.release is None:
        return None
    return read_submitted(Path(outputs.release(assignment, notebook)))


def record_batch(
    grades: list[NotebookGrade], files: list[NotebookFile], outputs: Outputs, gb=None
) -> list[GradedSubmission]:
    """Write the autograded notebooks and record the batch in the gradebook.

    Parameters
    ----------
    grades : list of NotebookGrade
    files : list of NotebookFile
        The graded notebooks, in the order of ``grades``.
    outputs : Outputs
    gb : nbgrader.api.Gradebook, optional
        The open gradebook; without it nothing is recorded.

    Returns
    -------
    list of GradedSubmission
        What was recorded, in the order of ``grades``.

    Raises
    ------
    GradebookError
    """
    sources = _sources(gb, grades)
    releases: dict[tuple[str, str], dict | None] = {}
    entries = []
    for grade, nb_file in zip(grades, files, strict=True):
        key = (grade.assignment, grade.notebook)
        submitted = None if nb_file.problem else read_submitted(Path(nb_file.path))
        if submitted is None and key not in releases:
            releases[key] = _release(outputs, *key)
        nb = autograded_notebook(submitted, grade, sources.get(key, {}), releases.get(key))
        folder = Path(nb_file.path).parent
        if outputs.autograded is not None:
            write_autograded(
                nb, outputs.autograded / grade.student / grade.assignment, grade.notebook, folder
            )
        entries.append(GradedSubmission(grade, nb["cells"], read_timestamp(folder)))
    if gb is not None:
        write_grades(entries, gb, outputs.late_penalty)
    return entries


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
    gb : nbgrader.api.Gradebook, optional
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


def _late_penalties_now(gb, keys, penalty: LatePenalty) -> None:
    """Late penalties from the scores as they are now (manual grades included)."""
    from nbgrader import api

    try:
        pairs = []
        for student, assignment, notebook in keys:
            try:
                nb = gb.find_submission_notebook(notebook, assignment, student)
            except api.MissingEntry:
                continue
            pairs.append((nb.assignment, nb))
        apply_late_penalties(gb.db, pairs, penalty)
        gb.db.commit()
    except Exception as exc:
        gb.db.rollback()
        raise GradebookError(f"updating late penalties failed: {exc}") from exc


def regenerate_feedback(
    outputs: Outputs, gb=None, assignment: str | None = None, student: str | None = None
) -> tuple[int, list[str]]:
    """The ``feedback`` command: pages for every autograded notebook, from the gradebook now.

    Parameters
    ----------
    outputs : Outputs
        ``outputs.autograded`` is read; pages go to ``outputs.feedback``.
    gb : nbgrader.api.Gradebook, optional
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
        entries.append(GradedSubmission(grade, nb["cells"], read_timestamp(folder)))
        folders.append(folder)
    keys = [(e.grade.student, e.grade.assignment, e.grade.notebook) for e in entries]
    if gb is not None and outputs.late_penalty is not None:
        _late_penalties_now(gb, keys, outputs.late_penalty)
    write_pages(entries, outputs, folders, gb)
    return len(entries), problems
