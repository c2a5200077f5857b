"""Grading on a Dask cluster (`autograder.distributed`, `grade --scheduler tcp://HOST:PORT`)."""

from __future__ import annotations

import csv
import pickle
import shutil
from pathlib import Path

import pytest

import autograder
from autograder.checks.inprocess import run_submission_in_process
from autograder.distributed import _grade_task, _Task, code_fingerprint
from autograder.grade import discover, grade_notebook

try:
    from cli_tools import run_grade_cli
except ImportError:  # tests/ imported as a package
    from tests.cli_tools import run_grade_cli

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"
#: The CSV columns that carry the grade; all of them are compared, these must be present.
SCORE_COLUMNS = ("student_id", "assignment", "grade_id", "score", "max_score")


def _rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {(r["student_id"], r["grade_id"]): r for r in rows}


@pytest.fixture(scope="module")
def cluster():
    """A two-worker cluster of separate processes, bound to loopback, without a dashboard."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local_cluster:
        yield local_cluster


def _fake_runner(cells, calls, limits):
    """Stands in for the sandbox: every part answers nothing (module-level, so picklable)."""
    from autograder.protocol import PartRun, SubmissionRun

    run = SubmissionRun(isolation="test")
    for call in calls:
        run.parts.setdefault(call.part, PartRun(call.part, error="not defined"))
    return run


def test_a_notebook_sent_as_content_is_graded_like_the_file_itself():
    """Does grading a notebook from its bytes (as a worker does) give the grade of its path?"""
    [nb] = [n for n in discover(SAMPLES / "di_missing_1_over_n") if n.assignment == "mlp_backprop"]
    local = grade_notebook(nb, 7, runner=run_submission_in_process)
    task = _Task(nb.student, nb.assignment, nb.notebook, str(nb.path), nb.path.read_bytes())
    remote = _grade_task(task, 7, None, run_submission_in_process)
    remote.seconds = local.seconds = 0.0
    assert remote == local
    assert remote.path == str(nb.path)
    assert 0 < remote.score < remote.max_score  # really graded: the 1/N slip costs a part


def test_a_grade_survives_the_trip_back_from_a_worker():
    """Is a NotebookGrade plain data that pickles and unpickles to an equal grade?"""
    nb = next(n for n in discover(SAMPLES) if n.student == "ada_full_marks")
    grade = grade_notebook(nb, runner=_fake_runner)
    assert pickle.loads(pickle.dumps(grade)) == grade


def test_the_code_fingerprint_tells_other_code_apart(tmp_path):
    """Does the fingerprint stay put for the same code and change with one changed byte?"""
    package = Path(autograder.__file__).parent
    copy = tmp_path / "autograder"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(copy) == code_fingerprint(package) == code_fingerprint()
    judge = copy / "checks" / "compare.py"
    judge.write_text(judge.read_text().replace("MATCH_TOL = 1e-6", "MATCH_TOL = 1e-5"))
    assert code_fingerprint(copy) != code_fingerprint(package)
    (copy / "checks" / "compare.py").rename(copy / "checks" / "compare2.py")
    assert code_fingerprint(copy) != code_fingerprint(package)


@pytest.mark.slow
def test_the_cluster_gives_the_grades_of_a_local_run(tmp_path, cluster):
    """Does `grade --scheduler` on a LocalCluster write the same CSV as a local run?"""
    local, remote = tmp_path / "local", tmp_path / "remote"
    proc = run_grade_cli(
        SAMPLES, "--out", local, "--db", f"sqlite:///{tmp_path / 'local.db'}", "--quiet"
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_grade_cli(
        SAMPLES,
        "--out",
        remote,
        "--db",
        f"sqlite:///{tmp_path / 'remote.db'}",
        "--scheduler",
        cluster.scheduler_address,
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    local_rows, remote_rows = _rows(local / "grades.csv"), _rows(remote / "grades.csv")
    assert set(local_rows) == set(remote_rows)
    assert len(local_rows) > 0
    for key, row in local_rows.items():
        assert all(column in row for column in SCORE_COLUMNS)
        assert remote_rows[key] == row, key
    pages = sorted(p.relative_to(local) for p in (local / "feedback").rglob("*.html"))
    assert pages == sorted(p.relative_to(remote) for p in (remote / "feedback").rglob("*.html"))
    assert (tmp_path / "remote.db").is_file()


def test_an_unreachable_scheduler_stops_the_run_with_status_3(tmp_path, monkeypatch, capsys):
    """Does a scheduler address nobody listens on give exit status 3 and say so?"""
    import autograder.distributed
    from autograder.cli import main

    monkeypatch.setattr(autograder.distributed, "CONNECT_SECONDS", 1)
    status = main(
        [str(SAMPLES / "ada_full_marks"), "--out", str(tmp_path), "--no-db", "--quiet"]
        + ["--scheduler", "tcp://127.0.0.1:9"]
    )
    assert status == 3
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
