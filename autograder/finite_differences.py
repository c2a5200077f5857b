"""Finite differences: the independent witness for every hand-derived gradient.

Why these step sizes. A difference quotient has two errors that pull in opposite directions.
Truncation: Taylor's theorem leaves ``O(h)`` for the forward difference and ``O(h^2)`` for the
central one. Round-off: ``f`` is known only to about ``eps_mach |f|`` (``eps_mach = 2.2e-16``
in float64), and dividing by ``h`` amplifies that to ``eps_mach |f| / h``. Balancing the two
gives ``h ~ sqrt(eps_mach) ~ 1e-8`` for forward and ``h ~ eps_mach^(1/3) ~ 6e-6`` for central
differences, for quantities of order one; the course uses ``1e-6`` (the contract's default),
which leaves relative errors near ``1e-10`` on its problems. In float32 ``eps_mach = 1.2e-7``
and the best achievable central-difference error is only about ``1e-5``, which hides real bugs;
that is why everything here runs in float64 and refuses lower precision.

Kinks. Near a point where ``f`` is not differentiable (ReLU at 0) a central difference measures
a secant that straddles the kink, not the one-sided derivative. :func:`kink_margin` tells how
far a set of pre-activations is from the activation's kinks so a caller can keep inputs away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CENTRAL_STEP",
    "FORWARD_STEP",
    "DirectionalCheck",
    "directional_check",
    "directional_derivative",
    "forward_difference_gradient",
    "hessian_vector_check",
    "kink_margin",
    "numerical_gradient",
    "numerical_hessian",
    "relative_error",
]

#: Central-difference step: near ``eps_mach^(1/3)``, balancing O(h^2) truncation and round-off.
CENTRAL_STEP = 1e-6
#: Forward-difference step: ``sqrt(eps_mach)``, balancing O(h) truncation and round-off.
FORWARD_STEP = 1e-8
#: Denominator floor of :func:`relative_error`, so two zero arrays compare as equal, not 0/0.
RELATIVE_ERROR_FLOOR = 1e-12


def _as_float64(theta) -> np.ndarray:
    """A float64 copy of ``theta``; lower-precision floats are refused, not silently upcast."""
    arr = np.asarray(theta)
    if np.iscomplexobj(arr):
        raise TypeError("finite differences need real values, got a complex array")
    if arr.dtype.kind == "f" and arr.dtype != np.float64:
        raise TypeError(
            f"finite differences need float64, got {arr.dtype}: in lower precision round-off "
            "swamps the difference quotient"
        )
    return np.array(arr, dtype=np.float64, copy=True)


def _scalar(value) -> float:
    out = np.asarray(value, dtype=np.float64)
    if out.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {out.shape}")
    return float(out.reshape(()))


def numerical_gradient(f, theta, eps=CENTRAL_STEP):
    """Central differences of a scalar function with respect to every entry of ``theta``.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    theta : array_like, any shape
        The point; it is not modified (``f`` receives a perturbed float64 copy).
    eps : float
        Step size; see the module docstring for why ``1e-6``.

    Returns
    -------
    grad : ndarray, shape of ``theta``
        ``(f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps)`` for each entry ``i``.
    """
    work = _as_float64(theta)
    grad = np.zeros_like(work)
    flat, gflat = work.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = _scalar(f(work))
        flat[i] = old - eps
        f_minus = _scalar(f(work))
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def forward_difference_gradient(f, theta, eps=FORWARD_STEP):
    """Forward differences ``(f(theta + eps e_i) - f(theta)) / eps``: O(eps) accurate.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    theta : array_like, any shape
        Not modified.
    eps : float

    Returns
    -------
    grad : ndarray, shape of ``theta``
    """
    work = _as_float64(theta)
    f0 = _scalar(f(work))
    grad = np.zeros_like(work)
    flat, gflat = work.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        gflat[i] = (_scalar(f(work)) - f0) / eps
        flat[i] = old
    return grad


def relative_error(a, b):
    """``max|a - b| / max(1e-12, max|a| + max|b|)``: scale-free and safe at zero.

    Parameters
    ----------
    a, b : array_like, same shape

    Returns
    -------
    float
        0 for identical arrays; about 1e-10 for a correct gradient against central
        differences; of order one for a wrong one.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    # The methods, not np.max: the grader computes this thousands of times a notebook, and
    # numpy's function wrappers cost more than the reductions on arrays this small.
    scale = max(RELATIVE_ERROR_FLOOR, float(np.abs(a).max() + np.abs(b).max()))
    return float(np.abs(a - b).max() / scale)


def directional_derivative(f, theta, v, eps=CENTRAL_STEP):
    """Central difference of ``f`` along ``v``: ``(f(theta + eps v) - f(theta - eps v)) / 2eps``.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    theta, v : array_like, same shape
        Not modified.
    eps : float

    Returns
    -------
    float
        Approximates ``grad(theta) . v`` with two evaluations of ``f``, whatever the size.
    """
    work = _as_float64(theta)
    v = np.asarray(v, dtype=np.float64)
    f_plus, f_minus = _central_pair(f, work, v, eps)
    return (f_plus - f_minus) / (2.0 * eps)


def _central_pair(f, work: np.ndarray, v: np.ndarray, eps: float) -> tuple[float, float]:
    """``f(work + eps v)`` and ``f(work - eps v)``; ``work`` is a float64 array, not modified."""
    return _scalar(f(work + eps * v)), _scalar(f(work - eps * v))


@dataclass(frozen=True)
class DirectionalCheck:
    """Result of :func:`directional_check`.

    Attributes
    ----------
    analytic : (k,)
        ``grad . v_j`` for each direction.
    numeric : (k,)
        Central differences along each direction.
    error : float
        :func:`relative_error` of the two.
    midpoint : (k,)
        ``(f(theta + eps v_j) + f(theta - eps v_j)) / 2``: ``f(theta)`` within ``O(eps^2)``,
        for callers that need the value's scale without evaluating ``f`` once more.
    """

    analytic: np.ndarray
    numeric: np.ndarray
    error: float
    midpoint: np.ndarray

    def passed(self, tol):
        """Whether the worst relative error is at most ``tol``."""
        return self.error <= tol


def directional_check(f, grad, theta, n_directions=3, rng=None, eps=CENTRAL_STEP):
    """Check a gradient along random unit directions, as torch's fast gradcheck does.

    A full check costs ``2 * theta.size`` evaluations of ``f``; this one costs
    ``2 * n_directions``. A wrong gradient component is missed only if every random direction
    is orthogonal to the error, which has probability zero.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    grad : array_like, shape of ``theta``
        The gradient under test at ``theta``.
    theta : array_like, any shape
    n_directions : int
    rng : numpy.random.Generator, optional
    eps : float

    Returns
    -------
    DirectionalCheck
    """
    rng = np.random.default_rng() if rng is None else rng
    work = _as_float64(theta)
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape != work.shape:
        raise ValueError(f"gradient has shape {grad.shape}, theta has {work.shape}")
    analytic, numeric, midpoint = [], [], []
    for _ in range(n_directions):
        v = rng.standard_normal(work.shape)
        v /= max(np.linalg.norm(v), RELATIVE_ERROR_FLOOR)
        analytic.append(float(np.sum(grad * v)))
        f_plus, f_minus = _central_pair(f, work, v, eps)
        numeric.append((f_plus - f_minus) / (2.0 * eps))
        midpoint.append(0.5 * (f_plus + f_minus))
    analytic, numeric = np.array(analytic), np.array(numeric)
    error = relative_error(analytic, numeric)
    return DirectionalCheck(analytic, numeric, error, np.array(midpoint))


def numerical_hessian(grad_fn, theta, eps=CENTRAL_STEP):
    """Hessian by central differences of an analytic gradient, column by column.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(theta) -> (m,)``.
    theta : (m,)
    eps : float

    Returns
    -------
    H : (m, m)
        Symmetrised, since the exact Hessian of a smooth function is symmetric and the
        asymmetric part is only difference noise.
    """
    work = _as_float64(theta)
    if work.ndim != 1:
        raise ValueError(f"theta must be a vector, got shape {work.shape}")
    m = work.size
    H = np.empty((m, m))
    for j in range(m):
        e = np.zeros(m)
        e[j] = eps
        H[:, j] = (np.asarray(grad_fn(work + e)) - np.asarray(grad_fn(work - e))) / (2.0 * eps)
    return 0.5 * (H + H.T)


def hessian_vector_check(grad_fn, hvp, theta, n_directions=3, rng=None, eps=CENTRAL_STEP):
    """Check Hessian-vector products against differences of the gradient along ``v``.

    ``H v ~ (grad(theta + eps v) - grad(theta - eps v)) / 2eps`` needs two gradient calls per
    direction, never the ``m x m`` matrix.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(theta) -> (m,)``.
    hvp : callable
        ``hvp(v) -> (m,)``, the Hessian at ``theta`` applied to ``v``.
    theta : (m,)
    n_directions : int
    rng : numpy.random.Generator, optional
    eps : float

    Returns
    -------
    float
        The worst :func:`relative_error` over the directions.
    """
    rng = np.random.default_rng() if rng is None else rng
    work = _as_float64(theta)
    worst = 0.0
    for _ in range(n_directions):
        v = rng.standard_normal(work.shape)
        v /= np.linalg.norm(v)
        numeric = (np.asarray(grad_fn(work + eps * v)) - np.asarray(grad_fn(work - eps * v))) / (
            2.0 * eps
        )
        worst = max(worst, relative_error(hvp(v), numeric))
    return worst


def kink_margin(g, *arrays):
    """Distance from the nearest entry of ``arrays`` to a kink of the activation ``g``.

    Parameters
    ----------
    g : Activation
        Its ``kinks`` attribute lists the non-differentiable points.
    *arrays : array_like
        Pre-activations, e.g. ``Z1 : (N, d1)`` and ``Z2 : (N, d2)``.

    Returns
    -------
    float
        ``inf`` for a smooth activation. A finite-difference step that moves a pre-activation by
        more than this may straddle a kink, and the difference then measures a secant.
    """
    kinks = getattr(g, "kinks", ())
    if not kinks:
        return float("inf")
    margin = float("inf")
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        if a.size:
            margin = min(margin, min(float(np.min(np.abs(a - k))) for k in kinks))
    return margin
