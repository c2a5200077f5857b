"""Feedback pages: what they explain, what they never show."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from autograder.checks import contract, draw_cases
from autograder.checks.inprocess import run_submission_in_process
from autograder.feedback import render_feedback, write_feedback
from autograder.grade import discover, grade_notebook
from autograder.results import NotebookGrade

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"


def _grade(student, assignment="mlp_backprop"):
    [nb] = [n for n in discover(SAMPLES / student) if n.assignment == assignment]
    return grade_notebook(nb, runner=run_submission_in_process)


@pytest.fixture(scope="module")
def transposed():
    return _grade("fay_transposed_dW2")


def test_feedback_names_part_points_shapes_error_and_cause(transposed):
    """Does the page give the points, the shapes, the worst error and the diagnosis?"""
    page = render_feedback(transposed)
    assert "grad_layer2</code>: " in page and "2 / 3 points" in page
    assert "(4, 2)" in page and "(2, 4)" in page
    assert "is transposed" in page
    assert "Checked:" in page


def test_feedback_embeds_a_small_figure(transposed):
    """Is there one inline SVG bar per output, red for the wrong one (the page works alone)?"""
    page = render_feedback(transposed)
    [svg] = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    ET.fromstring(svg)  # well-formed XML, so browsers draw it
    bars = re.findall(r'<rect [^>]*fill="(#[0-9a-f]+)"', svg)
    n_outputs = sum(len(r.leaf_errors) for r in transposed.results)
    assert len(bars) == n_outputs
    assert bars.count("#c62828") >= 1  # the transposed dW2
    assert "<script" not in page


def _numbers(value):
    """Every real number a call hands the student's function, however nested."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
        yield from value.ravel().tolist()
    elif isinstance(value, float):
        yield value


def test_feedback_never_shows_hidden_inputs_or_test_source():
    """Are every input value of every case, and the hidden test code, absent from the pages of
    a notebook with slips in several parts (where the most is written)?"""
    shown = set()
    for student in ("fay_transposed_dW2", "gus_g_for_dg", "di_missing_1_over_n"):
        grade = _grade(student)
        page = render_feedback(grade)
        assert "hidden_test" not in page and "BEGIN HIDDEN" not in page
        # Numbers as a page could print them: 4 to 6 significant digits, or in full.
        words = set(re.findall(r"-?\d+\.\d+(?:e-?\d+)?", page))
        for r in grade.results:
            for case in draw_cases(r.part, grade.seed):
                for x in _numbers((case.call.args, case.call.kwargs)):
                    if abs(x) < 1e-3 or float(x).is_integer():
                        continue  # too small or too round to identify an input
                    for text in (repr(x), f"{x:.6f}", f"{x:.4f}", f"{x:.5g}"):
                        shown |= {text} & words
    assert shown == set()


def test_student_text_is_escaped():
    """Can a student name or an error message inject HTML into the page?"""
    grade = NotebookGrade("<script>alert(1)</script>", "mlp_backprop", "mlp_backprop", "x", 1)
    grade.cell_errors = ["cell 1: NameError: <img src=x onerror=alert(1)>"]
    grade.problem = "<b>boom</b>"
    page = render_feedback(grade)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>boom" not in page


def test_feedback_is_written_in_nbgrader_layout(transposed, tmp_path):
    """Is the page at feedback/<student>/<assignment>/<notebook>.html?"""
    path = write_feedback(transposed, tmp_path)
    assert path == tmp_path / "fay_transposed_dW2" / "mlp_backprop" / "mlp_backprop.html"
    assert path.read_text().startswith("<!DOCTYPE html>")


def test_untouched_notebook_feedback_says_what_to_do():
    """Does an untouched release get a page that says each function is not implemented?"""
    page = render_feedback(_grade("cy_untouched", "logistic_hessian"))
    parts = contract().parts_of("logistic_hessian")
    assert page.count("NotImplementedError") >= len(parts)
    assert f"0 / {contract().points('logistic_hessian'):g}" in page
