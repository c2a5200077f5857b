"""The self-checks of the two tools of ``mlp_backprop.ipynb`` that check the others:
``numerical_gradient`` (central differences) and ``relative_error``.

Each compares with values known exactly: the gradient of a test function written out by hand,
and the relative error of small arrays worked out from its definition.
"""

import numpy as np

from .core import _check_number, _check_shape, _CheckError, _close, _floats

#: A correct numerical_gradient (central differences, step 1e-6) lands within about 1e-10 of
#: the exact gradient of the checks' test function; forward differences miss by about 1e-6.
_NUMERICAL_GRADIENT_TOL = 1e-8


def _test_function(theta):
    """A scalar function whose gradient is known exactly, and that needs theta's shape."""
    weights = np.arange(1.0, theta.size + 1.0).reshape(theta.shape) / theta.size
    value = float(np.sum(np.sin(theta)) + 0.5 * np.sum(weights * theta**2))
    return value, np.cos(theta) + weights * theta


def _check_numerical_gradient(nb, numerical_gradient):
    thetas = [
        np.array([0.3, -1.2, 2.0, 0.7]),
        np.array([[0.3, -1.2], [2.0, 0.7], [-0.4, 1.5]]),
    ]
    for theta in thetas:

        def f(t, shape=theta.shape):
            t = np.asarray(t, dtype=float)
            if t.shape != shape:
                raise _CheckError(
                    f"numerical_gradient called f with an array of shape {t.shape}; f takes "
                    f"arrays shaped like theta, {shape}: perturb theta in its own shape."
                )
            return _test_function(t)[0]

        before = theta.copy()
        num = nb.call(numerical_gradient, f, theta)
        _check_shape(
            f"numerical_gradient(f, theta) for theta of shape {theta.shape}", num, theta.shape
        )
        if not np.array_equal(theta, before):
            drift = float(np.max(np.abs(theta - before)))
            how = (
                "restore each entry by assigning back the value you saved: adding eps back "
                "after subtracting it does not always give the same number in floating point"
                if drift < 1e-9
                else "restore each entry after perturbing it, or perturb a copy of theta"
            )
            raise _CheckError(f"numerical_gradient changed theta (by up to {drift:.1e}): {how}.")
        exact = _test_function(theta)[1]
        num = _floats("numerical_gradient", num)
        err = float(np.max(np.abs(num - exact)) / np.max(np.abs(exact)))
        if not err <= _NUMERICAL_GRADIENT_TOL:
            ratio = float(np.sum(num * exact) / np.sum(exact * exact))
            if abs(ratio - 2) < 1e-3:
                hint = "It is twice too large: the two points are 2 * eps apart."
            elif abs(ratio - 0.5) < 1e-3:
                hint = "It is half the right size: divide by 2 * eps, not 4 * eps."
            elif abs(ratio + 1) < 1e-3:
                hint = "It has the wrong sign: it is f(theta + eps e_i) - f(theta - eps e_i)."
            elif err < 1e-3:
                hint = (
                    f"It is only accurate to about {err:.0e}: a one-sided difference? "
                    "Central differences are far more accurate."
                )
            else:
                hint = "Check which entry you perturb and where you store the result."
            raise _CheckError(
                f"numerical_gradient is off by a relative error of {err:.1e} on a function "
                f"whose gradient is known (theta of shape {theta.shape}). {hint}"
            )
    # For a cubic, central differences are exact up to eps^2: the step shows in the result.
    theta = np.array([0.5, -1.0, 2.0])
    num = _floats(
        "numerical_gradient",
        nb.call(numerical_gradient, lambda t: float(np.sum(t**3)), theta, eps=0.1),
    )
    if not _close(num, 3 * theta**2 + 0.01, 1e-8):
        raise _CheckError(
            "numerical_gradient(f, theta, eps=0.1) does not use the step it is given: for "
            "f = sum(theta**3) central differences with eps = 0.1 give 3 theta**2 + 0.01."
        )
    return [
        "matches the exact gradient of a test function (a vector and a matrix theta)",
        "leaves theta unchanged and uses the eps it is given",
    ]


def _check_relative_error(nb, relative_error):
    a = np.array([1.0, -2.0, 3.0])
    r = _check_number("relative_error(a, a)", nb.call(relative_error, a, a.copy()))
    if r != 0:
        raise _CheckError(f"relative_error(a, a) should be 0, got {r}.")
    r = _check_number("relative_error(a, 2 * a)", nb.call(relative_error, a, 2 * a))
    if abs(r - 1 / 3) > 1e-12:
        raise _CheckError(
            "relative_error(a, 2 * a) with a = [1, -2, 3] should be 3 / (3 + 6) = 1/3 by the "
            f"definition above (max|a - b| = 3, max|a| + max|b| = 3 + 6), got {r}."
        )
    if _check_number("relative_error(2 * a, a)", nb.call(relative_error, 2 * a, a)) != r:
        raise _CheckError("relative_error(a, b) should equal relative_error(b, a).")
    with np.errstate(all="ignore"):
        r = _floats("relative_error of zeros", nb.call(relative_error, np.zeros(3), np.zeros(3)))
    if r.ndim != 0 or r != 0:
        raise _CheckError(
            f"relative_error of two zero arrays should be 0, got {r}: without the floor 1e-12 "
            "in the denominator it is 0 / 0."
        )
    M = np.arange(6.0).reshape(2, 3)
    r = _check_number("relative_error on matrices", nb.call(relative_error, M, M + 1))
    if abs(r - 1 / 11) > 1e-12:
        raise _CheckError(
            f"relative_error(M, M + 1) for M = [[0, 1, 2], [3, 4, 5]] should be 1 / (5 + 6) "
            f"= 1/11, got {r}."
        )
    return ["gives the values of the definition (equal, scaled, zero and matrix inputs)"]
