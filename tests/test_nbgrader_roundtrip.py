"""A real nbgrader round trip: generate_assignment, submissions, autograde, export.

In a temporary course directory (a copy of ``nbgrader_config.py`` and ``solutions/``): nbgrader
itself releases both assignments (``nbgrader generate_assignment``, as formgrader would, with
the course's preprocessor from ``nbgrader_config.py``), two students submit (``alice``:
correct code everywhere; ``bob``: a classic slip in some parts), ``nbgrader autograde`` runs
the hidden tests through ``autograder.nbgrader_hook``, and ``nbgrader export`` writes the
grades CSV.
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

#: bob's slips: part -> (correct text, slipped text). No other part of the solutions calls
#: these, so each costs its own part only.
BOB_SLIPS = {
    "mlp_backprop": {
        "numerical_gradient": ("(2.0 * eps)", "eps"),
        "mse_loss": ("np.mean(r**2)", "np.sum(r**2)"),
    },
    "logistic_hessian": {
        "logistic_loss": ("return float(np.sum(", "return float(np.mean("),
        "hessian_diagonal": ("@ (X * X)", "@ np.abs(X)"),
    },
}


def manual_points(name: str) -> float:
    """The written answers' points of an assignment (on top of the contract's)."""
    cells = nt.source_cells(name)
    return sum(nt.nbgrader_meta(c)["points"] for g, c in cells.items() if g.startswith("answer_"))


def _nbgrader(course, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=nt.nbgrader_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(nt.ROOT / "nbgrader_config.py", course)
    for name in nt.assignments():
        shutil.copytree(nt.SOLUTIONS / name, course / "solutions" / name)
    for name in nt.assignments():
        _nbgrader(course, "generate_assignment", name, "--force")
    for name in nt.assignments():
        source = nt.read(nt.source_path(name))
        release = nt.read(nt.release_path(name, course / "exercises"))
        work = {
            "alice": nt.fill_release(release, source),
            "bob": nt.fill_release(release, source, slips=BOB_SLIPS[name], answers=False),
        }
        for student, nb in work.items():
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / nt.release_path(name).name)
            (folder / "timestamp.txt").write_text("2026-11-30 12:00:00.000000 UTC\n")
    for name in nt.assignments():
        _nbgrader(course, "autograde", name, "--force")
    _nbgrader(course, "export", "--to", str(course / "grades.csv"))
    _nbgrader(course, "generate_feedback", "mlp_backprop", "--force")
    return course


def _part_scores(course, name, student):
    """Points of every graded cell of one submission, from nbgrader's gradebook."""
    import os

    from nbgrader.api import Gradebook

    old_path = os.environ["PATH"]
    os.environ["PATH"] = nt.nbgrader_env()["PATH"]  # the Gradebook shells out to alembic
    try:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            nb = gb.find_submission_notebook(name, name, student)
            return {g.name: (g.score, g.max_score, g.needs_manual_grade) for g in nb.grades}
    finally:
        os.environ["PATH"] = old_path


@pytest.mark.parametrize("name", nt.assignments())
def test_nbgrader_alone_releases_what_the_release_command_does(course, name):
    """Is the notebook nbgrader generate_assignment writes by itself (as formgrader would)
    the committed release, once normalized: contract points, pasted self-checks and all?"""
    from autograder.release import normalize_notebook

    made = normalize_notebook(nt.read(nt.release_path(name, course / "exercises")))
    assert nbformat.writes(made) + "\n" == nt.release_path(name).read_text(encoding="utf-8")
    assert sorted(p.name for p in (course / "exercises" / name).iterdir()) == [
        nt.release_path(name).name
    ]


@pytest.mark.parametrize("name", nt.assignments())
def test_correct_submission_earns_every_autograded_point(course, name):
    """Does nbgrader give alice every test cell's points, and leave her written answers to
    a human grader?"""
    scores = _part_scores(course, name, "alice")
    for fn, points in nt.parts(name).items():
        assert scores[f"test_{fn}"][:2] == (points, points), fn
    answers = {k: v for k, v in scores.items() if k.startswith("answer_")}
    assert sum(v[1] for v in answers.values()) == manual_points(name)
    assert all(needs_manual for _, _, needs_manual in answers.values())


@pytest.mark.parametrize("name", nt.assignments())
def test_partly_wrong_submission_loses_exactly_the_wrong_parts(course, name):
    """Does bob lose the points of the parts with a slip, and only those?"""
    scores = _part_scores(course, name, "bob")
    for fn, points in nt.parts(name).items():
        expected = 0 if fn in BOB_SLIPS[name] else points
        assert scores[f"test_{fn}"][0] == expected, (fn, scores[f"test_{fn}"])
    # Unanswered written answers score 0 without a human.
    for key, (score, _, needs_manual) in scores.items():
        if key.startswith("answer_"):
            assert score == 0 and not needs_manual, key


def test_export_lists_each_students_total(course):
    """Does ``nbgrader export`` report the contract's autograded totals, less bob's slips?"""
    with open(course / "grades.csv", newline="") as f:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(f)}
    for name in nt.assignments():
        parts = nt.parts(name)
        full = nt.contract().points(name)
        lost = sum(parts[fn] for fn in BOB_SLIPS[name])
        assert float(rows[(name, "alice")]["score"]) == full
        assert float(rows[(name, "bob")]["score"]) == full - lost
        assert float(rows[(name, "alice")]["max_score"]) == full + manual_points(name)


def test_autograded_notebooks_show_the_hidden_feedback(course):
    """Does the autograded notebook carry the hook's plain-text feedback in each test cell?"""
    name = "mlp_backprop"
    nb = nt.read(course / "autograded" / "bob" / name / nt.release_path(name).name)
    cells = nt.by_grade_id(nb)
    text = nt.stdout_text(cells["test_grad_layer2"])
    assert "grad_layer2: all self-checks passed." in text
    assert "3 / 3" in text  # the hook's score line
    failed = cells["test_mse_loss"]
    assert "divide by N" in nt.error_message(failed)


def test_feedback_shows_the_verdict_but_not_the_hidden_block(course):
    """Does the feedback HTML carry the grader's words without the hidden test source?"""
    html = (course / "feedback" / "bob" / "mlp_backprop" / "mlp_backprop.html").read_text()
    assert "divide by N" in html  # bob's mse_loss self-check message
    assert "3 / 3" in html  # a verdict printed by the hidden block
    assert "hidden_test" not in html and "BEGIN HIDDEN TESTS" not in html
