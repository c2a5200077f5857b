"""For honest submissions, `nbgrader autograde` and this grader give the same points per part.

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

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
HONEST = [
    "ada_full_marks",
    "cy_untouched",
    "di_missing_1_over_n",
    "gus_g_for_dg",
    "mo_hessian_no_R",
]


def _assignments() -> list[str]:
    from autograder.checks import contract

    return [a.name for a in contract().assignments]


ASSIGNMENTS = _assignments()


def _env():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _run(course, *args):
    proc = subprocess.run(
        args, cwd=course, env=_env(), capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, args))}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    )
    return proc


def contract_notebook(name: str) -> str:
    from autograder.checks import contract

    return contract().assignment(name).notebook


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
    for student in HONEST:
        _run(course, sys.executable, "-m", "nbgrader", "db", "student", "add", student)
    for name in ASSIGNMENTS:
        _run(course, sys.executable, "-m", "nbgrader", "autograde", name, "--force")
    _run(
        course,
        sys.executable,
        "-m",
        "autograder",
        "grade",
        "submitted",
        "--out",
        "ours",
        "--no-db",
        "--quiet",
    )
    return course


def test_autograde_and_the_grader_agree_part_by_part(course):
    """Does every test cell get the same points from nbgrader autograde and from the grader?"""
    with (course / "ours" / "grades.csv").open() as fh:
        ours = {
            (r["student_id"], r["assignment"], r["grade_id"]): float(r["score"])
            for r in csv.DictReader(fh)
        }
    old = os.environ["PATH"]
    os.environ["PATH"] = _env()["PATH"]
    try:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="gradients-by-hand") as gb:
            theirs = {}
            for student in HONEST:
                for name in ASSIGNMENTS:
                    notebook = contract_notebook(name)
                    nb = gb.find_submission_notebook(notebook, name, student)
                    for g in nb.grades:
                        if g.name.startswith("test_"):
                            theirs[(student, name, g.name)] = float(g.score)
    finally:
        os.environ["PATH"] = old
    assert set(theirs) == set(ours)
    differ = {k: (theirs[k], ours[k]) for k in ours if theirs[k] != ours[k]}
    assert differ == {}
