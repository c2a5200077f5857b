"""Grading throughput: this grader against real ``nbgrader autograde``, on the same machine.

Makes K students' submissions from the bundled samples (``samples/submitted/``: correct code,
classic slips and untouched releases, both notebooks each), then

1. grades one set with ``nbgrader autograde`` (a temporary course: the repository's
   ``nbgrader_config.py`` and ``solutions/``, ``nbgrader generate_assignment``, then
   ``nbgrader autograde`` per assignment) and with this grader (``grade_all`` with bubblewrap
   isolation, then the CSV and the nbgrader gradebook), and prints per-notebook medians and
   the ratio;
2. grades K = 10, 100 and 1000 students (20 to 2000 notebooks) with this grader: wall time,
   notebooks per second, CPU use, peak memory per worker;
3. breaks one notebook's grading into its phases, timed from outside (nothing in the grader
   is instrumented): starting a worker, the fresh process per submission, loading the
   notebook's code, the checks (drawing cases, the calls in the sandbox, judging), the
   gradebook write, and (not part of grading) rendering a feedback page.

Run from the repository root, on an otherwise idle machine::

    .venv/bin/python benchmarks/grading_throughput.py --jobs 2

``--quick`` runs a tiny version (seconds) to check that the script works. Results of a full
run are in ``benchmarks/README.md``. The script asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"
VENV_BIN = Path(sys.executable).parent
#: Samples left out: a notebook that is not JSON stops nbgrader's batch, and throughput is
#: about notebooks that run.
EXCLUDED_SAMPLES = frozenset({"oz_broken"})
#: The issue's targets.
TARGET_RATIO = 20.0
TARGET_STUDENTS, TARGET_SECONDS = 1000, 120.0
#: Cores other processes may keep busy before the tables say the machine was not idle.
OTHER_LOAD_WARNING = 0.2
#: How long the machine's load is read before each run, to tell whether it was idle.
BACKGROUND_SECONDS = 2.0
#: How often the memory sampler reads the workers' resident sets: often enough to see many
#: submission processes (each lives ~0.1 s), rarely enough to cost well under 1% of a core.
SAMPLE_SECONDS = 0.2
#: The proportional set size walks every page table of the tree: only every this many samples.
PSS_EVERY = 10


# -- submissions --------------------------------------------------------------------------------


def sample_students() -> list[Path]:
    """The sample students' folders used as templates, in a fixed order."""
    return sorted(p for p in SAMPLES.iterdir() if p.is_dir() and p.name not in EXCLUDED_SAMPLES)


def make_submissions(dest: Path, k: int) -> list[str]:
    """Write K students' submissions under ``dest`` (an nbgrader ``submitted/`` tree).

    Student ``i`` is a copy of sample ``i mod n`` under the id ``s<i>-<sample>``; copies of one
    sample still get different cases, since each student's seed derives from the id.

    Returns
    -------
    list of str
        The student ids.
    """
    templates = sample_students()
    ids = []
    for i in range(k):
        template = templates[i % len(templates)]
        student = f"s{i:04d}-{template.name}"
        for notebook in template.glob("*/*.ipynb"):
            target = dest / student / notebook.parent.name / notebook.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook, target)
        ids.append(student)
    return ids


# -- nbgrader ------------------------------------------------------------------------------------

_START = re.compile(r"^(\d+\.\d+) \[AutogradeApp \| INFO\] Creating/updating student with ID")
_END = re.compile(r"^(\d+\.\d+) \[AutogradeApp \| INFO\] Setting destination file permissions")


def run_nbgrader(course: Path, k: int) -> dict:
    """``nbgrader autograde`` of K students, both assignments, in a fresh course directory.

    Per-notebook times come from nbgrader's own log (timestamps added through its
    ``log_format``): from "Creating/updating student" to the autograded notebook's write.
    """
    from autograder.checks import contract

    course.mkdir(parents=True)
    shutil.copyfile(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions", course / "solutions")
    nbgrader = str(VENV_BIN / "nbgrader")
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assignments = sorted(contract().notebooks())
    for assignment in assignments:
        subprocess.run(
            [nbgrader, "generate_assignment", assignment, "--force", "--log-level=ERROR"],
            cwd=course,
            env=env,
            check=True,
            capture_output=True,
        )
    make_submissions(course / "submitted", k)
    per_notebook: list[float] = []
    start = time.perf_counter()
    for assignment in assignments:
        proc = subprocess.run(
            [
                nbgrader,
                "autograde",
                assignment,
                "--force",
                "--NbGrader.log_format=%(created).3f [%(name)s | %(levelname)s] %(message)s",
            ],
            cwd=course,
            env=env,
            capture_output=True,
            text=True,
        )
        began = None
        for line in proc.stderr.splitlines():
            if m := _START.match(line):
                began = float(m.group(1))
            elif (m := _END.match(line)) and began is not None:
                per_notebook.append(float(m.group(1)) - began)
                began = None
    wall = time.perf_counter() - start
    return {
        "students": k,
        "notebooks": 2 * k,
        "graded": len(per_notebook),
        "wall_s": wall,
        "median_s": statistics.median(per_notebook) if per_notebook else float("nan"),
        "per_notebook_s": per_notebook,
    }


# -- this grader ---------------------------------------------------------------------------------


class MemorySampler:
    """Peak memory of the grading processes, sampled from ``/proc`` while a batch runs.

    The sampling runs in a separate process (a thread here would be inherited, mid-lock, by
    the grading processes that ``grade_all`` forks). For each direct child of this process (a
    grading worker) it tracks the peak resident set of the worker itself, of its warm sandbox
    supervisor, of the largest single submission process, and the peak proportional set size
    (PSS: shared pages split among the processes sharing them) of the worker's whole tree.
    """

    def __enter__(self) -> MemorySampler:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--sample-memory", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.peaks: dict[str, float] = {}
        return self

    def __exit__(self, *exc) -> None:
        out, _ = self.proc.communicate("", timeout=60)
        self.peaks = json.loads(out or "{}")

    def summary(self) -> dict[str, float]:
        """Largest peak over the workers, in MiB."""
        mib = 1024**2
        keys = ("grader_rss", "supervisor_rss", "submission_rss", "pss")
        return {k: self.peaks.get(k, 0) / mib for k in keys}

    def cpu_seconds(self) -> float:
        """CPU the grading processes and their sandboxes used (to the last sample)."""
        return float(self.peaks.get("cpu_s", 0.0))


def _process_table() -> dict[int, tuple[int, str, int]]:
    """Every process's parent, name and CPU ticks (own + waited-for children), from ``/proc``."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.find(b"(") + 1 : stat.rfind(b")")].decode(errors="replace")
        fields = stat[stat.rfind(b")") + 2 :].split()
        # utime, stime, cutime, cstime: a supervisor's children are its submissions' process
        # trees, each waited for (the namespace's init reaps everything in it when it dies).
        ticks = sum(int(x) for x in fields[11:15])
        table[int(entry)] = (int(fields[1]), name, ticks)
    return table


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm", "rb") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _pss(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
        for line in fh:
            if line.startswith(b"Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def sample_memory(parent: int) -> None:
    """The sampler process: poll ``parent``'s worker trees until stdin closes; print peaks.

    Resident sets are read every :data:`SAMPLE_SECONDS` (cheap: one ``statm`` per process);
    the whole-tree PSS, which walks every page table, only every :data:`PSS_EVERY` samples.
    """
    me = os.getpid()
    peaks = {"grader_rss": 0, "supervisor_rss": 0, "submission_rss": 0, "pss": 0}
    ticks: dict[int, int] = {}  # last CPU ticks seen of each grading process and supervisor
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    tick = 0
    while not done.wait(SAMPLE_SECONDS):
        tick += 1
        table = _process_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        for worker in children.get(parent, []):
            if worker == me:
                continue
            tree, queue = [], [worker]
            while queue:
                pid = queue.pop()
                tree.append(pid)
                queue.extend(children.get(pid, []))
            pss = 0
            for pid in tree:
                ppid, name, cpu = table[pid]
                if name == "bwrap":
                    continue
                try:
                    rss = _rss(pid)
                    if tick % PSS_EVERY == 0:
                        pss += _pss(pid)
                except (OSError, ValueError, IndexError):
                    continue
                if pid == worker:
                    role = "grader_rss"
                    ticks[pid] = cpu
                elif table.get(ppid, (0, "", 0))[1] == "bwrap":
                    role = "supervisor_rss"
                    ticks[pid] = cpu
                else:
                    role = "submission_rss"
                peaks[role] = max(peaks[role], rss)
            peaks["pss"] = max(peaks["pss"], pss)
    peaks["cpu_s"] = sum(ticks.values()) / os.sysconf("SC_CLK_TCK")
    print(json.dumps(peaks))


def _cpu_busy_seconds() -> float:
    """Seconds of CPU the whole machine spent busy so far (from /proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _fresh_gradebook(path: Path) -> str:
    """A gradebook that exists already, as the course's does after ``generate_assignment``."""
    from autograder.gradebook import open_gradebook

    url = f"sqlite:///{path}"
    open_gradebook(url, course_id="benchmark").close()
    return url


def run_ours(submitted: Path, students: list[str] | None, jobs: int, workdir: Path) -> dict:
    """Grade a ``submitted/`` tree as ``python -m autograder grade`` does, phase by phase.

    Grading (isolated, in ``jobs`` processes), the CSV and the gradebook write are timed; the
    feedback pages are not written here (``nbgrader autograde`` writes none either; see
    :func:`breakdown` for their cost).
    """
    from autograder.batch import LocalBackend, grade_all
    from autograder.grade import discover
    from autograder.gradebook import write_grades
    from autograder.report import write_csv

    notebooks = discover(submitted)
    if students is not None:
        keep = set(students)
        notebooks = [nb for nb in notebooks if nb.student in keep]
    workdir.mkdir(parents=True, exist_ok=True)
    db = _fresh_gradebook(workdir / "gradebook.db")
    # Whatever else keeps the machine busy right before the run is still there during it.
    idle0 = _cpu_busy_seconds()
    time.sleep(BACKGROUND_SECONDS)
    background = (_cpu_busy_seconds() - idle0) / BACKGROUND_SECONDS
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = _cpu_busy_seconds()
    own0 = os.times()
    start = time.perf_counter()
    with MemorySampler() as sampler:
        grades = grade_all(notebooks, backend=LocalBackend(jobs), progress=False)
    graded = time.perf_counter()
    write_csv(grades, workdir / "grades.csv")
    written = time.perf_counter()
    write_grades(grades, db, course_id="benchmark")
    end = time.perf_counter()
    busy = _cpu_busy_seconds() - busy0
    own1 = os.times()
    # This process (the pool, the CSV, the gradebook) plus the workers' trees.
    ours = sampler.cpu_seconds() + (own1.user + own1.system) - (own0.user + own0.system)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "students": len({nb.student for nb in notebooks}),
        "notebooks": len(notebooks),
        "jobs": jobs,
        "wall_s": end - start,
        "grade_s": graded - start,
        "csv_s": written - graded,
        "gradebook_s": end - written,
        "per_notebook_ms": 1000 * (end - start) / len(notebooks),
        "notebooks_per_s": len(notebooks) / (end - start),
        "latency_median_s": statistics.median(g.seconds for g in grades),
        "cpu_busy_cores": busy / (end - start),
        "background_cores": background,
        # On an idle machine all of the machine's busy time is ours (checked with `perf`).
        "cpu_ms_per_notebook": 1000 * busy / len(notebooks),
        # From /proc: a lower bound (processes that end between two samples are partly missed).
        "accounted_cpu_ms_per_notebook": 1000 * ours / len(notebooks),
        "isolation": sorted({g.isolation for g in grades if g.isolation}),
        "points": sum(g.score for g in grades),
        "memory_mib": sampler.summary(),
        "children_maxrss_mib": max(before_children.ru_maxrss, children.ru_maxrss) / 1024,
    }


def _median_ms(values: list[float]) -> float:
    return 1000 * statistics.median(values) if values else float("nan")


def breakdown(submitted: Path, students: list[str], repeats: int) -> dict:
    """Where one notebook's time goes, phase by phase, timed from outside in this process.

    Each phase is timed on every notebook of ``students`` (one after the other, one core), and
    the median is kept. The sandbox's phases are differences: a submission with no code and no
    calls (the fresh process tree), with the notebook's code and no calls (plus loading), with
    the calls (plus running them).
    """
    from autograder.checks import contract, draw_cases, judge
    from autograder.feedback import render_feedback
    from autograder.grade import discover, grade_notebook, student_seed
    from autograder.protocol import Limits, PartRun
    from autograder.sandbox import isolation_mode, run_submission
    from autograder.sandbox_audit import audit_cells
    from autograder.submission import read_code_cells

    # Starting a worker: a new interpreter that imports the grader and starts its sandbox.
    boot = (
        "import time; t = time.perf_counter(); import autograder.grade, autograder.checks; "
        "from autograder.sandbox import isolation_mode; isolation_mode(); "
        "print(time.perf_counter() - t)"
    )
    starts = []
    for _ in range(max(1, repeats)):
        out = subprocess.run(
            [sys.executable, "-c", boot], cwd=REPO, capture_output=True, text=True, check=True
        )
        starts.append(float(out.stdout.strip().splitlines()[-1]))

    isolation_mode()
    keep = set(students)
    notebooks = [nb for nb in discover(submitted) if nb.student in keep and nb.problem is None]
    limits = Limits()
    phases: dict[str, list[float]] = {
        k: []
        for k in (
            "read",
            "draw",
            "fresh_process",
            "load",
            "audit",
            "calls",
            "judge",
            "grade_notebook",
            "feedback",
        )
    }
    for nb in notebooks:
        t0 = time.perf_counter()
        cells = read_code_cells(nb.path)
        t1 = time.perf_counter()
        seed = student_seed(2705, nb.student, nb.assignment)
        parts = [p.name for p in contract().parts_of(nb.assignment)]
        cases = {p: draw_cases(p, seed, True) for p in parts}
        calls = [c.call for p in parts for c in cases[p]]
        t2 = time.perf_counter()
        run_submission(["pass"], [], limits)
        t3 = time.perf_counter()
        run_submission(cells, [], limits)
        t4 = time.perf_counter()
        audit_cells(cells)
        t5 = time.perf_counter()
        run = run_submission(cells, calls, limits)
        t6 = time.perf_counter()
        for p in parts:
            judge(p, cases[p], run.parts.get(p) or PartRun(p, error="none"), seed)
        t7 = time.perf_counter()
        grade = grade_notebook(nb)
        t8 = time.perf_counter()
        render_feedback(grade)
        t9 = time.perf_counter()
        phases["read"].append(t1 - t0)
        phases["draw"].append(t2 - t1)
        phases["fresh_process"].append(t3 - t2)
        phases["load"].append((t4 - t3) - (t3 - t2))
        phases["audit"].append(t5 - t4)
        phases["calls"].append((t6 - t5) - (t4 - t3))
        phases["judge"].append(t7 - t6)
        phases["grade_notebook"].append(t8 - t7)
        phases["feedback"].append(t9 - t8)
    result = {k: _median_ms(v) for k, v in phases.items()}
    result["worker_start"] = _median_ms(starts)
    result["notebooks"] = len(notebooks)
    return result


# -- report --------------------------------------------------------------------------------------


def _machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables; ``--json PATH`` also saves the numbers."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=2, help="grading processes (default 2)")
    p.add_argument(
        "--nbgrader-students",
        type=int,
        default=10,
        help="students graded by nbgrader and by us side by side (default 10: 20 notebooks)",
    )
    p.add_argument(
        "--scale",
        default="10,100,1000",
        help="student counts of this grader's scaling curve (default 10,100,1000)",
    )
    p.add_argument("--breakdown-students", type=int, default=14, help="notebooks timed by phase")
    p.add_argument("--skip-nbgrader", action="store_true", help="only this grader")
    p.add_argument("--quick", action="store_true", help="a tiny run that checks the script works")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--sample-memory", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.sample_memory is not None:
        sample_memory(args.sample_memory)
        return 0
    repeats = 3  # worker starts timed for the breakdown
    if args.quick:
        args.nbgrader_students, args.scale, args.breakdown_students = 1, "2", 1
        repeats = 1
    scale = sorted({int(k) for k in args.scale.split(",") if k.strip()})
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core per grading process

    results: dict = {"machine": _machine(), "jobs": args.jobs, "command": sys.argv}
    print(f"Machine: {results['machine']}; this grader with --jobs {args.jobs}")
    with tempfile.TemporaryDirectory(prefix="gbh-bench-") as tmp:
        root = Path(tmp)
        biggest = max([*scale, args.nbgrader_students, args.breakdown_students])
        students = make_submissions(root / "submitted", biggest)

        if not args.skip_nbgrader:
            k = args.nbgrader_students
            print(f"\n== nbgrader autograde vs this grader: the same {k} students ({2 * k} nb)")
            nbg = run_nbgrader(root / "nbgrader-course", k)
            ours = run_ours(
                root / "nbgrader-course" / "submitted", None, args.jobs, root / "ours-same"
            )
            # nbgrader grades one notebook after another: its throughput is one notebook per
            # median notebook time (its start-up left out, which only flatters it).
            nbg_rate = 1 / nbg["median_s"]
            ratio_batch = nbg["wall_s"] / ours["wall_s"]
            results["nbgrader"] = nbg
            results["ours_same_set"] = ours
            results["ratio_batch"] = ratio_batch
            print(f"{'':44}{'nbgrader':>10}{'this grader':>13}")
            print(
                f"{'notebooks graded':44}{nbg['graded']:>10}{ours['notebooks']:>13}\n"
                f"{'batch wall time, start-up included (s)':44}{nbg['wall_s']:>10.1f}"
                f"{ours['wall_s']:>13.1f}\n"
                f"{'per-notebook median (s)':44}{nbg['median_s']:>10.3f}"
                f"{ours['latency_median_s']:>13.3f}\n"
                f"{'notebooks per second':44}{nbg_rate:>10.2f}{ours['notebooks_per_s']:>13.2f}"
            )
            print(
                "  (nbgrader: one notebook at a time, per-notebook times from its log; ours: "
                f"--jobs {args.jobs}, the median is one notebook's own grading time, "
                "notebooks per second is the batch's, start-up included)"
            )
            print(f"batch ratio on these {nbg['notebooks']} notebooks: {ratio_batch:.1f}x")

        print(f"\n== this grader, scaling (--jobs {args.jobs}, bubblewrap isolation)")
        print(
            f"{'students':>9}{'notebooks':>10}{'wall s':>9}{'grade s':>9}{'gradebook s':>12}"
            f"{'ms/nb':>8}{'nb/s':>8}{'cores busy':>11}{'CPU ms/nb':>10}{'background':>11}"
        )
        print(
            "  (cores busy and CPU: the whole machine's, from /proc/stat, during the run; "
            f"background: cores busy in the {BACKGROUND_SECONDS:g} s before it)"
        )
        results["scaling"] = []
        for k in scale:
            r = run_ours(root / "submitted", students[:k], args.jobs, root / f"ours-{k}")
            results["scaling"].append(r)
            print(
                f"{r['students']:>9}{r['notebooks']:>10}{r['wall_s']:>9.1f}{r['grade_s']:>9.1f}"
                f"{r['gradebook_s']:>12.2f}{r['per_notebook_ms']:>8.1f}"
                f"{r['notebooks_per_s']:>8.1f}{r['cpu_busy_cores']:>11.2f}"
                f"{r['cpu_ms_per_notebook']:>10.1f}{r['background_cores']:>11.2f}"
            )
        for r in results["scaling"]:
            if r["background_cores"] > OTHER_LOAD_WARNING:
                print(
                    f"  warning: before K={r['students']} other processes kept "
                    f"{r['background_cores']:.1f} cores busy: the machine was not idle"
                )
        last = results["scaling"][-1]
        mem = last["memory_mib"]
        print(
            f"peak memory per worker at K={last['students']} (MiB): grading process RSS "
            f"{mem['grader_rss']:.0f}, sandbox supervisor RSS {mem['supervisor_rss']:.0f}, "
            f"largest submission process RSS {mem['submission_rss']:.0f}; whole worker tree "
            f"PSS {mem['pss']:.0f} (largest child ever, getrusage: "
            f"{last['children_maxrss_mib']:.0f})"
        )
        print(f"isolation: {', '.join(last['isolation']) or '?'}")

        print(
            f"\n== where one notebook's time goes (median ms, one at a time on one core, "
            f"{args.breakdown_students} students)"
        )
        b = breakdown(root / "submitted", students[: args.breakdown_students], repeats)
        results["breakdown"] = b
        if last["students"] > 0:
            b["gradebook_per_notebook"] = 1000 * last["gradebook_s"] / last["notebooks"]
        rows = [
            ("start a worker (once per grading process)", b["worker_start"]),
            ("read the notebook, pick its code cells", b["read"]),
            ("draw the cases (grader)", b["draw"]),
            ("fresh isolated process tree per submission", b["fresh_process"]),
            ("load the notebook's code in it", b["load"]),
            ("  of which, outside: the source audit", b["audit"]),
            ("checks: the calls, in the sandbox", b["calls"]),
            ("checks: judging the answers (grader)", b["judge"]),
            ("gradebook write (batched, per notebook)", b.get("gradebook_per_notebook", 0)),
            ("= grade_notebook end to end", b["grade_notebook"]),
            ("feedback page (HTML + figure), not grading", b["feedback"]),
        ]
        for label, ms in rows:
            print(f"  {label:<48}{ms:>8.1f}")

        print("\n== targets")
        largest = results["scaling"][-1]
        if "nbgrader" in results:
            nbg = results["nbgrader"]
            ratio = largest["notebooks_per_s"] * nbg["median_s"]
            results["ratio_throughput"] = ratio
            print(
                f"throughput: ours {largest['notebooks_per_s']:.1f} notebooks/s at "
                f"K={largest['students']} (start-up and gradebook included) vs nbgrader "
                f"{1 / nbg['median_s']:.2f} notebooks/s (its median notebook): {ratio:.1f}x "
                f"(target {TARGET_RATIO:g}x): {'met' if ratio >= TARGET_RATIO else 'NOT met'}"
            )
        big = [r for r in results["scaling"] if r["students"] >= TARGET_STUDENTS]
        if big:
            r = big[0]
            print(
                f"{r['students']} students ({r['notebooks']} notebooks) in {r['wall_s']:.1f} s "
                f"(target {TARGET_SECONDS:g} s on 2 cores): "
                f"{'met' if r['wall_s'] <= TARGET_SECONDS else 'NOT met'}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
