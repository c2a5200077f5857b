"""The checks of numerical_gradient and relative_error."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import reference as ref
from autograder.checks import check_function
from autograder.test_functions import TEST_FUNCTIONS, bind


@pytest.mark.parametrize("name", sorted(TEST_FUNCTIONS))
def test_test_functions_have_the_gradient_they_claim(name):
    """Is each test function's `grad` the gradient of its `f` (the grader's ground truth)?"""
    rng = np.random.default_rng(0)
    theta = rng.normal(0, 0.05, (2, 3))
    data = {
        "quadratic": {"A": np.eye(6) * 3 + 0.1, "b": np.arange(6.0)},
        "sin_sum": {"a": rng.uniform(1, 3, (2, 3))},
        "log_sum_exp": {"s": np.array(2.0)},
    }[name]
    numeric = ref.numerical_gradient(bind(name, data), theta)
    exact = TEST_FUNCTIONS[name].grad(theta, **data)
    assert ref.relative_error(numeric, exact) < 1e-8


def numgrad_forward(f, theta, eps=1e-6):
    theta = np.array(theta, dtype=float)
    f0, grad = f(theta), np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        t = theta.copy()
        t[i] += eps
        grad[i] = (f(t) - f0) / eps
    return grad


def numgrad_mutating(f, theta, eps=1e-6):
    grad = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        theta[i] += eps
        up = f(theta)
        theta[i] -= 2 * eps
        down = f(theta)
        theta[i] += eps / 2  # restores imperfectly
        grad[i] = (up - down) / (2 * eps)
    return grad


def numgrad_ignores_eps(f, theta, eps=1e-6):
    return ref.numerical_gradient(f, theta, 1e-3)


def test_numerical_gradient_reference_and_loop_versions_score_full_marks():
    """Do central differences, however written, earn both points?"""
    assert check_function("numerical_gradient", ref.numerical_gradient).score == 2


def test_forward_differences_are_caught_and_named():
    """Are forward differences caught by the large-curvature test functions, and named?"""
    result = check_function("numerical_gradient", numgrad_forward)
    assert result.score == 0  # "theta unchanged" is not earned beside a wrong gradient
    assert "forward-differences" in [n for n, _ in result.diagnoses]


@pytest.mark.parametrize(
    "stub",
    [
        lambda f, theta, eps=1e-6: np.zeros_like(theta),
        lambda f, theta, eps=1e-6: np.ones_like(theta),
        lambda f, theta, eps=1e-6: np.array(theta, copy=True),
    ],
    ids=["zeros", "ones", "its-input"],
)
def test_doing_nothing_earns_nothing(stub):
    """Does a function that leaves theta alone but computes nothing earn 0, not the side point?"""
    result = check_function("numerical_gradient", stub)
    assert result.score == 0
    unchanged = next(c for c in result.components if c.name == "theta unchanged")
    assert "right values" in " ".join(unchanged.problems)


def test_mutating_theta_loses_the_unchanged_point():
    """Does a function that leaves theta changed lose the "theta unchanged" point?"""
    result = check_function("numerical_gradient", numgrad_mutating)
    unchanged = next(c for c in result.components if c.name == "theta unchanged")
    assert not unchanged.passed
    assert "copy" in " ".join(unchanged.problems)


def test_ignoring_eps_is_caught():
    """Does a step hard-coded to 1e-3 fail the accuracy check?"""
    assert check_function("numerical_gradient", numgrad_ignores_eps).score < 2


def relerr_two_norm(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b))


def relerr_elementwise(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def relerr_absolute(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def relerr_no_floor(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a)


def relerr_one_sided_tenfold(a, b):
    return 100 * relerr_two_norm(a, b)


@pytest.mark.parametrize(
    "fn, score",
    [
        (ref.relative_error, 1),
        (relerr_two_norm, 1),
        (relerr_elementwise, 1),
        (relerr_absolute, 0),
        (relerr_no_floor, 0),
        (relerr_one_sided_tenfold, 0),
    ],
)
def test_relative_error_accepts_standard_definitions_only(fn, score):
    """Are standard relative errors accepted, and absolute or unfloored ones refused?"""
    result = check_function("relative_error", fn)
    assert result.score == score, result.components[0].problems
