"""Build the bundled sample submissions in ``samples/submitted/`` from the student release.

Each sample student's notebook is the release notebook (``exercises/<a>/<a>.ipynb``, or when
that does not exist yet, the same release built in memory from ``solutions/`` with nbgrader's
own preprocessors) with the solution cells filled in. Filling in only the solution cells keeps
the samples in step with the release: nbgrader can autograde them, and the grader sees exactly
the cells a student would submit.

Students (one classic slip each, so each loses points on one part only; their other
functions are written self-contained, so a slip does not travel into ``backward`` or Newton):

* ``ada_full_marks``: the course's solutions.
* ``bo_rewritten``: correct code written differently (loops, einsum, 0-d arrays, a 2-norm
  relative error, a tanh-based sigmoid).
* ``cy_untouched``: the release as handed out.
* ``di_missing_1_over_n`` ... ``ned_newton_ascent``: one planted slip each (see ``SLIPS``).
* ``oz_broken``: an ``mlp_backprop`` notebook that is not valid JSON, no ``logistic_hessian``.

Run ``.venv/bin/python samples/make_samples.py`` from the repository root.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from pathlib import Path

import nbformat

from autograder.release import assignments, text_source

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "samples" / "submitted"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _source(assignment: str):
    """The source notebook of ``assignment``, derived from its text form."""
    from autograder.sources import derive

    return derive(text_source(ROOT, assignment, assignments()[assignment]))


def _body(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ") + "\n"


# ------------------------------------------------------------------- correct, self-contained

#: Functions that call other student functions, written so they call none: a slip in one
#: part then costs that part only.
SELF_CONTAINED = {
    "backward": """
        X = np.asarray(X, dtype=np.float64)
        Z1 = X @ params["W1"] + params["b1"]
        H1 = g.f(Z1)
        Z2 = H1 @ params["W2"] + params["b2"]
        H2 = g.f(Z2)
        y_hat = H2 @ params["W3"] + params["b3"]
        d3 = 2.0 * (y_hat - y) / X.shape[0]
        d2 = np.outer(d3, params["W3"]) * g.df(Z2)
        d1 = (d2 @ params["W2"].T) * g.df(Z1)
        return {"W1": X.T @ d1, "b1": d1.sum(axis=0), "W2": H1.T @ d2,
                "b2": d2.sum(axis=0), "W3": H2.T @ d3, "b3": float(d3.sum())}
    """,
    "logistic_grad": """
        X = np.asarray(X, dtype=np.float64)
        p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
        return X.T @ (p - y)
    """,
    "logistic_hessian": """
        X = np.asarray(X, dtype=np.float64)
        p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
        return X.T @ ((p * (1 - p))[:, None] * X)
    """,
    "hessian_diagonal": """
        X = np.asarray(X, dtype=np.float64)
        p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
        return (p * (1 - p)) @ X**2
    """,
    "newton_step": """
        X = np.asarray(X, dtype=np.float64)
        p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
        H = X.T @ ((p * (1 - p))[:, None] * X)
        return w - np.linalg.solve(H, X.T @ (p - y))
    """,
    "fit_newton": """
        X = np.asarray(X, dtype=np.float64)
        w = np.zeros(X.shape[1])
        for _ in range(max_iter):
            p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
            H = X.T @ ((p * (1 - p))[:, None] * X)
            step = np.linalg.solve(H, X.T @ (p - y))
            w = w - step
            if np.max(np.abs(step)) < tol:
                break
        return w
    """,
}

# ------------------------------------------------------------------ correct, written differently

REWRITTEN = {
    "numerical_gradient": """
        theta = np.asarray(theta, dtype=float)
        grad = np.empty(theta.shape)
        for idx in np.ndindex(*theta.shape):
            step = np.zeros(theta.shape)
            step[idx] = eps
            grad[idx] = (f(theta + step) - f(theta - step)) / (2 * eps)
        return grad
    """,
    "relative_error": """
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        # The 2-norm version, stated in this notebook: ||a - b|| / max(1e-12, ||a|| + ||b||).
        return np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b))
    """,
    "forward": """
        Z1 = np.einsum("nm,md->nd", X, params["W1"]) + params["b1"]
        H1 = g.f(Z1)
        Z2 = np.einsum("nd,de->ne", H1, params["W2"]) + params["b2"]
        H2 = g.f(Z2)
        y_hat = np.einsum("ne,e->n", H2, params["W3"]) + np.asarray(params["b3"])
        cache = {}
        cache["Z1"], cache["H1"], cache["Z2"], cache["H2"] = Z1, H1, Z2, H2
        return y_hat, cache
    """,
    "mse_loss": """
        total = 0.0
        for a, b in zip(y_hat, y):
            total += (b - a) ** 2
        return np.array(total / len(y))  # a 0-d array is a number too
    """,
    "grad_output": """
        N = len(y)
        return np.array([2.0 / N * (y_hat[n] - y[n]) for n in range(N)])
    """,
    "grad_layer3": """
        H2 = cache["H2"]
        dW3 = np.zeros(H2.shape[1])
        db3 = np.array(0.0)
        for n in range(H2.shape[0]):
            dW3 += delta3[n] * H2[n]
            db3 = db3 + delta3[n]
        return dW3, db3
    """,
    "grad_layer2": """
        delta2 = np.einsum("n,e->ne", delta3, params["W3"]) * g.df(cache["Z2"])
        return np.einsum("nd,ne->de", cache["H1"], delta2), np.einsum("ne->e", delta2), delta2
    """,
    "grad_layer1": """
        N, d1 = cache["Z1"].shape
        delta1 = np.zeros((N, d1))
        for n in range(N):
            delta1[n] = (params["W2"] @ delta2[n]) * g.df(cache["Z1"][n])
        dW1 = sum(np.outer(X[n], delta1[n]) for n in range(N))
        return dW1, delta1.sum(axis=0), delta1
    """,
    "backward": """
        y_hat, cache = forward(X, params, g)
        d3 = grad_output(y_hat, y)
        grads = {}
        grads["W3"], grads["b3"] = grad_layer3(d3, cache)
        grads["W2"], grads["b2"], d2 = grad_layer2(d3, cache, params, g)
        grads["W1"], grads["b1"], _ = grad_layer1(d2, X, cache, params, g)
        return grads
    """,
    "sigmoid": """
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))  # tanh never overflows
    """,
    "logistic_loss": """
        z = X @ w
        return sum(np.logaddexp(0, -z[n]) if y[n] == 1 else np.logaddexp(0, z[n])
                   for n in range(len(y)))
    """,
    "logistic_grad": """
        return np.einsum("nm,n->m", X, sigmoid(X @ w) - y)
    """,
    "logistic_hessian": """
        p = sigmoid(X @ w)
        return np.einsum("ni,n,nj->ij", X, p * (1 - p), X)
    """,
    "hessian_diagonal": """
        p = sigmoid(X @ w)
        return np.einsum("n,ni,ni->i", p * (1 - p), X, X)
    """,
    "newton_step": """
        return w - np.linalg.solve(logistic_hessian(w, X), logistic_grad(w, X, y))
    """,
    "fit_newton": """
        w = np.zeros(X.shape[1])
        it = 0
        while it < max_iter:
            w_next = newton_step(w, X, y)
            it += 1
            if np.all(np.abs(w_next - w) < tol):
                return w_next
            w = w_next
        return w
    """,
}

# -------------------------------------------------------------------------- one slip each

#: Student name to ``(assignment, part, body)``: each plants one classic slip.
SLIPS = {
    "di_missing_1_over_n": ("mlp_backprop", "grad_output", "return 2.0 * (y_hat - y)"),
    "ed_flipped_sign": ("mlp_backprop", "grad_output", "return 2.0 * (y - y_hat) / len(y)"),
    "fay_transposed_dW2": (
        "mlp_backprop",
        "grad_layer2",
        """
        delta2 = np.outer(delta3, params["W3"]) * g.df(cache["Z2"])
        return delta2.T @ cache["H1"], delta2.sum(axis=0), delta2
        """,
    ),
    "gus_g_for_dg": (
        "mlp_backprop",
        "grad_layer1",
        """
        delta1 = (delta2 @ params["W2"].T) * g.f(cache["Z1"])
        return X.T @ delta1, delta1.sum(axis=0), delta1
        """,
    ),
    "hal_bias_not_summed": (
        "mlp_backprop",
        "grad_layer3",
        'return cache["H2"].T @ delta3, delta3',
    ),
    "ida_forward_takes_x": (
        "mlp_backprop",
        "forward",
        """
        Z1 = X @ params["W1"] + params["b1"]
        H1 = g.f(Z1)
        Z2 = X @ params["W2"] + params["b2"]
        H2 = g.f(Z2)
        return H2 @ params["W3"] + params["b3"], {"Z1": Z1, "H1": H1, "Z2": Z2, "H2": H2}
        """,
    ),
    "jo_forward_differences": (
        "mlp_backprop",
        "numerical_gradient",
        """
        theta = np.array(theta, dtype=float)
        f0 = f(theta)
        grad = np.zeros_like(theta)
        for i in np.ndindex(theta.shape):
            t = theta.copy()
            t[i] += eps
            grad[i] = (f(t) - f0) / eps
        return grad
        """,
    ),
    "kai_sigmoid_overflow": ("logistic_hessian", "sigmoid", "return 1.0 / (1.0 + np.exp(-z))"),
    "lu_grad_not_summed": (
        "logistic_hessian",
        "logistic_grad",
        """
        p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
        return (p - y)[:, None] * X
        """,
    ),
    "mo_hessian_no_R": ("logistic_hessian", "logistic_hessian", "return X.T @ X"),
    "ned_newton_ascent": (
        "logistic_hessian",
        "newton_step",
        """
        p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
        H = X.T @ ((p * (1 - p))[:, None] * X)
        return w + np.linalg.solve(H, X.T @ (p - y))
        """,
    ),
}

#: Written answers of the full-marks student come from solutions/; others leave the stub.
HONEST_STUDENTS = ("ada_full_marks", "bo_rewritten", "cy_untouched") + tuple(SLIPS)


# --------------------------------------------------------------------------------- building


def release_notebook(assignment: str, exercises: Path | None = None):
    """The student release of ``assignment``: ``exercises/`` if built, else made in memory
    (the release's own preparation, then nbgrader's preprocessors)."""
    notebook = assignments()[assignment]
    path = (exercises or ROOT / "exercises") / assignment / f"{notebook}.ipynb"
    if path.is_file():
        return nbformat.read(path, as_version=4)
    from nbgrader.preprocessors import (
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
    )

    from autograder.release_build import book_url, prepare

    nb = prepare(_source(assignment), assignment, book_url(ROOT))
    resources: dict = {}
    for pre in (
        ClearSolutions(code_stub={"python": STUB}),
        ClearHiddenTests(),
        ClearMarkScheme(),
        ClearOutput(),
        ComputeChecksums(),
    ):
        nb, resources = pre.preprocess(nb, resources)
    return nb


def solution_sources(assignment: str) -> tuple[dict[str, str], dict[str, str]]:
    """Bodies of the solutions' code cells and the written answers, by ``grade_id``."""
    nb = _source(assignment)
    bodies, answers = {}, {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        if cell.cell_type == "code":
            match = re.search(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", cell.source, re.S)
            if match:
                bodies[meta["grade_id"]] = textwrap.dedent(match.group(1))
        else:
            answers[meta["grade_id"]] = cell.source
    return bodies, answers


def fill(nb, bodies: dict[str, str], answers: dict[str, str] | None = None):
    """A copy of the release ``nb`` with solution cells filled from ``bodies`` (by grade_id)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not meta.get("solution"):
            continue
        if cell.cell_type == "code" and grade_id in bodies:
            stub = textwrap.indent(STUB, "    ")
            if stub not in cell.source:
                raise ValueError(f"no stub in the release cell {grade_id!r}")
            cell.source = cell.source.replace(stub + "\n", _body(bodies[grade_id])).replace(
                stub, _body(bodies[grade_id]).rstrip("\n")
            )
        elif cell.cell_type == "markdown" and answers and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def build(out: Path = OUT, exercises: Path | None = None, students=None) -> list[Path]:
    """Write every sample notebook under ``out`` (replacing what was there).

    Parameters
    ----------
    out : Path
        The ``submitted/`` folder to write.
    exercises : Path, optional
        The release folder to start from (default: the repository's ``exercises/``).
    students : collection of str, optional
        Only these students (default: all).
    """
    if out.exists():
        shutil.rmtree(out)
    written = []

    notebooks = assignments()

    def write(student, assignment, nb):
        if students is not None and student not in students:
            return
        path = out / student / assignment / f"{notebooks[assignment]}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        written.append(path)

    for assignment in notebooks:
        release = release_notebook(assignment, exercises)
        solution, answers = solution_sources(assignment)
        write("ada_full_marks", assignment, fill(release, solution, answers))
        rewritten = {k: v for k, v in REWRITTEN.items() if k in solution}
        write("bo_rewritten", assignment, fill(release, {**solution, **rewritten}))
        write("cy_untouched", assignment, nbformat.from_dict(release))
        isolated = {k: v for k, v in SELF_CONTAINED.items() if k in solution}
        for student, (slip_assignment, part, body) in SLIPS.items():
            bodies = {**solution, **isolated}
            if slip_assignment == assignment:
                bodies[part] = body
            write(student, assignment, fill(release, bodies))
    if students is None or "oz_broken" in students:
        broken = out / "oz_broken" / "mlp_backprop" / "mlp_backprop.ipynb"
        broken.parent.mkdir(parents=True, exist_ok=True)
        broken.write_text('{"cells": [ {"cell_type": "code", "source": "def f(', encoding="utf-8")
        written.append(broken)
    return written


if __name__ == "__main__":
    paths = build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {len(paths)} notebooks under {OUT.relative_to(ROOT)}")
