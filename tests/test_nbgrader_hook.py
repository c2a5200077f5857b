"""nbgrader's in-kernel path: hidden_test prints to stdout and returns partial credit."""

from __future__ import annotations

import warnings

import nbformat
import numpy as np
from nbgrader.utils import determine_grade

from autograder import reference as ref
from autograder.checks import PARTS
from autograder.nbgrader_hook import hidden_test


def _grade_cell(points, text):
    """A test cell as nbgrader sees it after execution, with `text` as its last value."""
    cell = nbformat.v4.new_code_cell("hidden_test(...)")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "test_x",
        "points": points,
        "schema_version": 3,
    }
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="feedback\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=1),
    ]
    return cell


def test_full_marks_return_a_python_float(capsys):
    """Is the value a plain float nbgrader can parse (not numpy 2's `np.float64(2.0)`)?"""
    score = hidden_test("grad_layer2", ref.grad_layer2)
    assert type(score) is float and score == 3.0
    out = capsys.readouterr()
    assert "grad_layer2: 3 / 3 points" in out.out
    assert out.err == ""


def test_nbgrader_reads_the_value_as_partial_credit(capsys):
    """Does nbgrader 0.9.6's determine_grade turn the repr of the value into the points?"""

    def transposed(delta3, cache, params, g):
        dW2, db2, delta2 = ref.grad_layer2(delta3, cache, params, g)
        return dW2.T, db2, delta2

    score = hidden_test("grad_layer2", transposed)
    assert score == 2.0
    assert determine_grade(_grade_cell(3, repr(score))) == (2.0, 3.0)
    score = hidden_test("backward", lambda *a: {k: 2 * v for k, v in ref.backward(*a).items()})
    assert 0 <= determine_grade(_grade_cell(2, repr(score)))[0] <= 2


def test_noisy_student_code_writes_nothing_to_stderr(capsys):
    """Do warnings and prints to stderr from student code stay off stderr (nbgrader gives 0)?"""
    import sys

    def noisy(y_hat, y):
        warnings.warn("student warning", stacklevel=1)
        print("debug", file=sys.stderr)
        np.log(-np.ones(2))
        return ref.grad_output(y_hat, y)

    assert hidden_test("grad_output", noisy) == 1.0
    assert capsys.readouterr().err == ""


def test_untouched_and_unknown_parts_score_zero(capsys):
    """Do a NotImplementedError stub and an unknown part give 0 without raising?"""

    def stub(*args):
        raise NotImplementedError()

    for part in PARTS:
        assert hidden_test(part, stub) == 0.0
    assert hidden_test("no_such_part", stub) == 0.0
    assert capsys.readouterr().err == ""


def test_feedback_does_not_show_the_hidden_inputs(capsys):
    """Is it impossible to read the grader's inputs from the printed feedback?"""

    def leaky(y_hat, y):
        raise ValueError(f"inputs were {y_hat!r} {y!r}")

    hidden_test("grad_output", leaky)
    out = capsys.readouterr().out
    from autograder.checks import draw_cases
    from autograder.nbgrader_hook import HOOK_SEED

    y_hat = draw_cases("grad_output", HOOK_SEED)[0].call.args[0]
    assert f"{y_hat[0]:.4f}"[:5] not in out
