"""``autograder.selfcheck``: the visible self-checks, called directly (no kernel).

The functions checked are the course's solutions run in a fresh namespace, as in a student's
kernel (``notebook_tools.student_namespace``), with one slip or another planted. The same
checks run inside the released notebooks in ``test_notebooks.py`` and ``test_slips.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from autograder import activations as grader_activations
from autograder.selfcheck import activations, core, logistic, mlp
from autograder.selfcheck.core import SelfCheckError

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

MODULES = {"mlp_backprop": mlp, "logistic_hessian": logistic}
SELFCHECK = Path(core.__file__).parent

SIGMOID_NAIVE = (
    "e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
    "return 1.0 / (1.0 + np.exp(-z))",
)
HESSIAN_NO_R = ("return X.T @ (r[:, None] * X)", "return X.T @ X")
DW2_G_FOR_DG = ('g.df(cache["Z2"])', 'g.f(cache["Z2"])')


def outcome(assignment, part, namespace, capsys):
    """``("passed", printed)`` or ``("failed", message)`` of one part's check."""
    try:
        MODULES[assignment].check(part, namespace[part])
    except SelfCheckError as err:
        capsys.readouterr()
        return "failed", str(err)
    return "passed", capsys.readouterr().out


@pytest.mark.parametrize("assignment", nt.assignments())
def test_the_solutions_pass_every_self_check(assignment, capsys):
    """Does every part of the course's solutions pass, printing what it checked?"""
    ns = nt.student_namespace(assignment)
    for part in nt.parts(assignment):
        verdict, text = outcome(assignment, part, ns, capsys)
        assert verdict == "passed", text
        assert text.rstrip().endswith(f"{part}: all self-checks passed."), text
        assert text.count("\n") >= 2, f"{part} reports nothing it checked"


@pytest.mark.parametrize("assignment", nt.assignments())
def test_every_part_has_a_check(assignment):
    """Does the notebook's check module cover exactly the contract's parts, in order?"""
    assert list(MODULES[assignment]._PARTS) == list(nt.parts(assignment))


@pytest.mark.parametrize("assignment", nt.assignments())
def test_finite_differences_sit_far_below_the_tolerances(assignment, monkeypatch, capsys):
    """Do the solutions agree with the finite differences a hundred times better than the
    tolerance requires, so that round-off never fails a right answer?"""
    errors = []
    original = core._agree

    def recording(what, mine, right, tol, *args):
        errors.append((what, original(what, mine, right, tol, *args) / tol))
        return errors[-1][1] * tol

    for module in (core, mlp, logistic):
        monkeypatch.setattr(module, "_agree", recording, raising=False)
    ns = nt.student_namespace(assignment)
    for part in nt.parts(assignment):
        MODULES[assignment].check(part, ns[part])
    capsys.readouterr()
    assert errors, "no finite-difference comparison ran"
    worst = max(errors, key=lambda e: e[1])
    assert worst[1] < 1e-2, f"{worst[0]} used {worst[1]:.0%} of its tolerance"


@pytest.mark.parametrize(
    ("assignment", "part", "edit", "extra", "name"),
    [
        ("mlp_backprop", "grad_output", (" / y_hat.shape[0]", " / N"), "N = 5", "N"),
        ("mlp_backprop", "forward", ("H1 = g.f(Z1)", "H1 = act.f(Z1)"), "act = tanh", "act"),
        (
            "logistic_hessian",
            "logistic_grad",
            ("X = np.asarray(X,", "X = np.asarray(X_data,"),
            "",
            "X_data",
        ),
    ],
)
def test_a_function_reading_a_notebook_global_fails(assignment, part, edit, extra, name, capsys):
    """Does a function that reads a value the notebook happens to hold (a leftover ``N``, an
    activation, the notebook's data set) fail, saying which?"""
    ns = nt.student_namespace(assignment, {part: edit}, extra=extra)
    verdict, message = outcome(assignment, part, ns, capsys)
    assert verdict == "failed"
    assert f"reads the notebook's global variable {name!r}" in message, message


def test_a_helper_reading_a_notebook_global_is_named(capsys):
    """Is a global read inside a helper the function calls caught too, naming the helper?"""
    helper = "def scale(v):\n    return v / N\n\n"
    code = nt.source_cells("mlp_backprop")["grad_output"].source
    code = nt.solution_region(code).replace(" / y_hat.shape[0]", "")
    code = helper + code.replace("return 2.0 * (", "return scale(2.0 * (").replace(
        "dtype=np.float64))", "dtype=np.float64)))", 1
    )
    ns = nt.student_namespace("mlp_backprop", {"grad_output": code}, extra="N = 5\n")
    verdict, message = outcome("mlp_backprop", "grad_output", ns, capsys)
    assert verdict == "failed"
    assert "scale (which grad_output calls) reads the notebook's global variable 'N'" in message


def test_helpers_modules_and_constants_inside_functions_are_allowed(capsys):
    """Does a correct function that uses its own helper and numpy pass in the clean namespace?"""
    helper = "import math\n\ndef affine(A, W, b):\n    return A @ W + b\n\n"
    code = nt.solution_region(nt.source_cells("mlp_backprop")["forward"].source)
    code = helper + code.replace(
        'X @ params["W1"] + params["b1"]', 'affine(X, params["W1"], params["b1"])'
    )
    ns = nt.student_namespace("mlp_backprop", {"forward": code}, extra="N = 5\nX = 1\n")
    assert outcome("mlp_backprop", "forward", ns, capsys)[0] == "passed"


def test_an_untouched_stub_raises_its_own_not_implemented_error():
    """Does an unwritten part fail with the stub's NotImplementedError, as nbgrader expects?"""
    stub = "def backward(X, y, params, g):\n    raise NotImplementedError()\n"
    ns = nt.student_namespace("mlp_backprop", {"backward": stub})
    with pytest.raises(NotImplementedError):
        mlp.check("backward", ns["backward"])


@pytest.mark.parametrize(
    ("assignment", "broken", "edit", "part", "words"),
    [
        (
            "mlp_backprop",
            "grad_layer2",
            DW2_G_FOR_DG,
            "backward",
            "backward calls your grad_layer2",
        ),
        (
            "logistic_hessian",
            "logistic_hessian",
            HESSIAN_NO_R,
            "newton_step",
            "newton_step calls your logistic_hessian",
        ),
        (
            "logistic_hessian",
            "logistic_hessian",
            HESSIAN_NO_R,
            "fit_newton",
            "fit_newton calls newton_step, which calls your logistic_hessian",
        ),
        (
            "logistic_hessian",
            "newton_step",
            "def newton_step(w, X, y):\n    raise NotImplementedError()\n",
            "fit_newton",
            "fit_newton calls newton_step, which is not written yet",
        ),
    ],
)
def test_a_part_calling_a_broken_part_names_it(assignment, broken, edit, part, words, capsys):
    """Does a part whose callee is wrong fail by naming the callee to fix first, instead of
    blaming its own code ("does the loop stop too early?")?"""
    ns = nt.student_namespace(assignment, {broken: edit})
    verdict, message = outcome(assignment, part, ns, capsys)
    assert verdict == "failed"
    assert words in message, message
    assert "stops before it converges" not in message


def test_an_overflowing_sigmoid_does_not_block_its_callers(capsys):
    """Does a sigmoid that is right but overflows fail its own check only, so the gradient
    and Hessian that call it are still checked (on moderate inputs, where it is exact)?"""
    ns = nt.student_namespace("logistic_hessian", {"sigmoid": SIGMOID_NAIVE})
    verdict, message = outcome("logistic_hessian", "sigmoid", ns, capsys)
    assert verdict == "failed" and "overflows" in message
    for part in ("logistic_grad", "logistic_hessian", "newton_step", "fit_newton"):
        assert outcome("logistic_hessian", part, ns, capsys)[0] == "passed", part


def test_running_a_check_again_decides_afresh(capsys):
    """After a part passed and was then broken (or fixed), does its check, and the check of a
    part that calls it, decide from the functions as they are now?"""
    ns = nt.student_namespace("mlp_backprop")
    right = ns["grad_layer2"]
    wrong = nt.student_namespace("mlp_backprop", {"grad_layer2": DW2_G_FOR_DG})["grad_layer2"]
    assert outcome("mlp_backprop", "backward", ns, capsys)[0] == "passed"
    ns["grad_layer2"] = wrong
    assert outcome("mlp_backprop", "grad_layer2", ns, capsys)[0] == "failed"
    verdict, message = outcome("mlp_backprop", "backward", ns, capsys)
    assert verdict == "failed" and "grad_layer2" in message
    ns["grad_layer2"] = right
    assert outcome("mlp_backprop", "grad_layer2", ns, capsys)[0] == "passed"
    assert outcome("mlp_backprop", "backward", ns, capsys)[0] == "passed"


def test_a_diagonal_taken_from_the_full_hessian_is_caught(capsys):
    """Does hessian_diagonal fail when it forms the m x m matrix, though its values are
    right, and say why the diagonal must be computed directly?"""
    full = (
        "def hessian_diagonal(w, X):\n"
        "    X = np.asarray(X, dtype=float)\n"
        "    p = 1 / (1 + np.exp(-(X @ w)))\n"
        "    return np.diag(X.T @ ((p * (1 - p))[:, None] * X))\n"
    )
    for code in (full, "def hessian_diagonal(w, X):\n    return np.diag(logistic_hessian(w, X))\n"):
        ns = nt.student_namespace("logistic_hessian", {"hessian_diagonal": code})
        verdict, message = outcome("logistic_hessian", "hessian_diagonal", ns, capsys)
        assert verdict == "failed"
        assert "m x m matrix" in message and "does not fit in memory" in message, message


LOGISTIC_SLIPS = {
    "sigmoid": [SIGMOID_NAIVE, ("np.exp(-np.abs(z))", "np.exp(np.abs(z))")],
    "logistic_loss": [("return float(np.sum(", "return float(np.mean(")],
    "logistic_grad": [
        ("return X.T @ (y_hat", "return 2 * X.T @ (y_hat"),
        (
            "return X.T @ (y_hat - np.asarray(y, dtype=np.float64))",
            "return X.T @ (y_hat - np.asarray(y, dtype=np.float64)) / len(y)",
        ),
        ("y_hat = sigmoid(", "y_hat = -sigmoid("),
    ],
    "logistic_hessian": [HESSIAN_NO_R, ("r = y_hat * (1.0 - y_hat)", "r = y_hat")],
    "hessian_diagonal": [("@ (X * X)", "@ np.abs(X)")],
    "newton_step": [
        ("return w - step", "return w + step"),
        ("return w - step", "return w - logistic_grad(w, X, y)"),
        ("return w - step", "return w - 0.5 * step"),
    ],
    "fit_newton": [("for _ in range(max_iter):", "for _ in range(min(max_iter, 2)):")],
}


@pytest.mark.parametrize(
    ("part", "edit"), [(p, e) for p, edits in LOGISTIC_SLIPS.items() for e in edits]
)
def test_logistic_hints_fit_the_logistic_notebook(part, edit, capsys):
    """Does every failure in the logistic notebook speak of that notebook's loss: no square
    to differentiate, no 1/N of a mean, and no chain-rule advice for Newton's method?"""
    ns = nt.student_namespace("logistic_hessian", {part: edit})
    verdict, message = outcome("logistic_hessian", part, ns, capsys)
    assert verdict == "failed"
    assert not re.search(r"\bsquare\b", message), message
    for wrong in ("of the mean", "mean((y_hat", "g.df"):
        assert wrong not in message, (wrong, message)
    if part in ("newton_step", "fit_newton"):
        assert "chain rule" not in message, message


def test_a_gradient_step_is_called_a_gradient_step(capsys):
    """Is a Newton step that is really a gradient step named as such?"""
    ns = nt.student_namespace(
        "logistic_hessian",
        {"newton_step": ("return w - step", "return w - 0.1 * logistic_grad(w, X, y)")},
    )
    verdict, message = outcome("logistic_hessian", "newton_step", ns, capsys)
    assert verdict == "failed" and "gradient-descent step" in message, message


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (('Z2 = H1 @ params["W2"]', 'Z2 = X @ params["W2"]'), "The second layer takes H1"),
        (('y_hat = H2 @ params["W3"]', 'y_hat = X @ params["W3"]'), "The output takes H2"),
        (('Z2 = H1 @ params["W2"]', 'Z2 = H1 @ params["W1"]'), "weights are W2, not W1"),
        (('+ params["b1"]', '+ params["b2"]'), "is a bias added to the wrong layer"),
    ],
)
def test_numpy_shape_errors_in_forward_become_hints(edit, words, capsys):
    """Does a matrix product numpy refuses in forward come back as the slip that causes it?"""
    ns = nt.student_namespace("mlp_backprop", {"forward": edit})
    verdict, message = outcome("mlp_backprop", "forward", ns, capsys)
    assert verdict == "failed" and words in message, message


def test_feeding_x_to_the_second_layer_is_caught_by_value_too(capsys):
    """When the sizes let X @ W2 run (m = d1), is the slip still named, from the values?"""
    code = nt.solution_region(nt.source_cells("mlp_backprop")["forward"].source)
    code = code.replace(
        'Z2 = H1 @ params["W2"]',
        'Z2 = (X if X.shape[1] == params["W2"].shape[0] else H1) @ params["W2"]',
    )
    ns = nt.student_namespace("mlp_backprop", {"forward": code})
    verdict, message = outcome("mlp_backprop", "forward", ns, capsys)
    assert verdict == "failed" and "the second layer takes H1" in message, message


def test_a_numerical_gradient_that_does_not_restore_theta_is_told_why(capsys):
    """Is `+= eps; -= 2 eps; += eps` (which does not round-trip in floating point) told to
    restore the saved value instead?"""
    code = (
        "def numerical_gradient(f, theta, eps=1e-6):\n"
        "    grad = np.zeros(theta.shape)\n"
        "    for i in np.ndindex(theta.shape):\n"
        "        theta[i] += eps\n"
        "        up = f(theta)\n"
        "        theta[i] -= 2 * eps\n"
        "        down = f(theta)\n"
        "        theta[i] += eps\n"
        "        grad[i] = (up - down) / (2 * eps)\n"
        "    return grad\n"
    )
    ns = nt.student_namespace("mlp_backprop", {"numerical_gradient": code})
    verdict, message = outcome("mlp_backprop", "numerical_gradient", ns, capsys)
    assert verdict == "failed"
    assert "changed theta" in message and "floating point" in message, message


def test_the_checks_import_only_numpy_and_the_standard_library():
    """Could the self-check modules run where students have numpy only?"""
    import sys

    for path in SELFCHECK.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [(node.module or "").split(".")[0]]
            else:
                continue
            for top in tops:
                assert top == "numpy" or top in sys.stdlib_module_names, (path.name, top)


def test_the_checks_contain_no_graded_technique():
    """Do the self-check modules, which students can read, avoid the graded techniques: an
    overflow-free sigmoid or log-loss, and a loop of entrywise first differences?"""
    text = "\n".join(p.read_text() for p in SELFCHECK.glob("*.py"))
    code = "\n".join(
        line for line in text.split("\n") if not line.strip().startswith(("#", '"', 'f"'))
    )
    for technique in ("logaddexp", "np.abs(z)", "np.abs(Z)", "expit", "log1p"):
        assert technique not in code, technique
    assert not re.search(r"for .* in .*ndindex", code)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "identity"])
def test_the_notebooks_activations_are_the_graders(name):
    """Are the activations students get the grader's own, values and derivatives?"""
    mine, theirs = getattr(activations, name), grader_activations.ACTIVATIONS[name]
    Z = np.linspace(-3, 3, 60).reshape(3, 20)
    np.testing.assert_array_equal(mine.f(Z), theirs.f(Z))
    np.testing.assert_array_equal(mine.df(Z), theirs.df(Z))
    assert "softplus" not in {g.name for g in activations.ACTIVATIONS}
