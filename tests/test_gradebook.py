"""Grades written through nbgrader's Gradebook API: equal to the CSV, seen by nbgrader export,
manual grades kept across a regrade."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook as NbgraderGradebook

from autograder.batch import LocalBackend, grade_all
from autograder.checks.inprocess import run_submission_in_process
from autograder.course import Course
from autograder.course_outputs import Outputs, autograded_writer, record_batch
from autograder.grade import discover
from autograder.gradebook import (
    SCHEMA_REVISION,
    Gradebook,
    GradebookError,
    alembic_head,
    default_db_url,
)
from autograder.gradebook_write import write_grades
from autograder.report import csv_rows

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"
VENV_BIN = str(Path(sys.executable).parent)
COURSE = "gradients-by-hand"


@pytest.fixture(scope="module")
def notebooks():
    return [n for n in discover(SAMPLES) if n.student < "g"]  # a few students suffice


@pytest.fixture(scope="module")
def grades(notebooks):
    return grade_all(
        notebooks, backend=LocalBackend(1), runner=run_submission_in_process, progress=False
    )


def _entries(grades, notebooks, outputs, gb):
    writer = autograded_writer(outputs, gb, notebooks)
    return [writer(nb, grade) for nb, grade in zip(notebooks, grades, strict=True)]


def _record(grades, notebooks, db_url, tmp_path):
    outputs = Outputs(None, tmp_path / "feedback", db_url, COURSE)
    with Gradebook.open(db_url, COURSE) as gb:
        entries = _entries(grades, notebooks, outputs, gb)
        record_batch(entries, outputs, gb)
        return entries


def _read_back(db_url, grades):
    out = {}
    with NbgraderGradebook(db_url, course_id=COURSE) as gb:
        for g in grades:
            for r in g.results:
                grade = gb.find_grade(r.grade_id, g.notebook, g.assignment, g.student)
                out[(g.student, g.assignment, r.grade_id)] = (grade.auto_score, grade.max_score)
    return out


def test_gradebook_rows_equal_the_csv(grades, notebooks, gradebook_url, tmp_path):
    """Is every CSV row in the gradebook with the same score and maximum?"""
    _record(grades, notebooks, gradebook_url, tmp_path)
    stored = _read_back(gradebook_url, grades)
    for row in csv_rows(grades):
        key = (row["student_id"], row["assignment"], row["grade_id"])
        assert stored[key] == (float(row["score"]), float(row["max_score"]))


def test_writing_twice_updates_instead_of_duplicating(grades, notebooks, gradebook_url, tmp_path):
    """Does grading again replace the auto scores, keeping one submission per student?"""
    _record(grades, notebooks, gradebook_url, tmp_path)
    _record(grades, notebooks, gradebook_url, tmp_path)
    with NbgraderGradebook(gradebook_url, course_id=COURSE) as gb:
        for assignment in {g.assignment for g in grades}:
            students = {g.student for g in grades if g.assignment == assignment}
            assert len(gb.find_assignment(assignment).submissions) == len(students)


def test_a_regrade_keeps_manual_grades_and_comments(grades, notebooks, gradebook_url, tmp_path):
    """After a manual score and a comment, does a regrade replace only the auto scores?"""
    _record(grades, notebooks, gradebook_url, tmp_path)
    g = next(x for x in grades if x.assignment == "mlp_backprop" and x.score < x.max_score)
    part = next(r for r in g.results if r.score < r.max_score)
    with NbgraderGradebook(gradebook_url, course_id=COURSE) as gb:
        grade = gb.find_grade(part.grade_id, g.notebook, g.assignment, g.student)
        grade.manual_score = part.max_score
        comment = gb.find_comment(part.part, g.notebook, g.assignment, g.student)
        comment.manual_comment = "Right idea, see me."
        grade.auto_score = -1.0  # stale: the regrade must put the grader's score back
        gb.db.commit()
    _record(grades, notebooks, gradebook_url, tmp_path)
    with NbgraderGradebook(gradebook_url, course_id=COURSE) as gb:
        grade = gb.find_grade(part.grade_id, g.notebook, g.assignment, g.student)
        assert (grade.auto_score, grade.manual_score) == (part.score, part.max_score)
        assert grade.needs_manual_grade  # nbgrader's rule: a manual score is reviewed again
        comment = gb.find_comment(part.part, g.notebook, g.assignment, g.student)
        assert comment.manual_comment == "Right idea, see me."


def test_existing_manual_grade_cells_are_kept(grades, notebooks, gradebook_url, tmp_path):
    """Do cells nbgrader created (a written answer) survive, with a grade row to fill in?"""
    with NbgraderGradebook(gradebook_url, COURSE) as gb:  # cells nbgrader made
        gb.add_assignment("mlp_backprop")
        gb.add_notebook("mlp_backprop", "mlp_backprop")
        gb.add_grade_cell(
            "answer_one_over_n", "mlp_backprop", "mlp_backprop", max_score=2, cell_type="markdown"
        )
    _record(grades, notebooks, gradebook_url, tmp_path)
    with NbgraderGradebook(gradebook_url, course_id=COURSE) as gb:
        grade = gb.find_grade("answer_one_over_n", "mlp_backprop", "mlp_backprop", "ada_full_marks")
        assert grade.max_score == 2 and grade.auto_score is None


@pytest.mark.slow
def test_nbgrader_export_shows_the_grades(grades, notebooks, gradebook_url, tmp_path):
    """Does `nbgrader export` (nbgrader's own reader) report the totals the grader wrote?"""
    _record(grades, notebooks, gradebook_url, tmp_path)
    out = tmp_path / "export.csv"
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run(
        [f"{VENV_BIN}/nbgrader", "export", "--db", gradebook_url, "--to", str(out)],
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


def test_an_unreachable_gradebook_is_a_clear_error(tmp_path):
    """Does a database in a folder that does not exist raise GradebookError, not a traceback?"""
    with pytest.raises(GradebookError, match="cannot open the gradebook"):
        Gradebook.open(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'gb.db'}")


def test_a_failed_transaction_keeps_nothing(grades, notebooks, gradebook_url, tmp_path):
    """When writing fails half-way, is the gradebook left as it was, with a clear error?"""
    with Gradebook.open(gradebook_url, COURSE) as gb:
        entries = _entries(grades, notebooks, Outputs(None, tmp_path, None), None)
        entries[-1].grade.assignment = "no_such_assignment"  # fails after the first rows
        with pytest.raises(GradebookError, match="writing to the gradebook failed"):
            write_grades(entries, gb)
    with NbgraderGradebook(gradebook_url, course_id=COURSE) as gb:
        assert gb.students == [] and gb.assignments == []


def test_default_url_is_the_courses_gradebook(tmp_path):
    """Without --db, is the gradebook the one nbgrader_config.py's course uses?"""
    assert Course.load(REPO).db_url == default_db_url(REPO) == f"sqlite:///{REPO / 'gradebook.db'}"
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.db_url = "sqlite:////elsewhere/gb.db"\n'
    )
    assert Course.load(tmp_path).db_url == "sqlite:////elsewhere/gb.db"


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
    Gradebook.open(f"sqlite:///{db}", COURSE).close()
    with sqlite3.connect(db) as con:
        [(version,)] = con.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == alembic_head() == SCHEMA_REVISION


def test_another_schema_revision_is_refused(gradebook_url):
    """Is a gradebook of another nbgrader schema refused with the command that upgrades it?"""
    with sqlite3.connect(gradebook_url.removeprefix("sqlite:///")) as con:
        con.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    with pytest.raises(GradebookError, match="nbgrader db upgrade"):
        Gradebook.open(gradebook_url, COURSE)


def test_only_sqlite_is_read(tmp_path):
    """Is a gradebook URL of another database refused in plain words?"""
    with pytest.raises(GradebookError, match="SQLite"):
        Gradebook.open("postgresql://localhost/grades", COURSE)
