"""Write the two nbgrader source notebooks of the course from readable cell texts.

Run ``.venv/bin/python solutions/build_sources.py`` after editing a cell below; it rewrites
``solutions/mlp_backprop/mlp_backprop.ipynb`` and
``solutions/logistic_hessian/logistic_hessian.ipynb`` (both committed), then
``make exercises`` regenerates the student release with nbgrader.

The structure every grader relies on (COURSE.md, "Exercise contract"):

- each contract function has exactly one solution cell (``grade_id`` = the function name)
  and right after it one locked test cell ``test_<function>`` with the contract's points;
- a test cell runs visible self-checks (no reference values), then a hidden block that calls
  ``autograder.nbgrader_hook.hidden_test`` as its last expression (the part's score);
- locked setup cells ``setup_*`` define everything the checks need with numpy only;
- written answers are manually graded markdown cells ``answer_*``;
- the closing ungraded section is tagged ``demo`` so graders skip it.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

BOOK = "../../_build/html/book"  # relative to exercises/<assignment>/<notebook>.ipynb

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


# --------------------------------------------------------------------------------------------
# cell constructors


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta


class Builder:
    """Collects the cells of one notebook, with deterministic cell ids."""

    def __init__(self):
        self.cells = []
        self._n = 0

    def _id(self, grade_id=None):
        self._n += 1
        return grade_id if grade_id else f"cell-{self._n:02d}"

    def md(self, text, *, tags=None):
        cell = nbformat.v4.new_markdown_cell(_src(text), id=self._id())
        if tags:
            cell.metadata["tags"] = list(tags)
        self.cells.append(cell)

    def code(self, text, *, tags=None):
        cell = nbformat.v4.new_code_cell(_src(text), id=self._id())
        if tags:
            cell.metadata["tags"] = list(tags)
        self.cells.append(cell)

    def setup(self, grade_id, text):
        """A locked code cell students run but cannot change."""
        cell = nbformat.v4.new_code_cell(_src(text), id=self._id(grade_id))
        cell.metadata["nbgrader"] = _nbgrader(grade_id, locked=True)
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
        self.cells.append(cell)

    def part(self, name, points, instructions, solution, checks):
        """Markdown instructions, the solution cell ``name``, the test cell ``test_<name>``."""
        self.md(instructions)
        sol = nbformat.v4.new_code_cell(_src(solution), id=self._id(name))
        sol.metadata["nbgrader"] = _nbgrader(name, solution=True)
        self.cells.append(sol)
        hidden = _src(
            f"""
            ### BEGIN HIDDEN TESTS
            from autograder.nbgrader_hook import hidden_test
            hidden_test("{name}", {name})
            ### END HIDDEN TESTS
            """
        )
        test_src = _src(checks) + "\n\n" + hidden
        test = nbformat.v4.new_code_cell(test_src, id=self._id(f"test_{name}"))
        test.metadata["nbgrader"] = _nbgrader(
            f"test_{name}", grade=True, locked=True, points=points
        )
        test.metadata["editable"] = False
        test.metadata["deletable"] = False
        self.cells.append(test)

    def answer(self, grade_id, points, question, model_answer):
        """A question, then a manually graded markdown answer cell (model answer in source)."""
        self.md(question)
        cell = nbformat.v4.new_markdown_cell(_src(model_answer), id=self._id(grade_id))
        cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=True, points=points)
        self.cells.append(cell)

    def notebook(self):
        nb = nbformat.v4.new_notebook()
        nb.cells = self.cells
        nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
        nbformat.validate(nb)
        return nb


# --------------------------------------------------------------------------------------------
# shared self-check toolkit (identical in both notebooks)

CHECK_TOOLKIT = '''
# The self-check toolkit. You do not need to read or change it; the test cells below use it.
import warnings

_passed = set()  # the parts whose self-checks have passed so far in this session


def _ready(*parts):
    """Whether the self-checks of ``parts`` passed, so a check may rely on those functions."""
    missing = [p for p in parts if p not in _passed]
    if missing:
        print(
            "  (comparison with finite differences skipped: first make the self-check of "
            + ", ".join(missing)
            + " pass)"
        )
    return not missing


def _check_shape(what, got, expected):
    """Fail with a readable message unless ``got`` has shape ``expected``."""
    expected = tuple(expected)
    if got is None:
        raise AssertionError(f"{what} is None: did you forget a return statement?")
    shape = np.shape(got)
    if shape == expected:
        return
    hint = ""
    if len(expected) == 2 and shape == expected[::-1]:
        hint = " It looks transposed: check the order of the factors in your matrix product."
    elif expected == () and shape == (1,):
        hint = " Return a single number, not an array holding one number."
    elif len(shape) == len(expected) + 1 and shape[1:] == expected and shape[0] > 1:
        hint = (
            " It has one row per sample: a bias gradient is summed over the batch "
            "(axis 0), because the bias is shared by every sample."
        )
    elif len(shape) == 2 and len(expected) == 1 and expected[0] in shape:
        hint = " It has an extra dimension: the contract asks for a 1-D array."
    raise AssertionError(f"{what} should have shape {expected} but has shape {shape}.{hint}")


def _slip(mine, numeric, N):
    """A guess in plain words at the classic slip that turns ``numeric`` into ``mine``."""
    a = np.ravel(np.asarray(mine, dtype=float))
    b = np.ravel(np.asarray(numeric, dtype=float))
    if not np.all(np.isfinite(a)):
        return "Your result contains nan or inf."
    if b @ b == 0:
        return ""
    c = (a @ b) / (b @ b)
    if np.max(np.abs(a - c * b)) > 1e-6 * np.max(np.abs(b)):
        return (
            "It is not a multiple of the right answer: go through the chain rule factor by "
            "factor (" + _CHAIN_HINT + ")."
        )
    known = [
        (N, f"It is exactly N = {N} times too large: did you forget the 1/N of the mean?"),
        (1 / N, f"It is exactly N = {N} times too small: is a 1/N there that does not belong "
         "(or is it counted twice)?"),
        (2, "It is exactly twice too large: is a factor 2 counted twice?"),
        (0.5, "It is exactly half the right answer: did you forget the factor 2 that comes "
         "from differentiating the square?"),
        (-1, "It has the wrong sign: compare (y_hat - y) with (y - y_hat)."),
        (2 * N, f"It is exactly 2N = {2 * N} times too large: a factor 2 counted twice and "
         "the 1/N of the mean missing?"),
        (N / 2, f"It is exactly N/2 = {N / 2:g} times too large: the 1/N of the mean is "
         "missing and so is the factor 2."),
        (-N, f"It has the wrong sign and is N = {N} times too large."),
    ]
    for factor, text in known:
        if abs(c - factor) < 1e-6 * abs(factor):
            return text
    return f"It is {c:.4g} times the right answer."


def _compare(what, mine, numeric, N, tol=1e-6):
    """Compare ``mine`` with finite differences; explain a mismatch in plain words."""
    _check_shape(what, mine, np.shape(numeric))
    mine = np.asarray(mine, dtype=float)
    numeric = np.asarray(numeric, dtype=float)
    scale = max(1e-12, float(np.max(np.abs(mine)) + np.max(np.abs(numeric))))
    err = float(np.max(np.abs(mine - numeric))) / scale
    if not err <= tol:
        where = np.unravel_index(np.argmax(np.abs(mine - numeric)), numeric.shape)
        where = tuple(int(i) for i in where)
        raise AssertionError(
            f"{what} does not match the finite-difference gradient: relative error "
            f"{err:.2e} (a correct answer gives about 1e-9), worst at index {where}. "
            + _slip(mine, numeric, N)
        )
    print(f"  {what}: agrees with finite differences (relative error {err:.1e})")
'''


MLP_HINT = """
# What to look at when a gradient is wrong but not a simple multiple of the right one.
_CHAIN_HINT = (
    "g.df, not g.f, multiplies the backpropagated error; the weights of the layer above; "
    "which array is transposed; which samples are summed"
)
"""

LOGISTIC_HINT = """
# What to look at when a derivative is wrong but not a simple multiple of the right one.
_CHAIN_HINT = (
    "y_hat is sigmoid(X @ w); each sample contributes its own term, weighted by its own "
    "y_hat_n; which array is transposed"
)
"""


# --------------------------------------------------------------------------------------------
# mlp_backprop.ipynb


def mlp_notebook():
    b = Builder()
    b.md(
        f"""
        # Backpropagation through a 3-layer MLP, by hand

        In this assignment you implement, one function at a time, the forward pass, the mean
        squared error and every gradient of the course's 3-layer perceptron, and the finite
        differences that check them. The derivations are in the course book, chapters
        [*The 3-layer MLP and 1-Lipschitz activations*]({BOOK}/mlp.html),
        [*Backpropagation*]({BOOK}/backprop.html),
        [*Gradient checking*]({BOOK}/gradient_check.html) and
        [*What 1-Lipschitz buys*]({BOOK}/lipschitz.html); the classic slips are collected in
        [*Common mistakes*]({BOOK}/mistakes.html). (The links work in a copy of the course
        repository with the book built; otherwise look the chapters up by title.)

        **How this notebook works.** Run the cells from top to bottom. Write your code where
        it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). The cell
        right after each function is a **self-check**: it tests shapes, compares your
        gradients with finite differences of *your own* functions and checks properties
        every correct answer has. When it fails, its message says what looks wrong. Passing
        the self-checks is a good sign but not the grade: the grader runs more checks on
        inputs you do not see. You need only `numpy` (and `matplotlib` for the last
        section).

        **Notation** (a batch is row-major, one sample per row):

        | name | shape | | name | shape |
        |---|---|---|---|---|
        | `X` | `(N, m)` | | `y`, `y_hat` | `(N,)` |
        | `W1` | `(m, d1)` | | `b1` | `(d1,)` |
        | `W2` | `(d1, d2)` | | `b2` | `(d2,)` |
        | `W3` | `(d2,)` | | `b3` | a number |
        | `Z1`, `H1` | `(N, d1)` | | `Z2`, `H2` | `(N, d2)` |

        $$Z_1 = X W_1 + b_1,\\quad H_1 = g(Z_1),\\quad Z_2 = H_1 W_2 + b_2,\\quad
        H_2 = g(Z_2),\\quad \\hat y = H_2 W_3 + b_3,$$

        $$L = \\frac1N \\sum_{{n=1}}^N (y_n - \\hat y_n)^2 .$$

        `params` is a dict with keys `"W1", "b1", "W2", "b2", "W3", "b3"`; a gradient dict has
        the same keys, each gradient with the shape of its parameter. The activation `g` is an
        object with `g.f(Z)` (the function) and `g.df(Z)` (its derivative), both elementwise;
        your code must work for every activation below, so call only `g.f` and `g.df`.
        """
    )
    b.setup(
        "setup_imports",
        """
        import numpy as np
        """,
    )
    b.setup(
        "setup_activations",
        '''
        class Activation:
            """An elementwise activation: ``g.f(Z)`` is g(Z), ``g.df(Z)`` its derivative g'(Z)."""

            def __init__(self, name, f, df):
                self.name, self.f, self.df = name, f, df

            def __repr__(self):
                return f"Activation({self.name!r})"


        def _sigmoid(Z):
            # exp(-|Z|) never overflows; both branches are exact forms of 1 / (1 + e^-Z).
            E = np.exp(-np.abs(Z))
            return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))


        # All five are 1-Lipschitz: |g(a) - g(b)| <= |a - b|, so |g'| <= 1.
        relu = Activation(
            "relu",
            lambda Z: np.maximum(np.asarray(Z, dtype=float), 0.0),
            lambda Z: (np.asarray(Z, dtype=float) > 0).astype(float),  # g'(0) = 0 by convention
        )
        leaky_relu = Activation(
            "leaky_relu",
            lambda Z: np.where(np.asarray(Z, dtype=float) > 0, Z, 0.1 * np.asarray(Z, dtype=float)),
            lambda Z: np.where(np.asarray(Z, dtype=float) > 0, 1.0, 0.1),
        )
        tanh = Activation(
            "tanh",
            lambda Z: np.tanh(np.asarray(Z, dtype=float)),
            lambda Z: 1.0 - np.tanh(np.asarray(Z, dtype=float)) ** 2,
        )
        softplus = Activation(
            "softplus",
            lambda Z: np.logaddexp(0.0, np.asarray(Z, dtype=float)),
            lambda Z: _sigmoid(np.asarray(Z, dtype=float)),
        )
        identity = Activation(
            "identity",
            lambda Z: np.array(Z, dtype=float),
            lambda Z: np.ones_like(np.asarray(Z, dtype=float)),
        )
        ACTIVATIONS = [relu, leaky_relu, tanh, softplus, identity]
        ''',
    )
    b.setup(
        "setup_data",
        '''
        # Small random examples for the self-checks, and toy data for the last section.
        N_CHECK, M_CHECK, D1_CHECK, D2_CHECK = 5, 3, 4, 2  # all different, so a transpose shows


        def make_params(m, d1, d2, seed=0):
            """Random parameters: W1 (m, d1), b1 (d1,), W2 (d1, d2), b2 (d2,), W3 (d2,), b3 float."""
            rng = np.random.default_rng(seed)
            return {
                "W1": rng.normal(0.0, 1.0 / np.sqrt(m), (m, d1)),
                "b1": rng.normal(0.0, 0.1, d1),
                "W2": rng.normal(0.0, 1.0 / np.sqrt(d1), (d1, d2)),
                "b2": rng.normal(0.0, 0.1, d2),
                "W3": rng.normal(0.0, 1.0 / np.sqrt(d2), d2),
                "b3": float(rng.normal(0.0, 0.1)),
            }


        def make_example(g, seed=0):
            """A batch X (N, m), targets y (N,), params, and the layer values Z1, H1, Z2, H2.

            The layer values are computed straight from the formulas at the top. Seeds whose
            pre-activations come within 1e-3 of ReLU's kink are skipped, so that finite
            differences never straddle it.
            """
            while True:
                rng = np.random.default_rng(1000 + seed)
                X = rng.normal(size=(N_CHECK, M_CHECK))
                y = rng.normal(size=N_CHECK)
                params = make_params(M_CHECK, D1_CHECK, D2_CHECK, seed=seed)
                Z1 = X @ params["W1"] + params["b1"]
                Z2 = g.f(Z1) @ params["W2"] + params["b2"]
                if min(np.min(np.abs(Z1)), np.min(np.abs(Z2))) > 1e-3:
                    cache = {"Z1": Z1, "H1": g.f(Z1), "Z2": Z2, "H2": g.f(Z2)}
                    return X, y, params, cache
                seed += 1


        # Toy regression data for the last section: a noisy sine curve on [-3, 3].
        _rng = np.random.default_rng(2705)
        x_toy = np.linspace(-3.0, 3.0, 64).reshape(-1, 1)
        y_toy = np.sin(x_toy[:, 0]) + 0.1 * _rng.normal(size=64)
        ''',
    )
    b.setup("setup_checks", MLP_HINT + CHECK_TOOLKIT)

    b.md(
        """
        ## Part 1: the tools that check your derivations

        Before deriving anything, build the witness: a gradient computed without calculus.
        The later self-checks compare your gradients with your own `numerical_gradient`, so
        do this part first.
        """
    )
    b.part(
        "numerical_gradient",
        2,
        """
        ### `numerical_gradient(f, theta, eps=1e-6)` (2 points)

        `f` takes an array shaped like `theta` and returns a number. Return an array shaped
        like `theta` whose entry `i` is the **central difference**

        $$\\frac{f(\\theta + \\varepsilon e_i) - f(\\theta - \\varepsilon e_i)}{2\\varepsilon},$$

        where $e_i$ is 1 at entry `i` and 0 elsewhere. `theta` may have any shape (a vector, a
        matrix). Leave `theta` exactly as it was: the caller's array must not change. Work in
        float64.
        """,
        '''
        def numerical_gradient(f, theta, eps=1e-6):
            """Central-difference gradient of a scalar function.

            Parameters
            ----------
            f : callable
                ``f(theta) -> float``.
            theta : array_like, any shape
                The point; it is not modified.
            eps : float
                The step.

            Returns
            -------
            grad : ndarray, shape of ``theta``
            """
            ### BEGIN SOLUTION
            # Perturb a float64 copy, so the caller's theta never changes.
            work = np.array(theta, dtype=np.float64)
            grad = np.zeros_like(work)
            flat, gflat = work.reshape(-1), grad.reshape(-1)  # views: writes reach work, grad
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                f_plus = float(f(work))
                flat[i] = old - eps
                f_minus = float(f(work))
                flat[i] = old  # restore before moving to the next entry
                gflat[i] = (f_plus - f_minus) / (2.0 * eps)
            return grad
            ### END SOLUTION
        ''',
        """
        # Self-check: a function whose gradient we know by hand.
        def _f(theta):  # f = sum(sin(theta)) + sum(theta**2) / 2, so grad f = cos(theta) + theta
            return float(np.sum(np.sin(theta)) + 0.5 * np.sum(theta**2))


        for theta in (np.array([0.3, -1.2, 2.0, 0.7]), np.array([[0.3, -1.2], [2.0, 0.7], [-0.4, 1.5]])):
            before = theta.copy()
            num = numerical_gradient(_f, theta)
            _check_shape("numerical_gradient(f, theta)", num, theta.shape)
            assert np.array_equal(theta, before), (
                "numerical_gradient changed theta: restore each entry after perturbing it, "
                "or perturb a copy."
            )
            exact = np.cos(theta) + theta
            err = float(np.max(np.abs(num - exact)) / np.max(np.abs(exact)))
            if err > 1e-8:
                ratio = float(np.sum(num * exact) / np.sum(exact * exact))
                if abs(ratio - 2) < 1e-3:
                    hint = "It is twice too large: the two points are 2 * eps apart."
                elif abs(ratio - 0.5) < 1e-3:
                    hint = "It is half the right size: divide by 2 * eps, not 4 * eps."
                elif abs(ratio + 1) < 1e-3:
                    hint = "It has the wrong sign: it is f(theta + eps) - f(theta - eps)."
                elif err < 1e-4:
                    hint = (
                        f"It is only accurate to about {err:.0e}: a one-sided difference? "
                        "Central differences are far more accurate."
                    )
                else:
                    hint = "Check which entry you perturb and where you store the result."
                raise AssertionError(
                    f"numerical_gradient is off by a relative error of {err:.1e} on a function "
                    f"whose gradient is known (shape {theta.shape}). " + hint
                )
        # The step is a parameter: a larger one must still give a close answer.
        num = numerical_gradient(_f, theta, eps=1e-4)
        assert np.max(np.abs(num - (np.cos(theta) + theta))) < 1e-6, (
            "numerical_gradient(f, theta, eps=1e-4) is wrong: use the eps you are given."
        )
        _passed.add("numerical_gradient")
        print("numerical_gradient: all self-checks passed.")
        """,
    )
    b.part(
        "relative_error",
        1,
        """
        ### `relative_error(a, b)` (1 point)

        Two arrays of the same shape agree when their difference is small *compared with
        their size*. Return the number

        $$\\frac{\\max_i |a_i - b_i|}{\\max\\left(10^{-12},\\ \\max_i |a_i| + \\max_i |b_i|\\right)}$$

        as a Python float. The floor $10^{-12}$ makes two zero arrays compare as equal
        instead of giving 0/0. A correct gradient against central differences gives about
        $10^{-9}$ or less; a wrong one gives something of order 1.
        """,
        '''
        def relative_error(a, b):
            """Scale-free distance between two arrays of the same shape.

            Parameters
            ----------
            a, b : array_like, same shape

            Returns
            -------
            float
                ``max|a - b| / max(1e-12, max|a| + max|b|)``.
            """
            ### BEGIN SOLUTION
            a = np.asarray(a, dtype=np.float64)
            b = np.asarray(b, dtype=np.float64)
            # The floor keeps 0 / 0 away when both arrays are zero.
            scale = max(1e-12, float(np.max(np.abs(a)) + np.max(np.abs(b))))
            return float(np.max(np.abs(a - b)) / scale)
            ### END SOLUTION
        ''',
        """
        # Self-check: values that follow from the definition above.
        a = np.array([1.0, -2.0, 3.0])
        r = relative_error(a, a)
        assert r is not None, "relative_error returned None: did you forget a return statement?"
        assert np.ndim(r) == 0, f"relative_error should return one number, not shape {np.shape(r)}."
        assert r == 0, f"relative_error(a, a) should be 0, got {r}."
        r = relative_error(a, 2 * a)  # max|a - 2a| = 3, max|a| + max|2a| = 3 + 6
        assert abs(r - 1 / 3) < 1e-12, (
            f"relative_error(a, 2 * a) should be 3 / (3 + 6) = 1/3 by the definition above, got {r}."
        )
        assert relative_error(2 * a, a) == r, "relative_error(a, b) should equal relative_error(b, a)."
        with np.errstate(all="ignore"):
            r = relative_error(np.zeros(3), np.zeros(3))
        assert r == 0, f"relative_error of two zero arrays should be 0 (that is what the floor is for), got {r}."
        M = np.arange(6.0).reshape(2, 3)
        r = relative_error(M, M + 1)  # works on matrices too: 1 / (5 + 6)
        assert abs(r - 1 / 11) < 1e-12, f"relative_error on a (2, 3) matrix should be 1/11 here, got {r}."
        _passed.add("relative_error")
        print("relative_error: all self-checks passed.")
        """,
    )

    b.md(
        """
        ## Part 2: the forward pass and the loss
        """
    )
    b.part(
        "forward",
        2,
        """
        ### `forward(X, params, g)` (2 points)

        Compute the network's output on a batch and keep the intermediate values for the
        backward pass:
        `Z1 = X @ W1 + b1`, `H1 = g.f(Z1)`, `Z2 = H1 @ W2 + b2`, `H2 = g.f(Z2)`,
        `y_hat = H2 @ W3 + b3`.

        Return the tuple `(y_hat, cache)`: `y_hat` of shape `(N,)`, and `cache` a dict with
        keys `"Z1", "H1"` (shape `(N, d1)`) and `"Z2", "H2"` (shape `(N, d2)`).

        (The handwritten solution writes `h2 = g(W2ᵀx + b2)`: the second layer takes `h1`, not `x`.)
        """,
        '''
        def forward(X, params, g):
            """Forward pass of the 3-layer MLP on a batch.

            Parameters
            ----------
            X : (N, m)
                One sample per row.
            params : dict
                ``W1 : (m, d1)``, ``b1 : (d1,)``, ``W2 : (d1, d2)``, ``b2 : (d2,)``,
                ``W3 : (d2,)``, ``b3 : float``.
            g : Activation
                Call ``g.f`` only.

            Returns
            -------
            y_hat : (N,)
            cache : dict
                ``Z1, H1 : (N, d1)`` and ``Z2, H2 : (N, d2)``.
            """
            ### BEGIN SOLUTION
            Z1 = X @ params["W1"] + params["b1"]  # (N, d1); b1 broadcasts over the rows
            H1 = g.f(Z1)
            Z2 = H1 @ params["W2"] + params["b2"]  # the second layer takes H1, not X
            H2 = g.f(Z2)
            y_hat = H2 @ params["W3"] + params["b3"]  # (N, d2) @ (d2,) -> (N,)
            return y_hat, {"Z1": Z1, "H1": H1, "Z2": Z2, "H2": H2}
            ### END SOLUTION
        ''',
        """
        # Self-check: shapes, the cache, and the linear network you get with g = identity.
        N, m, d1, d2 = N_CHECK, M_CHECK, D1_CHECK, D2_CHECK
        for g in ACTIVATIONS:
            X, y, params, _ = make_example(g, seed=1)
            out = forward(X, params, g)
            assert isinstance(out, tuple) and len(out) == 2, "forward should return a tuple (y_hat, cache)."
            y_hat, cache = out
            _check_shape(f"y_hat (g = {g.name})", y_hat, (N,))
            assert isinstance(cache, dict), "cache should be a dict with keys 'Z1', 'H1', 'Z2', 'H2'."
            missing = {"Z1", "H1", "Z2", "H2"} - set(cache)
            assert not missing, f"cache is missing the keys {sorted(missing)}."
            for key, shape in (("Z1", (N, d1)), ("H1", (N, d1)), ("Z2", (N, d2)), ("H2", (N, d2))):
                _check_shape(f"cache['{key}'] (g = {g.name})", cache[key], shape)
            assert np.allclose(cache["H1"], g.f(cache["Z1"])), f"H1 should be g.f(Z1) (g = {g.name})."
            assert np.allclose(cache["H2"], g.f(cache["Z2"])), f"H2 should be g.f(Z2) (g = {g.name})."
        # With g = identity the network is linear: y_hat = X @ (W1 @ W2 @ W3) + a constant.
        X, y, p, _ = make_example(identity, seed=2)
        y_hat, _ = forward(X, p, identity)
        const = p["b1"] @ p["W2"] @ p["W3"] + p["b2"] @ p["W3"] + p["b3"]
        assert np.allclose(y_hat, X @ (p["W1"] @ p["W2"] @ p["W3"]) + const), (
            "With g = identity your y_hat is not X @ (W1 @ W2 @ W3) + (b1 @ W2 @ W3 + b2 @ W3 + b3). "
            "Check that each layer takes the previous layer's output (the second layer takes H1, "
            "not X) and that every bias is added once."
        )
        _passed.add("forward")
        print("forward: all self-checks passed.")
        """,
    )
    b.part(
        "mse_loss",
        1,
        """
        ### `mse_loss(y_hat, y)` (1 point)

        The mean squared error $L = \\frac1N \\sum_n (y_n - \\hat y_n)^2$, returned as a
        Python float. Both arguments have shape `(N,)`.
        """,
        '''
        def mse_loss(y_hat, y):
            """Mean squared error.

            Parameters
            ----------
            y_hat, y : (N,)

            Returns
            -------
            float
            """
            ### BEGIN SOLUTION
            r = np.asarray(y_hat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
            return float(np.mean(r**2))  # the mean: the 1/N is part of the loss
            ### END SOLUTION
        ''',
        """
        # Self-check: a case you can do in your head, and properties of any squared error.
        L = mse_loss(np.array([1.0, 2.0, 2.0]), np.zeros(3))
        assert L is not None, "mse_loss returned None: did you forget a return statement?"
        assert np.ndim(L) == 0, f"mse_loss should return one number, not an array of shape {np.shape(L)}."
        if abs(L - 9.0) < 1e-12:
            raise AssertionError(
                "mse_loss([1, 2, 2], [0, 0, 0]) gave 9 = 1 + 4 + 4, the sum: the loss is the "
                "mean, so divide by N (here 3)."
            )
        if abs(L - 5 / 3) < 1e-12:
            raise AssertionError(
                "mse_loss([1, 2, 2], [0, 0, 0]) gave 5/3: did you forget to square the residuals?"
            )
        assert abs(L - 3.0) < 1e-12, f"mse_loss([1, 2, 2], [0, 0, 0]) should be (1 + 4 + 4) / 3 = 3, got {L}."
        rng = np.random.default_rng(3)
        a, b = rng.normal(size=7), rng.normal(size=7)
        assert mse_loss(a, a) == 0, "mse_loss(y, y) should be 0."
        assert mse_loss(a, b) > 0, "mse_loss should be positive when the predictions are off."
        assert abs(mse_loss(a, b) - mse_loss(b, a)) < 1e-12, "mse_loss(a, b) should equal mse_loss(b, a)."
        _passed.add("mse_loss")
        print("mse_loss: all self-checks passed.")
        """,
    )

    b.md(
        """
        ## Part 3: backpropagation, one layer at a time

        Each function below receives the error backpropagated from the layer above and
        returns the gradients of its own parameters, plus the error to pass further down.
        The self-checks give each function an *arbitrary* upstream error `delta`: whatever
        `delta` is, your gradients must be those of $\\sum \\delta \\odot (\\text{layer
        output})$, and that is what finite differences check.
        """
    )
    b.part(
        "grad_output",
        1,
        """
        ### `grad_output(y_hat, y)` (1 point)

        The error at the output, $\\delta_3 = \\partial L / \\partial \\hat y$, of shape
        `(N,)`, for the mean squared error above.
        (The handwritten solution works with one sample and drops the $1/N$ of the mean: the batch gradient
        needs it.)
        """,
        '''
        def grad_output(y_hat, y):
            """Backpropagated error at the output, ``dL/dy_hat``.

            Parameters
            ----------
            y_hat, y : (N,)

            Returns
            -------
            delta3 : (N,)
            """
            ### BEGIN SOLUTION
            y_hat = np.asarray(y_hat, dtype=np.float64)
            # 2 from differentiating the square, 1/N from the mean.
            return 2.0 * (y_hat - np.asarray(y, dtype=np.float64)) / y_hat.shape[0]
            ### END SOLUTION
        ''',
        """
        # Self-check: delta3 is the gradient of your mse_loss with respect to y_hat.
        rng = np.random.default_rng(4)
        N = N_CHECK
        y_hat, y = rng.normal(size=N), rng.normal(size=N)
        delta3 = grad_output(y_hat, y)
        _check_shape("delta3", delta3, (N,))
        if _ready("mse_loss", "numerical_gradient"):
            _compare("delta3", delta3, numerical_gradient(lambda v: mse_loss(v, y), y_hat), N)
        _passed.add("grad_output")
        print("grad_output: all self-checks passed.")
        """,
    )
    b.part(
        "grad_layer3",
        2,
        """
        ### `grad_layer3(delta3, cache)` (2 points)

        The gradients of the output layer, given $\\delta_3$ `(N,)` and the cache from
        `forward` (use `cache["H2"]`, shape `(N, d2)`): return `(dW3, db3)` with
        `dW3` of shape `(d2,)` (the shape of `W3`) and `db3` a number.
        Every sample contributes to the gradient of a shared parameter: sum over the batch.
        """,
        '''
        def grad_layer3(delta3, cache):
            """Gradients of the output layer.

            Parameters
            ----------
            delta3 : (N,)
                ``dL/dy_hat``.
            cache : dict
                From ``forward``; uses ``H2 : (N, d2)``.

            Returns
            -------
            dW3 : (d2,)
            db3 : float
            """
            ### BEGIN SOLUTION
            delta3 = np.asarray(delta3, dtype=np.float64)
            # y_hat_n = H2[n] . W3 + b3: each sample's error times its H2 row, summed over n.
            dW3 = cache["H2"].T @ delta3
            db3 = float(np.sum(delta3))  # b3 is shared by all samples
            return dW3, db3
            ### END SOLUTION
        ''',
        """
        # Self-check: shapes, db3, and dW3 against finite differences.
        N, d2 = N_CHECK, D2_CHECK
        for g in (tanh, relu):
            X, y, params, cache = make_example(g, seed=5)
            delta3 = np.random.default_rng(5).normal(size=N)  # any upstream error will do
            out = grad_layer3(delta3, cache)
            assert isinstance(out, tuple) and len(out) == 2, "grad_layer3 should return (dW3, db3)."
            dW3, db3 = out
            _check_shape("dW3", dW3, (d2,))
            _check_shape("db3", db3, ())
            assert abs(float(db3) - np.sum(delta3)) < 1e-12, (
                "db3 should be delta3 summed over the batch: y_hat_n = ... + b3 for every n."
            )
            if _ready("numerical_gradient"):
                # dW3 is the gradient of sum_n delta3_n * y_hat_n with respect to W3.
                H2, b3 = cache["H2"], params["b3"]
                num = numerical_gradient(lambda W3: delta3 @ (H2 @ W3 + b3), params["W3"])
                _compare(f"dW3 (g = {g.name})", dW3, num, N)
        _passed.add("grad_layer3")
        print("grad_layer3: all self-checks passed.")
        """,
    )
    b.part(
        "grad_layer2",
        3,
        """
        ### `grad_layer2(delta3, cache, params, g)` (3 points)

        Push the error through the output weights and the activation of the second layer:
        $\\delta_2 = \\partial L / \\partial Z_2$ of shape `(N, d2)` (for one sample,
        $\\delta_3$ times $W_3$, elementwise times $g'(z_2)$), then the gradients of the
        second layer. Return `(dW2, db2, delta2)` with shapes `(d1, d2)`, `(d2,)`,
        `(N, d2)`. Use `cache["H1"]`, `cache["Z2"]`, `params["W3"]` and `g.df`.
        """,
        '''
        def grad_layer2(delta3, cache, params, g):
            """Gradients of the second hidden layer, and the error below it.

            Parameters
            ----------
            delta3 : (N,)
                ``dL/dy_hat``.
            cache : dict
                From ``forward``; uses ``H1 : (N, d1)`` and ``Z2 : (N, d2)``.
            params : dict
                Uses ``W3 : (d2,)``.
            g : Activation
                Call ``g.df`` only.

            Returns
            -------
            dW2 : (d1, d2)
            db2 : (d2,)
            delta2 : (N, d2)
                ``dL/dZ2``.
            """
            ### BEGIN SOLUTION
            delta3 = np.asarray(delta3, dtype=np.float64)
            # Row n: delta3_n * W3, then through the activation: times g'(Z2) elementwise.
            delta2 = np.outer(delta3, params["W3"]) * g.df(cache["Z2"])
            dW2 = cache["H1"].T @ delta2  # (d1, N) @ (N, d2): summed over the batch
            db2 = delta2.sum(axis=0)
            return dW2, db2, delta2
            ### END SOLUTION
        ''',
        """
        # Self-check: shapes, db2, and dW2, db2, delta2 against finite differences.
        N, d1, d2 = N_CHECK, D1_CHECK, D2_CHECK
        for g in (tanh, softplus, relu):
            X, y, params, cache = make_example(g, seed=6)
            delta3 = np.random.default_rng(6).normal(size=N)  # any upstream error will do
            out = grad_layer2(delta3, cache, params, g)
            assert isinstance(out, tuple) and len(out) == 3, "grad_layer2 should return (dW2, db2, delta2)."
            dW2, db2, delta2 = out
            _check_shape("dW2", dW2, (d1, d2))
            _check_shape("db2", db2, (d2,))
            _check_shape("delta2", delta2, (N, d2))
            assert np.allclose(db2, np.sum(delta2, axis=0)), "db2 should be delta2 summed over the batch (axis 0)."
            if _ready("numerical_gradient"):
                # Everything is the gradient of sum_n delta3_n * y_hat_n, y_hat as a function of
                # Z2, of W2 or of b2 with everything else held fixed.
                H1, W2, b2, W3, b3 = cache["H1"], params["W2"], params["b2"], params["W3"], params["b3"]
                num = numerical_gradient(lambda Z2: delta3 @ (g.f(Z2) @ W3 + b3), cache["Z2"])
                _compare(f"delta2 (g = {g.name})", delta2, num, N)
                num = numerical_gradient(lambda W: delta3 @ (g.f(H1 @ W + b2) @ W3 + b3), W2)
                _compare(f"dW2 (g = {g.name})", dW2, num, N)
                num = numerical_gradient(lambda b: delta3 @ (g.f(H1 @ W2 + b) @ W3 + b3), b2)
                _compare(f"db2 (g = {g.name})", db2, num, N)
        _passed.add("grad_layer2")
        print("grad_layer2: all self-checks passed.")
        """,
    )
    b.part(
        "grad_layer1",
        3,
        """
        ### `grad_layer1(delta2, X, cache, params, g)` (3 points)

        The same step one layer down: from $\\delta_2$ `(N, d2)` compute
        $\\delta_1 = \\partial L / \\partial Z_1$ of shape `(N, d1)` (through `W2`, then
        through $g'(Z_1)$), and the first layer's gradients. Return `(dW1, db1, delta1)` with
        shapes `(m, d1)`, `(d1,)`, `(N, d1)`.
        (The handwritten solution writes $\\partial z_2/\\partial b_2 \\cdot \\partial b_2/\\partial h_1$ in
        this chain; the right factor is $\\partial z_2/\\partial h_1$, that is $W_2$.)
        """,
        '''
        def grad_layer1(delta2, X, cache, params, g):
            """Gradients of the first hidden layer, and the error at its pre-activation.

            Parameters
            ----------
            delta2 : (N, d2)
                ``dL/dZ2``.
            X : (N, m)
            cache : dict
                From ``forward``; uses ``Z1 : (N, d1)``.
            params : dict
                Uses ``W2 : (d1, d2)``.
            g : Activation
                Call ``g.df`` only.

            Returns
            -------
            dW1 : (m, d1)
            db1 : (d1,)
            delta1 : (N, d1)
                ``dL/dZ1``.
            """
            ### BEGIN SOLUTION
            delta2 = np.asarray(delta2, dtype=np.float64)
            # dZ2/dH1 is W2: (N, d2) @ (d2, d1), then through the activation of layer 1.
            delta1 = (delta2 @ params["W2"].T) * g.df(cache["Z1"])
            dW1 = np.asarray(X, dtype=np.float64).T @ delta1  # (m, N) @ (N, d1)
            db1 = delta1.sum(axis=0)
            return dW1, db1, delta1
            ### END SOLUTION
        ''',
        """
        # Self-check: shapes, db1, and dW1, db1, delta1 against finite differences.
        N, m, d1, d2 = N_CHECK, M_CHECK, D1_CHECK, D2_CHECK
        for g in (tanh, softplus, relu):
            X, y, params, cache = make_example(g, seed=7)
            delta2 = np.random.default_rng(7).normal(size=(N, d2))  # any upstream error will do
            out = grad_layer1(delta2, X, cache, params, g)
            assert isinstance(out, tuple) and len(out) == 3, "grad_layer1 should return (dW1, db1, delta1)."
            dW1, db1, delta1 = out
            _check_shape("dW1", dW1, (m, d1))
            _check_shape("db1", db1, (d1,))
            _check_shape("delta1", delta1, (N, d1))
            assert np.allclose(db1, np.sum(delta1, axis=0)), "db1 should be delta1 summed over the batch (axis 0)."
            if _ready("numerical_gradient"):
                # The gradient of sum(delta2 * Z2), Z2 as a function of Z1, of W1 or of b1.
                W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
                num = numerical_gradient(lambda Z1: np.sum(delta2 * (g.f(Z1) @ W2 + b2)), cache["Z1"])
                _compare(f"delta1 (g = {g.name})", delta1, num, N)
                num = numerical_gradient(lambda W: np.sum(delta2 * (g.f(X @ W + b1) @ W2 + b2)), W1)
                _compare(f"dW1 (g = {g.name})", dW1, num, N)
                num = numerical_gradient(lambda b: np.sum(delta2 * (g.f(X @ W1 + b) @ W2 + b2)), b1)
                _compare(f"db1 (g = {g.name})", db1, num, N)
        _passed.add("grad_layer1")
        print("grad_layer1: all self-checks passed.")
        """,
    )
    b.part(
        "backward",
        2,
        """
        ### `backward(X, y, params, g)` (2 points)

        Put it together: run `forward`, then the four functions above from the top down, and
        return the dict of all six gradients, keys `"W1", "b1", "W2", "b2", "W3", "b3"`,
        each with the shape of its parameter.
        """,
        '''
        def backward(X, y, params, g):
            """All gradients of the mean squared error with respect to the parameters.

            Parameters
            ----------
            X : (N, m)
            y : (N,)
            params : dict
                As in ``forward``.
            g : Activation

            Returns
            -------
            grads : dict
                ``W1 : (m, d1)``, ``b1 : (d1,)``, ``W2 : (d1, d2)``, ``b2 : (d2,)``,
                ``W3 : (d2,)``, ``b3 : float``.
            """
            ### BEGIN SOLUTION
            y_hat, cache = forward(X, params, g)
            delta3 = grad_output(y_hat, y)
            dW3, db3 = grad_layer3(delta3, cache)
            dW2, db2, delta2 = grad_layer2(delta3, cache, params, g)
            dW1, db1, _ = grad_layer1(delta2, X, cache, params, g)
            return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}
            ### END SOLUTION
        ''',
        """
        # Self-check: every gradient against finite differences of your loss.
        N = N_CHECK
        for g in (tanh, softplus, relu):
            X, y, params, _ = make_example(g, seed=8)
            grads = backward(X, y, params, g)
            assert isinstance(grads, dict), "backward should return a dict of gradients."
            missing = set(params) - set(grads)
            assert not missing, f"the gradient dict is missing the keys {sorted(missing)}."
            for name in params:
                _check_shape(f"grads['{name}']", grads[name], np.shape(params[name]))
            if _ready("forward", "mse_loss", "numerical_gradient"):
                for name in params:

                    def loss(value, name=name):
                        changed = dict(params)
                        changed[name] = value if np.ndim(params[name]) else float(value[0])
                        return mse_loss(forward(X, changed, g)[0], y)

                    theta = np.atleast_1d(np.asarray(params[name], dtype=float))
                    num = numerical_gradient(loss, theta).reshape(np.shape(params[name]))
                    _compare(f"grads['{name}'] (g = {g.name})", grads[name], num, N)
        _passed.add("backward")
        print("backward: all self-checks passed.")
        """,
    )

    b.md(
        """
        ## Part 4: in your own words (graded by hand)
        """
    )
    b.answer(
        "answer_one_over_n",
        2,
        """
        **Question (2 points).** The handwritten solution derives $\\partial L/\\partial b_3 = 2(\\hat y - y)$ for
        a single sample. Write the gradient of the *batch* loss
        $L = \\frac1N\\sum_n (y_n - \\hat y_n)^2$ with respect to $b_3$, say where the
        $\\frac1N$ comes from, and explain what happens to gradient descent with a fixed
        learning rate if you drop it and then double the batch size.
        """,
        """
        $\\partial L/\\partial b_3 = \\frac2N \\sum_n (\\hat y_n - y_n)$. The loss is a mean, and
        differentiation is linear, so the gradient of the mean is the mean of the per-sample
        gradients: the $\\frac1N$ of the loss stays in front of the sum. Without it the
        "gradient" is $N$ times the true one and grows with the batch: doubling the batch
        doubles every step, so a learning rate tuned for one batch size overshoots (and can
        diverge) for a larger one. With the $\\frac1N$ the step size does not depend on $N$.
        """,
    )
    b.answer(
        "answer_lipschitz",
        2,
        """
        **Question (2 points).** The activation $g$ is 1-Lipschitz. Explain why
        $|g'(z)| \\le 1$ wherever the derivative exists, and use it to show
        $\\|\\delta_2\\|_F \\le \\|\\delta_3\\|_2\\, \\|W_3\\|_2$. What does this say about the
        activation's role when gradients flow backwards through the network?
        """,
        """
        $g'(z) = \\lim_{h\\to0} (g(z+h) - g(z))/h$ and every quotient has absolute value at most
        $|h|/|h| = 1$ by the Lipschitz bound, so the limit does too.
        Entry $(n, j)$ of $\\delta_2$ is $\\delta_{3,n} W_{3,j}\\, g'(Z_{2,nj})$, so its square is
        at most $\\delta_{3,n}^2 W_{3,j}^2$; summing over $n$ and $j$ gives
        $\\|\\delta_2\\|_F^2 \\le \\sum_n \\delta_{3,n}^2 \\sum_j W_{3,j}^2 =
        \\|\\delta_3\\|^2 \\|W_3\\|^2$. A 1-Lipschitz activation can only shrink the
        backpropagated error (ReLU zeroes it where the unit is off); any growth comes from
        the weights, which is where exploding gradients must be controlled.
        """,
    )

    b.md(
        """
        ## Part 5 (not graded): train the network with your own `backward`

        Gradient descent on the toy data (a noisy sine curve), with your `forward`,
        `mse_loss` and `backward`. If your gradients are right, the loss goes down and the
        network's curve follows the data.
        """,
        tags=["demo"],
    )
    b.code(
        """
        import matplotlib.pyplot as plt

        try:
            params = make_params(1, 16, 16, seed=0)
            losses = [mse_loss(forward(x_toy, params, tanh)[0], y_toy)]
            for step in range(5000):
                grads = backward(x_toy, y_toy, params, tanh)
                # A step small enough for plain gradient descent to go down steadily.
                params = {k: params[k] - 0.02 * grads[k] for k in params}
                losses.append(mse_loss(forward(x_toy, params, tanh)[0], y_toy))
        except NotImplementedError:
            print("Implement forward, mse_loss and backward above, then run this cell again.")
        else:
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
            ax1.semilogy(losses)
            ax1.set_xlabel("gradient step")
            ax1.set_ylabel("mean squared error")
            ax1.set_title("Training loss")
            ax2.plot(x_toy[:, 0], y_toy, ".", label="data")
            ax2.plot(x_toy[:, 0], forward(x_toy, params, tanh)[0], label="network")
            ax2.legend()
            ax2.set_title("The fitted curve")
            plt.show()
            print(f"loss: {losses[0]:.3f} at the start, {losses[-1]:.4f} after {len(losses) - 1} steps")
        """,
        tags=["demo"],
    )
    return b.notebook()


# --------------------------------------------------------------------------------------------
# logistic_hessian.ipynb


def logistic_notebook():
    b = Builder()
    b.md(
        f"""
        # Logistic regression: gradient, Hessian and Newton's method, by hand

        In this assignment you implement the logistic loss, its gradient, its Hessian
        $H = X^\\top R X$ and the cheap diagonal approximation, and Newton's method built on
        them. The derivations are in the course book, chapters
        [*Logistic regression and its gradient*]({BOOK}/logistic.html),
        [*The Hessian XᵀRX and Newton's method*]({BOOK}/hessian.html) and
        [*The diagonal approximation*]({BOOK}/diagonal.html); the classic slips are collected
        in [*Common mistakes*]({BOOK}/mistakes.html). (The links work in a copy of the course
        repository with the book built; otherwise look the chapters up by title.)

        **How this notebook works.** Run the cells from top to bottom. Write your code where
        it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). The cell
        after each function is a **self-check**: shapes, finite differences of *your own*
        functions, and properties every correct answer has. Passing it is a good sign but
        not the grade: the grader runs more checks on inputs you do not see. You need only
        `numpy` (and `matplotlib` for the last section).

        **Notation.** `X` has shape `(N, m)`, one sample per row; there is no separate bias:
        the first column of `X` is all ones and plays that role. `y` has shape `(N,)` with
        entries 0 or 1, `w` has shape `(m,)`, and

        $$\\hat y_n = \\sigma(w^\\top x_n),\\qquad \\sigma(z) = \\frac{{1}}{{1 + e^{{-z}}}},$$

        $$L(w) = \\sum_{{n=1}}^N -y_n \\log \\hat y_n - (1 - y_n)\\log(1 - \\hat y_n).$$

        As in the handwritten solution, the loss is a **sum** over the data, not a mean.
        """
    )
    b.setup(
        "setup_imports",
        """
        import numpy as np
        """,
    )
    b.setup(
        "setup_data",
        '''
        def make_classification(N=200, seed=0):
            """Two overlapping clouds of points in the plane: a data set no line separates.

            Returns X (N, 3), whose first column is all ones (the bias), and y (N,) in {0, 1}.
            """
            rng = np.random.default_rng(seed)
            y = (rng.random(N) < 0.5).astype(float)
            centers = np.where(y[:, None] == 1.0, [1.0, 0.5], [-0.5, -0.5])
            points = centers + rng.normal(size=(N, 2))
            return np.column_stack([np.ones(N), points]), y


        X_data, y_data = make_classification()
        ''',
    )
    b.setup(
        "setup_checks",
        LOGISTIC_HINT
        + CHECK_TOOLKIT
        + '''

def _slope(f, w, v, eps=1e-6):
    """Central difference of f at w along the direction v: about grad f(w) . v."""
    return (f(w + eps * v) - f(w - eps * v)) / (2 * eps)


def _fd_gradient(f, w):
    """Finite-difference gradient of f at the vector w, one direction e_i at a time."""
    return np.array([_slope(f, w, e) for e in np.eye(len(w))])
''',
    )

    b.md("## Part 1: the loss")
    b.part(
        "sigmoid",
        1,
        """
        ### `sigmoid(z)` (1 point)

        $\\sigma(z) = 1/(1 + e^{-z})$, elementwise, for an array `z` of any shape. It must not
        overflow: for $z = -10^4$ the textbook formula computes $e^{10^4}$, which is `inf` in
        float64, and numpy warns. Return values without a warning and without `nan` for
        $|z|$ up to $10^4$.
        """,
        '''
        def sigmoid(z):
            """The logistic function, without overflow.

            Parameters
            ----------
            z : array_like, any shape

            Returns
            -------
            ndarray, same shape as ``z``
            """
            ### BEGIN SOLUTION
            z = np.asarray(z, dtype=np.float64)
            # exp(-|z|) lies in (0, 1], so it cannot overflow; for z < 0 the fraction
            # e^z / (1 + e^z) is the same number as 1 / (1 + e^-z).
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
            ### END SOLUTION
        ''',
        """
        # Self-check: values everyone knows, symmetry, shape, and no overflow.
        z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
        s = sigmoid(z)
        _check_shape("sigmoid(z)", s, z.shape)
        assert abs(s[2] - 0.5) < 1e-15, f"sigmoid(0) should be 1/2, got {s[2]}."
        assert np.all(np.diff(s) > 0), "sigmoid should be increasing."
        assert np.allclose(sigmoid(-z), 1 - s), "sigmoid(-z) should equal 1 - sigmoid(z)."
        _check_shape("sigmoid of a (2, 3) array", sigmoid(np.zeros((2, 3))), (2, 3))
        big = np.array([-1e4, -800.0, -40.0, 40.0, 800.0, 1e4])
        try:
            with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
                warnings.simplefilter("error")
                s = sigmoid(big)
        except (FloatingPointError, RuntimeWarning) as err:
            raise AssertionError(
                f"sigmoid overflows for large |z| ({err}). np.exp(-z) is inf for z = -1e4, and "
                "np.where computes both of its branches for every entry. Rewrite sigmoid so "
                "that np.exp never sees a large positive number (for z < 0, multiply the top "
                "and bottom of 1 / (1 + e^-z) by e^z)."
            ) from None
        assert np.all(np.isfinite(s)), "sigmoid returned nan or inf for large |z|."
        assert np.all((s >= 0) & (s <= 1)), "sigmoid should lie between 0 and 1."
        assert s[-1] == 1.0 and s[0] < 1e-300, "sigmoid(1e4) should be 1 and sigmoid(-1e4) about 0."
        _passed.add("sigmoid")
        print("sigmoid: all self-checks passed.")
        """,
    )
    b.part(
        "logistic_loss",
        2,
        """
        ### `logistic_loss(w, X, y)` (2 points)

        The summed cross-entropy $L(w)$ above, as a Python float. It must stay finite when
        $|Xw|$ is large, where $\\hat y_n$ rounds to exactly 0 or 1 and $\\log 0 = -\\infty$:
        rewrite $-\\log\\sigma(z)$ and $-\\log(1 - \\sigma(z))$ so that no logarithm of 0 is
        ever taken (`np.logaddexp(0, t)` computes $\\log(1 + e^t)$ safely).
        (The handwritten solution writes $\\log(w^\\top x)$: it is $\\log \\sigma(w^\\top x)$.)
        """,
        '''
        def logistic_loss(w, X, y):
            """Summed cross-entropy of logistic regression.

            Parameters
            ----------
            w : (m,)
            X : (N, m)
            y : (N,)
                Labels in {0, 1}.

            Returns
            -------
            float
            """
            ### BEGIN SOLUTION
            z = np.asarray(X, dtype=np.float64) @ np.asarray(w, dtype=np.float64)
            y = np.asarray(y, dtype=np.float64)
            # -log sigma(z) = log(1 + e^-z) and -log(1 - sigma(z)) = log(1 + e^z): no log(0).
            return float(np.sum(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)))
            ### END SOLUTION
        ''',
        """
        # Self-check: the loss at w = 0, positivity, and large |Xw|.
        X, y = X_data[:20], y_data[:20]
        N, m = X.shape
        L0 = logistic_loss(np.zeros(m), X, y)
        assert L0 is not None, "logistic_loss returned None: did you forget a return statement?"
        assert np.ndim(L0) == 0, f"logistic_loss should return one number, not shape {np.shape(L0)}."
        # At w = 0 every prediction is 1/2, so each of the N terms is -log(1/2) = log 2.
        if abs(L0 - np.log(2)) < 1e-9:
            raise AssertionError(
                "At w = 0 your loss is log 2, the mean over the samples: this course's loss is "
                f"the sum, N log 2 = {N * np.log(2):.4f} here."
            )
        if abs(L0 + N * np.log(2)) < 1e-9:
            raise AssertionError("Your loss is negative: the loss is minus the log-likelihood.")
        assert abs(L0 - N * np.log(2)) < 1e-9, (
            f"At w = 0 every prediction is 1/2, so the loss should be N log 2 = {N * np.log(2):.4f}; "
            f"got {L0}."
        )
        w = np.random.default_rng(8).normal(size=m)
        assert logistic_loss(w, X, y) > 0, "The loss should be positive: each term is -log of a probability."
        try:
            with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
                warnings.simplefilter("error")
                L_big = logistic_loss(1e3 * w, X, y)
        except (FloatingPointError, RuntimeWarning) as err:
            raise AssertionError(
                f"logistic_loss warns for large |Xw| ({err}): some prediction rounds to 0 or 1 "
                "and its log is -inf. Use -log sigma(z) = log(1 + e^-z) = np.logaddexp(0, -z) and "
                "-log(1 - sigma(z)) = np.logaddexp(0, z)."
            ) from None
        assert np.isfinite(L_big) and L_big > 0, f"logistic_loss should be finite and positive for large |Xw|, got {L_big}."
        _passed.add("logistic_loss")
        print("logistic_loss: all self-checks passed.")
        """,
    )

    b.md("## Part 2: first and second derivatives")
    b.part(
        "logistic_grad",
        2,
        """
        ### `logistic_grad(w, X, y)` (2 points)

        The gradient $\\nabla L(w)$, shape `(m,)`. The chain rule through $\\sigma$ collapses
        to something short; remember that $L$ sums over the samples.
        (The handwritten solution drops the sum sign in its last line: the gradient has one term per sample.)
        """,
        '''
        def logistic_grad(w, X, y):
            """Gradient of the summed logistic loss.

            Parameters
            ----------
            w : (m,)
            X : (N, m)
            y : (N,)

            Returns
            -------
            grad : (m,)
            """
            ### BEGIN SOLUTION
            X = np.asarray(X, dtype=np.float64)
            y_hat = sigmoid(X @ np.asarray(w, dtype=np.float64))
            # dL/dz_n = y_hat_n - y_n, and z_n = x_n . w: sum_n (y_hat_n - y_n) x_n.
            return X.T @ (y_hat - np.asarray(y, dtype=np.float64))
            ### END SOLUTION
        ''',
        """
        # Self-check: shape, and agreement with finite differences of your logistic_loss.
        X, y = X_data[:20], y_data[:20]
        N, m = X.shape
        for seed in (9, 10):
            w = 0.5 * np.random.default_rng(seed).normal(size=m)
            grad = logistic_grad(w, X, y)
            _check_shape("logistic_grad", grad, (m,))
            if _ready("logistic_loss"):
                _compare("logistic_grad", grad, _fd_gradient(lambda v: logistic_loss(v, X, y), w), N)
        _passed.add("logistic_grad")
        print("logistic_grad: all self-checks passed.")
        """,
    )
    b.part(
        "logistic_hessian",
        3,
        """
        ### `logistic_hessian(w, X)` (3 points)

        The Hessian $H = X^\\top R X$ with $R = \\mathrm{diag}\\big(\\hat y_n(1 - \\hat y_n)\\big)$,
        shape `(m, m)`. It does not depend on the labels. You can build it without the
        $N\\times N$ matrix $R$: scaling the rows of `X` does the same job.
        (The handwritten solution's $H_{ij} = \\sum_n \\hat y_n(1-\\hat y_n) x_i x_{nj}$ lost an index:
        it is $\\sum_n \\hat y_n(1-\\hat y_n) X_{ni} X_{nj}$.)
        """,
        '''
        def logistic_hessian(w, X):
            """Hessian of the summed logistic loss, ``X.T R X``.

            Parameters
            ----------
            w : (m,)
            X : (N, m)

            Returns
            -------
            H : (m, m)
                Symmetric positive semi-definite.
            """
            ### BEGIN SOLUTION
            X = np.asarray(X, dtype=np.float64)
            y_hat = sigmoid(X @ np.asarray(w, dtype=np.float64))
            r = y_hat * (1.0 - y_hat)  # the diagonal of R, shape (N,)
            # r[:, None] * X scales row n by r_n: that is R @ X without the N x N matrix.
            return X.T @ (r[:, None] * X)
            ### END SOLUTION
        ''',
        """
        # Self-check: shape, symmetry, positive semi-definiteness, finite differences of your gradient.
        X, y = X_data[:20], y_data[:20]
        N, m = X.shape
        w = 0.5 * np.random.default_rng(11).normal(size=m)
        H = logistic_hessian(w, X)
        _check_shape("logistic_hessian", H, (m, m))
        H = np.asarray(H, dtype=float)
        assert np.allclose(H, H.T), "H should be symmetric: H_ij and H_ji are the same sum over n."
        eigs = np.linalg.eigvalsh(H)
        assert eigs.min() >= -1e-10 * max(1.0, np.abs(eigs).max()), (
            f"H should be positive semi-definite, but it has the eigenvalue {eigs.min():.3g}: "
            "each y_hat_n (1 - y_hat_n) is >= 0, so v.T H v is a sum of squares times weights >= 0."
        )
        if _ready("logistic_grad"):
            # Column j of H is the derivative of the gradient along e_j.
            num = np.column_stack([_slope(lambda v: logistic_grad(v, X, y), w, e) for e in np.eye(m)])
            _compare("logistic_hessian", H, num, N)
        _passed.add("logistic_hessian")
        print("logistic_hessian: all self-checks passed.")
        """,
    )
    b.part(
        "hessian_diagonal",
        2,
        """
        ### `hessian_diagonal(w, X)` (2 points)

        Only the diagonal of $H$: $H_{ii} = \\sum_n \\hat y_n(1 - \\hat y_n) X_{ni}^2$, shape
        `(m,)`, **without** forming the $m \\times m$ matrix (with a million features, $H$
        would not fit in memory, but its diagonal does).
        """,
        '''
        def hessian_diagonal(w, X):
            """Diagonal of the Hessian in O(N m) time and memory.

            Parameters
            ----------
            w : (m,)
            X : (N, m)

            Returns
            -------
            h : (m,)
                ``h[i] = sum_n y_hat_n (1 - y_hat_n) X[n, i]**2``.
            """
            ### BEGIN SOLUTION
            X = np.asarray(X, dtype=np.float64)
            y_hat = sigmoid(X @ np.asarray(w, dtype=np.float64))
            # (N,) @ (N, m): a weighted sum of the squared entries of each column.
            return (y_hat * (1.0 - y_hat)) @ (X * X)
            ### END SOLUTION
        ''',
        """
        # Self-check: shape, signs, and agreement with the diagonal of your logistic_hessian.
        X = X_data[:20]
        N, m = X.shape
        w = 0.5 * np.random.default_rng(12).normal(size=m)
        h = hessian_diagonal(w, X)
        _check_shape("hessian_diagonal", h, (m,))
        assert np.all(np.asarray(h) >= 0), (
            "Every H_ii is a sum of weights >= 0 times squares X_ni**2: it cannot be negative."
        )
        if _ready("logistic_hessian"):
            full = np.diag(logistic_hessian(w, X))
            if not np.allclose(h, full, rtol=1e-10, atol=0):
                raise AssertionError(
                    "hessian_diagonal should equal the diagonal of your logistic_hessian (each "
                    "H_ii weights the squared entries X_ni**2), but they differ. " + _slip(h, full, N)
                )
            print("  hessian_diagonal: equals the diagonal of your logistic_hessian")
        _passed.add("hessian_diagonal")
        print("hessian_diagonal: all self-checks passed.")
        """,
    )

    b.md("## Part 3: Newton's method")
    b.part(
        "newton_step",
        2,
        """
        ### `newton_step(w, X, y)` (2 points)

        One Newton (IRLS) step $w_{\\text{new}} = w - H^{-1}\\nabla L(w)$, shape `(m,)`.
        Do not invert $H$: solve the linear system $H s = \\nabla L(w)$ with
        `np.linalg.solve` (cheaper and more accurate), then step. Do not change `w` in place.
        """,
        '''
        def newton_step(w, X, y):
            """One Newton step on the summed logistic loss.

            Parameters
            ----------
            w : (m,)
            X : (N, m)
            y : (N,)

            Returns
            -------
            w_new : (m,)
            """
            ### BEGIN SOLUTION
            w = np.asarray(w, dtype=np.float64)
            # Solving H s = grad is cheaper and better conditioned than forming H^{-1}.
            step = np.linalg.solve(logistic_hessian(w, X), logistic_grad(w, X, y))
            return w - step
            ### END SOLUTION
        ''',
        """
        # Self-check: shape, the Newton equation H (w_new - w) = -grad, and a lower loss.
        X, y = X_data, y_data
        N, m = X.shape
        w = 0.3 * np.random.default_rng(13).normal(size=m)
        before = w.copy()
        w_new = newton_step(w, X, y)
        _check_shape("newton_step", w_new, (m,))
        assert np.array_equal(w, before), "newton_step changed w in place: return a new array."
        if _ready("logistic_grad", "logistic_hessian"):
            lhs = logistic_hessian(w, X) @ (np.asarray(w_new) - w)
            rhs = -logistic_grad(w, X, y)
            if np.allclose(lhs, -rhs):
                raise AssertionError("Your step goes uphill: it is w - H^-1 grad, with a minus sign.")
            assert np.allclose(lhs, rhs, rtol=1e-8, atol=1e-10), (
                "w_new should satisfy H (w_new - w) = -grad L(w), and it does not. " + _slip(lhs, rhs, N)
            )
            print("  newton_step: solves the Newton equation")
        if _ready("logistic_loss"):
            assert logistic_loss(w_new, X, y) < logistic_loss(w, X, y), "A Newton step from here should lower the loss."
        _passed.add("newton_step")
        print("newton_step: all self-checks passed.")
        """,
    )
    b.part(
        "fit_newton",
        2,
        """
        ### `fit_newton(X, y, tol=1e-10, max_iter=50)` (2 points)

        Start from $w = 0$ and take Newton steps until the largest entry of the step,
        $\\max_i |w_{\\text{new},i} - w_i|$, is below `tol`, or `max_iter` steps were taken;
        return the last `w`, shape `(m,)`. (On separable data the minimum does not exist and
        $w$ grows without bound; the data here overlap.)
        """,
        '''
        def fit_newton(X, y, tol=1e-10, max_iter=50):
            """Logistic regression fitted by Newton's method from ``w = 0``.

            Parameters
            ----------
            X : (N, m)
            y : (N,)
            tol : float
                Stop when the step's largest entry is below ``tol``.
            max_iter : int
                At most this many Newton steps.

            Returns
            -------
            w : (m,)
            """
            ### BEGIN SOLUTION
            w = np.zeros(np.shape(X)[1])
            for _ in range(max_iter):
                w_new = newton_step(w, X, y)
                small = np.max(np.abs(w_new - w)) < tol
                w = w_new
                if small:
                    break
            return w
            ### END SOLUTION
        ''',
        """
        # Self-check: the fitted weights make the gradient vanish; max_iter is respected.
        X, y = X_data, y_data
        N, m = X.shape
        w_hat = fit_newton(X, y)
        _check_shape("fit_newton", w_hat, (m,))
        assert np.all(np.isfinite(w_hat)), "fit_newton returned nan or inf."
        if _ready("logistic_grad"):
            g_hat = np.max(np.abs(logistic_grad(w_hat, X, y)))
            g_0 = np.max(np.abs(logistic_grad(np.zeros(m), X, y)))
            assert g_hat <= 1e-8 * g_0, (
                f"At the fitted weights the gradient should vanish, but its largest entry is {g_hat:.2e} "
                f"(it was {g_0:.2e} at w = 0): does the loop stop too early?"
            )
            print("  fit_newton: the gradient vanishes at the fitted weights")
        if _ready("newton_step"):
            one = fit_newton(X, y, max_iter=1)
            assert np.allclose(one, newton_step(np.zeros(m), X, y)), (
                "fit_newton(X, y, max_iter=1) should be exactly one Newton step from w = 0."
            )
        _passed.add("fit_newton")
        print("fit_newton: all self-checks passed.")
        """,
    )

    b.md("## Part 4: in your own words (graded by hand)")
    b.answer(
        "answer_psd",
        2,
        """
        **Question (2 points).** Prove that $H = X^\\top R X$ is positive semi-definite for
        every $w$, and say what that means for the logistic loss as a function of $w$.
        """,
        """
        For any $v \\in \\mathbb R^m$,
        $v^\\top H v = (Xv)^\\top R (Xv) = \\sum_n \\hat y_n (1 - \\hat y_n) (x_n^\\top v)^2$.
        Every weight $\\hat y_n(1-\\hat y_n)$ lies in $(0, \\tfrac14]$ and every square is
        $\\ge 0$, so $v^\\top H v \\ge 0$: $H$ is positive semi-definite. A twice
        differentiable function whose Hessian is positive semi-definite everywhere is
        convex, so the logistic loss has no local minima other than global ones, and a
        Newton step is a descent direction whenever $H$ is invertible (when $X$ has full
        column rank, $H$ is even positive definite and the minimiser, if it exists, is
        unique).
        """,
    )
    b.answer(
        "answer_diagonal_exact",
        1,
        """
        **Question (1 point).** When is the diagonal approximation exact, that is, when
        is $H$ equal to the diagonal matrix with entries $H_{ii}$? Give a condition on the
        data and an example.
        """,
        """
        Exactly when every off-diagonal entry $H_{ij} = \\sum_n \\hat y_n(1-\\hat y_n)
        X_{ni} X_{nj}$, $i \\ne j$, is zero: the columns of $X$ are orthogonal in the inner
        product weighted by $r_n = \\hat y_n(1-\\hat y_n)$. Since all $r_n > 0$, this holds for
        every $w$ when no sample has two non-zero features, for example one-hot (indicator)
        features for disjoint groups, and trivially when $m = 1$.
        """,
    )

    b.md(
        """
        ## Part 5 (not graded): Newton versus gradient descent

        Both methods start at $w = 0$ on the data set above. Gradient descent uses the step
        $1/\\lambda_{\\max}$ where $\\lambda_{\\max}$ bounds the curvature ($H \\preceq
        \\tfrac14 X^\\top X$); Newton's method uses your `newton_step`. The plot shows how far
        each is from the minimum of the loss after every iteration.
        """,
        tags=["demo"],
    )
    b.code(
        """
        import matplotlib.pyplot as plt

        try:
            X, y = X_data, y_data
            L_min = logistic_loss(fit_newton(X, y), X, y)
            w = np.zeros(X.shape[1])
            newton = [logistic_loss(w, X, y) - L_min]
            for _ in range(8):
                w = newton_step(w, X, y)
                newton.append(logistic_loss(w, X, y) - L_min)
            lr = 1.0 / (0.25 * np.linalg.eigvalsh(X.T @ X).max())
            w = np.zeros(X.shape[1])
            descent = [logistic_loss(w, X, y) - L_min]
            for _ in range(100):
                w = w - lr * logistic_grad(w, X, y)
                descent.append(logistic_loss(w, X, y) - L_min)
        except NotImplementedError:
            print("Implement the functions above, then run this cell again.")
        else:
            plt.figure(figsize=(6, 3.5))
            plt.semilogy(np.maximum(descent, 1e-16), label="gradient descent")
            plt.semilogy(np.maximum(newton, 1e-16), "o-", label="Newton")
            plt.xlabel("iteration")
            plt.ylabel("loss minus its minimum")
            plt.legend()
            plt.title("Newton converges quadratically, gradient descent linearly")
            plt.show()
        """,
        tags=["demo"],
    )
    return b.notebook()


# --------------------------------------------------------------------------------------------


NOTEBOOKS = {
    "mlp_backprop": mlp_notebook,
    "logistic_hessian": logistic_notebook,
}


def main() -> int:
    for name, build in NOTEBOOKS.items():
        path = HERE / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(build(), version=4) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
