"""Checks of ``logistic_hessian.ipynb``: sigmoid, loss, gradient, Hessian ``X.T R X``, Newton.

Cases cover a single sample, a single feature, more features than samples (a singular
Hessian, fine for everything but Newton) and a constant column playing the bias. Gradients
are compared with central differences of the reference loss, Hessians with central
differences of the reference gradient.
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from ..contract import Arg, ArgKind, PartSpec
from ..finite_differences import numerical_hessian
from ..protocol import Call, Flag
from ..results import Diagnosis
from .cases import Case
from .logistic_cases import (
    FIT_TOL,
    LARGE_M,
    LARGE_MARGIN,
    curvature,
    newton_scenarios,
    one_array,
    scenarios,
)
from .part import Part
from .slips import LOGISTIC_SCALE_SLIPS, Slip, ran_cases

__all__ = ["LOGISTIC_PARTS"]

ASSIGNMENT = "logistic_hessian"

# The arguments the parts share, as the contract states them.
W = Arg("w", shape="(m,)")
X = Arg("X", shape="(N, m)")
Y = Arg("y", shape="(N,)")


class _LogisticPart(Part):
    leaf = ""
    scale_slips = LOGISTIC_SCALE_SLIPS

    def make_cases(self, rng):
        return [self.case(s) for s in scenarios(rng)]

    def extract(self, value):
        return {self.leaf: one_array(value, self.leaf)}


# ---------------------------------------------------------------------------------- sigmoid


class Sigmoid(_LogisticPart):
    scale_slips = ()
    spec = PartSpec(
        "sigmoid",
        ASSIGNMENT,
        1,
        (Arg("z", shape="any"),),
        "array shaped like z; no overflow and no nan for |z| up to 1e4",
    )
    leaf = "sigma"
    components = {"sigma": (1, ("sigma",))}
    checks = (
        "Values against the reference for vectors, a matrix, a 0-d array and inputs up to "
        "|z| = 1e4, where no overflow warning and no nan may appear.",
    )

    def make_cases(self, rng):
        zs = [
            rng.normal(0.0, 3.0, 7),
            rng.normal(0.0, 3.0, (3, 4)),
            np.array(rng.normal()),
            np.array([-1e4, -800.0, -40.0, -1.0, 0.0, 1.0, 40.0, 800.0, 1e4]),
        ]
        labels = ["vector", "matrix", "0-d array", "large |z| up to 1e4"]
        return [
            Case(Call(self.name, (z.copy(),)), {"sigma": ref.sigmoid(z)}, label, {"z": z, "N": 1})
            for z, label in zip(zs, labels, strict=True)
        ]

    def slips(self):
        def ratio(case):
            z = case.context["z"]
            return {"sigma": np.exp(z) / (1.0 + np.exp(z))}

        return [
            Slip(
                "sigmoid-overflow",
                "gives nan for large z: `exp(z) / (1 + exp(z))` is `inf / inf` there; use "
                "`exp(-|z|)` (it never overflows) in two branches, or `1 / (1 + exp(-z))` "
                "only where z >= 0",
                ratio,
            )
        ]

    def judge(self, cases, run, seed=None):
        result = super().judge(cases, run, seed)
        errors = " ".join(o.error or "" for o in run.outcomes)
        if "overflow" in errors or "FloatingPointError" in errors:
            result.diagnoses.append(
                Diagnosis(
                    "sigmoid-overflow-warning",
                    "`exp(-z)` overflows for large negative z (a RuntimeWarning); compute "
                    "`exp(-|z|)`, which is at most 1, and choose the formula by the sign of z",
                )
            )
            result.flags.add(Flag.OVERFLOW)
        return result


# ---------------------------------------------------------------------------- logistic_loss


class LogisticLoss(_LogisticPart):
    spec = PartSpec("logistic_loss", ASSIGNMENT, 2, (W, X, Y), "float, the summed cross-entropy")
    leaf = "loss"
    components = {"loss": (1, ("loss",)), "finite for large |Xw|": (1, ("loss_large",))}
    checks = (
        "The summed cross-entropy against the reference, and on inputs with |Xw| near 800, "
        "where it must stay finite and correct.",
    )

    def make_cases(self, rng):
        cases = []
        for s in scenarios(rng):
            cases.append(
                Case(
                    Call(self.name, (s["w"].copy(), s["X"].copy(), s["y"].copy())),
                    {"loss": np.array(ref.logistic_loss(s["w"], s["X"], s["y"]))},
                    s["label"],
                    s,
                )
            )
        for s in scenarios(rng)[:2]:
            z = s["X"] @ s["w"]
            w = s["w"] * LARGE_MARGIN / max(np.max(np.abs(z)), 1e-3)
            # Labels that disagree with the sign of Xw: the terms where sigmoid rounds to 0.
            y = (s["X"] @ w < 0).astype(np.float64)
            y[0] = 1.0 - y[0]
            large = dict(s, w=w, y=y)
            cases.append(
                Case(
                    Call(self.name, (w.copy(), s["X"].copy(), y.copy())),
                    {"loss_large": np.array(ref.logistic_loss(w, s["X"], y))},
                    s["label"] + ", large |Xw|",
                    large,
                )
            )
        return cases

    def extract(self, value):
        return {"loss": one_array(value, "loss"), "loss_large": one_array(value, "loss")}

    def slips(self):
        def log_of_linear(case):
            s = case.context
            z = s["X"] @ s["w"]
            loss = np.sum(-s["y"] * np.log(z) - (1 - s["y"]) * np.log(1 - z))
            return {"loss": loss, "loss_large": loss}

        def naive(case):
            s = case.context
            p = 1.0 / (1.0 + np.exp(-(s["X"] @ s["w"])))
            loss = np.sum(-s["y"] * np.log(p) - (1 - s["y"]) * np.log(1 - p))
            return {"loss_large": loss}

        return [
            Slip(
                "log-of-linear",
                "takes the log of `w.x`; the loss is `log sigmoid(w.x)` (the seed's slip)",
                log_of_linear,
            ),
            Slip(
                "unstable-log-sigmoid",
                "is inf or nan when |Xw| is large: `log(sigmoid(z))` rounds to `log(0)`; "
                "write `-log sigmoid(z) = log(1 + exp(-z))` with `np.logaddexp(0, -z)`",
                naive,
            ),
        ]


# ---------------------------------------------------------------------------- logistic_grad


class LogisticGrad(_LogisticPart):
    spec = PartSpec("logistic_grad", ASSIGNMENT, 2, (W, X, Y), "grad (m,)")
    leaf = "grad"
    components = {"grad": (2, ("grad",))}
    checks = (
        "The gradient against the reference and against central differences of the loss "
        "along random directions.",
    )

    def case(self, s):
        def f(w):
            return ref.logistic_loss(w, s["X"], s["y"])

        return Case(
            Call(self.name, (s["w"].copy(), s["X"].copy(), s["y"].copy())),
            {"grad": ref.logistic_grad(s["w"], s["X"], s["y"])},
            s["label"],
            s,
            {"grad": (f, s["w"].copy())},
        )

    def slips(self):
        def per_sample(case):
            s = case.context
            p, _ = curvature(s)
            return {"grad": (p - s["y"])[:, None] * s["X"]}

        def no_sigmoid(case):
            s = case.context
            return {"grad": s["X"].T @ (s["X"] @ s["w"] - s["y"])}

        return [
            Slip(
                "gradient-not-summed",
                "has one row per sample, `(y_hat_n - y_n) x_n`: the sum over n was dropped "
                "(the seed's slip); the gradient is `X.T @ (y_hat - y)`",
                per_sample,
            ),
            Slip(
                "no-sigmoid",
                "uses `X w` where it needs `y_hat = sigmoid(X w)`",
                no_sigmoid,
            ),
        ]


# ------------------------------------------------------------------------- logistic_hessian


def _hessian_slips(diagonal: bool):
    def make(weights, factor=lambda s: 1.0):
        # A slip that weights sample n by weights(s)[n] (times a constant factor). For the
        # diagonal, `w @ X**2` directly: forming X.T X for the many-features case would take
        # the grader gigabytes.
        def answer(case):
            s = case.context
            w = weights(s)
            H = (w @ s["X"] ** 2) if diagonal else s["X"].T @ (w[:, None] * s["X"])
            return {"H": factor(s) * H}

        return answer

    def no_weights(s):
        return np.ones(s["X"].shape[0])

    def p_only(s):
        return curvature(s)[0]

    def summed_r(s):
        return float(np.sum(curvature(s)[1]))

    slips = [
        Slip(
            "no-curvature-weights",
            "is `X.T X`: the weights `y_hat_n (1 - y_hat_n)` (the matrix R) are missing",
            make(no_weights),
        ),
        Slip(
            "p-not-p(1-p)",
            "weights the samples by `y_hat_n`; the derivative of the sigmoid is "
            "`y_hat_n (1 - y_hat_n)`",
            make(p_only),
        ),
        Slip(
            "R-as-a-number",
            "multiplies `X.T X` by the sum of the weights; each sample needs its own weight, "
            "`H_ij = sum_n r_n X_ni X_nj` (keep the index n on both factors)",
            make(no_weights, summed_r),
        ),
    ]
    if diagonal:

        def no_square(s):
            _, r = curvature(s)
            return r @ s["X"]

        slips.append(
            Slip(
                "diagonal-not-squared",
                "is `sum_n r_n X_ni`; the diagonal needs the square, `sum_n r_n X_ni**2`",
                lambda case: {"H": no_square(case.context)},
            )
        )
    return slips


class LogisticHessian(_LogisticPart):
    spec = PartSpec("logistic_hessian", ASSIGNMENT, 3, (W, X), "H (m, m)")
    leaf = "H"
    components = {"H": (3, ("H",))}
    checks = (
        "`X.T R X` against the reference and against central differences of the gradient, "
        "for a single sample, a single feature and more features than samples.",
    )

    def case(self, s):
        def grad(w):
            return ref.logistic_grad(w, s["X"], s["y"])

        return Case(
            Call(self.name, (s["w"].copy(), s["X"].copy())),
            {"H": ref.logistic_hessian(s["w"], s["X"])},
            s["label"],
            s,
            {"H": numerical_hessian(grad, s["w"])},
        )

    def slips(self):
        return _hessian_slips(diagonal=False)


class HessianDiagonal(_LogisticPart):
    spec = PartSpec(
        "hessian_diagonal", ASSIGNMENT, 2, (W, X), "h (m,), without forming the m x m matrix"
    )
    leaf = "H"
    components = {"diagonal": (1, ("H",)), "many features": (1, ("H_large",))}
    checks = (
        "The diagonal `sum_n r_n X_ni^2` against the reference and against the diagonal of "
        "central differences of the gradient; and on many features: m = 300, and in the "
        f"batch grader also m = {LARGE_M}, where an m x m matrix does not fit in the memory "
        "allowed.",
    )

    def make_cases(self, rng):
        cases = super().make_cases(rng)
        # Many features: everywhere a few hundred; in the sandbox also LARGE_M, where forming
        # the m x m matrix runs out of memory.
        for m, sandbox_only in ((300, False), (LARGE_M, True)):
            X = rng.normal(0.0, 1.0, (3, m))
            w = rng.normal(0.0, 1.0 / np.sqrt(m), m)
            cases.append(
                Case(
                    Call(self.name, (w.copy(), X.copy())),
                    {"H_large": ref.hessian_diagonal(w, X)},
                    f"N=3, m={m}",
                    {"X": X, "w": w, "N": 3},
                    sandbox_only=sandbox_only,
                )
            )
        return cases

    def extract(self, value):
        return {"H": one_array(value, "h"), "H_large": one_array(value, "h")}

    def judge(self, cases, run, seed=None):
        result = super().judge(cases, run, seed)
        large = [i for i, c in enumerate(cases) if "H_large" in c.expected]
        errors = [run.outcomes[i].error or "" for i in large if i < len(run.outcomes)]
        if any("memory" in e.lower() for e in errors):
            result.diagnoses.append(
                Diagnosis(
                    "formed-the-matrix",
                    "`hessian_diagonal` ran out of memory with m = "
                    f"{LARGE_M} features: it builds the m x m matrix ({LARGE_M}^2 numbers, "
                    "3.2 GB). Each diagonal entry needs only its own column: "
                    "`r @ X**2` with `r = y_hat * (1 - y_hat)`",
                )
            )
        return result

    def case(self, s):
        def grad(w):
            return ref.logistic_grad(w, s["X"], s["y"])

        return Case(
            Call(self.name, (s["w"].copy(), s["X"].copy())),
            {"H": ref.hessian_diagonal(s["w"], s["X"])},
            s["label"],
            s,
            {"H": np.diag(numerical_hessian(grad, s["w"])).copy()},
        )

    def slips(self):
        return _hessian_slips(diagonal=True)

    def diagnose_leaf(self, leaf, cases, received):
        ran = ran_cases(leaf, cases, received)
        full = [
            got.shape == (c.expected[leaf].size,) * 2
            and np.allclose(np.diag(got), c.expected[leaf], rtol=1e-6, atol=1e-12)
            for c, got in ran
        ]
        if all(full) and any(c.expected[leaf].size > 1 for c, _ in ran):
            return [
                Diagnosis(
                    "full-matrix",
                    "`hessian_diagonal` returns the whole m x m matrix; return only its "
                    "diagonal, `(m,)`, computed without forming the matrix",
                )
            ]
        return super().diagnose_leaf(leaf, cases, received)


# ------------------------------------------------------------------------------ newton_step


class NewtonStep(_LogisticPart):
    spec = PartSpec("newton_step", ASSIGNMENT, 2, (W, X, Y), "w_new (m,)")
    scale_slips = ()
    leaf = "w"
    components = {"w_new": (2, ("w",))}
    checks = (
        "The new `w` after one step `w - H^{-1} grad` against the reference, from several "
        "starting points and data sets.",
    )

    def make_cases(self, rng):
        return [
            Case(
                Call(self.name, (s["w"].copy(), s["X"].copy(), s["y"].copy())),
                {"w": ref.newton_step(s["w"], s["X"], s["y"])},
                s["label"],
                s,
            )
            for s in newton_scenarios(rng)
        ]

    def slips(self):
        def parts(s):
            H = ref.logistic_hessian(s["w"], s["X"])
            g = ref.logistic_grad(s["w"], s["X"], s["y"])
            return s["w"], H, g

        def plus(case):
            w, H, g = parts(case.context)
            return {"w": w + np.linalg.solve(H, g)}

        def step_only(case):
            w, H, g = parts(case.context)
            return {"w": -np.linalg.solve(H, g)}

        def gradient_step(case):
            w, _, g = parts(case.context)
            return {"w": w - g}

        def times_hessian(case):
            w, H, g = parts(case.context)
            return {"w": w - H @ g}

        return [
            Slip(
                "newton-ascent",
                "adds the step: `w + H^{-1} grad` climbs the loss; Newton's step is "
                "`w - H^{-1} grad`",
                plus,
            ),
            Slip(
                "returned-the-step",
                "returns the step `-H^{-1} grad`, not the new `w`",
                step_only,
            ),
            Slip(
                "gradient-descent-step",
                "takes a gradient step `w - grad`; Newton's step solves `H s = grad` first",
                gradient_step,
            ),
            Slip(
                "multiplied-by-H",
                "multiplies the gradient by `H`; Newton needs `H^{-1} grad`, i.e. "
                "`np.linalg.solve(H, grad)`",
                times_hessian,
            ),
        ]


# ------------------------------------------------------------------------------- fit_newton


class FitNewton(_LogisticPart):
    scale_slips = ()
    spec = PartSpec(
        "fit_newton",
        ASSIGNMENT,
        2,
        (
            X,
            Y,
            Arg("tol", ArgKind.NUMBER, default="1e-10"),
            Arg("max_iter", ArgKind.NUMBER, default="50"),
        ),
        "w (m,)",
    )
    leaf = "w"
    components = {"w_fit": (2, ("w",))}
    match_tol = FIT_TOL
    checks = (
        "The fitted `w` against the maximum-likelihood weights (where the reference's "
        "gradient vanishes to 1e-8) on data sets with a finite optimum.",
    )

    def make_cases(self, rng):
        cases = []
        for i, s in enumerate(newton_scenarios(rng)):
            kwargs = {"tol": 1e-12} if i == 2 else {}
            cases.append(
                Case(
                    Call(self.name, (s["X"].copy(), s["y"].copy()), kwargs),
                    {"w": s["w_fit"]},
                    s["label"] + (", tol=1e-12" if kwargs else ""),
                    s,
                )
            )
        return cases

    def slips(self):
        def after(k):
            def answer(case):
                s = case.context
                w = np.zeros(s["X"].shape[1])
                for _ in range(k):
                    w = ref.newton_step(w, s["X"], s["y"])
                return {"w": w}

            return answer

        return [
            Slip(
                f"stopped-after-{k}-steps",
                f"equals the weights after {k} Newton step{'s' if k > 1 else ''} from 0: the "
                "loop stops before convergence (check the stopping test and that `w` is "
                "updated inside the loop)",
                after(k),
            )
            for k in (1, 2, 3)
        ]


LOGISTIC_PARTS: list[Part] = [
    Sigmoid(),
    LogisticLoss(),
    LogisticGrad(),
    LogisticHessian(),
    HessianDiagonal(),
    NewtonStep(),
    FitNewton(),
]
