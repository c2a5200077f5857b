"""Trusted reference: forward pass and backpropagation of the course's 3-layer MLP.

Row-major batches as in COURSE.md: ``Z1 = X @ W1 + b1``, ``H1 = g(Z1)``,
``Z2 = H1 @ W2 + b2``, ``H2 = g(Z2)``, ``y_hat = H2 @ W3 + b3``, and the mean squared error
``L = (1/N) sum_n (y_n - y_hat_n)^2``. Every function here is graded in the exercises under
the same name and signature; the grader feeds student parts with upstream values from here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PARAM_NAMES",
    "backward",
    "forward",
    "grad_layer1",
    "grad_layer2",
    "grad_layer3",
    "grad_output",
    "init_params",
    "mse_loss",
]

PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def init_params(m, d1, d2, rng=None, scale=None):
    """Draw MLP parameters with the contract's shapes.

    Parameters
    ----------
    m, d1, d2 : int
        Input width and the two hidden widths.
    rng : numpy.random.Generator, optional
        Source of randomness; a fresh default generator when omitted.
    scale : float, optional
        Standard deviation of the weights; ``1/sqrt(fan_in)`` per layer when omitted, which keeps
        pre-activations of order one so every activation is exercised away from saturation.

    Returns
    -------
    params : dict
        ``W1 : (m, d1)``, ``b1 : (d1,)``, ``W2 : (d1, d2)``, ``b2 : (d2,)``, ``W3 : (d2,)``,
        ``b3 : float``.
    """
    rng = np.random.default_rng() if rng is None else rng

    def std(fan_in):
        return scale if scale is not None else 1.0 / np.sqrt(fan_in)

    return {
        "W1": rng.normal(0.0, std(m), (m, d1)),
        "b1": rng.normal(0.0, 0.1, d1),
        "W2": rng.normal(0.0, std(d1), (d1, d2)),
        "b2": rng.normal(0.0, 0.1, d2),
        "W3": rng.normal(0.0, std(d2), d2),
        "b3": float(rng.normal(0.0, 0.1)),
    }


def forward(X, params, g):
    """Forward pass of the 3-layer MLP on a batch.

    Parameters
    ----------
    X : (N, m)
        One sample per row.
    params : dict
        ``W1 : (m, d1)``, ``b1 : (d1,)``, ``W2 : (d1, d2)``, ``b2 : (d2,)``, ``W3 : (d2,)``,
        ``b3 : scalar``.
    g : Activation
        Elementwise activation with ``g.f`` and ``g.df``.

    Returns
    -------
    y_hat : (N,)
        The network's predictions.
    cache : dict
        ``Z1, H1 : (N, d1)`` and ``Z2, H2 : (N, d2)``, kept for the backward pass.
    """
    X = np.asarray(X, dtype=np.float64)
    Z1 = X @ params["W1"] + params["b1"]
    H1 = g.f(Z1)
    Z2 = H1 @ params["W2"] + params["b2"]
    H2 = g.f(Z2)
    y_hat = H2 @ params["W3"] + params["b3"]
    return y_hat, {"Z1": Z1, "H1": H1, "Z2": Z2, "H2": H2}


def mse_loss(y_hat, y):
    """Mean squared error ``(1/N) sum_n (y_n - y_hat_n)^2``.

    Parameters
    ----------
    y_hat, y : (N,)

    Returns
    -------
    float
    """
    r = np.asarray(y_hat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(r**2))


def grad_output(y_hat, y):
    """Backpropagated error at the output, ``delta3 = dL/dy_hat = (2/N)(y_hat - y)``.

    Parameters
    ----------
    y_hat, y : (N,)

    Returns
    -------
    delta3 : (N,)
    """
    y_hat = np.asarray(y_hat, dtype=np.float64)
    # The 1/N comes from the mean in the loss; the per-sample derivation of the seed drops it.
    return 2.0 * (y_hat - np.asarray(y, dtype=np.float64)) / y_hat.shape[0]


def grad_layer3(delta3, cache):
    """Gradients of the output layer.

    Parameters
    ----------
    delta3 : (N,)
        ``dL/dy_hat``.
    cache : dict
        From :func:`forward`; uses ``H2 : (N, d2)``.

    Returns
    -------
    dW3 : (d2,)
        ``H2.T @ delta3``.
    db3 : float
        ``sum_n delta3_n``.
    """
    delta3 = np.asarray(delta3, dtype=np.float64)
    return cache["H2"].T @ delta3, float(np.sum(delta3))


def grad_layer2(delta3, cache, params, g):
    """Gradients of the second hidden layer and the error passed below it.

    Parameters
    ----------
    delta3 : (N,)
        ``dL/dy_hat``.
    cache : dict
        From :func:`forward`; uses ``H1 : (N, d1)`` and ``Z2 : (N, d2)``.
    params : dict
        Uses ``W3 : (d2,)``.
    g : Activation

    Returns
    -------
    dW2 : (d1, d2)
        ``H1.T @ delta2``.
    db2 : (d2,)
        ``delta2`` summed over the batch.
    delta2 : (N, d2)
        ``dL/dZ2 = outer(delta3, W3) * g'(Z2)``.
    """
    delta3 = np.asarray(delta3, dtype=np.float64)
    delta2 = np.outer(delta3, params["W3"]) * g.df(cache["Z2"])
    return cache["H1"].T @ delta2, delta2.sum(axis=0), delta2


def grad_layer1(delta2, X, cache, params, g):
    """Gradients of the first hidden layer and the error at its pre-activation.

    Parameters
    ----------
    delta2 : (N, d2)
        ``dL/dZ2``.
    X : (N, m)
    cache : dict
        From :func:`forward`; uses ``Z1 : (N, d1)``.
    params : dict
        Uses ``W2 : (d1, d2)``.
    g : Activation

    Returns
    -------
    dW1 : (m, d1)
        ``X.T @ delta1``.
    db1 : (d1,)
        ``delta1`` summed over the batch.
    delta1 : (N, d1)
        ``dL/dZ1 = (delta2 @ W2.T) * g'(Z1)``.
    """
    X = np.asarray(X, dtype=np.float64)
    delta1 = (np.asarray(delta2, dtype=np.float64) @ params["W2"].T) * g.df(cache["Z1"])
    return X.T @ delta1, delta1.sum(axis=0), delta1


def backward(X, y, params, g):
    """All gradients of the mean squared error with respect to the parameters.

    Parameters
    ----------
    X : (N, m)
    y : (N,)
    params : dict
        As in :func:`forward`.
    g : Activation

    Returns
    -------
    grads : dict
        ``W1 : (m, d1)``, ``b1 : (d1,)``, ``W2 : (d1, d2)``, ``b2 : (d2,)``, ``W3 : (d2,)``,
        ``b3 : float``: each gradient has the shape of its parameter.
    """
    y_hat, cache = forward(X, params, g)
    return backward_from_forward(X, y, y_hat, cache, params, g)


def backward_from_forward(X, y, y_hat, cache, params, g):
    """:func:`backward` from a forward pass already made (not a graded function: the grader
    draws thousands of cases and has the forward pass of each at hand).

    Parameters
    ----------
    X : (N, m)
    y, y_hat : (N,)
    cache : dict
        From :func:`forward`.
    params : dict
    g : Activation

    Returns
    -------
    grads : dict
        As :func:`backward`.
    """
    delta3 = grad_output(y_hat, y)
    dW3, db3 = grad_layer3(delta3, cache)
    dW2, db2, delta2 = grad_layer2(delta3, cache, params, g)
    dW1, db1, _ = grad_layer1(delta2, X, cache, params, g)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}
