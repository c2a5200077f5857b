"""`nbgrader autograde` and this grader, on the same submissions: same points, same records.

For honest submissions both give the same points per part. And what this grader writes in
the course (``autograded/``, the gradebook) is what nbgrader's own autograde writes, as far as
nbgrader's tools can tell: the same graded cells with the same automatic scores and review
marks, the same comments, the same autograded notebooks cell by cell, listed alike by the
formgrader's API, and turned into feedback by ``nbgrader generate_feedback``.

In a temporary course (``nbgrader_config.py`` and ``solutions/`` copied), nbgrader releases
both assignments, the sample students' notebooks are built from that release by
``samples/make_samples.py``, ``nbgrader autograde`` runs them (the hidden blocks call
``autograder.nbgrader_hook``), and ``python -m autograder grade`` grades the same notebooks in
the sandbox. The students are those whose parts are all-or-nothing in both: nbgrader gives a
test cell no points when its *visible* self-checks fail, while this grader still gives partial
credit inside a part (``fay``: 2 of 3 for a transposed ``dW2``; ``hal``: 1 of 2; ``jo``: 1 of
2), and accepts an equally standard relative error that the notebook's visible check does not
(``bo``). Those differences are by design and explained on the feedback pages.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
HONEST = [
    "ada_full_marks",
    "cy_untouched",
    "di_missing_1_over_n",
    "gus_g_for_dg",
    "mo_hessian_no_R",
]


ASSIGNMENTS = nt.assignments()


def _run(course, *args):
    proc = subprocess.run(
        args, cwd=course, env=nt.nbgrader_env(), capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, args))}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    )
    return proc


def _make_samples():
    spec = importlib.util.spec_from_file_location(
        "make_samples", REPO / "samples" / "make_samples.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", course)
    for name in ASSIGNMENTS:
        shutil.copytree(REPO / "solutions" / name, course / "solutions" / name)
        _run(course, sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force")
    _make_samples().build(course / "submitted", course / "exercises", set(HONEST))
    # The same course before grading, graded by this grader from its root.
    shutil.copytree(course, course.parent / "ours-course")
    _run(course.parent / "ours-course", sys.executable, "-m", "autograder", "grade", "--quiet")
    for name in ASSIGNMENTS:
        _run(course, sys.executable, "-m", "nbgrader", "autograde", name, "--force")
    return course


def test_autograde_and_the_grader_agree_part_by_part(course):
    """Does every test cell get the same points from nbgrader autograde and from the grader?"""
    with (course.parent / "ours-course" / "grades" / "grades.csv").open() as fh:
        ours = {
            (r["student_id"], r["assignment"], r["grade_id"]): float(r["score"])
            for r in csv.DictReader(fh)
        }
    old = os.environ["PATH"]
    os.environ["PATH"] = nt.nbgrader_env()["PATH"]
    try:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="gradients-by-hand") as gb:
            theirs = {}
            for student in HONEST:
                for name in ASSIGNMENTS:
                    notebook = nt.notebook_name(name)
                    nb = gb.find_submission_notebook(notebook, name, student)
                    for g in nb.grades:
                        if g.name.startswith("test_"):
                            theirs[(student, name, g.name)] = float(g.score)
    finally:
        os.environ["PATH"] = old
    assert set(theirs) == set(ours)
    differ = {k: (theirs[k], ours[k]) for k in ours if theirs[k] != ours[k]}
    assert differ == {}


def _cells(db_path: Path) -> dict:
    """Every graded cell and comment of every submission, as nbgrader's API reads them."""
    out = {}
    with Gradebook(f"sqlite:///{db_path}", course_id="gradients-by-hand") as gb:
        # Neither course was told its students: both graders create the ones they meet.
        out[("students",)] = sorted(s.id for s in gb.students)
        for student in HONEST:
            for name in ASSIGNMENTS:
                nb = gb.find_submission_notebook(nt.notebook_name(name), name, student)
                for g in nb.grades:
                    out[(student, name, "grade", g.name)] = (
                        g.auto_score,
                        g.manual_score,
                        bool(g.needs_manual_grade),
                        g.max_score,
                    )
                for c in nb.comments:
                    out[(student, name, "comment", c.name)] = (c.auto_comment, c.manual_comment)
                out[(student, name, "flagged", "")] = bool(nb.flagged)
    return out


def test_the_gradebooks_hold_the_same_records(course):
    """Does the grader record every graded cell and comment as nbgrader autograde does: the
    same cells, the same review marks and automatic comments, the same scores for these
    honest students?"""
    theirs = _cells(course / "gradebook.db")
    ours = _cells(course.parent / "ours-course" / "gradebook.db")
    assert set(ours) == set(theirs)
    assert {k: (theirs[k], ours[k]) for k in ours if ours[k] != theirs[k]} == {}


def _graded_cells(path: Path) -> list[tuple]:
    nb = nt.read(path)
    out = []
    for cell in nb.cells:
        meta = nt.nbgrader_meta(cell)
        if "grade_id" not in meta:
            continue
        locked = meta.get("locked") or (meta.get("grade") and not meta.get("solution"))
        out.append((meta["grade_id"], cell.cell_type, cell.source if locked else None))
    return out


def test_the_autograded_notebooks_match_cell_by_cell(course):
    """Are the same autograded notebooks written, with the same graded cells in the same order
    and the released content of every cell a student may not change?"""
    theirs = sorted(p.relative_to(course) for p in (course / "autograded").rglob("*.ipynb"))
    mine_root = course.parent / "ours-course"
    ours = sorted(p.relative_to(mine_root) for p in (mine_root / "autograded").rglob("*.ipynb"))
    assert ours == theirs and ours
    for rel in ours:
        assert _graded_cells(mine_root / rel) == _graded_cells(course / rel), rel


def test_nbgraders_tools_accept_what_the_grader_wrote(course):
    """Do formgrader's API and `nbgrader generate_feedback` take the grader's autograded
    notebooks and gradebook as they take autograde's?"""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    def listed(root: Path) -> list:
        config = PyFileConfigLoader("nbgrader_config.py", str(root)).load_config()
        config.CourseDirectory.root = str(root)
        # The API opens the exchange on construction; a private one keeps it off /usr/local.
        config.Exchange.root = str(root / "exchange")
        api = NbGraderAPI(CourseDirectory(config=config), config=config)
        return sorted(
            (
                name,
                s["student"],
                s["name"],
                round(s["code_score"], 6),
                s["max_score"],
                s["needs_manual_grade"],
                s["failed_tests"],
            )
            for name in ASSIGNMENTS
            for s in api.get_notebook_submissions(name, nt.notebook_name(name))
        )

    mine = course.parent / "ours-course"
    assert listed(mine) == listed(course) != []
    for name in ASSIGNMENTS:
        _run(mine, sys.executable, "-m", "nbgrader", "generate_feedback", name, "--force")
    pages = sorted(p.relative_to(mine / "feedback") for p in (mine / "feedback").rglob("*.html"))
    assert len(pages) == len(HONEST) * len(ASSIGNMENTS)
