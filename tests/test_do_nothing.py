"""Nothing for nothing: functions that return the right shape without computing anything.

Each stub student fills every solution cell of the released notebooks with one kind of
do-nothing function (zeros, ones, its own input, the identity), and is graded with the
instructor's command, in the sandbox. Every part must score 0, side conditions included
("theta is left unchanged" holds for a function that does nothing).
"""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.checks import contract

try:
    import notebook_tools as nt
    from cli_tools import run_grade_cli
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt
    from tests.cli_tools import run_grade_cli

#: Shapes every stub reads from its arguments, so that its answer has the contract's shapes.
MLP_SHAPES = """
N, d1, d2 = X.shape[0], params["W1"].shape[1], params["W2"].shape[1]
"""

#: Per part, per kind: the body of a function that computes nothing of what it should.
STUBS = {
    "numerical_gradient": {
        "zeros": "return np.zeros(np.shape(theta))",
        "ones": "return np.ones(np.shape(theta))",
        "input": "return np.array(theta, dtype=float)",
    },
    "relative_error": {
        "zeros": "return 0.0",
        "ones": "return 1.0",
        "input": "return np.asarray(a, dtype=float)",
    },
    "forward": {
        kind: MLP_SHAPES
        + f"""
Z1, Z2 = {fill}((N, d1)), {fill}((N, d2))
return {fill}(N), {{"Z1": Z1, "H1": Z1, "Z2": Z2, "H2": Z2}}
"""
        for kind, fill in (("zeros", "np.zeros"), ("ones", "np.ones"))
    }
    | {
        "input": MLP_SHAPES
        + """
Z1 = np.repeat(X[:, :1], d1, axis=1)
Z2 = np.repeat(X[:, :1], d2, axis=1)
return X[:, 0].copy(), {"Z1": Z1, "H1": Z1, "Z2": Z2, "H2": Z2}
"""
    },
    "mse_loss": {"zeros": "return 0.0", "ones": "return 1.0", "input": "return float(y_hat[0])"},
    "grad_output": {
        "zeros": "return np.zeros_like(y_hat)",
        "ones": "return np.ones_like(y_hat)",
        "input": "return np.array(y_hat, dtype=float)",
        "identity": "return np.array(y, dtype=float)",
    },
    "grad_layer3": {
        "zeros": "return np.zeros(cache['H2'].shape[1]), 0.0",
        "ones": "return np.ones(cache['H2'].shape[1]), 1.0",
        "input": "return cache['H2'][0].copy(), float(delta3[0])",
    },
    "grad_layer2": {
        "zeros": "d1, d2 = params['W2'].shape\n"
        "return np.zeros((d1, d2)), np.zeros(d2), np.zeros((len(delta3), d2))",
        "ones": "d1, d2 = params['W2'].shape\n"
        "return np.ones((d1, d2)), np.ones(d2), np.ones((len(delta3), d2))",
        "input": "return params['W2'].copy(), params['b2'].copy(), cache['Z2'].copy()",
    },
    "grad_layer1": {
        "zeros": "m, d1 = params['W1'].shape\n"
        "return np.zeros((m, d1)), np.zeros(d1), np.zeros((X.shape[0], d1))",
        "ones": "m, d1 = params['W1'].shape\n"
        "return np.ones((m, d1)), np.ones(d1), np.ones((X.shape[0], d1))",
        "input": "return params['W1'].copy(), params['b1'].copy(), cache['Z1'].copy()",
    },
    "backward": {
        "zeros": "return {k: np.zeros(np.shape(v)) for k, v in params.items()}",
        "ones": "return {k: np.ones(np.shape(v)) for k, v in params.items()}",
        "input": "return {k: np.array(v, dtype=float) for k, v in params.items()}",
    },
    "sigmoid": {
        "zeros": "return np.zeros(np.shape(z))",
        "ones": "return np.ones(np.shape(z))",
        "input": "return np.array(z, dtype=float)",
    },
    "logistic_loss": {"zeros": "return 0.0", "ones": "return 1.0", "input": "return float(w[0])"},
    "logistic_grad": {
        "zeros": "return np.zeros_like(w)",
        "ones": "return np.ones_like(w)",
        "input": "return np.array(w, dtype=float)",
    },
    "logistic_hessian": {
        "zeros": "return np.zeros((len(w), len(w)))",
        "ones": "return np.ones((len(w), len(w)))",
        "identity": "return np.eye(len(w))",
    },
    "hessian_diagonal": {
        "zeros": "return np.zeros(len(w))",
        "ones": "return np.ones(len(w))",
        "input": "return np.array(w, dtype=float)",
    },
    "newton_step": {
        "zeros": "return np.zeros_like(w)",
        "ones": "return np.ones_like(w)",
        "input": "return np.array(w, dtype=float)",
    },
    "fit_newton": {
        "zeros": "return np.zeros(X.shape[1])",
        "ones": "return np.ones(X.shape[1])",
        "input": "return np.array(X[0], dtype=float)",
    },
}
KINDS = ("zeros", "ones", "input", "identity")


def _stub(part: str, kind: str) -> str | None:
    """The solution cell of a do-nothing ``part``, or None when that kind does not apply."""
    body = STUBS[part].get(kind)
    if body is None:
        return None
    spec = contract().part(part)
    return f"import numpy as np\n\n\ndef {spec.signature}:\n" + textwrap.indent(
        textwrap.dedent(body).strip(), "    "
    )


def _student(root: Path, kind: str) -> None:
    """A student who wrote the ``kind`` stub wherever it applies, zeros elsewhere."""
    for a in contract().assignments:
        nb = nt.read(nt.release_path(a.name))
        for cell in nb.cells:
            part = nt.grade_id(cell)
            if cell.cell_type == "code" and part in STUBS:
                cell.source = _stub(part, kind) or _stub(part, "zeros")
        path = root / f"stub_{kind}" / a.name / f"{a.notebook}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)


def test_every_part_has_stubs():
    """Is there a do-nothing stub for every graded function of the contract?"""
    assert set(STUBS) == {p.name for p in contract().parts}


@pytest.mark.slow
def test_doing_nothing_earns_nothing(tmp_path):
    """Graded by the CLI in the sandbox, does every do-nothing function score 0?"""
    for kind in KINDS:
        _student(tmp_path / "submitted", kind)
    proc = run_grade_cli(tmp_path / "submitted", "--out", tmp_path / "out", "--no-db", "--quiet")
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out" / "grades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(KINDS) * len(contract().parts)
    earned = {(r["student_id"], r["part"]): r["score"] for r in rows if float(r["score"]) != 0}
    assert earned == {}
    # The stubs ran and were judged wrong, rather than failing to load.
    assert not [r for r in rows if "not defined" in r["message"]]
