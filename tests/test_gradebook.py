"""Grades written through nbgrader's Gradebook API: equal to the CSV, seen by nbgrader export."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.batch import LocalBackend, grade_all
from autograder.checks.inprocess import run_submission_in_process
from autograder.grade import discover
from autograder.gradebook import (
    GradebookError,
    alembic_head,
    default_db_url,
    open_gradebook,
    write_grades,
)
from autograder.report import csv_rows

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"
VENV_BIN = str(Path(sys.executable).parent)


@pytest.fixture(scope="module")
def grades():
    notebooks = [n for n in discover(SAMPLES) if n.student < "g"]  # a few students suffice
    return grade_all(
        notebooks, backend=LocalBackend(1), runner=run_submission_in_process, progress=False
    )


def _read_back(db_url, grades):
    out = {}
    with Gradebook(db_url, course_id="gradients-by-hand") as gb:
        for g in grades:
            for r in g.results:
                grade = gb.find_grade(f"test_{r.part}", g.notebook, g.assignment, g.student)
                out[(g.student, g.assignment, f"test_{r.part}")] = (
                    grade.auto_score,
                    grade.max_score,
                )
    return out


def test_gradebook_rows_equal_the_csv(grades, tmp_path):
    """Is every CSV row in the gradebook with the same score and maximum?"""
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert write_grades(grades, db_url, course_id="gradients-by-hand") == len(csv_rows(grades))
    stored = _read_back(db_url, grades)
    for row in csv_rows(grades):
        key = (row["student_id"], row["assignment"], row["grade_id"])
        assert stored[key] == (float(row["score"]), float(row["max_score"]))


def test_writing_twice_updates_instead_of_duplicating(grades, tmp_path):
    """Does grading again replace the auto scores, keeping one submission per student?"""
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    write_grades(grades, db_url, course_id="gradients-by-hand")
    write_grades(grades, db_url, course_id="gradients-by-hand")
    with Gradebook(db_url, course_id="gradients-by-hand") as gb:
        for assignment in {g.assignment for g in grades}:
            students = {g.student for g in grades if g.assignment == assignment}
            assert len(gb.find_assignment(assignment).submissions) == len(students)


def test_existing_manual_grade_cells_are_kept(grades, tmp_path):
    """Do cells nbgrader created (a written answer) survive, with a grade row to fill in?"""
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with open_gradebook(db_url, "gradients-by-hand") as gb:  # a new gradebook, as nbgrader makes
        gb.add_assignment("mlp_backprop")
        gb.add_notebook("mlp_backprop", "mlp_backprop")
        gb.add_grade_cell(
            "answer_one_over_n", "mlp_backprop", "mlp_backprop", max_score=2, cell_type="markdown"
        )
    write_grades(grades, db_url, course_id="gradients-by-hand")
    with Gradebook(db_url, course_id="gradients-by-hand") as gb:
        grade = gb.find_grade("answer_one_over_n", "mlp_backprop", "mlp_backprop", "ada_full_marks")
        assert grade.max_score == 2 and grade.auto_score is None


@pytest.mark.slow
def test_nbgrader_export_shows_the_grades(grades, tmp_path):
    """Does `nbgrader export` (nbgrader's own reader) report the totals the grader wrote?"""
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    write_grades(grades, db_url, course_id="gradients-by-hand")
    out = tmp_path / "export.csv"
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run(
        [
            f"{VENV_BIN}/nbgrader",
            "export",
            "--db",
            db_url,
            "--to",
            str(out),
            "--CourseDirectory.course_id=gradients-by-hand",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    with out.open() as fh:
        exported = {
            (r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(fh)
        }
    for g in grades:
        assert exported[(g.student, g.assignment)] == pytest.approx(g.score)


def test_an_unreachable_gradebook_is_a_clear_error(grades, tmp_path):
    """Does a database in a folder that does not exist raise GradebookError, not a traceback?"""
    with pytest.raises(GradebookError, match="cannot open the gradebook"):
        write_grades(grades, f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'gb.db'}")


def test_default_url_is_the_courses_gradebook(tmp_path):
    """Without --db, is the gradebook the one nbgrader_config.py's course uses?"""
    assert default_db_url(REPO) == f"sqlite:///{REPO / 'gradebook.db'}"
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.db_url = "sqlite:////elsewhere/gb.db"\n'
    )
    assert default_db_url(tmp_path) == "sqlite:////elsewhere/gb.db"


def test_the_schema_head_is_read_without_a_subprocess():
    """Is the head we stamp new gradebooks with the one nbgrader's `alembic heads` prints?"""
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:////tmp/unused.db") as ini:
        out = subprocess.run(
            [f"{VENV_BIN}/alembic", "-c", ini, "heads"], capture_output=True, text=True, check=True
        )
    assert alembic_head() == out.stdout.split()[0]


def test_a_new_gradebook_needs_no_alembic_on_path(tmp_path, monkeypatch):
    """Can a gradebook be created with the venv's bin/ off PATH, as `.venv/bin/python -m`?"""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    db = tmp_path / "gradebook.db"
    with open_gradebook(f"sqlite:///{db}", "gradients-by-hand") as gb:
        gb.add_assignment("mlp_backprop")
    with sqlite3.connect(db) as con:
        [(version,)] = con.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == alembic_head()
