"""Is the reference MLP's backpropagation right, checked against autodiff and finite differences?"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autograder.activations import ACTIVATIONS, SMOOTH_ACTIVATIONS, tanh
from autograder.finite_differences import kink_margin, numerical_gradient, relative_error
from autograder.reference import mlp

# Reference and autodiff compute the same sums in a different order: only round-off separates
# them, and gradients of order one lose at most a few hundred ulps on these sizes.
AUTODIFF_TOL = 1e-10
# Central differences with h = 1e-6 leave truncation ~h^2 and round-off ~1e-16/h: about 1e-9
# relative error on losses of order one; 1e-6 still flags any wrong formula (those are O(1)).
FD_TOL = 1e-6
# The round-off is absolute, ~1e-16 |L| / h = 1e-10 |L|, whatever the gradient's size: a
# gradient that is itself tiny (hypothesis found dL/db1 = 7.5e-6 on a barely active ReLU unit,
# 1.2e-6 relative error) is allowed ten times that on top of FD_TOL.
FD_ROUNDOFF = 1e-9

# Independent autodiff versions of the activations, written with autograd.numpy so that autograd
# differentiates them itself instead of trusting our g.df.
AUTODIFF_ACTIVATIONS = {
    "relu": lambda z: anp.maximum(z, 0.0),
    "leaky_relu": lambda z: anp.where(z > 0, z, 0.1 * z),
    "tanh": anp.tanh,
    "softplus": lambda z: anp.logaddexp(0.0, z),
    "identity": lambda z: z,
}


def autodiff_loss(theta, X, y, act):
    """MSE of the MLP written from the definition, for autograd to differentiate."""
    Z1 = anp.dot(X, theta["W1"]) + theta["b1"]
    Z2 = anp.dot(act(Z1), theta["W2"]) + theta["b2"]
    y_hat = anp.dot(act(Z2), theta["W3"]) + theta["b3"]
    return anp.mean((y - y_hat) ** 2)


def draw_problem(seed, N, m, d1, d2, g):
    """A random problem whose pre-activations stay clear of the activation's kinks."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        params = mlp.init_params(m, d1, d2, rng)
        X = rng.normal(size=(N, m))
        y = rng.normal(size=N)
        _, cache = mlp.forward(X, params, g)
        if kink_margin(g, cache["Z1"], cache["Z2"]) > 1e-3:
            return X, y, params
    pytest.skip("could not draw a problem away from the kinks")


shapes = st.tuples(
    st.integers(0, 2**31 - 1),
    st.integers(1, 6),  # N, including a single sample
    st.integers(1, 5),  # m
    st.integers(1, 5),  # d1, including width 1
    st.integers(1, 5),  # d2
)


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes)
def test_backward_matches_autodiff(name, shape):
    """Does backward give autograd's gradient for every parameter, shape and activation?"""
    seed, N, m, d1, d2 = shape
    g = ACTIVATIONS[name]
    X, y, params = draw_problem(seed, N, m, d1, d2, g)
    theta = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    expected = autograd.grad(autodiff_loss)(theta, X, y, AUTODIFF_ACTIVATIONS[name])
    grads = mlp.backward(X, y, params, g)
    for k in mlp.PARAM_NAMES:
        assert np.shape(grads[k]) == np.shape(params[k]), k
        assert relative_error(grads[k], expected[k]) < AUTODIFF_TOL, k


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=10, deadline=None)
@given(shape=shapes)
@example(shape=(105162, 6, 3, 1, 1))  # the tiny ReLU gradient above
def test_backward_matches_central_differences(name, shape):
    """Does backward agree with central differences of the loss, parameter by parameter?"""
    seed, N, m, d1, d2 = shape
    g = ACTIVATIONS[name]
    X, y, params = draw_problem(seed, N, m, d1, d2, g)
    grads = mlp.backward(X, y, params, g)
    loss = mlp.mse_loss(mlp.forward(X, params, g)[0], y)
    for k in mlp.PARAM_NAMES:

        def loss_of(value, k=k):
            return mlp.mse_loss(mlp.forward(X, {**params, k: value}, g)[0], y)

        numeric = numerical_gradient(loss_of, params[k])
        scale = np.max(np.abs(grads[k])) + np.max(np.abs(numeric))
        worst = np.max(np.abs(grads[k] - numeric))
        assert worst <= FD_TOL * scale + FD_ROUNDOFF * (1 + abs(loss)), (k, worst, scale)


def test_layer_functions_compose_into_backward():
    """Do grad_output, grad_layer3/2/1 chain into exactly what backward returns?"""
    rng = np.random.default_rng(1)
    params = mlp.init_params(4, 3, 2, rng)
    X, y = rng.normal(size=(7, 4)), rng.normal(size=7)
    y_hat, cache = mlp.forward(X, params, tanh)
    delta3 = mlp.grad_output(y_hat, y)
    dW3, db3 = mlp.grad_layer3(delta3, cache)
    dW2, db2, delta2 = mlp.grad_layer2(delta3, cache, params, tanh)
    dW1, db1, delta1 = mlp.grad_layer1(delta2, X, cache, params, tanh)
    assert delta3.shape == (7,) and delta2.shape == (7, 2) and delta1.shape == (7, 3)
    grads = mlp.backward(X, y, params, tanh)
    for k, v in {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}.items():
        np.testing.assert_array_equal(grads[k], v)


def test_forward_follows_the_contract_shapes():
    """Does forward return y_hat (N,) and a cache with Z1, H1 (N, d1) and Z2, H2 (N, d2)?"""
    rng = np.random.default_rng(2)
    params = mlp.init_params(5, 3, 4, rng)
    y_hat, cache = mlp.forward(rng.normal(size=(6, 5)), params, SMOOTH_ACTIVATIONS["softplus"])
    assert y_hat.shape == (6,)
    assert {k: v.shape for k, v in cache.items()} == {
        "Z1": (6, 3),
        "H1": (6, 3),
        "Z2": (6, 4),
        "H2": (6, 4),
    }


def test_mse_loss_is_the_mean_not_the_sum():
    """Is the loss (1/N) sum (y - y_hat)^2, so duplicating the batch leaves it unchanged?"""
    y_hat, y = np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0])
    assert mlp.mse_loss(y_hat, y) == pytest.approx(10.0 / 3.0)
    assert mlp.mse_loss(np.tile(y_hat, 2), np.tile(y, 2)) == pytest.approx(10.0 / 3.0)
