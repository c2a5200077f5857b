"""The logistic-regression parts' checks: full marks for correct code, slips diagnosed."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import reference as ref
from autograder.checks import PARTS, check_function, draw_cases
from autograder.checks.logistic import LOGISTIC_PARTS

LOGISTIC_NAMES = [p.name for p in LOGISTIC_PARTS]


@pytest.mark.parametrize("seed", [0, 1, 12345])
@pytest.mark.parametrize("part", LOGISTIC_NAMES)
def test_reference_scores_full_marks(part, seed):
    """Does the trusted reference earn every point of every logistic part?"""
    result = check_function(part, getattr(ref, part), seed)
    assert result.score == PARTS[part].points, result.message


def test_newton_cases_have_a_finite_optimum():
    """Are the Newton data sets non-separable, so the reference's optimum is a real one?"""
    for seed in range(10):
        for case in draw_cases("fit_newton", seed):
            X, y = case.context["X"], case.context["y"]
            w = case.expected["w"]
            assert np.max(np.abs(ref.logistic_grad(w, X, y))) < 1e-8
            assert np.max(np.abs(w)) < 10


def sigmoid_tanh(z):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def loss_loop(w, X, y):
    z = X @ w
    return sum(np.logaddexp(0, -z[n]) if y[n] else np.logaddexp(0, z[n]) for n in range(len(y)))


def grad_einsum(w, X, y):
    return np.einsum("nm,n->m", X, sigmoid_tanh(X @ w) - y)


def hessian_einsum(w, X):
    p = sigmoid_tanh(X @ w)
    return np.einsum("ni,n,nj->ij", X, p * (1 - p), X)


def hessian_dense_r(w, X):
    p = sigmoid_tanh(X @ w)
    return X.T @ np.diag(p * (1 - p)) @ X


def diagonal_loop(w, X):
    p = sigmoid_tanh(X @ w)
    return np.array([np.sum(p * (1 - p) * X[:, i] ** 2) for i in range(X.shape[1])])


def newton_lstsq(w, X, y):
    H = hessian_einsum(w, X)
    return w - np.linalg.lstsq(H, grad_einsum(w, X, y), rcond=None)[0]


def fit_while(X, y, tol=1e-10, max_iter=50):
    w = np.zeros(X.shape[1])
    for _ in range(max_iter):
        step = np.linalg.solve(hessian_einsum(w, X), grad_einsum(w, X, y))
        w = w - step
        if np.max(np.abs(step)) < tol:
            break
    return w


@pytest.mark.parametrize(
    "part, fn",
    [
        ("sigmoid", sigmoid_tanh),
        ("logistic_loss", loss_loop),
        ("logistic_grad", grad_einsum),
        ("logistic_hessian", hessian_einsum),
        ("logistic_hessian", hessian_dense_r),
        ("hessian_diagonal", diagonal_loop),
        ("newton_step", newton_lstsq),
        ("fit_newton", fit_while),
    ],
)
def test_correct_code_written_differently_scores_full_marks(part, fn):
    """Do einsum, loops, a dense R and lstsq earn full marks when the numbers are right?"""
    result = check_function(part, fn, seed=4)
    assert result.score == PARTS[part].points, result.message


def sigmoid_naive(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_ratio(z):
    return np.exp(z) / (1 + np.exp(z))


def loss_naive(w, X, y):
    p = sigmoid_naive(X @ w)
    return np.sum(-y * np.log(p) - (1 - y) * np.log(1 - p))


def loss_log_linear(w, X, y):
    z = X @ w
    return np.sum(-y * np.log(z) - (1 - y) * np.log(1 - z))


def loss_mean(w, X, y):
    return ref.logistic_loss(w, X, y) / len(y)


def grad_per_sample(w, X, y):
    return (ref.sigmoid(X @ w) - y)[:, None] * X


def grad_flipped(w, X, y):
    return X.T @ (y - ref.sigmoid(X @ w))


def hessian_no_r(w, X):
    return X.T @ X


def hessian_p_only(w, X):
    p = ref.sigmoid(X @ w)
    return X.T @ (p[:, None] * X)


def diagonal_full(w, X):
    return ref.logistic_hessian(w, X)


def diagonal_not_squared(w, X):
    p = ref.sigmoid(X @ w)
    return (p * (1 - p)) @ X


def newton_ascent(w, X, y):
    return w + np.linalg.solve(ref.logistic_hessian(w, X), ref.logistic_grad(w, X, y))


def newton_step_only(w, X, y):
    return -np.linalg.solve(ref.logistic_hessian(w, X), ref.logistic_grad(w, X, y))


def fit_one_step(X, y, tol=1e-10, max_iter=50):
    return ref.newton_step(np.zeros(X.shape[1]), X, y)


@pytest.mark.parametrize(
    "part, fn, diagnosis, score",
    [
        ("sigmoid", sigmoid_naive, "sigmoid-overflow-warning", 0),
        ("sigmoid", sigmoid_ratio, "sigmoid-overflow-warning", 0),
        ("logistic_loss", loss_naive, "unstable-log-sigmoid", 1),
        ("logistic_loss", loss_log_linear, "log-of-linear", 0),
        ("logistic_loss", loss_mean, "mean-not-sum", 0),
        ("logistic_grad", grad_per_sample, "gradient-not-summed", 0),
        ("logistic_grad", grad_flipped, "flipped-sign", 0),
        ("logistic_hessian", hessian_no_r, "no-curvature-weights", 0),
        ("logistic_hessian", hessian_p_only, "p-not-p(1-p)", 0),
        ("hessian_diagonal", diagonal_full, "full-matrix", 0),
        ("hessian_diagonal", diagonal_not_squared, "diagonal-not-squared", 0),
        ("newton_step", newton_ascent, "newton-ascent", 0),
        ("newton_step", newton_step_only, "returned-the-step", 0),
        ("fit_newton", fit_one_step, "stopped-after-1-steps", 0),
    ],
)
def test_planted_slip_is_diagnosed(part, fn, diagnosis, score):
    """Does each classic logistic slip lose its points and get named?"""
    result = check_function(part, fn, seed=6)
    assert result.score == score, result.message
    assert diagnosis in [name for name, _ in result.diagnoses], result.diagnoses
