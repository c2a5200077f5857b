"""The activations the MLP notebook provides, each an object with ``g.f`` and ``g.df``.

All four are 1-Lipschitz: ``|g(a) - g(b)| <= |a - b|``, so ``|g'| <= 1`` wherever the derivative
exists. The grader also uses softplus, ``log(1 + e^z)``; it is not provided here because its
derivative is the logistic sigmoid, which the other notebook grades (overflow-free), so any
code for it would hand out that answer. A function that calls only ``g.f`` and ``g.df`` works
for softplus too.
"""

import numpy as np

#: The slope of leaky ReLU for negative inputs.
LEAKY_SLOPE = 0.1


class Activation:
    """An elementwise activation: ``g.f(Z)`` is g(Z) and ``g.df(Z)`` its derivative g'(Z).

    Parameters
    ----------
    name : str
    f, df : callable
        ``(any shape) -> (same shape)``, elementwise.
    """

    def __init__(self, name, f, df):
        self.name, self.f, self.df = name, f, df

    def __repr__(self):
        return f"Activation({self.name!r})"


def _array(Z):
    return np.asarray(Z, dtype=float)


relu = Activation(
    "relu",
    lambda Z: np.maximum(_array(Z), 0.0),
    # g'(0) = 0 by the course's convention: any value in [0, 1] is a valid subgradient there.
    lambda Z: (_array(Z) > 0).astype(float),
)
leaky_relu = Activation(
    "leaky_relu",
    lambda Z: np.where(_array(Z) > 0, _array(Z), LEAKY_SLOPE * _array(Z)),
    lambda Z: np.where(_array(Z) > 0, 1.0, LEAKY_SLOPE),
)
tanh = Activation(
    "tanh",
    lambda Z: np.tanh(_array(Z)),
    lambda Z: 1.0 - np.tanh(_array(Z)) ** 2,
)
identity = Activation(
    "identity",
    lambda Z: np.array(Z, dtype=float),
    lambda Z: np.ones_like(_array(Z)),
)
ACTIVATIONS = [relu, leaky_relu, tanh, identity]
