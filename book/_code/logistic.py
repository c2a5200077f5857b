# Logistic regression for the book's experiments, written from the index formulas of the
# derivation (np.einsum reads like the sums: "n,ni->i" is sum_n a_n X_ni). (Loaded into a
# hidden cell by the chapters that need it.)
import numpy as np


def sigma(z):
    """The logistic function ``1 / (1 + e^-z)``.

    Parameters
    ----------
    z : array_like

    Returns
    -------
    ndarray, shape of ``z``
    """
    # For z < -709, e^-z overflows to inf and 1 / (1 + inf) is exactly 0: the right value,
    # so the overflow warning is silenced rather than avoided.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def loss_fn(w, X, y, lam=0.0):
    """Summed cross-entropy, plus ``lam/2 |w|^2`` when ``lam > 0``.

    Parameters
    ----------
    w : (m,)
    X : (N, m)
    y : (N,)
        Labels in {0, 1}.
    lam : float

    Returns
    -------
    float
    """
    # With t = 2y - 1 in {-1, +1}, each term is log(1 + e^{-t z}), finite for every z.
    t = 2.0 * np.asarray(y, dtype=float) - 1.0
    return float(np.sum(np.logaddexp(0.0, -t * (X @ w)))) + 0.5 * lam * float(w @ w)


def grad_fn(w, X, y, lam=0.0):
    """Gradient ``sum_n (y_hat_n - y_n) x_n (+ lam w)``.

    Parameters
    ----------
    w : (m,)
    X : (N, m)
    y : (N,)
    lam : float

    Returns
    -------
    (m,)
    """
    return np.einsum("n,ni->i", sigma(X @ w) - y, X) + lam * w


def hess_fn(w, X, lam=0.0):
    """Hessian ``H_ij = sum_n r_n X_ni X_nj (+ lam delta_ij)``, ``r_n = y_hat_n (1 - y_hat_n)``.

    Parameters
    ----------
    w : (m,)
    X : (N, m)
    lam : float

    Returns
    -------
    (m, m)
    """
    p = sigma(X @ w)
    return np.einsum("n,ni,nj->ij", p * (1 - p), X, X) + lam * np.eye(len(w))


def hess_diag_fn(w, X):
    """The diagonal ``H_ii = sum_n r_n X_ni^2``, without the m x m matrix.

    Parameters
    ----------
    w : (m,)
    X : (N, m)

    Returns
    -------
    (m,)
    """
    p = sigma(X @ w)
    return np.einsum("n,ni,ni->i", p * (1 - p), X, X)


def newton(X, y, w0=None, lam=0.0, line_search=False, iters=50, tol=1e-12):
    """Newton's method on the (regularised) loss, optionally damped by backtracking.

    Parameters
    ----------
    X : (N, m)
    y : (N,)
    w0 : (m,), optional
        Starting point; zero when omitted.
    lam : float
        L2 penalty ``lam/2 |w|^2``.
    line_search : bool
        Halve the step from 1 until the Armijo condition holds (damped Newton).
    iters : int
        At most this many steps.
    tol : float
        Stop when the largest entry of a step is below ``tol``. Also stop, diverged, when
        the iterate grows beyond ``1e6`` or the Hessian is singular to working precision
        (pure Newton can diverge).

    Returns
    -------
    list of (m,)
        The iterates, ``w0`` first.
    """
    w = np.zeros(X.shape[1]) if w0 is None else np.asarray(w0, dtype=float)
    path = [w]
    for _ in range(iters):
        H = hess_fn(w, X, lam)
        if np.linalg.cond(H) > 1e15:
            break
        step = -np.linalg.solve(H, grad_fn(w, X, y, lam))
        eta = 1.0
        if line_search:
            slope = grad_fn(w, X, y, lam) @ step
            while loss_fn(w + eta * step, X, y, lam) > loss_fn(w, X, y, lam) + 1e-4 * eta * slope:
                eta /= 2
        w = w + eta * step
        path.append(w)
        if np.max(np.abs(w)) > 1e6 or np.max(np.abs(eta * step)) < tol:
            break
    return path


MEASUREMENTS = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dim.",
)


def cell_nuclei(n, rng):
    """Synthetic measurements of cell nuclei, with labels.

    Ten features on very different scales (from about 0.005 to several hundred) and strongly
    correlated (radius, perimeter and area measure one thing), shaped loosely like the
    Wisconsin diagnostic breast-cancer measurements, but drawn here at random so that the
    chapter needs no data file. Two hidden causes, the size of a nucleus and the
    irregularity of its outline, drive both the features and the label.

    Parameters
    ----------
    n : int
        Number of samples.
    rng : numpy.random.Generator

    Returns
    -------
    A : (n, 10)
        Raw measurements, in the order of ``MEASUREMENTS``.
    y : (n,)
        Labels in {0, 1}, drawn from a logistic model of the two hidden causes, so the
        classes overlap.
    """

    def noise():
        return rng.standard_normal(n)

    size = noise()
    shape = 0.5 * size + 0.85 * noise()
    radius = 14.0 + 3.5 * size + 0.25 * noise()
    A = np.column_stack(
        [
            radius,
            19.0 + 4.0 * noise() + 0.8 * size,
            2 * np.pi * radius * (1 + 0.03 * shape) + 0.5 * noise(),
            np.pi * radius**2 * (1 + 0.02 * noise()),
            0.096 + 0.012 * (0.5 * shape + 0.85 * noise()),
            0.10 + 0.05 * (0.8 * shape + 0.6 * noise()),
            0.09 + 0.07 * (0.9 * shape + 0.45 * noise()),
            0.05 + 0.035 * (0.6 * size + 0.7 * shape + 0.35 * noise()),
            0.18 + 0.027 * (0.4 * shape + 0.9 * noise()),
            0.063 + 0.007 * (0.5 * shape + 0.85 * noise()),
        ]
    )
    y = (rng.random(n) < sigma(-0.5 + 2.0 * size + 1.5 * shape)).astype(float)
    return A, y


def with_constant(A):
    """Prepend the constant column that plays the role of the bias.

    Parameters
    ----------
    A : (N, k)

    Returns
    -------
    (N, k + 1)
    """
    return np.column_stack([np.ones(len(A)), A])


def standardise(A):
    """Each column shifted to mean 0 and scaled to variance 1.

    Parameters
    ----------
    A : (N, k)

    Returns
    -------
    (N, k)
    """
    return (A - A.mean(axis=0)) / A.std(axis=0)
