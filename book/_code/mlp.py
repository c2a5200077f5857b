# The 3-layer MLP of the book, one sample at a time, in the column-vector notation of the
# derivation. (Loaded into a hidden cell by the chapters that need it; the backpropagation
# chapter builds the same code step by step in view.) The batch, row-major form the
# exercises ask for is deliberately not here: turning these loops into matrix products is
# the exercise.
# ruff: noqa: F821 (central_differences comes from common.py, loaded into the chapter first)
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Activation:
    """An elementwise activation ``f`` and its derivative ``df``.

    Attributes
    ----------
    name : str
    f, df : callable
        Array in, array of the same shape out.
    kinks : tuple of float
        Inputs where ``f`` has no derivative.
    """

    name: str
    f: object = field(repr=False)
    df: object = field(repr=False)
    kinks: tuple = ()


def _logistic(a):
    # exp(-a) overflows to inf for a < -709; 1 / (1 + inf) is then exactly 0, which is right.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


relu = Activation("relu", lambda a: np.maximum(a, 0.0), lambda a: (a > 0) * 1.0, (0.0,))
leaky_relu = Activation(
    "leaky_relu",
    lambda a: np.where(a > 0, a, 0.1 * a),
    lambda a: np.where(a > 0, 1.0, 0.1),
    (0.0,),
)
tanh = Activation("tanh", np.tanh, lambda a: 1.0 - np.tanh(a) ** 2)
softplus = Activation("softplus", lambda a: np.logaddexp(0.0, a), _logistic)
identity = Activation("identity", lambda a: 1.0 * a, lambda a: np.ones_like(a, dtype=float))
ACTIVATIONS = {g.name: g for g in (relu, leaky_relu, tanh, softplus, identity)}
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def init_params(m, d1, d2, rng, scale=None):
    """Random parameters with the course's shapes.

    Parameters
    ----------
    m, d1, d2 : int
        Input width and the two hidden widths.
    rng : numpy.random.Generator
    scale : float, optional
        Standard deviation of the weights; ``1/sqrt(fan_in)`` when omitted.

    Returns
    -------
    dict
        ``W1 (m, d1)``, ``b1 (d1,)``, ``W2 (d1, d2)``, ``b2 (d2,)``, ``W3 (d2,)``,
        ``b3`` a float.
    """

    def std(fan_in):
        return 1.0 / np.sqrt(fan_in) if scale is None else scale

    return {
        "W1": rng.normal(0.0, std(m), (m, d1)),
        "b1": rng.normal(0.0, 0.1, d1),
        "W2": rng.normal(0.0, std(d1), (d1, d2)),
        "b2": rng.normal(0.0, 0.1, d2),
        "W3": rng.normal(0.0, std(d2), d2),
        "b3": float(rng.normal(0.0, 0.1)),
    }


def run_one(x, params, g):
    """The network on one sample, keeping what the backward pass needs.

    Parameters
    ----------
    x : (m,)
        One sample, the column vector of the derivation.
    params : dict
    g : Activation

    Returns
    -------
    y_hat : float
    kept : dict
        ``z1, h1 (d1,)`` and ``z2, h2 (d2,)``.
    """
    z1 = params["W1"].T @ x + params["b1"]
    h1 = g.f(z1)
    z2 = params["W2"].T @ h1 + params["b2"]
    h2 = g.f(z2)
    y_hat = float(params["W3"] @ h2 + params["b3"])
    return y_hat, {"z1": z1, "h1": h1, "z2": z2, "h2": h2}


def backprop_one(x, y, params, g):
    """Gradients of one sample's own loss ``l = (y - y_hat)^2``, by the chain rule.

    Parameters
    ----------
    x : (m,)
    y : float
    params : dict
    g : Activation

    Returns
    -------
    grads : dict
        ``dl/dW1 (m, d1)``, ..., ``dl/db3`` (float): each the shape of its parameter.
    errors : dict
        The per-sample errors ``e3 = dl/dy_hat`` (float), ``e2 = dl/dz2 (d2,)``,
        ``e1 = dl/dz1 (d1,)``.
    """
    y_hat, kept = run_one(x, params, g)
    e3 = 2.0 * (y_hat - y)
    e2 = g.df(kept["z2"]) * (params["W3"] * e3)
    e1 = g.df(kept["z1"]) * (params["W2"] @ e2)
    grads = {
        "W1": np.outer(x, e1),
        "b1": e1,
        "W2": np.outer(kept["h1"], e2),
        "b2": e2,
        "W3": e3 * kept["h2"],
        "b3": e3,
    }
    return grads, {"e3": e3, "e2": e2, "e1": e1}


def mse(params, X, y, g):
    """The batch loss ``L = (1/N) sum_n (y_n - y_hat_n)^2``, one sample at a time.

    Parameters
    ----------
    params : dict
    X : (N, m)
        One sample per row.
    y : (N,)
    g : Activation

    Returns
    -------
    float
    """
    squares = [(yn - run_one(xn, params, g)[0]) ** 2 for xn, yn in zip(X, y, strict=True)]
    return float(np.mean(squares))


def mean_gradient(X, y, params, g):
    """Gradients of the batch loss: the mean of the per-sample gradients.

    Parameters
    ----------
    X : (N, m)
    y : (N,)
    params : dict
    g : Activation

    Returns
    -------
    dict
        One array per parameter, each the shape of its parameter.
    """
    per_sample = [backprop_one(xn, yn, params, g)[0] for xn, yn in zip(X, y, strict=True)]
    return {k: np.mean([p[k] for p in per_sample], axis=0) for k in PARAM_NAMES}


def flatten(params):
    """All parameters in one vector, in the order of ``PARAM_NAMES``.

    Parameters
    ----------
    params : dict

    Returns
    -------
    theta : (P,)
    """
    return np.concatenate([np.ravel(params[k]) for k in PARAM_NAMES])


def unflatten(theta, like):
    """The inverse of :func:`flatten`.

    Parameters
    ----------
    theta : (P,)
    like : dict
        Parameters whose shapes to use.

    Returns
    -------
    dict
    """
    out, start = {}, 0
    for k in PARAM_NAMES:
        shape = np.shape(like[k])
        size = int(np.prod(shape))
        out[k] = theta[start : start + size].reshape(shape)
        start += size
    out["b3"] = float(out["b3"])
    return out


def numeric_gradients(X, y, params, g, h=1e-6):
    """Central differences of the batch loss with respect to every parameter.

    Parameters
    ----------
    X : (N, m)
    y : (N,)
    params : dict
    g : Activation
    h : float

    Returns
    -------
    dict
        Shaped like ``params``.
    """
    theta = flatten(params)
    numeric = central_differences(lambda t: mse(unflatten(t, params), X, y, g), theta, h)
    return unflatten(numeric, params)
