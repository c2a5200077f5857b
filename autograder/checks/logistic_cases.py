"""The data sets every check of ``logistic_hessian`` draws from.

A batch with a constant column playing the bias, one sample, one feature, more features than
samples (a singular Hessian, fine for everything but Newton), a larger batch; and, for
Newton's method, overlapping classes with a finite optimum that the reference reaches.
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from .convert import Malformed

__all__ = [
    "FIT_TOL",
    "LARGE_M",
    "LARGE_MARGIN",
    "NEWTON_SHAPES",
    "SHAPES",
    "curvature",
    "draw_data",
    "newton_scenarios",
    "one_array",
    "scenarios",
]

#: ``(N, m)`` for the loss, gradient and Hessian cases: a batch with a bias column, one
#: sample, one feature, more features than samples, a larger batch.
SHAPES = [(8, 3), (1, 2), (5, 1), (3, 5), (20, 4)]
#: ``(N, m)`` for Newton: enough samples for an invertible Hessian and a finite optimum.
NEWTON_SHAPES = [(30, 2), (40, 3), (60, 4)]
#: A fitted ``w`` must match the reference's optimum this closely: Newton converges
#: quadratically, so with the contract's ``tol=1e-10`` both land within ~1e-12 of the optimum;
#: stopping after a few steps misses by 1e-3 or more.
FIT_TOL = 1e-6
#: Features of the memory case of ``hessian_diagonal``: its m x m Hessian, 8 m^2 = 3.2 GB, does
#: not fit in the sandbox's 2 GiB, while the diagonal needs 3 m numbers.
LARGE_M = 20_000
#: ``|X w|`` of the "large" loss case: far beyond where ``sigmoid`` rounds to 0 or 1 (about
#: 37), where ``log(sigmoid(z))`` gives ``-inf`` unless the loss is written stably.
LARGE_MARGIN = 800.0


def draw_data(rng, N, m, bias=True):
    X = rng.normal(0.0, 1.0, (N, m))
    if bias and m > 1:
        X[:, 0] = 1.0
    w = rng.normal(0.0, 1.0, m)
    y = (rng.uniform(size=N) < ref.sigmoid(X @ w)).astype(np.float64)
    return X, y, rng.normal(0.0, 0.7, m)


def scenarios(rng):
    out = []
    for N, m in SHAPES:
        X, y, w = draw_data(rng, N, m)
        out.append({"X": X, "y": y, "w": w, "N": N, "label": f"N={N}, m={m}"})
    return out


def newton_scenarios(rng):
    out = []
    for N, m in NEWTON_SHAPES:
        for _ in range(1000):
            X, y, w = draw_data(rng, N, m)
            # Flip a fifth of the labels: overlapping classes make a finite optimum likely.
            flip = rng.uniform(size=N) < 0.2
            y = np.where(flip, 1.0 - y, y)
            try:
                with np.errstate(all="ignore"):
                    w_fit = ref.fit_newton(X, y)
            except np.linalg.LinAlgError:
                continue
            # A finite optimum exists (the data are not separable) and was reached.
            grad = ref.logistic_grad(w_fit, X, y)
            if (
                np.all(np.isfinite(w_fit))
                and np.max(np.abs(w_fit)) < 10
                and np.max(np.abs(grad)) < 1e-8
            ):
                break
        else:  # pragma: no cover - 1000 draws without a finite optimum
            raise RuntimeError("could not draw a non-separable data set")
        out.append({"X": X, "y": y, "w": 0.3 * w, "N": N, "label": f"N={N}, m={m}", "w_fit": w_fit})
    return out


def one_array(value, name):
    if isinstance(value, (tuple, dict)):
        raise Malformed(f"returned a tuple or dict; expected `{name}` as one array")
    return value


def curvature(s):
    p = ref.sigmoid(s["X"] @ s["w"])
    return p, p * (1.0 - p)
