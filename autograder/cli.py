"""``python -m autograder grade`` and ``python -m autograder feedback``.

``grade`` is a drop-in for ``nbgrader autograde``. From the course root (the folder with
``nbgrader_config.py``) and without PATH it grades the course's ``submitted/`` tree, every
assignment (``--assignment`` and ``--student`` narrow it, as in nbgrader), and writes

* ``autograded/<student>/<assignment>/<notebook>.ipynb`` with ``timestamp.txt`` and
  ``submission_secret.txt``: what formgrader opens;
* every graded cell into the course's gradebook (nbgrader's own API), with the late penalty
  the course's policy gives;
* ``feedback/<student>/<assignment>/<notebook>.html`` (with the timestamp and secret), ready
  for ``nbgrader release_feedback``;
* ``--out DIR`` (default ``grades/``): ``grades.csv``, ``summary.txt`` and ``summary.svg``.

With PATH it grades any tree ``<student>/<assignment>/<notebook>.ipynb`` (or one notebook)
and writes the autograded notebooks, the pages, the CSV and the summary into ``--out``.

``feedback [ASSIGNMENT]`` writes the pages again from the gradebook as it is now, after manual
grading in formgrader: manual scores, comments and late penalties appear.

Exit status: 0 when the work completed, whatever the students scored; 2 for a usage error;
3 when the grader itself cannot run (no sandbox, gradebook unreachable).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from .protocol import Flag, Limits

__all__ = ["feedback_main", "main"]

EXIT_OK, EXIT_USAGE, EXIT_GRADER = 0, 2, 3
#: What to run when bubblewrap is missing (Debian and Ubuntu name the package so).
INSTALL_BWRAP = "sudo apt-get install bubblewrap"


def _parser() -> argparse.ArgumentParser:
    from .grade import DEFAULT_SEED

    p = argparse.ArgumentParser(
        prog="python -m autograder grade",
        description="Grade nbgrader submissions part by part, outside the students' process.",
    )
    p.add_argument(
        "path",
        nargs="?",
        help="a tree <student>/<assignment>/<nb>.ipynb or one notebook (default: the "
        "course's submitted/, from the course root)",
    )
    p.add_argument("--assignment", help="only this assignment")
    p.add_argument("--student", help="only this student")
    p.add_argument("--out", help="folder for grades.csv and the summary (default: grades/)")
    p.add_argument("--db", default=None, help="nbgrader gradebook URL (default: the course's)")
    p.add_argument("--no-db", action="store_true", help="do not write to a gradebook")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (default: cores)")
    p.add_argument(
        "--isolation",
        choices=["bwrap", "none"],
        default="bwrap",
        help="bwrap (default): student code in a bubblewrap sandbox; none: a plain "
        "subprocess with resource limits, for trusted notebooks only",
    )
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
    defaults = Limits()
    p.add_argument(
        "--part-seconds",
        type=_seconds,
        default=defaults.part_seconds,
        help=f"time limit of one part's calls (default {defaults.part_seconds:g})",
    )
    p.add_argument(
        "--load-seconds",
        type=_seconds,
        default=defaults.load_seconds,
        help=f"time limit of running a notebook's cells (default {defaults.load_seconds:g})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--timings", action="store_true", help="print each phase's time to stderr")
    return p


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text}")
    return value


def _fail(code: int, message: str, command: str = "grade") -> int:
    print(f"autograder {command}: error: {message}", file=sys.stderr)
    return code


def _course_here():
    from .course import CONFIG_FILE, Course, CourseError

    if not (Path.cwd() / CONFIG_FILE).is_file():
        return None
    try:
        return Course.load(Path.cwd())
    except CourseError:
        return None


def _outputs(args, course, out: Path):
    """Where this run writes: the course's layout, or everything under ``--out``."""
    from .course import default_db_url
    from .course_outputs import Outputs

    if args.path is None:
        outputs = Outputs.for_course(course, args.db)
    else:
        outputs = Outputs(
            autograded=out / "autograded",
            feedback=out / "feedback",
            db_url=args.db or (course.db_url if course else default_db_url(Path.cwd())),
            course_id=course.course_id if course else "",
            late_penalty=course.late_penalty() if course else None,
        )
    if args.no_db:
        outputs = Outputs(outputs.autograded, outputs.feedback, None, outputs.course_id)
    return outputs


def _notebooks(args, course):
    from .checks import contract
    from .grade import discover

    if args.path is None:
        return course.submissions(contract().notebooks(), args.assignment, args.student)
    found = discover(args.path)
    return [
        nb
        for nb in found
        if (not args.assignment or nb.assignment == args.assignment)
        and (not args.student or nb.student == args.student)
    ]


class Phases:
    """Wall-clock time of each phase of a run, for ``--timings`` and the benchmark."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float]] = []
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.rows.append((name, now - self._last))
        self._last = now

    def text(self) -> str:
        return "\n".join(f"phase {name:<22} {seconds:7.3f} s" for name, seconds in self.rows)


def _refusal(args, course) -> tuple[int, str] | None:
    """Why this run must not start (exit status and message), or None."""
    if args.jobs is not None and args.jobs < 1:
        return EXIT_USAGE, "--jobs must be at least 1"
    if args.path is None and course is None:
        return EXIT_USAGE, (
            f"{Path.cwd()} is not an nbgrader course (no readable nbgrader_config.py): run "
            "from the course root, or give the folder of submissions to grade"
        )
    if args.path is not None and not Path(args.path).exists():
        return EXIT_USAGE, f"{args.path} does not exist"
    if args.isolation == "bwrap" and not args.scheduler and shutil.which("bwrap") is None:
        return EXIT_GRADER, (
            "bubblewrap (bwrap) is not installed, and student code is only run isolated: "
            f"install it ({INSTALL_BWRAP}), or grade trusted notebooks with --isolation none"
        )
    return None


def main(argv=None) -> int:
    """Run the ``grade`` command; returns the exit status."""
    args = _parser().parse_args(sys.argv[2:] if argv is None else list(argv))
    phases = Phases()
    course = _course_here()
    refusal = _refusal(args, course)
    if refusal:
        return _fail(*refusal)
    mode = "bwrap" if args.isolation == "bwrap" else "fallback"
    if args.scheduler is None and (args.student or args.jobs == 1):
        # The one worker a single notebook needs starts now, while the course is read.
        from .sandbox import start_early

        start_early(mode)
    phases.mark("read the course")

    from .gradebook import Gradebook, GradebookError

    root = course.root if (course and args.path is None) else Path.cwd()
    out = Path(args.out) if args.out else root / "grades"
    outputs = _outputs(args, course, out)
    notebooks = _notebooks(args, course)
    if not notebooks:
        where = args.path or course.step_folder("submitted")
        layout = "<student>/<assignment>/<notebook>.ipynb"
        return _fail(EXIT_USAGE, f"no submissions under {where} (expected {layout})")
    try:
        out.mkdir(parents=True, exist_ok=True)
        # Opened before grading, so that an unreachable gradebook stops the run at once.
        gb = None if outputs.db_url is None else Gradebook.open(outputs.db_url, outputs.course_id)
    except OSError as exc:
        return _fail(EXIT_GRADER, f"cannot create {out}: {exc}")
    except GradebookError as exc:
        return _fail(EXIT_GRADER, str(exc))
    phases.mark("open the gradebook")
    try:
        return _grade_and_record(args, mode, notebooks, outputs, gb, out, phases)
    finally:
        if gb is not None:
            gb.close()


def _grade_and_record(args, mode, notebooks, outputs, gb, out: Path, phases: Phases) -> int:
    from .batch import LocalBackend, grade_all
    from .course_outputs import autograded_writer, record_batch, write_pages
    from .distributed import ClusterError, DaskBackend
    from .grade import SandboxRunner, handout_digests
    from .gradebook import GradebookError
    from .report import summarize, summary_svg, write_csv

    backend = DaskBackend(args.scheduler) if args.scheduler else LocalBackend(args.jobs)
    writer = autograded_writer(outputs, gb, notebooks)
    start = time.perf_counter()
    try:
        entries = grade_all(
            notebooks,
            args.seed,
            backend,
            runner=SandboxRunner(mode, handout_digests(writer.releases.values())),
            limits=Limits(part_seconds=args.part_seconds, load_seconds=args.load_seconds),
            progress=not args.quiet,
            finish=writer,
        )
    except ClusterError as exc:
        return _fail(EXIT_GRADER, str(exc))
    except OSError as exc:  # the autograded/ folder cannot be written
        return _fail(EXIT_GRADER, f"cannot write the autograded notebooks: {exc}")
    seconds = time.perf_counter() - start
    grades = [e.grade for e in entries]
    phases.mark("grade, autograded/")
    ran = [g for g in grades if not g.flags & {Flag.MISSING_NOTEBOOK, Flag.UNREADABLE}]
    failed = [g for g in ran if g.flags & {Flag.SANDBOX_ERROR, Flag.GRADER_ERROR}]
    if ran and len(failed) == len(ran):
        # Not one notebook could be run: the grader is broken, not the submissions.
        return _fail(EXIT_GRADER, f"no notebook could be graded: {failed[0].problem}")
    try:
        record_batch(entries, outputs, gb)
        phases.mark("gradebook")
        records = write_pages(entries, outputs, [Path(nb.path).parent for nb in notebooks], gb)
        phases.mark("feedback pages")
    except GradebookError as exc:
        return _fail(EXIT_GRADER, str(exc))
    csv_path = write_csv(grades, out / "grades.csv", records)
    summary = summarize(grades, seconds) + f"\nRun seed: {args.seed}"
    (out / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    (out / "summary.svg").write_text(summary_svg(grades), encoding="utf-8")
    phases.mark("CSV and summary")
    if outputs.db_url is not None:
        summary += f"\nGradebook: {outputs.db_url}"
    print(summary)
    if outputs.autograded is not None:
        print(f"Autograded notebooks: {outputs.autograded}")
    print(f"Feedback pages: {outputs.feedback}\nCSV: {csv_path}\nSummary: {out / 'summary.svg'}")
    if args.timings:
        print(phases.text(), file=sys.stderr)
    return EXIT_OK


def feedback_main(argv=None) -> int:
    """Run the ``feedback`` command; returns the exit status."""
    p = argparse.ArgumentParser(
        prog="python -m autograder feedback",
        description="Write the feedback pages of the course from its gradebook as it is now "
        "(manual grades, comments, late penalties), into nbgrader's feedback/ layout.",
    )
    p.add_argument("assignment", nargs="?", help="only this assignment")
    p.add_argument("--student", help="only this student")
    p.add_argument("--db", default=None, help="nbgrader gradebook URL (default: the course's)")
    args = p.parse_args(sys.argv[2:] if argv is None else list(argv))
    course = _course_here()
    if course is None:
        return _fail(EXIT_USAGE, f"{os.getcwd()} is not an nbgrader course", "feedback")
    from .course_outputs import Outputs, regenerate_feedback
    from .gradebook import Gradebook, GradebookError

    outputs = Outputs.for_course(course, args.db)
    try:
        gb = Gradebook.open(outputs.db_url, outputs.course_id)
        try:
            written, problems = regenerate_feedback(outputs, gb, args.assignment, args.student)
        finally:
            gb.close()
    except GradebookError as exc:
        return _fail(EXIT_GRADER, str(exc), "feedback")
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    if not written and not problems:
        return _fail(
            EXIT_USAGE,
            f"no autograded notebooks under {outputs.autograded} (run `grade` first)",
            "feedback",
        )
    print(f"Wrote {written} feedback page(s) to {outputs.feedback}")
    return EXIT_OK
