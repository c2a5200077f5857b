"""Trusted reference: logistic regression's loss, gradient, Hessian ``X.T R X`` and Newton.

As in the seed the loss is summed over the data and there is no separate bias: a constant
column in ``X`` plays that role. ``y_hat_n = sigmoid(w . x_n)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "fit_newton",
    "hessian_diagonal",
    "logistic_grad",
    "logistic_hessian",
    "logistic_loss",
    "newton_step",
    "sigmoid",
]


def sigmoid(z):
    """The logistic function ``1 / (1 + exp(-z))``, without overflow for any float ``z``.

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    ndarray, same shape as ``z``
    """
    z = np.asarray(z, dtype=np.float64)
    # exp(-|z|) is in (0, 1]: it cannot overflow, and both branches are exact forms of sigma.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_loss(w, X, y):
    """Summed cross-entropy ``sum_n -y_n log y_hat_n - (1 - y_n) log(1 - y_hat_n)``.

    Uses ``-log sigma(z) = log(1 + e^{-z})`` and ``-log(1 - sigma(z)) = log(1 + e^{z})``, so the
    loss stays finite where ``sigma`` rounds to 0 or 1.

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
    z = np.asarray(X, dtype=np.float64) @ np.asarray(w, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.sum(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)))


def logistic_grad(w, X, y):
    """Gradient of :func:`logistic_loss`, ``X.T (y_hat - y)``.

    Parameters
    ----------
    w : (m,)
    X : (N, m)
    y : (N,)

    Returns
    -------
    grad : (m,)
    """
    X = np.asarray(X, dtype=np.float64)
    return X.T @ (sigmoid(X @ np.asarray(w, dtype=np.float64)) - np.asarray(y, dtype=np.float64))


def _curvature(w, X):
    """``r_n = y_hat_n (1 - y_hat_n)``, the diagonal of ``R``: shape ``(N,)``."""
    p = sigmoid(np.asarray(X, dtype=np.float64) @ np.asarray(w, dtype=np.float64))
    return p * (1.0 - p)


def logistic_hessian(w, X):
    """Hessian of :func:`logistic_loss`, ``X.T R X`` with ``R = diag(y_hat (1 - y_hat))``.

    It does not depend on the labels.

    Parameters
    ----------
    w : (m,)
    X : (N, m)

    Returns
    -------
    H : (m, m)
        Symmetric positive semi-definite.
    """
    X = np.asarray(X, dtype=np.float64)
    # Scaling the rows of X by r avoids building the N x N matrix R.
    return X.T @ (_curvature(w, X)[:, None] * X)


def hessian_diagonal(w, X):
    """Diagonal of the Hessian, ``H_ii = sum_n y_hat_n (1 - y_hat_n) X_ni^2``, in ``O(N m)``.

    Parameters
    ----------
    w : (m,)
    X : (N, m)

    Returns
    -------
    h : (m,)
        Equals ``np.diag(logistic_hessian(w, X))`` without forming the ``m x m`` matrix.
    """
    X = np.asarray(X, dtype=np.float64)
    return _curvature(w, X) @ (X * X)


def newton_step(w, X, y):
    """One Newton (IRLS) step ``w - H^{-1} grad``, by solving ``H s = grad``.

    Parameters
    ----------
    w : (m,)
    X : (N, m)
    y : (N,)

    Returns
    -------
    w_new : (m,)
    """
    w = np.asarray(w, dtype=np.float64)
    # Solving is cheaper and better conditioned than forming H^{-1}.
    return w - np.linalg.solve(logistic_hessian(w, X), logistic_grad(w, X, y))


def fit_newton(X, y, tol=1e-10, max_iter=50):
    """Fit logistic regression by Newton's method from ``w = 0``.

    Parameters
    ----------
    X : (N, m)
    y : (N,)
    tol : float
        Stop when the step's largest component is below ``tol``.
    max_iter : int
        Upper bound on the number of Newton steps.

    Returns
    -------
    w : (m,)
        The maximum-likelihood weights (data must not be separable for them to exist).
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.zeros(X.shape[1])
    for _ in range(max_iter):
        w_new = newton_step(w, X, y)
        done = np.max(np.abs(w_new - w)) < tol
        w = w_new
        if done:
            break
    return w
