"""Trusted reference implementations of every function in the COURSE.md exercise contract."""

from ..finite_differences import numerical_gradient, relative_error
from .logistic import (
    fit_newton,
    hessian_diagonal,
    logistic_grad,
    logistic_hessian,
    logistic_loss,
    newton_step,
    sigmoid,
)
from .mlp import (
    PARAM_NAMES,
    backward,
    forward,
    grad_layer1,
    grad_layer2,
    grad_layer3,
    grad_output,
    init_params,
    mse_loss,
)

__all__ = [
    "PARAM_NAMES",
    "backward",
    "fit_newton",
    "forward",
    "grad_layer1",
    "grad_layer2",
    "grad_layer3",
    "grad_output",
    "hessian_diagonal",
    "init_params",
    "logistic_grad",
    "logistic_hessian",
    "logistic_loss",
    "mse_loss",
    "newton_step",
    "numerical_gradient",
    "relative_error",
    "sigmoid",
]
