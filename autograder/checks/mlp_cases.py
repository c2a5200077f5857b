"""The MLP settings every check of ``mlp_backprop`` draws from.

Several shapes including ``N = 1``, widths of 1, non-square and square layers, every
activation; inputs kept away from the activations' kinks; the reference's forward and backward
values; and the finite-difference witnesses (the loss as a function of one parameter or one
pre-activation, the others fixed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import reference as ref
from ..activations import ACTIVATIONS
from ..finite_differences import kink_margin
from .convert import Malformed

__all__ = [
    "CASE_ACTIVATIONS",
    "KINK_MARGIN",
    "SHAPES",
    "as_array",
    "copy_cache",
    "copy_params",
    "expect_tuple",
    "loss_of",
    "loss_of_z1",
    "loss_of_z2",
    "scenarios",
]

#: ``(N, m, d1, d2)`` of the cases: a typical batch, a single sample, widths of one, square
#: layers (where ``X`` and ``H1``, or ``W2`` and ``W2.T``, could be confused without a shape
#: error, so such slips show in the numbers), and tall/wide layers.
SHAPES = [(5, 3, 4, 2), (1, 2, 3, 3), (4, 1, 1, 1), (6, 3, 3, 3), (3, 4, 2, 5), (7, 2, 5, 1)]
#: Activation per case, in the order of :data:`SHAPES`: every activation at least once, ReLU
#: (the one with a kink and a zero slope) twice.
CASE_ACTIVATIONS = ["tanh", "relu", "softplus", "leaky_relu", "identity", "relu"]
#: Pre-activations are kept at least this far from an activation's kink, so a central
#: difference with step 1e-6 along a unit direction never straddles it (the inputs move a
#: pre-activation by at most ~1e-5).
KINK_MARGIN = 1e-3


def _wake_dead_units(X, params, g) -> None:
    """Flip the sign of every unit of a kinked activation that is dead on the whole batch.

    A dead unit has zero gradients, a weak test. Negating a unit's weights and bias negates
    its pre-activations, so the unit is then active on every sample; the weights' law is
    symmetric, so the draw stays as random as before. (Redrawing until every unit lives would
    take about 2**(d1 + d2) draws for a batch of one sample.)
    """
    if g.smooth:
        return
    for W, b, inputs in (
        ("W1", "b1", lambda: X),
        ("W2", "b2", lambda: g.f(X @ params["W1"] + params["b1"])),
    ):
        dead = ~((inputs() @ params[W] + params[b]) > 0).any(axis=0)
        params[W][:, dead] *= -1.0
        params[b][dead] *= -1.0


def _draw(rng, N, m, d1, d2, g):
    """Inputs, labels and parameters whose pre-activations stay away from ``g``'s kinks, with
    every unit of a kinked activation active on some sample; and the reference's forward pass
    on them (``y_hat``, ``cache``), computed to check the kinks anyway."""
    for _ in range(1000):
        X = rng.normal(0.0, 1.0, (N, m))
        y = rng.normal(0.0, 1.0, N)
        params = ref.init_params(m, d1, d2, rng)
        _wake_dead_units(X, params, g)
        y_hat, cache = ref.forward(X, params, g)
        if kink_margin(g, cache["Z1"], cache["Z2"]) >= KINK_MARGIN:
            return X, y, params, y_hat, cache
    raise RuntimeError("could not draw inputs away from the kink")  # pragma: no cover


def scenarios(rng: np.random.Generator) -> list[dict[str, Any]]:
    """The MLP settings all parts draw from, with the reference's forward and backward values.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of dict
        Keys ``X (N, m)``, ``y (N,)``, ``params``, ``g`` (the activation object), ``N``,
        ``label``, ``y_hat (N,)``, ``cache``, ``delta3 (N,)``, ``delta2 (N, d2)``,
        ``grads``.
    """
    out = []
    for (N, m, d1, d2), gname in zip(SHAPES, CASE_ACTIVATIONS, strict=True):
        g = ACTIVATIONS[gname]
        X, y, params, y_hat, cache = _draw(rng, N, m, d1, d2, g)
        delta3 = ref.grad_output(y_hat, y)
        _, _, delta2 = ref.grad_layer2(delta3, cache, params, g)
        out.append(
            {
                "X": X,
                "y": y,
                "params": params,
                "g": g,
                "N": N,
                "label": f"N={N}, m={m}, d1={d1}, d2={d2}, g={gname}",
                "y_hat": y_hat,
                "cache": cache,
                "delta3": delta3,
                "delta2": delta2,
                "grads": ref.mlp.backward_from_forward(X, y, y_hat, cache, params, g),
            }
        )
    return out


def copy_params(params):
    return {
        k: (np.array(v, dtype=np.float64) if k != "b3" else float(v)) for k, v in params.items()
    }


def copy_cache(cache):
    return {k: np.array(v, dtype=np.float64) for k, v in cache.items()}


def loss_of(s, name):
    """``L`` as a function of one parameter, the others fixed: a finite-difference witness."""

    def f(theta):
        params = dict(s["params"], **{name: theta if name != "b3" else float(theta)})
        return ref.mse_loss(ref.forward(s["X"], params, s["g"])[0], s["y"])

    theta = np.array(s["params"][name], dtype=np.float64)
    return f, theta


def loss_of_z2(s):
    p, g = s["params"], s["g"]

    def f(Z2):
        return ref.mse_loss(g.f(Z2) @ p["W3"] + p["b3"], s["y"])

    return f, np.array(s["cache"]["Z2"])


def loss_of_z1(s):
    p, g = s["params"], s["g"]

    def f(Z1):
        H2 = g.f(g.f(Z1) @ p["W2"] + p["b2"])
        return ref.mse_loss(H2 @ p["W3"] + p["b3"], s["y"])

    return f, np.array(s["cache"]["Z1"])


def expect_tuple(value, n, names):
    if not isinstance(value, tuple) or len(value) != n:
        got = f"a tuple of {len(value)}" if isinstance(value, tuple) else "a single array"
        raise Malformed(f"returned {got}; expected a tuple ({', '.join(names)})")
    return value


def as_array(value, name):
    if isinstance(value, dict):
        raise Malformed(f"`{name}` is a dict, expected an array")
    if isinstance(value, tuple):
        try:
            return np.array(value, dtype=np.float64)
        except ValueError as exc:
            raise Malformed(f"`{name}` is a ragged sequence, expected an array") from exc
    return value
