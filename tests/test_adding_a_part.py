"""Adding a graded function touches three files: its reference, its check, its notebook cells.

In a copy of the course, a newcomer's toy part, ``squared_norm(v)``, is added by editing
exactly ``autograder/reference/mlp.py``, ``autograder/checks/mlp.py`` and
``solutions/mlp_backprop/mlp_backprop.py``. Then the real commands, run on that copy, pick it
up with nothing else changed: the release (points in the test cell, the parts table of
CONTRACT.md), grading (the CSV, the gradebook, the autograded notebook and the feedback page),
for a right and a wrong answer.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

REPO = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) not installed"),
]
EDITED = (
    "autograder/reference/mlp.py",
    "autograder/checks/mlp.py",
    "solutions/mlp_backprop/mlp_backprop.py",
)

REFERENCE = '''

def squared_norm(v):
    """The squared Euclidean norm ``v . v``.

    Parameters
    ----------
    v : (n,)

    Returns
    -------
    float
    """
    v = np.asarray(v, dtype=np.float64)
    return float(v @ v)


__all__ += ["squared_norm"]
'''

CHECK = """

class SquaredNorm(Part):
    spec = PartSpec("squared_norm", ASSIGNMENT, 1, (Arg("v", shape="(n,)"),), "float")
    components = {"value": (1, ("value",))}
    checks = ("The value against the reference on vectors of three lengths.",)

    def make_cases(self, rng):
        cases = []
        for n in (1, 4, 9):
            v = rng.normal(size=n)
            expected = {"value": np.array(ref.squared_norm(v))}
            cases.append(Case(Call(self.name, (v.copy(),)), expected, f"n={n}", {"N": 1}))
        return cases

    def extract(self, value):
        return {"value": as_array(value, "value")}


MLP_PARTS.append(SquaredNorm())
"""

CELLS = """
# %% [markdown]
# ### `squared_norm(v)`
#
# Return the squared length of the vector `v`, a Python float.


# %% nbgrader={"grade": false, "grade_id": "squared_norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def squared_norm(v):
    ### BEGIN SOLUTION
    return float(np.sum(np.asarray(v, dtype=float) ** 2))
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_squared_norm", "locked": true, "schema_version": 3, "solution": false, "task": false}
assert squared_norm(np.array([3.0, 4.0])) == 25.0, "the squared norm of (3, 4) is 25"
print("squared_norm: passed")


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("squared_norm", squared_norm)
### END HIDDEN TESTS
"""  # noqa: E501 (jupytext's cell headers are one line)


def _edit(root: Path) -> None:
    """The newcomer's three edits, and nothing else."""
    with (root / EDITED[0]).open("a") as fh:
        fh.write(REFERENCE)
    with (root / EDITED[1]).open("a") as fh:
        fh.write(CHECK)
    source = root / EDITED[2]
    text = source.read_text()
    anchor = 'hidden_test("backward", backward)\n### END HIDDEN TESTS\n'
    assert anchor in text
    source.write_text(text.replace(anchor, anchor + CELLS, 1))


def _run(root: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root))  # the copy's package, not the installed one
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course with the toy part added, released, and two students graded."""
    root = tmp_path_factory.mktemp("adding") / "course"
    root.mkdir()
    for name in ("autograder", "solutions", "exercises"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("nbgrader_config.py", "_config.yml", "CONTRACT.md"):
        shutil.copyfile(REPO / name, root / name)
    before = {p: (root / p).read_bytes() for p in EDITED}
    _edit(root)
    changed = [p for p in EDITED if (root / p).read_bytes() != before[p]]
    assert changed == list(EDITED)
    _run(root, "release", "--root", str(root), cwd=root)
    release = nt.read(root / "exercises" / "mlp_backprop" / "mlp_backprop.ipynb")
    source = nt.read(root / "solutions" / "mlp_backprop" / "mlp_backprop.ipynb")
    for student, slips in (("right", None), ("wrong", {"squared_norm": ("** 2", "** 1")})):
        path = root / "submitted" / student / "mlp_backprop" / "mlp_backprop.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nt.fill_release(release, source, slips=slips), path)
    _run(root, "grade", "--quiet", "--assignment", "mlp_backprop", cwd=root)
    return root


def test_the_release_carries_the_new_part_with_its_points(course):
    """Is the toy part in the student release, its test cell worth the check's point, and in
    CONTRACT.md's table?"""
    release = nt.by_grade_id(nt.read(course / "exercises" / "mlp_backprop" / "mlp_backprop.ipynb"))
    assert nt.nbgrader_meta(release["test_squared_norm"])["points"] == 1
    assert "BEGIN SOLUTION" not in release["squared_norm"].source
    assert "| `squared_norm(v)` | float | 1 |" in (course / "CONTRACT.md").read_text()


def test_grading_scores_the_new_part(course):
    """Do the CSV, the gradebook, the autograded notebook and the feedback page have it, with
    a point for the right answer and none for the wrong one?"""
    with (course / "grades" / "grades.csv").open() as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["part"] == "squared_norm"}
    assert (rows["right"]["score"], rows["right"]["max_score"]) == ("1", "1")
    assert rows["wrong"]["score"] == "0"
    with sqlite3.connect(course / "gradebook.db") as db:
        scores = dict(
            db.execute(
                "SELECT sa.student_id, g.auto_score FROM grade g"
                " JOIN base_cell b ON g.cell_id = b.id"
                " JOIN submitted_notebook sn ON g.notebook_id = sn.id"
                " JOIN submitted_assignment sa ON sn.assignment_id = sa.id"
                " WHERE b.name = 'test_squared_norm'"
            ).fetchall()
        )
    assert scores == {"right": 1.0, "wrong": 0.0}
    autograded = course / "autograded" / "wrong" / "mlp_backprop" / "mlp_backprop.ipynb"
    assert "squared_norm: 0 / 1 points" in autograded.read_text()
    page = (course / "feedback" / "wrong" / "mlp_backprop" / "mlp_backprop.html").read_text()
    assert "squared_norm" in page and "vectors of three lengths" in page
