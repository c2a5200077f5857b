"""Do the course's activations keep their promises: 1-Lipschitz, the right derivative, df(0)?"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.activations import ACTIVATIONS, LEAKY_SLOPE, leaky_relu, relu, softplus
from autograder.finite_differences import numerical_gradient, relative_error

finite = st.floats(min_value=-50, max_value=50, allow_nan=False)


@pytest.mark.parametrize("g", ACTIVATIONS.values(), ids=ACTIVATIONS.keys())
@given(a=finite, b=finite)
def test_is_one_lipschitz(g, a, b):
    """Is |g(a) - g(b)| <= |a - b| for every pair of inputs?"""
    assert abs(g.f(a) - g.f(b)) <= abs(a - b) * (1 + 1e-12) + 1e-15


@pytest.mark.parametrize("g", ACTIVATIONS.values(), ids=ACTIVATIONS.keys())
def test_df_matches_central_differences_away_from_kinks(g):
    """Does g.df agree with central differences of g.f wherever g is differentiable?"""
    z = np.linspace(-3, 3, 61)
    z = z[np.abs(z) > 1e-3]  # step away from the kink at 0 of relu and leaky_relu
    numeric = np.array([numerical_gradient(lambda t: g.f(t).sum(), np.array([v]))[0] for v in z])
    assert relative_error(g.df(z), numeric) < 1e-8


@pytest.mark.parametrize("g", ACTIVATIONS.values(), ids=ACTIVATIONS.keys())
def test_derivative_is_bounded_by_one(g):
    """Is |g'| <= 1, as 1-Lipschitz demands?"""
    z = np.linspace(-20, 20, 4001)
    assert np.all(np.abs(g.df(z)) <= 1.0)


def test_relu_conventions():
    """Is relu's derivative 0 at 0 (the course's convention) and leaky_relu's slope 0.1?"""
    assert relu.df(np.array([0.0]))[0] == 0.0
    assert leaky_relu.df(np.array([-2.0]))[0] == LEAKY_SLOPE == 0.1
    assert relu.kinks == (0.0,) and softplus.kinks == ()


def test_activations_keep_shape_and_float64():
    """Do f and df return float64 arrays of the input's shape, even for integer input?"""
    Z = np.arange(-3, 3).reshape(2, 3)
    for g in ACTIVATIONS.values():
        for out in (g.f(Z), g.df(Z)):
            assert out.shape == Z.shape and out.dtype == np.float64


def test_softplus_is_stable_for_large_inputs():
    """Does softplus stay finite and exact at |z| = 1e4 without overflow warnings?"""
    # Underflow to 0 is harmless (numpy ignores it by default); overflow or nan is the bug.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = softplus.f(np.array([-1e4, 1e4]))
        slope = softplus.df(np.array([-1e4, 1e4]))
    np.testing.assert_allclose(out, [0.0, 1e4])
    np.testing.assert_allclose(slope, [0.0, 1.0])
