"""Scalar test functions for grading a student's ``numerical_gradient``, with exact gradients.

The grader names a function with :class:`autograder.protocol.FunctionRef` (``name`` and the
constants ``data`` it closes over); the sandbox's worker builds ``f(theta)`` from this table
and hands it to the student's ``numerical_gradient``. The grader compares the answer with the
exact ``grad``. This module runs beside student code, so it holds only these small formulas:
no reference solution.

Each function has a large curvature relative to its slope on the grader's inputs, so forward
differences (error ``O(eps)``) miss by about 1e-4 relative while central differences (error
``O(eps^2)``) land near 1e-9.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["STRICT_FLOATING_POINT_PARTS", "TEST_FUNCTIONS", "TestFunction", "bind"]


@dataclass(frozen=True)
class TestFunction:
    """A scalar function of an array and its exact gradient.

    Attributes
    ----------
    name : str
    f : callable
        ``f(theta, **data) -> float`` for ``theta`` of any shape.
    grad : callable
        ``grad(theta, **data) -> ndarray`` shaped like ``theta``.
    """

    __test__ = False  # not a pytest test class despite the name

    name: str
    f: Callable[..., float]
    grad: Callable[..., np.ndarray]


def _quadratic(theta, A, b):
    """``0.5 t.A.t + b.t`` with ``t = theta.ravel()``; ``A : (k, k)`` symmetric, ``b : (k,)``."""
    t = np.asarray(theta, dtype=np.float64).reshape(-1)
    return float(0.5 * t @ A @ t + b @ t)


def _quadratic_grad(theta, A, b):
    t = np.asarray(theta, dtype=np.float64)
    return (A @ t.reshape(-1) + b).reshape(t.shape)


def _sin_sum(theta, a):
    """``sum_i sin(a_i t_i)``; ``a`` shaped like ``theta``."""
    return float(np.sum(np.sin(a * np.asarray(theta, dtype=np.float64))))


def _sin_sum_grad(theta, a):
    return a * np.cos(a * np.asarray(theta, dtype=np.float64))


def _scale(s):
    """The scale as a float, whether it arrives as a number, a 0-d or a 1-element array."""
    return float(np.ravel(np.asarray(s, dtype=np.float64))[0])


def _log_sum_exp(theta, s):
    """``log sum_i exp(s t_i)`` with the scale ``s`` a 0-d array."""
    z = _scale(s) * np.asarray(theta, dtype=np.float64).reshape(-1)
    top = np.max(z)
    return float(top + np.log(np.sum(np.exp(z - top))))


def _log_sum_exp_grad(theta, s):
    t = np.asarray(theta, dtype=np.float64)
    z = _scale(s) * t.reshape(-1)
    p = np.exp(z - np.max(z))
    return (_scale(s) * p / p.sum()).reshape(t.shape)


TEST_FUNCTIONS: dict[str, TestFunction] = {
    fn.name: fn
    for fn in (
        TestFunction("quadratic", _quadratic, _quadratic_grad),
        TestFunction("sin_sum", _sin_sum, _sin_sum_grad),
        TestFunction("log_sum_exp", _log_sum_exp, _log_sum_exp_grad),
    )
}


def bind(name: str, data: dict) -> Callable[[np.ndarray], float]:
    """The one-argument function ``f(theta)`` a student's ``numerical_gradient`` receives.

    Parameters
    ----------
    name : str
        Key of :data:`TEST_FUNCTIONS`.
    data : dict of str to ndarray
        The constants (copied, so the caller cannot change them between evaluations).

    Returns
    -------
    callable
        ``f(theta) -> float``.
    """
    fn = TEST_FUNCTIONS[name].f
    frozen = {k: np.array(v, dtype=np.float64, copy=True) for k, v in data.items()}

    def f(theta):
        return fn(theta, **frozen)

    f.__name__ = name
    return f


#: Parts whose calls run under ``np.errstate(over="raise", invalid="raise")``: the contract
#: asks ``sigmoid`` for "no overflow warning and no nan", and a raised FloatingPointError is
#: how a warning crosses the process boundary as plain text (``CallOutcome.error``).
STRICT_FLOATING_POINT_PARTS = frozenset({"sigmoid"})
