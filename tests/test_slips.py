"""Every slip the book teaches, planted in the released notebook: the self-checks catch it.

The mistakes chapter (``book/mistakes.md``) labels each slip with a MyST target
``(slip-<id>)=``. For every label, :data:`PLANTINGS` says how the slip looks in code; the
release, filled with the course's solutions and that one change, runs top to bottom with
nbclient (one kernel per assignment, its namespace reset between notebooks). The part's
test cell must fail, with a message that names the slip, and no output of that cell may say
"passed". Every other part must pass, except a part that calls the
wrong one, which must fail by naming it: nothing is skipped because another part is wrong.
Pairs and triples of wrong parts (a wrong ``numerical_gradient`` and a wrong
``logistic_hessian`` among them) must do the same.

A label without a planting fails :func:`test_every_slip_of_the_chapter_is_planted`.
"""

from __future__ import annotations

import re

import pytest

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

pytestmark = pytest.mark.slow

MISTAKES = nt.ROOT / "book" / "mistakes.md"


class Slip:
    """One slip as code: ``(old, new)`` edits of a part's solution, and what its check says.

    Parameters
    ----------
    assignment, part : str
    edits : list of (str, str)
    words : str
        Text the failing check's message must contain.
    blocking : bool
        Whether the part's values are wrong on ordinary inputs (False for an overflow only
        at ``|z| = 1e4``): the parts calling it must then fail too.
    """

    def __init__(self, assignment, part, edits, words, blocking=True):
        self.assignment, self.part, self.edits = assignment, part, list(edits)
        self.words, self.blocking = words, blocking


MLP, LOG = "mlp_backprop", "logistic_hessian"
R_X = "return X.T @ (r[:, None] * X)"

#: Slip id (``book/mistakes.md``'s label without ``slip-``) to its planting. The last four are
#: the recap and Hessian slips the book is adding; ids to be reconciled when it lands.
PLANTINGS = {
    "second-layer-takes-x": Slip(
        MLP,
        "forward",
        [('Z2 = H1 @ params["W2"]', 'Z2 = X @ params["W2"]')],
        "The second layer takes H1",
    ),
    "output-takes-x": Slip(
        MLP,
        "forward",
        [('y_hat = H2 @ params["W3"]', 'y_hat = X @ params["W3"]')],
        "The output takes H2",
    ),
    "missing-1-over-n": Slip(
        MLP, "grad_output", [(" / y_hat.shape[0]", "")], "the 1/N of the mean is missing"
    ),
    "wrong-factor-z2-h1": Slip(
        MLP, "grad_layer1", [('(delta2 @ params["W2"].T)', "delta2")], "goes back through W2"
    ),
    "log-of-linear": Slip(
        LOG,
        "logistic_loss",
        [
            (
                "return float(np.sum(y * np.logaddexp(0.0, -z) + (1.0 - y) * "
                "np.logaddexp(0.0, z)))",
                "return float(-np.sum(y * np.log(z) + (1.0 - y) * np.log(1.0 - z)))",
            )
        ],
        "not log(w^T x)",
    ),
    "gradient-not-summed": Slip(
        LOG,
        "logistic_grad",
        [
            (
                "return X.T @ (y_hat - np.asarray(y, dtype=np.float64))",
                "return (y_hat - np.asarray(y, dtype=np.float64))[:, None] * X",
            )
        ],
        "one row per sample",
    ),
    "hessian-lost-index": Slip(
        LOG, "logistic_hessian", [(R_X, "return np.outer(X[0], r @ X)")], "symmetric"
    ),
    "missing-factor-2": Slip(MLP, "grad_output", [("return 2.0 *", "return 1.0 *")], "factor 2"),
    "flipped-sign": Slip(
        MLP,
        "grad_output",
        [
            (
                "(y_hat - np.asarray(y, dtype=np.float64))",
                "(np.asarray(y, dtype=np.float64) - y_hat)",
            )
        ],
        "wrong sign",
    ),
    "transposed-gradient": Slip(
        MLP, "grad_layer2", [('cache["H1"].T @ delta2', 'delta2.T @ cache["H1"]')], "transposed"
    ),
    "g-for-dg": Slip(
        MLP, "grad_layer2", [('g.df(cache["Z2"])', 'g.f(cache["Z2"])')], "g.df (the derivative)"
    ),
    "bias-not-summed": Slip(
        MLP, "grad_layer2", [("db2 = delta2.sum(axis=0)", "db2 = delta2")], "over the batch"
    ),
    "recap-w1-for-w2": Slip(
        MLP,
        "forward",
        [('Z2 = H1 @ params["W2"]', 'Z2 = H1 @ params["W1"]')],
        "weights are W2, not W1",
    ),
    "hessian-of-total-loss": Slip(
        LOG,
        "logistic_hessian",
        [(R_X, "return len(r) * (X.T @ (r[:, None] * X))")],
        "each sample's own loss",
    ),
    "mixed-index": Slip(
        MLP,
        "grad_output",
        [
            (
                "(y_hat - np.asarray(y, dtype=np.float64))",
                "(y_hat - np.asarray(y, dtype=np.float64)[0])",
            )
        ],
        "involves only sample n",
    ),
    "one-sample-for-X": Slip(
        LOG,
        "logistic_hessian",
        [(R_X, "return r.sum() * np.outer(X[0], X[0])")],
        "single sample",
    ),
}

#: Classic slips in code the chapter does not list by label; planted the same way.
CLASSIC = {
    "numerical-gradient-twice": Slip(
        MLP, "numerical_gradient", [("(2.0 * eps)", "eps")], "twice too large"
    ),
    "numerical-gradient-one-sided": Slip(
        MLP,
        "numerical_gradient",
        [
            ("f_minus = float(f(work))", "f_minus = float(f(np.array(theta, dtype=np.float64)))"),
            ("(2.0 * eps)", "eps"),
            ("flat[i] = old - eps", "flat[i] = old"),
        ],
        "one-sided",
    ),
    "mse-sum": Slip(MLP, "mse_loss", [("np.mean(r**2)", "np.sum(r**2)")], "divide by N"),
    "relative-error-no-floor": Slip(MLP, "relative_error", [("max(1e-12, ", "max(0.0, ")], "floor"),
    "sigmoid-overflow": Slip(
        LOG,
        "sigmoid",
        [
            (
                "e = np.exp(-np.abs(z))\n"
                "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
                "return 1.0 / (1.0 + np.exp(-z))",
            )
        ],
        "overflows",
        blocking=False,
    ),
    "logistic-loss-mean": Slip(
        LOG, "logistic_loss", [("float(np.sum(", "float(np.mean(")], "the sum"
    ),
    "logistic-grad-mean": Slip(
        LOG,
        "logistic_grad",
        [("np.asarray(y, dtype=np.float64))", "np.asarray(y, dtype=np.float64)) / len(y_hat)")],
        "not a mean",
    ),
    "hessian-without-r": Slip(LOG, "logistic_hessian", [(R_X, "return X.T @ X")], "R = diag"),
    "diagonal-not-squared": Slip(LOG, "hessian_diagonal", [("@ (X * X)", "@ X")], "squares"),
    "diagonal-of-the-full-hessian": Slip(
        LOG,
        "hessian_diagonal",
        [
            (
                "return (y_hat * (1.0 - y_hat)) @ (X * X)",
                "return np.diag(X.T @ ((y_hat * (1.0 - y_hat))[:, None] * X))",
            )
        ],
        "m x m matrix",
        blocking=False,
    ),
    "newton-ascent": Slip(LOG, "newton_step", [("return w - step", "return w + step")], "uphill"),
    "newton-gradient-step": Slip(
        LOG,
        "newton_step",
        [("return w - step", "return w - logistic_grad(w, X, y)")],
        "gradient-descent step",
    ),
    "fit-stops-early": Slip(
        LOG,
        "fit_newton",
        [("for _ in range(max_iter):", "for _ in range(min(max_iter, 2)):")],
        "stops before it converges",
    ),
}

#: Several wrong parts in one notebook.
COMBINATIONS = [
    ("numerical-gradient-twice", "missing-1-over-n"),
    ("numerical-gradient-one-sided", "g-for-dg", "wrong-factor-z2-h1"),
    ("numerical-gradient-twice", "mse-sum", "second-layer-takes-x"),
    ("hessian-lost-index", "gradient-not-summed"),
    ("hessian-of-total-loss", "sigmoid-overflow", "fit-stops-early"),
    ("one-sample-for-X", "newton-ascent", "logistic-loss-mean"),
]


def chapter_labels() -> list[str]:
    """The slip ids the mistakes chapter labels, in the chapter's order."""
    return re.findall(r"^\(slip-([\w-]+)\)=\s*$", MISTAKES.read_text(encoding="utf-8"), re.M)


def test_every_slip_of_the_chapter_is_planted():
    """Does every slip the mistakes chapter labels have a planting here?"""
    labels = chapter_labels()
    assert labels, "no (slip-...)= labels found in book/mistakes.md"
    assert sorted(set(labels) - set(PLANTINGS)) == []


@pytest.fixture(scope="module")
def sources():
    return {a: (nt.read(nt.release_path(a)), nt.read(nt.source_path(a))) for a in nt.assignments()}


def run_with(slips, kernels, sources):
    """The release of the slips' notebook, filled and slipped, executed; its cells by id."""
    (assignment,) = {s.assignment for s in slips}
    edits = {}
    for slip in slips:
        edits.setdefault(slip.part, []).extend(slip.edits)
    release, source = sources[assignment]
    nb = nt.fill_release(release, source, slips=edits)
    # Top to bottom, but without the closing demo section: it trains a model for seconds
    # after the last test cell, and nothing here reads it (test_notebooks runs it).
    graded = [i for i, c in enumerate(nb.cells) if not nt.is_demo(c)]
    assert max(graded) < min(i for i, c in enumerate(nb.cells) if nt.is_demo(c))
    nb = kernels[assignment].run(nb, cells=graded)
    return assignment, nt.by_grade_id(nb)


def assert_outcomes(assignment, cells, slips):
    """Each wrong part fails with its words; a part calling a blocking wrong part fails naming
    one; every other part passes."""
    wrong = {s.part: s for s in slips}
    blocking = {s.part for s in slips if s.blocking}
    calls = nt.calls(assignment)
    for part in nt.parts(assignment):
        cell = cells[f"test_{part}"]
        shown = nt.all_text(cell)
        if part in wrong or calls[part] & blocking:
            assert nt.errors(cell), f"{part}: the self-check passed"
            assert nt.errors(cell)[0].ename == "SelfCheckError", nt.error_message(cell)
            assert nt.PASSED not in shown, f"{part}: {shown}"
            message = nt.error_message(cell)
            if part in wrong and not (calls[part] & blocking):
                assert wrong[part].words in message, message
            else:
                assert any(p in message for p in blocking - {part}) or (
                    part in wrong and wrong[part].words in message
                ), message
        else:
            assert not nt.errors(cell), f"{part}: {nt.error_message(cell)}"
            assert f"{part}: all self-checks passed." in nt.stdout_text(cell)


ALL = {**PLANTINGS, **CLASSIC}


@pytest.mark.parametrize("slip_id", list(ALL))
def test_a_planted_slip_fails_its_part_and_nothing_else(slip_id, kernels, sources):
    """Does the slip's part fail, naming the slip, while every part that does not call it
    passes and every part that calls it fails by naming it?"""
    assignment, cells = run_with([ALL[slip_id]], kernels, sources)
    assert_outcomes(assignment, cells, [ALL[slip_id]])


@pytest.mark.parametrize("ids", COMBINATIONS, ids=["+".join(c) for c in COMBINATIONS])
def test_several_wrong_parts_each_fail(ids, kernels, sources):
    """With two or three wrong parts in one notebook, does each wrong part fail on its own
    (none skipped, none passed), and every other part still get its own verdict?"""
    slips = [ALL[i] for i in ids]
    assignment, cells = run_with(slips, kernels, sources)
    assert_outcomes(assignment, cells, slips)
