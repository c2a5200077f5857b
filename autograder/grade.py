"""Batch grading: every notebook of a ``submitted/`` tree, in parallel, one sandbox run each.

For each notebook the grader draws the cases of all its parts (from a seed derived from the
run's seed, the student and the assignment, so any grade can be reproduced), sends the code
cells and the calls to the sandbox once, and judges each part from the plain numbers that come
back. Whatever goes wrong with one notebook (missing, not JSON, a crash of the sandbox) gives
that notebook's parts 0 points with a message and a flag; the batch goes on.
"""

from __future__ import annotations

import csv
import os
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .checks import ASSIGNMENTS, PARTS, draw_cases, failed_result, judge
from .checks.core import PartResult
from .protocol import Limits, PartRun
from .submission import NotebookFile, SubmissionError, find_notebooks, read_code_cells

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_SEED",
    "NotebookGrade",
    "csv_rows",
    "expected_notebooks",
    "grade_all",
    "grade_notebook",
    "student_seed",
    "summarize",
    "write_csv",
    "write_summary_figure",
]

#: The run's seed when none is given: fixed, so grading the same folder twice gives the same
#: cases and the same grades.
DEFAULT_SEED = 2705
#: The CSV's columns: the contract's six first, then what explains the score.
CSV_COLUMNS = [
    "student_id",
    "assignment",
    "notebook",
    "grade_id",
    "score",
    "max_score",
    "part",
    "seed",
    "flags",
    "diagnosis",
    "message",
]

Runner = Callable[..., object]


def expected_notebooks() -> dict[str, str]:
    """Assignment name to notebook name, from the contract."""
    return {assignment: notebook for assignment, (notebook, _) in ASSIGNMENTS.items()}


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


@dataclass
class NotebookGrade:
    """Everything the grader found about one notebook.

    Attributes
    ----------
    student, assignment, notebook, path : str
    seed : int
    results : list of PartResult
        One per contract part of the assignment, in notebook order.
    problem : str or None
        Why the notebook could not be run at all.
    flags : set of str
        Notebook-level flags (``missing-notebook``, ``unreadable``, ``sandbox-error``, and
        the sandbox's own, e.g. ``tampering``).
    cell_errors : list of str
        Cells that raised while loading.
    notes : list of str
        The sandbox's sentences for the instructor (what the submission tried or suffered).
    isolation : str
        How the code ran (``bwrap`` or ``fallback``, from the sandbox).
    seconds : float
        Wall-clock time spent on it.
    """

    student: str
    assignment: str
    notebook: str
    path: str
    seed: int
    results: list[PartResult] = field(default_factory=list)
    problem: str | None = None
    flags: set[str] = field(default_factory=set)
    cell_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isolation: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)


def default_runner() -> Runner:
    """The sandbox's ``run_submission`` (imported late: the grader's tests may not need it)."""
    from .sandbox import run_submission

    return run_submission


def _all_failed(grade: NotebookGrade, message: str, flags: set[str]) -> NotebookGrade:
    grade.problem = message
    grade.flags |= flags
    grade.results = [
        failed_result(PARTS[p], message, flags, grade.seed)
        for p in ASSIGNMENTS[grade.assignment][1]
    ]
    return grade


def grade_notebook(
    nb: NotebookFile,
    run_seed: int = DEFAULT_SEED,
    limits: Limits | None = None,
    runner: Runner | None = None,
) -> NotebookGrade:
    """Grade one notebook: read it, run it once in the sandbox, judge every part.

    Never raises for a problem of the submission; only a failure of the grader's own code
    propagates.

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
    """
    start = time.perf_counter()
    seed = student_seed(run_seed, nb.student, nb.assignment)
    grade = NotebookGrade(nb.student, nb.assignment, nb.notebook, str(nb.path), seed)
    try:
        if nb.problem == "missing":
            return _all_failed(
                grade, f"{nb.notebook}.ipynb was not submitted", {"missing-notebook"}
            )
        try:
            cells = read_code_cells(nb.path)
        except SubmissionError as exc:
            return _all_failed(grade, str(exc), {"unreadable"})
        parts = ASSIGNMENTS[nb.assignment][1]
        # Cases built to exhaust memory only where the sandbox's limit contains them.
        sandboxed = runner is None or getattr(runner, "__module__", "") == "autograder.sandbox"
        cases = {p: draw_cases(p, seed, sandboxed) for p in parts}
        calls = [c.call for p in parts for c in cases[p]]
        run_fn = runner if runner is not None else default_runner()
        try:
            run = run_fn(cells, calls, limits if limits is not None else Limits())
        except Exception as exc:  # the sandbox failed on this submission: report, go on
            return _all_failed(
                grade,
                f"the sandbox could not run this notebook ({type(exc).__name__}: {exc})",
                {"sandbox-error"},
            )
        grade.flags |= set(run.flags)
        grade.cell_errors = list(run.cell_errors)
        grade.notes = list(getattr(run, "notes", []) or [])
        grade.isolation = str(getattr(run, "isolation", "") or "")
        for p in parts:
            part_run = run.parts.get(p) or PartRun(p, error="no result came back from the sandbox")
            result = judge(p, cases[p], part_run, seed)
            if part_run.error == "not defined" and grade.cell_errors:
                result.error += " (a cell raised while loading: " + grade.cell_errors[0] + ")"
            grade.results.append(result)
        return grade
    finally:
        grade.seconds = time.perf_counter() - start


def _grade_job(args):
    nb, run_seed, limits, runner, feedback_dir = args
    grade = _grade_safely(nb, run_seed, limits, runner)
    if feedback_dir is not None:
        # Rendering a page (with its figure) costs about as much as grading: do it here, in
        # the worker, so it runs in parallel too.
        from .feedback import write_feedback

        write_feedback(grade, feedback_dir)
    return grade


def _grade_safely(nb, run_seed, limits, runner):
    try:
        return grade_notebook(nb, run_seed, limits, runner)
    except Exception as exc:  # a bug of the grader on one notebook still must not stop the batch
        grade = NotebookGrade(
            nb.student,
            nb.assignment,
            nb.notebook,
            str(nb.path),
            student_seed(run_seed, nb.student, nb.assignment),
        )
        return _all_failed(
            grade, f"internal grader error ({type(exc).__name__}: {exc})", {"grader-error"}
        )


def grade_all(
    notebooks: list[NotebookFile],
    run_seed: int = DEFAULT_SEED,
    jobs: int | None = None,
    limits: Limits | None = None,
    runner: Runner | None = None,
    progress: bool = True,
    feedback_dir: str | Path | None = None,
    scheduler: str | None = None,
) -> list[NotebookGrade]:
    """Grade many notebooks, in parallel across processes, with a progress bar.

    Parameters
    ----------
    notebooks : list of NotebookFile
    run_seed : int
    jobs : int, optional
        Worker processes; the number of cores by default; 1 grades in this process.
    limits : Limits, optional
    runner : callable, optional
        As in :func:`grade_notebook`; must be picklable (a module-level function) when
        ``jobs > 1``.
    progress : bool
        Show a tqdm progress bar on stderr.
    feedback_dir : str or Path, optional
        Also write each notebook's feedback page there (in the worker processes).
    scheduler : str, optional
        A Dask scheduler's address (``tcp://HOST:PORT``): grade on that cluster instead of
        local processes (see :mod:`autograder.distributed`); ``jobs`` is then ignored.

    Returns
    -------
    list of NotebookGrade
        In the order of ``notebooks``.
    """
    if scheduler:
        from .distributed import grade_on_cluster

        return grade_on_cluster(
            notebooks, scheduler, run_seed, limits, runner, progress, feedback_dir
        )
    from tqdm import tqdm

    jobs = max(1, jobs or os.cpu_count() or 1)
    jobs = min(jobs, max(1, len(notebooks)))
    bar = tqdm(total=len(notebooks), desc="grading", unit="nb", disable=not progress)
    out: list[NotebookGrade | None] = [None] * len(notebooks)
    try:
        if jobs == 1:
            for i, nb in enumerate(notebooks):
                out[i] = _grade_job((nb, run_seed, limits, runner, feedback_dir))
                bar.update()
        else:
            retry = []
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = {
                    pool.submit(_grade_job, (nb, run_seed, limits, runner, feedback_dir)): i
                    for i, nb in enumerate(notebooks)
                }
                for future in as_completed(futures):
                    try:
                        out[futures[future]] = future.result()
                        bar.update()
                    except Exception:  # a worker process died: grade its notebooks again below
                        retry.append(futures[future])
            for i in sorted(retry):
                out[i] = _grade_job((notebooks[i], run_seed, limits, runner, feedback_dir))
                bar.update()
    finally:
        bar.close()
    return [g for g in out if g is not None]


def _fmt_score(x: float) -> str:
    return f"{x:.4g}" if x != int(x) else str(int(x))


def csv_rows(grades: list[NotebookGrade]) -> list[dict[str, str]]:
    """One row per student and part, with the columns of :data:`CSV_COLUMNS`."""
    rows = []
    for g in grades:
        for r in g.results:
            rows.append(
                {
                    "student_id": g.student,
                    "assignment": g.assignment,
                    "notebook": g.notebook,
                    "grade_id": f"test_{r.part}",
                    "score": _fmt_score(r.score),
                    "max_score": _fmt_score(r.max_score),
                    "part": r.part,
                    "seed": str(g.seed),
                    "flags": " ".join(sorted(r.flags | g.flags)),
                    "diagnosis": " ".join(name for name, _ in r.diagnoses),
                    "message": r.message,
                }
            )
    return rows


def write_csv(grades: list[NotebookGrade], path: str | Path) -> Path:
    """Write :func:`csv_rows` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(grades))
    return path


def _per_part(grades):
    parts: dict[str, list[float]] = {}
    maxima: dict[str, float] = {}
    for g in grades:
        for r in g.results:
            parts.setdefault(r.part, []).append(r.score)
            maxima[r.part] = r.max_score
    return parts, maxima


def summarize(grades: list[NotebookGrade], seconds: float | None = None) -> str:
    """The instructor's closing summary: counts, problems, mean score per part.

    Parameters
    ----------
    grades : list of NotebookGrade
    seconds : float, optional
        Wall-clock time of the batch.

    Returns
    -------
    str
    """
    students = sorted({g.student for g in grades})
    lines = [
        f"Graded {len(grades)} notebooks of {len(students)} students"
        + (f" in {seconds:.1f} s" if seconds is not None else "")
        + "."
    ]
    problems: dict[str, int] = {}
    for g in grades:
        for flag in g.flags:
            problems[flag] = problems.get(flag, 0) + 1
    if problems:
        lines.append(
            "Notebook flags: " + ", ".join(f"{k} {v}" for k, v in sorted(problems.items()))
        )
    modes = sorted({g.isolation for g in grades if g.isolation})
    if modes:
        lines.append("Isolation: " + ", ".join(modes))
    for g in grades:
        if g.notes or g.flags - {"missing-notebook"}:
            what = "; ".join(g.notes[:3]) or g.problem or ""
            lines.append(
                f"  {g.student}/{g.assignment}: {' '.join(sorted(g.flags))}"
                + (f" ({what})" if what else "")
            )
    parts, maxima = _per_part(grades)
    lines.append(f"{'part':<22}{'mean':>8}{'max':>6}{'full marks':>12}")
    for part, scores in parts.items():
        full = sum(s >= maxima[part] for s in scores)
        mean = sum(scores) / len(scores)
        lines.append(f"{part:<22}{mean:>8.2f}{maxima[part]:>6g}{full:>8}/{len(scores)}")
    totals: dict[str, list[float]] = {}
    for g in grades:
        totals.setdefault(g.assignment, []).append(g.score)
    for assignment, scores in totals.items():
        max_total = sum(maxima[p] for p in ASSIGNMENTS[assignment][1])
        lines.append(
            f"{assignment}: mean {sum(scores) / len(scores):.2f} / {max_total:g} "
            f"over {len(scores)} notebooks"
        )
    return "\n".join(lines)


def write_summary_figure(grades: list[NotebookGrade], path: str | Path) -> Path:
    """A bar chart of the mean score per part, as a fraction of its points.

    Parameters
    ----------
    grades : list of NotebookGrade
    path : str or Path
        A ``.png`` file.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts, maxima = _per_part(grades)
    names = list(parts)
    fractions = [sum(parts[p]) / (len(parts[p]) * maxima[p]) for p in names]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(names) + 1.2), dpi=100)
    colors = ["#2e7d32" if f >= 0.8 else "#f9a825" if f >= 0.5 else "#c62828" for f in fractions]
    ax.barh(names, fractions, color=colors)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("mean score / points")
    ax.set_title(f"Mean score per part ({len({g.student for g in grades})} students)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def discover(path: str | Path) -> list[NotebookFile]:
    """The notebooks to grade under ``path`` (see :func:`autograder.submission.find_notebooks`)."""
    return find_notebooks(path, expected_notebooks())
