"""Checks of the two gradient-checking tools in ``mlp_backprop.ipynb``.

``numerical_gradient`` is run on the test functions of :mod:`autograder.test_functions`, whose
curvature is large relative to their slope: central differences land near 1e-9 of the exact
gradient, forward differences near 1e-4, so the classic shortcut shows. Whether ``theta`` is
left unchanged is checked from the arguments the sandbox sends back after the call.

``relative_error`` may use any standard definition the notebook states, so it is checked by
properties rather than values: zero for equal inputs (zeros included), symmetric, invariant
under scaling, and within a modest factor of the contract's definition for a small
perturbation.
"""

from __future__ import annotations

import math

import numpy as np

from ..contract import Arg, ArgKind, PartSpec
from ..finite_differences import relative_error as contract_relative_error
from ..protocol import Call, CallOutcome, FunctionRef
from ..test_functions import TEST_FUNCTIONS
from .cases import Case
from .convert import Malformed
from .part import Part
from .slips import Slip

__all__ = ["NUMERICAL_GRADIENT_TOL", "RELATIVE_ERROR_FACTOR", "GRADIENT_TOOL_PARTS"]

ASSIGNMENT = "mlp_backprop"

#: A central difference with the default step 1e-6 lands within ~1e-9 (relative) of the exact
#: gradient of the test functions; a forward difference misses by ~1e-4 because their
#: curvature is large. 1e-6 separates the two by two orders of magnitude each way.
NUMERICAL_GRADIENT_TOL = 1e-6
#: Standard definitions of the relative error (max-norm or 2-norm, divided by one of the
#: magnitudes or by their sum) agree with the contract's within a factor of
#: ``2 sqrt(size)``; the test arrays have at most 12 entries, so 20 admits all of them and
#: rejects a formula that is not a relative error at all.
RELATIVE_ERROR_FACTOR = 20.0
#: "Zero for equal inputs": round-off alone cannot produce more than this.
ZERO_TOL = 1e-12


def _function_data(rng, name, shape):
    k = int(np.prod(shape))
    if name == "quadratic":
        # Eigenvalues up to 3e4 at a point of small slope: the curvature term forward
        # differences leave, eps * A / 2, is ~1e-2 of the slope.
        Q, _ = np.linalg.qr(rng.normal(size=(k, k)))
        A = (Q * rng.uniform(3e3, 3e4, k)) @ Q.T
        A = 0.5 * (A + A.T)
        theta = rng.normal(0.0, 1e-3, shape)
        b = rng.normal(0.0, 1.0, k)
        return {"A": A, "b": b}, theta
    if name == "sin_sum":
        a = rng.uniform(20.0, 40.0, shape) * rng.choice([-1.0, 1.0], shape)
        return {"a": a}, rng.uniform(-1.0, 1.0, shape)
    s = np.array(rng.uniform(40.0, 60.0))
    return {"s": s}, rng.normal(0.0, 0.02, shape)


def _forward_difference(case, eps=1e-6):
    fn = TEST_FUNCTIONS[case.context["function"]]
    theta, data = case.context["theta"], case.context["data"]
    f0 = fn.f(theta, **data)
    out = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        t = theta.copy()
        t[i] += eps
        out[i] = (fn.f(t, **data) - f0) / eps
    return out


class NumericalGradient(Part):
    spec = PartSpec(
        "numerical_gradient",
        ASSIGNMENT,
        2,
        (
            Arg("f", ArgKind.FUNCTION),
            Arg("theta", shape="any"),
            Arg("eps", ArgKind.NUMBER, default="1e-6"),
        ),
        "array shaped like theta; theta left unchanged",
    )
    components = {"gradient": (1, ("gradient",)), "theta unchanged": (1, ())}
    match_tol = NUMERICAL_GRADIENT_TOL
    checks = (
        "The result against the exact gradient of test functions with large curvature, for "
        "a vector, a matrix and a single-entry `theta`, with the default and a given `eps`; "
        "and that `theta` is the same after the call.",
    )

    def make_cases(self, rng):
        plan = [
            ("quadratic", (4,), None),
            ("sin_sum", (2, 3), None),
            ("log_sum_exp", (5,), None),
            ("sin_sum", (1,), 1e-5),
            ("quadratic", (3, 2), None),
        ]
        cases = []
        for name, shape, eps in plan:
            data, theta = _function_data(rng, name, shape)
            kwargs = {} if eps is None else {"eps": eps}
            exact = TEST_FUNCTIONS[name].grad(theta, **data)
            cases.append(
                Case(
                    Call(self.name, (FunctionRef(name, data), theta.copy()), kwargs, True),
                    {"gradient": exact},
                    f"{name}, theta of shape {theta.shape}"
                    + (f", eps={eps:g}" if eps else ", default eps"),
                    {"function": name, "data": data, "theta": theta, "N": 1},
                )
            )
        return cases

    def extract(self, value):
        if isinstance(value, (tuple, dict)):
            raise Malformed("returned a tuple or dict; expected one array shaped like theta")
        return {"gradient": value}

    def extra_problems(self, case, outcome: CallOutcome):
        after = outcome.args_after
        if after is None or len(after) < 2 or after[1] is None:
            return {}
        theta_after = np.asarray(after[1], dtype=np.float64)
        theta = case.context["theta"]
        if theta_after.shape != theta.shape or not np.array_equal(theta_after, theta):
            return {
                "theta unchanged": [
                    "`theta` was changed by the call: perturb a copy "
                    "(`theta.copy()` or `theta.astype(float)`), or restore every entry"
                ]
            }
        return {}

    def slips(self):
        return [
            Slip(
                "forward-differences",
                "matches forward differences `(f(theta + eps) - f(theta)) / eps`, whose "
                "error is O(eps); use central differences `(f(theta + eps) - "
                "f(theta - eps)) / (2 eps)`, whose error is O(eps^2)",
                lambda case: {
                    "gradient": _forward_difference(case, case.call.kwargs.get("eps", 1e-6))
                },
            ),
        ]


# -------------------------------------------------------------------------- relative_error


class RelativeError(Part):
    spec = PartSpec(
        "relative_error", ASSIGNMENT, 1, (Arg("a", shape="any"), Arg("b", shape="any")), "float"
    )
    components = {"relative error": (1, ())}
    checks = (
        "Properties any standard relative error has: 0 for equal inputs (zeros included), "
        "the same with the arguments swapped, unchanged when both are scaled, and within a "
        "factor 20 of `max|a-b| / (max|a| + max|b|)` for a small perturbation.",
    )

    def make_cases(self, rng):
        a = rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
        b = a * (1.0 + rng.uniform(-1e-3, 1e-3, a.shape))
        v = rng.uniform(0.5, 2.0, 5)
        w = v + rng.uniform(-1e-4, 1e-4, 5)
        plan = [
            ("equal", a, a.copy()),
            ("zeros", np.zeros(4), np.zeros(4)),
            ("perturbed", a, b),
            ("swapped", b, a),
            ("scaled up", 1e6 * a, 1e6 * b),
            ("scaled down", 1e-6 * a, 1e-6 * b),
            ("vector", v, w),
        ]
        return [
            Case(
                Call(self.name, (x.copy(), y.copy())),
                {},
                label,
                {"contract": contract_relative_error(x, y), "N": 1},
            )
            for label, x, y in plan
        ]

    def extract(self, value):
        if isinstance(value, (tuple, dict)) or np.asarray(value).size != 1:
            raise Malformed("returned more than one number; expected a float")
        return {"value": np.asarray(value).reshape(())}

    def judge(self, cases, run, seed=None):
        result = super().judge(cases, run, seed)
        if result.error:
            return result
        values: dict[str, float] = {}
        problems: list[str] = []
        for case, outcome in zip(cases, run.outcomes, strict=False):
            if outcome.error is not None:
                problems.append(f"{case.label}: {outcome.error}")
                continue
            try:
                values[case.label] = float(self.extract(outcome.value)["value"])
            except Malformed as exc:
                problems.append(f"{case.label}: {exc}")
        v = values.get
        if not problems:
            if not (abs(v("equal")) <= ZERO_TOL):
                problems.append("two equal arrays do not give 0")
            if not (math.isfinite(v("zeros")) and abs(v("zeros")) <= ZERO_TOL):
                problems.append(
                    "two zero arrays do not give 0 (a floor in the denominator avoids 0/0)"
                )
            p = v("perturbed")
            if not (math.isfinite(p) and p > 0):
                problems.append("a small difference gives no positive, finite error")
            else:
                if not abs(v("swapped") - p) <= 0.5 * p:
                    problems.append("swapping the two arrays changes the result a lot")
                for label in ("scaled up", "scaled down"):
                    if not abs(v(label) - p) <= 1e-6 * p:
                        problems.append(f"the result changes when both arrays are {label}")
                for label in ("perturbed", "vector"):
                    ratio = (
                        v(label) / cases[[c.label for c in cases].index(label)].context["contract"]
                    )
                    if not (1 / RELATIVE_ERROR_FACTOR <= ratio <= RELATIVE_ERROR_FACTOR):
                        problems.append(
                            f"for a small perturbation ({label}) the result is {ratio:.3g} "
                            "times the contract's `max|a-b| / (max|a| + max|b|)`: not a "
                            "relative error"
                        )
        comp = result.components[0]
        comp.problems = problems[:3]
        comp.passed = not problems
        comp.score = comp.max_score if comp.passed else 0.0
        comp.expected_shape = comp.received_shape = "()"
        result.score = comp.score
        return result


GRADIENT_TOOL_PARTS: list[Part] = [NumericalGradient(), RelativeError()]
