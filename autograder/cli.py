"""``python -m autograder grade PATH --out DIR [--db URL] [--jobs N] [--seed N]``.

Grades an nbgrader ``submitted/`` tree (or one notebook) and writes:

* ``DIR/grades.csv``: one row per student and contract part (``student_id, assignment,
  notebook, grade_id, score, max_score``, then ``part, seed, flags, diagnosis, message``);
* ``DIR/feedback/<student>/<assignment>/<notebook>.html``: the feedback pages;
* ``DIR/summary.txt`` and ``DIR/summary.svg``: the instructor's summary;
* the grades into the nbgrader gradebook (``--db``, default: the course's, from
  ``nbgrader_config.py`` in the working directory), so ``nbgrader export`` sees them.

Exit status: 0 when grading completed, whatever the students scored; 2 for a usage error
(e.g. PATH does not exist); 3 when the grader itself cannot run (sandbox unavailable,
gradebook unreachable).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .protocol import Flag

__all__ = ["main"]

EXIT_OK, EXIT_USAGE, EXIT_GRADER = 0, 2, 3


def _parser() -> argparse.ArgumentParser:
    from .grade import DEFAULT_SEED

    p = argparse.ArgumentParser(
        prog="python -m autograder grade",
        description="Grade nbgrader submissions part by part, outside the students' process.",
    )
    p.add_argument(
        "path",
        help="an nbgrader submitted/ tree (<student>/<assignment>/<nb>.ipynb) or one notebook",
    )
    p.add_argument("--out", required=True, help="folder for grades.csv, feedback/ and summary")
    p.add_argument("--db", default=None, help="nbgrader gradebook URL (default: the course's)")
    p.add_argument("--no-db", action="store_true", help="do not write to a gradebook")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (default: cores)")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="grade on the workers of this Dask distributed scheduler instead of locally",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"run seed; each student's cases derive from it (default {DEFAULT_SEED})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _fail(code: int, message: str) -> int:
    print(f"autograder grade: error: {message}", file=sys.stderr)
    return code


def main(argv=None) -> int:
    """Run the ``grade`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``grade``; ``sys.argv[2:]`` when omitted.

    Returns
    -------
    int
        The exit status.
    """
    args = _parser().parse_args(sys.argv[2:] if argv is None else list(argv))
    if args.jobs is not None and args.jobs < 1:
        return _fail(EXIT_USAGE, "--jobs must be at least 1")
    path = Path(args.path)
    if not path.exists():
        return _fail(EXIT_USAGE, f"{path} does not exist")

    from .batch import LocalBackend, grade_all
    from .distributed import ClusterError, DaskBackend
    from .feedback import write_feedback
    from .grade import discover, sandbox_runner
    from .gradebook import GradebookError, default_db_url, open_gradebook, write_grades
    from .report import summarize, summary_svg, write_csv

    try:
        runner = sandbox_runner()  # imported here to fail early; workers resolve it again
    except Exception as exc:  # without isolation the grader must not run student code
        return _fail(EXIT_GRADER, f"the sandbox (autograder.sandbox) is not available: {exc}")

    db_url = None if args.no_db else (args.db or default_db_url(os.getcwd()))
    if db_url is not None:
        try:  # fail before grading, not after: an unreachable gradebook stops the run
            open_gradebook(db_url).close()
        except GradebookError as exc:
            return _fail(EXIT_GRADER, str(exc))

    notebooks = discover(path)
    if not notebooks:
        return _fail(
            EXIT_USAGE,
            f"no submissions under {path} (expected <student>/<assignment>/<notebook>.ipynb)",
        )
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(EXIT_GRADER, f"cannot create {out}: {exc}")

    backend = DaskBackend(args.scheduler) if args.scheduler else LocalBackend(args.jobs)
    start = time.perf_counter()
    try:
        grades = grade_all(notebooks, args.seed, backend, runner=runner, progress=not args.quiet)
    except ClusterError as exc:
        return _fail(EXIT_GRADER, str(exc))
    seconds = time.perf_counter() - start

    ran = [g for g in grades if not g.flags & {Flag.MISSING_NOTEBOOK, Flag.UNREADABLE}]
    failed = [g for g in ran if g.flags & {Flag.SANDBOX_ERROR, Flag.GRADER_ERROR}]
    if ran and len(failed) == len(ran):
        # Not one notebook could be run: the grader is broken, not the submissions.
        return _fail(EXIT_GRADER, f"no notebook could be graded: {failed[0].problem}")

    csv_path = write_csv(grades, out / "grades.csv")
    for grade in grades:
        write_feedback(grade, out / "feedback")
    summary = summarize(grades, seconds) + f"\nRun seed: {args.seed}"
    (out / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    (out / "summary.svg").write_text(summary_svg(grades), encoding="utf-8")
    if db_url is not None:
        try:
            n = write_grades(grades, db_url)
        except GradebookError as exc:
            return _fail(EXIT_GRADER, f"{exc} (grades.csv and feedback were written to {out})")
        summary += f"\nGradebook: {n} grades written to {db_url}"
    print(summary)
    print(f"CSV: {csv_path}\nFeedback: {out / 'feedback'}\nSummary figure: {out / 'summary.svg'}")
    return EXIT_OK
