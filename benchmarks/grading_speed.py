"""Whole commands, side by side: ``python -m autograder grade`` against ``nbgrader autograde``.

An instructor waits for the whole command, start-up included, so that is what is timed, on
the same course, the same submissions and the same machine, in one run:

1. **a class, fresh gradebook**: K students (both notebooks each) in a course whose gradebook
   holds only the release; ``nbgrader autograde`` of each assignment against one ``grade``;
2. **one student regraded**, the gradebook existing: ``nbgrader autograde mlp_backprop
   --student S --force`` against ``grade --assignment mlp_backprop --student S`` (which also
   writes the student's feedback page), alternated, the median of each, and where the
   grader's time goes, phase by phase (its ``--timings``; what is left is the interpreter's
   start-up and the imports);
3. **a large class**: N students (2N notebooks) graded by one ``grade --jobs J`` with
   everything written (autograded notebooks, gradebook, feedback pages, CSV), with the peak
   memory of each grading worker.

Submissions are copies of the bundled samples (correct, rewritten, untouched, classic slips)
under new student ids, each with its own cases. Isolation is on (bubblewrap) throughout.
Nothing here asserts a time: the numbers are printed, and ``--json`` saves them.

Run from the repository root, on an otherwise idle machine::

    .venv/bin/python benchmarks/grading_speed.py --json /tmp/speed.json

``--quick`` runs a tiny version to check the script works (the test suite does).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from memory import MemorySampler

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"
VENV_BIN = Path(sys.executable).parent
#: A notebook that is not JSON stops nbgrader's batch; speed is about notebooks that run.
EXCLUDED_SAMPLES = frozenset({"oz_broken"})
COURSE_ID = "gbh-bench"
#: The issue's targets (issue 14).
TARGET_REGRADE, TARGET_CLASS, TARGET_SCALE_SECONDS = 5.0, 20.0, 60.0
#: Seconds of machine load measured before each run, to tell whether the machine was idle.
BACKGROUND_SECONDS = 2.0
_PHASE = re.compile(r"^phase (.+?)\s+([\d.]+) s$")


def _env() -> dict[str, str]:
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("PYTHONPATH", None)
    return env


def _busy_cores(seconds: float = BACKGROUND_SECONDS) -> float:
    """Cores other processes kept busy over ``seconds`` (from /proc/stat)."""

    def busy():
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
        return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")

    before = busy()
    time.sleep(seconds)
    return (busy() - before) / seconds


def make_course(root: Path, students: int, like: Path | None = None) -> Path:
    """A course: the repository's configuration and sources, released into its own gradebook,
    with ``students`` submissions (copies of the samples) in ``submitted/``.

    With ``like``, the configuration, sources, release and gradebook are copied from that
    course (made here, never graded) instead of released again.
    """
    course = root / "course"
    if like is not None:
        shutil.copytree(like, course, ignore=shutil.ignore_patterns("submitted"))
    else:
        course.mkdir(parents=True)
        config = (REPO / "nbgrader_config.py").read_text()
        (course / "nbgrader_config.py").write_text(
            config + f'\nc.CourseDirectory.course_id = "{COURSE_ID}"\n'
        )
        shutil.copytree(REPO / "solutions", course / "solutions")
        subprocess.run(
            [sys.executable, "-m", "autograder", "release", "--root", str(course)],
            cwd=course,
            env=_env(),
            check=True,
            capture_output=True,
        )
    templates = sorted(
        p for p in SAMPLES.iterdir() if p.is_dir() and p.name not in EXCLUDED_SAMPLES
    )
    for i in range(students):
        template = templates[i % len(templates)]
        for notebook in template.glob("*/*.ipynb"):
            target = course / "submitted" / f"s{i:04d}-{template.name}" / notebook.parent.name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook, target / notebook.name)
    return course


def _timed(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds, proc


def ours(course: Path, *options: str) -> tuple[float, dict[str, float]]:
    """``python -m autograder grade OPTIONS`` in ``course``: wall time and its phases."""
    seconds, proc = _timed(
        [sys.executable, "-m", "autograder", "grade", "--quiet", "--timings", *options], course
    )
    phases = {}
    for line in proc.stderr.splitlines():
        if m := _PHASE.match(line.strip()):
            phases[m.group(1)] = float(m.group(2))
    return seconds, phases


def nbgrader(course: Path, assignment: str, *options: str) -> float:
    """``nbgrader autograde ASSIGNMENT OPTIONS`` in ``course``: wall time."""
    return _timed([str(VENV_BIN / "nbgrader"), "autograde", assignment, *options], course)[0]


def assignments() -> list[str]:
    sys.path.insert(0, str(REPO))
    from autograder.checks import contract

    return [a.name for a in contract().assignments]


def run_class(template: Path, root: Path) -> dict:
    """Part 1: the whole class, fresh gradebook, both ways."""
    theirs, mine = root / "class-nbgrader", root / "class-ours"
    shutil.copytree(template, theirs)
    shutil.copytree(template, mine)
    students = len(list((template / "submitted").iterdir()))
    background = _busy_cores()
    nbgrader_s = sum(nbgrader(theirs, a) for a in assignments())
    ours_s, phases = ours(mine)
    return {
        "students": students,
        "notebooks": 2 * students,
        "nbgrader_s": nbgrader_s,
        "ours_s": ours_s,
        "ratio": nbgrader_s / ours_s,
        "ours_phases": phases,
        "background_cores": background,
        "courses": (theirs, mine),
    }


def run_regrade(theirs: Path, mine: Path, student: str, repeats: int) -> dict:
    """Part 2: one student's ``mlp_backprop`` regraded in graded courses, alternating."""
    nbgrader_s, ours_s, phases = [], [], []
    background = _busy_cores()
    for _ in range(repeats):
        nbgrader_s.append(nbgrader(theirs, "mlp_backprop", "--student", student, "--force"))
        seconds, phase = ours(mine, "--assignment", "mlp_backprop", "--student", student)
        ours_s.append(seconds)
        phases.append(phase)
    median = {name: statistics.median(p[name] for p in phases) for name in phases[0]}
    ours_median = statistics.median(ours_s)
    median["start-up and imports"] = max(0.0, ours_median - sum(median.values()))
    page = mine / "feedback" / student / "mlp_backprop" / "mlp_backprop.html"
    return {
        "student": student,
        "repeats": repeats,
        "nbgrader_s": statistics.median(nbgrader_s),
        "ours_s": ours_median,
        "ratio": statistics.median(nbgrader_s) / ours_median,
        "nbgrader_all_s": nbgrader_s,
        "ours_all_s": ours_s,
        "ours_phases": median,
        "feedback_page": page.is_file(),
        "background_cores": background,
    }


def run_scale(students: int, jobs: int, root: Path, template: Path) -> dict:
    """Part 3: a large class graded by one command, everything written, memory sampled."""
    course = make_course(root / f"scale-{students}", students, like=template)
    background = _busy_cores()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", "--quiet", "--timings", f"--jobs={jobs}"],
        cwd=course,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with MemorySampler(proc.pid) as sampler:
        out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"grade failed:\n{out[-2000:]}\n{err[-2000:]}")
    phases = {
        m.group(1): float(m.group(2))
        for line in err.splitlines()
        if (m := _PHASE.match(line.strip()))
    }
    written = {
        "autograded notebooks": len(list((course / "autograded").glob("*/*/*.ipynb"))),
        "feedback pages": len(list((course / "feedback").glob("*/*/*.html"))),
        "gradebook": (course / "gradebook.db").stat().st_size,
    }
    return {
        "students": students,
        "notebooks": 2 * students,
        "jobs": jobs,
        "seconds": seconds,
        "notebooks_per_s": 2 * students / seconds,
        "phases": phases,
        "memory_mib": sampler.mib(),
        "written": written,
        "background_cores": background,
    }


def _machine() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def report(results: dict) -> None:
    """Print the three tables and the targets."""
    c, r, s = results["class"], results["regrade"], results["scale"]
    print(f"\n== a class of {c['students']} students ({c['notebooks']} notebooks), fresh gradebook")
    print(f"  nbgrader autograde (both assignments): {c['nbgrader_s']:8.1f} s")
    print(f"  python -m autograder grade:            {c['ours_s']:8.1f} s")
    print(
        f"  ratio {c['ratio']:.1f}x   (background load before: {c['background_cores']:.2f} cores)"
    )

    print(f"\n== one student regraded ({r['student']}, mlp_backprop), {r['repeats']} times each")
    print(f"  nbgrader autograde --student --force: median {r['nbgrader_s']:6.2f} s")
    print(f"  grade --student (feedback page too):  median {r['ours_s']:6.2f} s")
    print(
        f"  ratio {r['ratio']:.1f}x   (background load before: {r['background_cores']:.2f} cores)"
    )
    print("  where the grader's time goes (median s):")
    for name, seconds in sorted(r["ours_phases"].items(), key=lambda kv: -kv[1]):
        print(f"    {name:<26}{seconds:7.3f}")

    mem = s["memory_mib"]
    print(f"\n== {s['students']} students ({s['notebooks']} notebooks), --jobs {s['jobs']}")
    print(f"  whole command: {s['seconds']:.1f} s, {s['notebooks_per_s']:.1f} notebooks/s")
    for name, seconds in s["phases"].items():
        print(f"    {name:<26}{seconds:7.2f} s")
    print(f"  written: {s['written']}")
    # PSS is read every PSS_EVERY samples only (it walks every mapping): a short run has none.
    pss = f"{mem['pss']:.0f}" if mem.get("pss") else "not sampled (run too short)"
    print(
        f"  peak memory per worker (MiB): grading process {mem.get('grader_rss', 0):.0f}, "
        f"sandbox supervisor {mem.get('supervisor_rss', 0):.0f}, largest submission process "
        f"{mem.get('submission_rss', 0):.0f}; whole worker tree PSS {pss} "
        f"({mem.get('workers', 0):.0f} workers)"
    )
    print(f"  (background load before: {s['background_cores']:.2f} cores)")

    print("\n== targets")
    print(f"  one-student regrade {r['ratio']:.1f}x (>= {TARGET_REGRADE:g}x): "
          f"{_verdict(r['ratio'] >= TARGET_REGRADE)}")  # fmt: skip
    print(f"  class of {c['students']} {c['ratio']:.1f}x (>= {TARGET_CLASS:g}x): "
          f"{_verdict(c['ratio'] >= TARGET_CLASS)}")  # fmt: skip
    print(f"  {s['students']} students in {s['seconds']:.1f} s (<= {TARGET_SCALE_SECONDS:g} s): "
          f"{_verdict(s['seconds'] <= TARGET_SCALE_SECONDS)}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--class-size", type=int, default=24, help="students of part 1 (default 24)")
    p.add_argument("--repeats", type=int, default=5, help="regrades of part 2, each way")
    p.add_argument("--scale", type=int, default=1000, help="students of part 3 (default 1000)")
    p.add_argument("--jobs", type=int, default=2, help="grading processes in part 3")
    p.add_argument("--quick", action="store_true", help="a tiny run that checks the script")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    if args.quick:
        args.class_size, args.repeats, args.scale = 1, 1, 2
    results: dict = {"machine": _machine(), "command": sys.argv}
    print(f"Machine: {results['machine']}")
    with tempfile.TemporaryDirectory(prefix="gbh-speed-") as tmp:
        root = Path(tmp)
        template = make_course(root / "template", args.class_size)
        results["class"] = run_class(template, root)
        theirs, mine = results["class"].pop("courses")
        student = sorted(p.name for p in (template / "submitted").iterdir())[0]
        results["regrade"] = run_regrade(theirs, mine, student, args.repeats)
        results["scale"] = run_scale(args.scale, args.jobs, root, template)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
