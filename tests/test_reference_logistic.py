"""Is the reference logistic regression right: against autodiff, statsmodels, and at extremes?"""

import tracemalloc
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.finite_differences import relative_error
from autograder.reference import logistic

# Same sums in another order: round-off only.
AUTODIFF_TOL = 1e-10
# The issue's bar for agreeing with statsmodels' maximum likelihood.
STATSMODELS_TOL = 1e-8


def autodiff_loss(w, X, y):
    """Cross-entropy written from its definition with sigma, for autograd to differentiate."""
    p = 1.0 / (1.0 + anp.exp(-anp.dot(X, w)))
    return anp.sum(-y * anp.log(p) - (1.0 - y) * anp.log(1.0 - p))


def draw(seed, N, m, scale=1.0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(N), rng.normal(size=(N, m - 1))]) if m > 1 else np.ones((N, 1))
    w = rng.normal(scale=scale, size=m)
    y = (rng.random(N) < logistic.sigmoid(X @ w)).astype(np.float64)
    return X, y, w


problems = st.tuples(st.integers(0, 2**31 - 1), st.integers(1, 30), st.integers(1, 6))


@settings(max_examples=40, deadline=None)
@given(problem=problems)
def test_loss_gradient_hessian_match_autodiff(problem):
    """Do logistic_loss, logistic_grad and logistic_hessian equal autograd's?"""
    X, y, w = draw(*problem)
    assert logistic.logistic_loss(w, X, y) == pytest.approx(autodiff_loss(w, X, y), rel=1e-12)
    grad_auto = autograd.grad(autodiff_loss)(w, X, y)
    assert relative_error(logistic.logistic_grad(w, X, y), grad_auto) < AUTODIFF_TOL
    H_auto = autograd.hessian(autodiff_loss)(w, X, y)
    assert relative_error(logistic.logistic_hessian(w, X), H_auto) < AUTODIFF_TOL


@settings(max_examples=40, deadline=None)
@given(problem=problems)
def test_hessian_is_symmetric_psd_and_its_diagonal_matches(problem):
    """Is H = X^T R X symmetric and positive semi-definite, with hessian_diagonal its diagonal?"""
    X, _, w = draw(*problem, scale=3.0)
    H = logistic.logistic_hessian(w, X)
    # X^T (r X) rounds (i, j) and (j, i) in different orders: symmetric up to a few ulps.
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-14 * np.abs(H).max())
    assert np.linalg.eigvalsh(H).min() >= -1e-12 * max(1.0, np.abs(H).max())
    np.testing.assert_allclose(logistic.hessian_diagonal(w, X), np.diag(H), rtol=1e-12, atol=0)


def test_hessian_diagonal_never_builds_the_m_by_m_matrix():
    """Does hessian_diagonal stay O(N m) in memory where an m x m matrix would need 20 GB?"""
    rng = np.random.default_rng(0)
    N, m = 4, 50_000
    X = rng.normal(size=(N, m))
    w = rng.normal(size=m) / np.sqrt(m)
    tracemalloc.start()
    try:
        h = logistic.hessian_diagonal(w, X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert h.shape == (m,)
    # A few copies of X (N m doubles = 1.6 MB) are fine; one m x m matrix is 20 GB.
    assert peak < 10 * N * m * 8


def test_fit_newton_matches_statsmodels_logit():
    """Does fit_newton reach statsmodels' Logit maximum likelihood on non-separable data?"""
    rng = np.random.default_rng(42)
    N = 400
    X = np.column_stack([np.ones(N), rng.normal(size=(N, 3))])
    y = (rng.random(N) < logistic.sigmoid(X @ np.array([0.3, -1.0, 2.0, 0.5]))).astype(float)
    expected = sm.Logit(y, X).fit(method="newton", tol=1e-14, maxiter=100, disp=0).params
    w = logistic.fit_newton(X, y)
    assert np.max(np.abs(w - expected)) / np.max(np.abs(expected)) < STATSMODELS_TOL
    assert np.linalg.norm(logistic.logistic_grad(w, X, y)) < 1e-8


def test_newton_step_solves_rather_than_moves_uphill():
    """Does one Newton step from a non-optimal point lower the loss?"""
    X, y, _ = draw(3, 200, 4)
    w0 = np.zeros(4)
    w1 = logistic.newton_step(w0, X, y)
    assert logistic.logistic_loss(w1, X, y) < logistic.logistic_loss(w0, X, y)


@pytest.mark.parametrize("z", [1e4, -1e4, 800.0, -800.0, 40.0, -40.0, 0.0])
def test_sigmoid_and_loss_are_finite_and_warning_free_at_extremes(z):
    """Are sigmoid and the loss finite, warning-free and correct for |z| up to 1e4?"""
    X = np.array([[1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = logistic.sigmoid(np.array([z]))[0]
            loss_pos = logistic.logistic_loss(np.array([z]), X, np.array([1.0]))
            loss_neg = logistic.logistic_loss(np.array([z]), X, np.array([0.0]))
    assert 0.0 <= s <= 1.0
    # -log sigma(z) = log(1 + e^-z): ~0 for large positive z and ~|z| for large negative z.
    tail = np.log1p(np.exp(-abs(z)))
    assert loss_pos == pytest.approx(max(-z, 0.0) + tail, rel=1e-12)
    assert loss_neg == pytest.approx(max(z, 0.0) + tail, rel=1e-12)
