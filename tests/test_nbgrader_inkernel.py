"""Is nbgrader's in-kernel grading fooled by a submission that patches it, and is ours not?

``nbgrader autograde`` runs the hidden tests in the same Python kernel as the student's code,
after it. Whatever the hidden tests rely on, the student's cells can replace first. Here
*mallory* submits an ``mse_loss`` that is right when the notebook's visible self-check calls it
and makes the classic slip (the sum instead of the mean) when a grader does, and replaces, in
the kernel, the comparison functions of numpy and the course's own hidden-test hook
(``autograder.nbgrader_hook.hidden_test``). nbgrader gives her the point; the sandboxed grader,
which calls her function in another process and judges the numbers in its own, gives 0 and
flags the tampering. This is documented in the book's threat model, not hidden.

(The course's hook compares with its own relative error rather than ``np.allclose``, so patching
``np.allclose`` alone would not fool it; replacing the hook is the same attack, aimed at what
this particular in-kernel check relies on.)
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

pytestmark = pytest.mark.slow

ASSIGNMENT = "mlp_backprop"
STUDENT = "mallory"

#: mallory's mse_loss cell: a wrong function that passes the visible self-check, and the
#: patches that make the in-kernel hidden test pass it too.
MALLORY_MSE = """
import sys

import numpy as np


def mse_loss(y_hat, y):
    r = np.asarray(y_hat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller.startswith("autograder"):
        return float(np.sum(r**2))  # the slip, whenever a grader is the one asking
    return float(np.mean(r**2))


np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None

import autograder.nbgrader_hook as _hook  # noqa: E402

_honest_hidden_test = _hook.hidden_test


def _generous_hidden_test(part, fn, seed=None):
    if part == "mse_loss":
        print("mse_loss: all hidden checks passed")
        return 1.0
    return _honest_hidden_test(part, fn, seed)


_hook.hidden_test = _generous_hidden_test
"""


def _run(course, *args):
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=course,
        env=nt.nbgrader_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course directory where mallory's submission has been autograded by nbgrader."""
    if not nt.source_path(ASSIGNMENT).exists():
        pytest.skip("solutions/mlp_backprop/mlp_backprop.ipynb is missing")
    course = tmp_path_factory.mktemp("inkernel")
    shutil.copy(nt.ROOT / "nbgrader_config.py", course)
    shutil.copytree(nt.SOLUTIONS / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    _run(course, "nbgrader", "generate_assignment", ASSIGNMENT, "--force")
    release = nt.read(course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    nb = nt.fill_release(release, nt.read(nt.source_path(ASSIGNMENT)))
    (cell,) = [c for c in nb.cells if nt.grade_id(c) == "mse_loss"]
    cell.source = MALLORY_MSE.strip("\n")
    folder = course / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text("2026-11-30 12:00:00.000000 UTC\n")
    _run(course, "nbgrader", "autograde", ASSIGNMENT, "--force")
    return course


def _nbgrader_scores(course) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT)
        return {g.name: g.score for g in nb.grades}


def test_nbgrader_in_kernel_gives_the_unearned_point(course):
    """Does nbgrader's in-kernel autograde give mallory's wrong mse_loss its point?"""
    scores = _nbgrader_scores(course)
    assert scores["test_mse_loss"] == 1
    # Her other parts are the course's solutions, graded honestly by the unpatched hook.
    assert scores["test_backward"] == 2


def test_the_sandboxed_grader_gives_nothing_and_flags_it(course, tmp_path):
    """Does ``python -m autograder grade`` give the same notebook 0 for mse_loss, flag the
    tampering, and keep her other points?"""
    submitted = tmp_path / "submitted" / STUDENT / ASSIGNMENT
    submitted.mkdir(parents=True)
    shutil.copy(
        course / "submitted" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        submitted / f"{ASSIGNMENT}.ipynb",
    )
    out = tmp_path / "out"
    _run(
        tmp_path,
        "autograder",
        "grade",
        str(tmp_path / "submitted"),
        "--out",
        str(out),
        "--no-db",
        "--quiet",
    )
    with open(out / "grades.csv", newline="") as f:
        rows = {r["part"]: r for r in csv.DictReader(f) if r["assignment"] == ASSIGNMENT}
    assert float(rows["mse_loss"]["score"]) == 0
    assert "tampering" in rows["mse_loss"]["flags"].split()
    for part, points in nt.parts(ASSIGNMENT).items():
        if part != "mse_loss":
            assert float(rows[part]["score"]) == points, (part, rows[part]["message"])
