"""Does the finite-difference toolkit measure what it claims, with the claimed accuracy?"""

import numpy as np
import pytest

from autograder import finite_differences as fd
from autograder.activations import relu, tanh


def cubic(theta):
    """f = sum(theta^3) + prod-free cross term, gradient 3 theta^2 + roll: known exactly."""
    return float(np.sum(theta**3) + np.sum(theta * np.roll(theta, 1)))


def cubic_grad(theta):
    return 3 * theta**2 + np.roll(theta, 1) + np.roll(theta, -1)


def test_numerical_gradient_matches_known_gradient_on_any_shape():
    """Does numerical_gradient reproduce an exact gradient for a 3-d array, leaving theta alone?"""
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(2, 3, 4))
    before = theta.copy()

    def f(t):
        return float(np.sum(np.sin(t)) + 0.5 * np.sum(t**2))

    numeric = fd.numerical_gradient(f, theta)
    assert numeric.shape == theta.shape
    assert fd.relative_error(numeric, np.cos(theta) + theta) < 1e-9
    np.testing.assert_array_equal(theta, before)


def errors_over_steps(method, steps):
    theta = np.array([0.7, -1.3, 0.4])
    exact = cubic_grad(theta)
    return np.array([np.max(np.abs(method(cubic, theta, eps=h) - exact)) for h in steps])


def test_central_differences_converge_as_h_squared():
    """Does halving h divide the central-difference error by about 4 (order 2)?"""
    steps = np.array([1e-2, 5e-3, 2.5e-3])
    errors = errors_over_steps(fd.numerical_gradient, steps)
    orders = np.log2(errors[:-1] / errors[1:])
    np.testing.assert_allclose(orders, 2.0, atol=0.1)


def test_forward_differences_converge_as_h():
    """Does halving h only halve the forward-difference error (order 1)?"""
    steps = np.array([1e-2, 5e-3, 2.5e-3])
    errors = errors_over_steps(fd.forward_difference_gradient, steps)
    orders = np.log2(errors[:-1] / errors[1:])
    np.testing.assert_allclose(orders, 1.0, atol=0.1)


def test_default_steps_sit_near_the_bottom_of_the_v():
    """Are the default steps within a factor 100 of the best error over a sweep of h?"""
    steps = np.logspace(-12, -1, 45)
    for method, default in [
        (fd.numerical_gradient, fd.CENTRAL_STEP),
        (fd.forward_difference_gradient, fd.FORWARD_STEP),
    ]:
        best = errors_over_steps(method, steps).min()
        assert errors_over_steps(method, [default])[0] < 100 * best


def test_lower_precision_is_refused():
    """Is a float32 point refused with a message, rather than giving noisy differences?"""
    with pytest.raises(TypeError, match="float64"):
        fd.numerical_gradient(cubic, np.ones(3, dtype=np.float32))


def test_non_scalar_function_is_refused():
    """Is a vector-valued f refused with a clear message?"""
    with pytest.raises(ValueError, match="scalar"):
        fd.numerical_gradient(lambda t: t * 2, np.ones(3))


def test_relative_error_definition():
    """Is relative_error 0 for equal arrays, scale-free, safe at zero and shape-checked?"""
    a = np.array([1.0, -2.0, 3.0])
    assert fd.relative_error(a, a) == 0.0
    assert fd.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    b = a + np.array([0.0, 0.0, 0.6])
    assert fd.relative_error(a, b) == pytest.approx(0.6 / (3.0 + 3.6))
    assert fd.relative_error(1e6 * a, 1e6 * b) == pytest.approx(fd.relative_error(a, b))
    with pytest.raises(ValueError, match="shapes"):
        fd.relative_error(a, a[:2])


def test_directional_check_cost_does_not_grow_with_size():
    """Does a directional check call f 2k times whatever the number of parameters?"""
    calls = []

    def f(t):
        calls.append(1)
        return cubic(t)

    theta = np.random.default_rng(1).normal(size=10_000)
    result = fd.directional_check(f, cubic_grad(theta), theta, n_directions=3)
    assert len(calls) == 6
    assert result.passed(1e-7)


def test_directional_check_gives_the_value_at_theta_without_another_call():
    """Is the midpoint of the two evaluations along each direction f(theta) to O(eps^2), so
    that a caller needing the value's scale does not evaluate f again?"""
    theta = np.random.default_rng(3).normal(size=50)
    result = fd.directional_check(cubic, cubic_grad(theta), theta, n_directions=2)
    assert result.midpoint.shape == (2,)
    np.testing.assert_allclose(result.midpoint, cubic(theta), rtol=1e-10)


def test_directional_check_catches_a_single_wrong_component():
    """Does a gradient wrong in one entry out of 500 fail the directional check?"""
    rng = np.random.default_rng(2)
    theta = rng.normal(size=500)
    grad = cubic_grad(theta)
    grad[123] *= 1.5
    assert not fd.directional_check(cubic, grad, theta, rng=rng).passed(1e-7)


def test_hessian_checks():
    """Do the numerical Hessian and the Hessian-vector check agree with an exact Hessian?"""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(5, 5))
    A = A @ A.T

    def grad(t):
        return A @ t + np.cos(t)

    def hessian(t):
        return A - np.diag(np.sin(t))

    theta = rng.normal(size=5)
    assert fd.relative_error(fd.numerical_hessian(grad, theta), hessian(theta)) < 1e-8
    assert fd.hessian_vector_check(grad, lambda v: hessian(theta) @ v, theta) < 1e-8
    assert fd.hessian_vector_check(grad, lambda v: A @ v, theta) > 1e-3


def test_kinks_are_detected():
    """Does kink_margin see a ReLU pre-activation within a step of 0, and ignore smooth g?"""
    Z = np.array([[0.5, -2.0], [3e-7, 1.0]])
    assert fd.kink_margin(relu, Z) == pytest.approx(3e-7)
    assert fd.kink_margin(relu, Z) < fd.CENTRAL_STEP
    assert fd.kink_margin(tanh, Z) == float("inf")


def test_secant_across_a_kink_is_wrong_which_is_why_we_avoid_kinks():
    """Does a central difference at a ReLU kink give the secant 1/2, not df(0) = 0?"""
    numeric = fd.numerical_gradient(lambda t: float(relu.f(t).sum()), np.array([0.0]))
    assert numeric[0] == pytest.approx(0.5)
    assert relu.df(np.array([0.0]))[0] == 0.0
