"""Does the hostile corpus, graded in one batch beside correct submissions, earn nothing it
should not, and harm no one?

The corpus (``tests/files/hostile/``, built by its ``make_corpus.py``) is graded with the
instructor's command, ``python -m autograder grade``, in bubblewrap mode, together with correct
sample students. ``expected.json`` says per case which parts must score 0 and which flags the
instructor must see; every other part must keep full marks.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "files" / "hostile"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
CORRECT_STUDENTS = ("ada_full_marks", "bo_rewritten")
SECRET = "gbh-secret-4f1c9e"
# The whole batch: generous, because several cases hang on purpose until their limits.
BATCH_TIMEOUT = 1800
PART_SECONDS, LOAD_SECONDS = 2, 4

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) not installed"),
]


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _repo_digest() -> dict[str, str]:
    """The solutions and the reference: what a submission would most like to read or spoil."""
    return _digest(ROOT / "solutions") | _digest(ROOT / "autograder" / "reference")


def _make_decoy(decoy: Path) -> None:
    """The files the destructive case aims at, standing in for the course's own."""
    shutil.rmtree(decoy, ignore_errors=True)
    sample = (
        ROOT / "samples" / "submitted" / "ada_full_marks" / "mlp_backprop" / "mlp_backprop.ipynb"
    )
    (decoy / "solutions" / "mlp_backprop").mkdir(parents=True)
    shutil.copy(sample, decoy / "solutions" / "mlp_backprop" / "mlp_backprop.ipynb")
    (decoy / "submitted" / "someone" / "mlp_backprop").mkdir(parents=True)
    shutil.copy(sample, decoy / "submitted" / "someone" / "mlp_backprop" / "mlp_backprop.ipynb")
    (decoy / "gradebook.db").write_bytes(b"the real grades")


def _host_processes(pattern: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if pattern.encode() in cmd:
                found.append(cmd.decode("utf-8", "replace"))
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade the corpus and the correct students in one run of the CLI."""
    if not (ROOT / "samples" / "submitted" / "ada_full_marks").is_dir():
        pytest.skip("samples/submitted is missing: run samples/make_samples.py")
    work = tmp_path_factory.mktemp("hostile")
    submitted = work / "submitted"
    shutil.copytree(CORPUS / "submitted", submitted)
    for student in CORRECT_STUDENTS:
        shutil.copytree(ROOT / "samples" / "submitted" / student, submitted / student)
    decoy = Path(EXPECTED["decoy"])
    _make_decoy(decoy)
    before = {
        "decoy": _digest(decoy),
        "correct": {s: _digest(submitted / s) for s in CORRECT_STUDENTS},
        "repo": _repo_digest(),
    }
    env = dict(os.environ, GBH_SANDBOX="bwrap", GBH_TEST_SECRET=SECRET)
    out = work / "out"
    db = f"sqlite:///{work / 'gradebook.db'}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(submitted),
            "--out",
            str(out),
            "--db",
            db,
            "--quiet",
            "--jobs",
            "2",
            # Several cases hang on purpose until a limit stops them; shorter limits than the
            # defaults test the same mechanism and keep the batch short. Correct code needs
            # milliseconds, so these still leave it three orders of magnitude of room.
            "--part-seconds",
            str(PART_SECONDS),
            "--load-seconds",
            str(LOAD_SECONDS),
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=BATCH_TIMEOUT,
    )
    rows = []
    if (out / "grades.csv").exists():
        with open(out / "grades.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    yield {
        "proc": proc,
        "rows": rows,
        "out": out,
        "db": db,
        "submitted": submitted,
        "before": before,
        "decoy": decoy,
    }
    shutil.rmtree(decoy, ignore_errors=True)


def _rows_of(batch, student: str) -> list[dict]:
    return [r for r in batch["rows"] if r["student_id"] == student]


def test_the_batch_finishes(batch):
    """Does the grading command finish normally, every notebook isolated by bubblewrap, with
    every hostile case in the batch?"""
    proc = batch["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Every notebook ran in bubblewrap: the summary names that mode and no other.
    assert "Isolation: bwrap" in proc.stdout.splitlines(), proc.stdout[-3000:]


def test_every_student_has_exactly_one_row_per_part(batch):
    """Does the CSV hold one row per part for every student, and nothing a submission printed?"""
    students = set(EXPECTED["cases"]) | set(CORRECT_STUDENTS)
    assert {r["student_id"] for r in batch["rows"]} == students
    per_student = {s: len(_rows_of(batch, s)) for s in students}
    assert len(set(per_student.values())) == 1, per_student
    for student in students:
        keys = [(r["assignment"], r["part"]) for r in _rows_of(batch, student)]
        assert len(keys) == len(set(keys))


@pytest.mark.parametrize("student", CORRECT_STUDENTS)
def test_correct_students_get_full_marks(batch, student):
    """Do the correct submissions graded beside the corpus keep every point?"""
    rows = _rows_of(batch, student)
    assert rows
    for row in rows:
        assert float(row["score"]) == float(row["max_score"]), row


@pytest.mark.parametrize("student", sorted(EXPECTED["cases"]))
def test_each_case_earns_nothing_unearned_and_keeps_honest_points(batch, student):
    """Does each case score 0 where it cheats or breaks, full marks elsewhere, and get flagged?"""
    case = EXPECTED["cases"][student]
    rows = _rows_of(batch, student)
    assert rows, f"no rows for {student}"
    flags = set()
    for row in rows:
        hit = row["assignment"] == case["assignment"]
        zero = hit and (case["zero"] == "all" or row["part"] in case["zero"])
        score, top = float(row["score"]), float(row["max_score"])
        if zero:
            assert score == 0, f"{student} earned {score} on {row['part']}: {row['message']}"
            assert row["message"].strip(), f"{student}: no explanation for {row['part']}"
        else:
            assert row["part"] in case["keep"][row["assignment"]]
            assert score == top, f"{student} lost points on {row['part']}: {row['message']}"
        if hit:
            flags |= set(row["flags"].split())
    assert set(case["flags"]) <= flags, f"{student}: flags {sorted(flags)}"


def test_other_files_are_untouched(batch):
    """Are the decoy's solutions, gradebook and notebooks, the correct students' files and the
    repository exactly as they were?"""
    before = batch["before"]
    assert _digest(batch["decoy"]) == before["decoy"]
    for student in CORRECT_STUDENTS:
        assert _digest(batch["submitted"] / student) == before["correct"][student]
    assert _repo_digest() == before["repo"]


def test_no_process_survives(batch):
    """Are the daemons the corpus started gone once the batch is over?"""
    assert _host_processes(f"sleep {EXPECTED['daemon_mark']}") == []


def test_secrets_do_not_leak_into_grades_or_feedback(batch):
    """Is an environment secret of the grader absent from the CSV and every feedback file?"""
    out = batch["out"]
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in {".csv", ".html", ".txt"}:
            assert SECRET not in path.read_text(errors="replace"), path


def test_feedback_says_what_happened(batch):
    """Does the feedback of a hanging and a crashing part say so in plain words, with the
    time limit given on the command line?"""
    feedback = batch["out"] / "feedback"
    hang = (feedback / "h10_part_loop" / "mlp_backprop" / "mlp_backprop.html").read_text()
    assert f"timed out after {PART_SECONDS:g} s" in hang
    crash = (feedback / "h18_segfault" / "mlp_backprop" / "mlp_backprop.html").read_text()
    assert "segmentation fault" in crash


def test_the_gradebook_has_the_correct_students_full_marks(batch):
    """Are the correct students' totals in the nbgrader gradebook their full marks?"""
    from nbgrader.api import Gradebook

    with Gradebook(batch["db"]) as gb:
        for student in CORRECT_STUDENTS:
            for assignment in ("mlp_backprop", "logistic_hessian"):
                submission = gb.find_submission(assignment, student)
                assert submission.score == submission.max_score > 0
