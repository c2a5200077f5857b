"""Batch grading of the bundled samples: per-part scores, isolation of slips, the CSV."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder.batch import LocalBackend, grade_all
from autograder.checks import PARTS, contract
from autograder.checks.inprocess import run_submission_in_process
from autograder.grade import discover, handout_digests, student_seed
from autograder.protocol import cell_digest
from autograder.report import CSV_COLUMNS, summarize, summary_svg, write_csv
from autograder.submission import read_code_cells

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"
POINTS = {a.name: contract().points(a.name) for a in contract().assignments}

#: Each planted-slip sample: the part it loses points on, its score there, the diagnosis.
SLIPS = {
    "di_missing_1_over_n": ("grad_output", 0, "missing-1/N"),
    "ed_flipped_sign": ("grad_output", 0, "flipped-sign"),
    "fay_transposed_dW2": ("grad_layer2", 2, "transposed"),
    "gus_g_for_dg": ("grad_layer1", 0, "g-for-dg"),
    "hal_bias_not_summed": ("grad_layer3", 1, "bias-not-summed"),
    "ida_forward_takes_x": ("forward", 0, "second-layer-takes-X"),
    "jo_forward_differences": ("numerical_gradient", 0, "forward-differences"),
    "kai_sigmoid_overflow": ("sigmoid", 0, "sigmoid-overflow-warning"),
    "lu_grad_not_summed": ("logistic_grad", 0, "gradient-not-summed"),
    "mo_hessian_no_R": ("logistic_hessian", 0, "no-curvature-weights"),
    "ned_newton_ascent": ("newton_step", 0, "newton-ascent"),
}


def _by_student(grades):
    return {(g.student, g.assignment): g for g in grades}


@pytest.fixture(scope="module")
def graded():
    """The samples graded in this process (they are trusted: the course's own notebooks)."""
    return _by_student(
        grade_all(
            discover(SAMPLES),
            backend=LocalBackend(1),
            runner=run_submission_in_process,
            progress=False,
        )
    )


@pytest.mark.parametrize("student", ["ada_full_marks", "bo_rewritten"])
def test_reference_and_rewritten_code_score_full_marks(graded, student):
    """Do the solutions, and correct code written with loops and einsum, get every point?"""
    for assignment, total in POINTS.items():
        g = graded[(student, assignment)]
        assert g.score == total, [r.message for r in g.results if r.score < r.max_score]


def test_untouched_release_scores_zero_without_crashing(graded):
    """Does the release as handed out score 0 on every part, saying NotImplementedError?"""
    for assignment in POINTS:
        g = graded[("cy_untouched", assignment)]
        assert g.score == 0 and g.problem is None
        assert all("NotImplementedError" in r.error for r in g.results)


@pytest.mark.parametrize("student", sorted(SLIPS))
def test_a_planted_slip_costs_its_part_only(graded, student):
    """Does each slip lose points on its own part only, with the right diagnosis?"""
    part, score, diagnosis = SLIPS[student]
    for assignment in POINTS:
        for r in graded[(student, assignment)].results:
            if r.part == part:
                assert r.score == score, r.message
                assert diagnosis in [name for name, _ in r.diagnoses]
            else:
                assert r.score == r.max_score, (r.part, r.message)


def test_broken_and_missing_notebooks_get_zero_rows_with_flags(graded):
    """Does a notebook that is not JSON, or not submitted, give 0 rows and say why?"""
    broken = graded[("oz_broken", "mlp_backprop")]
    assert broken.score == 0 and "unreadable" in broken.flags
    assert "not valid JSON" in broken.results[0].error
    missing = graded[("oz_broken", "logistic_hessian")]
    assert missing.score == 0 and "missing-notebook" in missing.flags
    assert len(missing.results) == len(contract().parts_of("logistic_hessian"))


def test_csv_has_a_row_for_every_student_and_part(graded, tmp_path):
    """Is there one row per student and contract part, with the contract's columns first?"""
    path = write_csv(list(graded.values()), tmp_path / "grades.csv")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert (
        list(rows[0])[:6]
        == CSV_COLUMNS[:6]
        == [
            "student_id",
            "assignment",
            "notebook",
            "grade_id",
            "score",
            "max_score",
        ]
    )
    students = {s for s, _ in graded}
    assert len(rows) == len(students) * len(PARTS)
    assert {(r["student_id"], r["grade_id"]) for r in rows} == {
        (s, f"test_{p}") for s in students for p in PARTS
    }
    full = [r for r in rows if r["student_id"] == "ada_full_marks"]
    assert sum(float(r["score"]) for r in full) == sum(POINTS.values())
    assert all(r["seed"] for r in rows)


def test_seeds_are_recorded_and_reproduce_the_grade(graded):
    """Does the recorded seed regenerate the same cases, and differ between students?"""
    g = graded[("fay_transposed_dW2", "mlp_backprop")]
    assert g.seed == student_seed(2705, "fay_transposed_dW2", "mlp_backprop")
    again = _by_student(
        grade_all(
            [n for n in discover(SAMPLES / "fay_transposed_dW2")],
            backend=LocalBackend(1),
            runner=run_submission_in_process,
            progress=False,
        )
    )[("fay_transposed_dW2", "mlp_backprop")]
    assert [r.score for r in again.results] == [r.score for r in g.results]
    assert [r.leaf_errors for r in again.results] == [r.leaf_errors for r in g.results]
    assert len({x.seed for x in graded.values()}) == len(graded)


def test_parallel_grading_gives_the_same_grades(graded):
    """Do two worker processes give exactly the grades of one?"""
    notebooks = discover(SAMPLES)[:8]
    parallel = grade_all(
        notebooks, backend=LocalBackend(2), runner=run_submission_in_process, progress=False
    )
    for g in parallel:
        serial = graded[(g.student, g.assignment)]
        assert [r.score for r in g.results] == [r.score for r in serial.results]


def test_summary_and_figure(graded):
    """Does the instructor's summary count the students and show a mean per part?"""
    grades = list(graded.values())
    students = {g.student for g in grades}
    text = summarize(grades, 1.5)
    assert f"Graded {len(grades)} notebooks of {len(students)} students in 1.5 s." in text
    for part in PARTS:
        assert part in text
    svg = summary_svg(grades)
    root = ET.fromstring(svg.split("\n", 1)[1])  # well-formed: browsers draw it
    bars = [e for e in root.iter() if e.tag.endswith("rect")]
    assert len(bars) == len(PARTS)
    assert "ada_full_marks" not in svg  # a class summary names no student


def _sandbox_available():
    try:
        from autograder.sandbox import run_submission  # noqa: F401
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def sandboxed():
    if not _sandbox_available():
        pytest.skip("autograder.sandbox is not importable")
    return _by_student(grade_all(discover(SAMPLES), backend=LocalBackend(2), progress=False))


def _differences(sandboxed, graded):
    return {
        (key, r.part): (r.score, graded[key].results[i].score)
        for key, g in sandboxed.items()
        for i, r in enumerate(g.results)
        if r.score != graded[key].results[i].score
    }


@pytest.mark.slow
def test_the_sandbox_gives_the_same_grades_as_running_in_process(sandboxed, graded):
    """With student code in the sandbox, are the grades those of the trusted in-process run?"""
    assert _differences(sandboxed, graded) == {}


@pytest.mark.slow
def test_the_sandbox_reports_a_sigmoid_that_overflows(sandboxed):
    """Is `1 / (1 + exp(-z))`, right in value but overflowing, refused in the sandbox too?"""
    grade = sandboxed[("kai_sigmoid_overflow", "logistic_hessian")]
    [sigmoid] = [r for r in grade.results if r.part == "sigmoid"]
    assert sigmoid.score < sigmoid.max_score


def _with_function(tmp_path, student, assignment, grade_id, source):
    """A copy of a sample notebook whose solution cell `grade_id` holds `source`."""
    import nbformat

    nb = nbformat.read(SAMPLES / student / assignment / f"{assignment}.ipynb", as_version=4)
    [cell] = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    cell.source = source
    path = tmp_path / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_a_diagonal_that_forms_the_matrix_runs_out_of_memory_in_the_sandbox(tmp_path):
    """Is "without forming the m x m matrix" enforced, through the sandbox's memory limit?"""
    if not _sandbox_available():
        pytest.skip("autograder.sandbox is not importable")
    source = (
        "def hessian_diagonal(w, X):\n"
        "    p = 0.5 * (1 + np.tanh(0.5 * (X @ w)))\n"
        "    return np.diag(X.T @ ((p * (1 - p))[:, None] * X))\n"
    )
    path = _with_function(
        tmp_path, "ada_full_marks", "logistic_hessian", "hessian_diagonal", source
    )
    [g] = grade_all(discover(path), backend=LocalBackend(1), progress=False)
    [r] = [r for r in g.results if r.part == "hessian_diagonal"]
    assert r.score == 1
    assert [c.passed for c in r.components] == [True, False]
    assert "formed-the-matrix" in [name for name, _ in r.diagnoses]
    assert g.score == contract().points("logistic_hessian") - 1
    # The command line grades through the same sandbox, with the same memory case.
    from autograder.cli import main

    assert main([str(path), "--out", str(tmp_path / "out"), "--no-db", "--quiet"]) == 0
    with (tmp_path / "out" / "grades.csv").open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["part"] == "hessian_diagonal")
    assert (row["score"], row["diagnosis"]) == ("1", "formed-the-matrix")


@pytest.mark.parametrize("assignment", sorted(POINTS))
def test_the_handout_cells_of_a_submission_are_recognised(assignment):
    """Are the cells a student received and left alone (the pasted self-checks) recognised
    from the released notebook, so the sandbox compiles them once for the class, and are the
    cells the student wrote not?"""
    released = json.loads((REPO / "exercises" / assignment / f"{assignment}.ipynb").read_text())
    digests = handout_digests([released, None, {"cells": "not a list"}])
    cells = read_code_cells(SAMPLES / "ada_full_marks" / assignment / f"{assignment}.ipynb")
    known = [c for c in cells if cell_digest(c) in digests]
    assert any(c.startswith("# The code of autograder/selfcheck/") for c in known)
    assert not any("YOUR CODE HERE" in c for c in cells)
    assert len(known) < len(cells)  # the answers are the student's own
