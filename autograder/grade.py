"""Grading one notebook: read it, run it once in the sandbox, judge every part.

For each notebook the grader draws the cases of all its parts from a seed derived from the
run's seed, the student and the assignment (so any grade can be reproduced), sends the code
cells and the calls to the sandbox once, and judges each part from the plain numbers that come
back. Whatever goes wrong with one notebook (missing, not JSON, a crash of the sandbox) gives
that notebook's parts 0 points with a message and a flag; it never raises for the submission's
sake.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .checks import PARTS, contract, draw_cases, failed_result, judge
from .protocol import Flag, Limits, PartRun, SubmissionRun, cell_digest
from .results import NotebookGrade
from .submission import (
    NotebookFile,
    SubmissionError,
    find_notebooks,
    notebook_code_cells,
    read_code_cells,
)

__all__ = [
    "DEFAULT_SEED",
    "Runner",
    "SandboxRunner",
    "discover",
    "grade_notebook",
    "grade_safely",
    "handout_digests",
    "student_seed",
]

#: The run's seed when none is given: fixed, so grading the same folder twice gives the same
#: cases and the same grades.
DEFAULT_SEED = 2705

#: ``runner(cells, calls, limits) -> SubmissionRun``: where student code runs.
Runner = Callable[..., SubmissionRun]


def student_seed(run_seed: int, student: str, assignment: str) -> int:
    """The seed of one student's cases: reproducible, different for every student.

    Parameters
    ----------
    run_seed : int
    student, assignment : str

    Returns
    -------
    int
        A 32-bit seed, recorded in the CSV and the feedback.
    """
    return zlib.crc32(f"{run_seed}/{student}/{assignment}".encode())


def discover(path: str | Path) -> list[NotebookFile]:
    """The notebooks to grade under ``path`` (see :func:`autograder.submission.find_notebooks`)."""
    return find_notebooks(path, contract().notebooks())


@dataclass(frozen=True)
class SandboxRunner:
    """Runs a submission in the sandbox (:func:`autograder.sandbox.run_submission`).

    Attributes
    ----------
    mode : {"bwrap", "fallback"}
        ``bwrap``: OS isolation, refused where bubblewrap cannot run; ``fallback``: a plain
        subprocess with resource limits, for trusted notebooks only (``--isolation none``).
    handout : frozenset of bytes
        Digests of the released notebooks' code cells (:func:`handout_digests`), which the
        sandbox compiles once for the whole class.
    """

    mode: str = "bwrap"
    handout: frozenset[bytes] = frozenset()
    #: Cases that rely on the sandbox's memory limit are drawn only for sandboxed runners.
    sandboxed = True

    def __call__(self, cells, calls, limits) -> SubmissionRun:
        from .sandbox import run_submission  # imported late: in-process paths do without

        return run_submission(cells, calls, limits, mode=self.mode, handout=self.handout)


def handout_digests(released: Iterable[dict | None]) -> frozenset[bytes]:
    """The digests of the code cells of released notebooks (their JSON), as the grader reads
    a submission's cells (:func:`~autograder.submission.notebook_code_cells`)."""
    return frozenset(
        cell_digest(source)
        for data in released
        if isinstance(data, dict) and isinstance(data.get("cells"), list)
        for source in notebook_code_cells(data)
    )


def _all_failed(grade: NotebookGrade, message: str, flags: set[Flag]) -> NotebookGrade:
    grade.problem = message
    grade.flags |= flags
    grade.results = [
        failed_result(PARTS[p.name], message, flags, grade.seed)
        for p in contract().parts_of(grade.assignment)
    ]
    return grade


def grade_notebook(
    nb: NotebookFile,
    run_seed: int = DEFAULT_SEED,
    limits: Limits | None = None,
    runner: Runner | None = None,
) -> NotebookGrade:
    """Grade one notebook: read it, run it once in the sandbox, judge every part.

    Parameters
    ----------
    nb : NotebookFile
    run_seed : int
    limits : Limits, optional
    runner : callable, optional
        ``runner(cells, calls, limits) -> SubmissionRun``; the sandbox by default.

    Returns
    -------
    NotebookGrade
        Never raised for a problem of the submission; only a failure of the grader's own code
        propagates (see :func:`grade_safely`).
    """
    start = time.perf_counter()
    seed = student_seed(run_seed, nb.student, nb.assignment)
    grade = NotebookGrade(nb.student, nb.assignment, nb.notebook, str(nb.path), seed)
    try:
        if nb.problem == "missing":
            message = f"{nb.notebook}.ipynb was not submitted"
            return _all_failed(grade, message, {Flag.MISSING_NOTEBOOK})
        try:
            cells = read_code_cells(nb.path)
        except SubmissionError as exc:
            return _all_failed(grade, str(exc), {Flag.UNREADABLE})
        parts = [p.name for p in contract().parts_of(nb.assignment)]
        run_fn = runner if runner is not None else SandboxRunner()
        # Cases built to exhaust memory only where the sandbox's limit contains them.
        sandboxed = bool(getattr(run_fn, "sandboxed", False))
        cases = {p: draw_cases(p, seed, sandboxed) for p in parts}
        calls = [c.call for p in parts for c in cases[p]]
        try:
            run = run_fn(cells, calls, limits if limits is not None else Limits())
        except Exception as exc:  # the sandbox failed on this submission: report, go on
            message = f"the sandbox could not run this notebook ({type(exc).__name__}: {exc})"
            return _all_failed(grade, message, {Flag.SANDBOX_ERROR})
        grade.flags |= {Flag(f) for f in run.flags}
        grade.cell_errors = list(run.cell_errors)
        grade.notes = list(run.notes)
        grade.isolation = run.isolation
        for p in parts:
            part_run = run.parts.get(p) or PartRun(p, error="no result came back from the sandbox")
            result = judge(p, cases[p], part_run, seed)
            if part_run.error == "not defined" and grade.cell_errors:
                result.error += " (a cell raised while loading: " + grade.cell_errors[0] + ")"
            grade.results.append(result)
        return grade
    finally:
        grade.seconds = time.perf_counter() - start


def grade_safely(
    nb: NotebookFile,
    run_seed: int = DEFAULT_SEED,
    limits: Limits | None = None,
    runner: Runner | None = None,
) -> NotebookGrade:
    """:func:`grade_notebook`, with a bug of the grader's own on one notebook turned into that
    notebook's zero (flag ``grader-error``), so a batch never stops."""
    try:
        return grade_notebook(nb, run_seed, limits, runner)
    except Exception as exc:
        seed = student_seed(run_seed, nb.student, nb.assignment)
        grade = NotebookGrade(nb.student, nb.assignment, nb.notebook, str(nb.path), seed)
        message = f"internal grader error ({type(exc).__name__}: {exc})"
        return _all_failed(grade, message, {Flag.GRADER_ERROR})
