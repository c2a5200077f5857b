"""The course's 1-Lipschitz activations, each an object with ``f`` and ``df``.

Every activation here satisfies ``|g(a) - g(b)| <= |a - b|``, so ``|g'| <= 1`` wherever the
derivative exists. Student code receives one of these objects as ``g`` and must call only
``g.f`` and ``g.df``; the grader passes every one of them, so code that hard-codes ``tanh``
loses points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "SMOOTH_ACTIVATIONS",
    "identity",
    "leaky_relu",
    "relu",
    "softplus",
    "tanh",
]

LEAKY_SLOPE = 0.1


@dataclass(frozen=True)
class Activation:
    """An elementwise activation and its derivative.

    Attributes
    ----------
    name : str
        Short name used in feedback and figures.
    f : callable
        ``f(Z) -> (same shape as Z)``, the activation applied elementwise.
    df : callable
        ``df(Z) -> (same shape as Z)``, its derivative applied elementwise.
    kinks : tuple of float
        Inputs where ``f`` is not differentiable (empty for smooth activations). Finite
        differences straddling a kink measure a secant, not ``df``, so checks avoid them.
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    df: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    kinks: tuple[float, ...] = ()

    @property
    def smooth(self) -> bool:
        """Whether ``f`` is differentiable everywhere."""
        return not self.kinks

    def __call__(self, Z):
        return self.f(Z)


def _as_float(Z) -> np.ndarray:
    return np.asarray(Z, dtype=np.float64)


def _identity(Z):
    return _as_float(Z).copy()


def _ones(Z):
    return np.ones_like(_as_float(Z))


def _relu(Z):
    return np.maximum(_as_float(Z), 0.0)


def _step(Z):
    # df(0) = 0 by the course's convention (any value in [0, 1] is a valid subgradient).
    return (_as_float(Z) > 0).astype(np.float64)


def _leaky_relu(Z):
    Z = _as_float(Z)
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z)


def _leaky_step(Z):
    return np.where(_as_float(Z) > 0, 1.0, LEAKY_SLOPE)


def _tanh(Z):
    return np.tanh(_as_float(Z))


def _dtanh(Z):
    return 1.0 - np.tanh(_as_float(Z)) ** 2


def _softplus(Z):
    # log(1 + e^z) written so that large |z| neither overflows nor loses precision.
    return np.logaddexp(0.0, _as_float(Z))


def _sigmoid(Z):
    Z = _as_float(Z)
    # Branch on the sign so exp never sees a large positive argument.
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))


identity = Activation("identity", f=_identity, df=_ones)
relu = Activation("relu", f=_relu, df=_step, kinks=(0.0,))
leaky_relu = Activation("leaky_relu", f=_leaky_relu, df=_leaky_step, kinks=(0.0,))
tanh = Activation("tanh", f=_tanh, df=_dtanh)
softplus = Activation("softplus", f=_softplus, df=_sigmoid)

ACTIVATIONS: dict[str, Activation] = {
    g.name: g for g in (relu, leaky_relu, tanh, softplus, identity)
}
SMOOTH_ACTIVATIONS: dict[str, Activation] = {n: g for n, g in ACTIVATIONS.items() if g.smooth}
