"""Gradients by hand: trusted references, finite-difference checks and the course's autograder.

The public API: the activations, the reference implementations of the COURSE.md contract, and
the finite-difference toolkit.
"""

from . import reference
from .activations import (
    ACTIVATIONS,
    SMOOTH_ACTIVATIONS,
    Activation,
    identity,
    leaky_relu,
    relu,
    softplus,
    tanh,
)
from .finite_differences import (
    CENTRAL_STEP,
    FORWARD_STEP,
    DirectionalCheck,
    directional_check,
    directional_derivative,
    forward_difference_gradient,
    hessian_vector_check,
    kink_margin,
    numerical_gradient,
    numerical_hessian,
    relative_error,
)

__all__ = [
    "ACTIVATIONS",
    "CENTRAL_STEP",
    "FORWARD_STEP",
    "SMOOTH_ACTIVATIONS",
    "Activation",
    "DirectionalCheck",
    "directional_check",
    "directional_derivative",
    "forward_difference_gradient",
    "hessian_vector_check",
    "identity",
    "kink_margin",
    "leaky_relu",
    "numerical_gradient",
    "numerical_hessian",
    "reference",
    "relative_error",
    "relu",
    "softplus",
    "tanh",
]

# The grading API: the contract, the checks of every part and nbgrader's in-kernel hook. (The
# batch grader `autograder.batch`, the gradebook writer and the feedback pages are heavier
# imports: import those modules directly.)
from .checks import PARTS, check_function, contract, format_part_text, register  # noqa: E402
from .nbgrader_hook import hidden_test  # noqa: E402

__all__ += ["PARTS", "check_function", "contract", "format_part_text", "hidden_test", "register"]
