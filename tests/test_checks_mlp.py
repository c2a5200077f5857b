"""The MLP parts' checks: full marks for correct code, the right diagnosis for each slip."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import reference as ref
from autograder.activations import ACTIVATIONS
from autograder.checks import PARTS, check_function, draw_cases
from autograder.checks.mlp import MLP_PARTS
from autograder.checks.mlp_cases import KINK_MARGIN
from autograder.finite_differences import kink_margin

MLP_NAMES = [p.name for p in MLP_PARTS]


@pytest.mark.parametrize("seed", [0, 1, 12345])
@pytest.mark.parametrize("part", MLP_NAMES)
def test_reference_scores_full_marks(part, seed):
    """Does the trusted reference earn every point of every MLP part, whatever the seed?"""
    result = check_function(part, getattr(ref, part), seed)
    assert result.score == PARTS[part].points, result.message
    assert not result.diagnoses


def test_cases_cover_shapes_and_activations():
    """Do the cases include N = 1, widths of 1, square and non-square layers, every activation?"""
    cases = draw_cases("backward", 0)
    shapes = [(c.context["X"].shape, c.context["params"]["W2"].shape) for c in cases]
    assert any(x[0] == 1 for x, _ in shapes)
    assert any(w == (1, 1) for _, w in shapes)
    assert any(w[0] == w[1] > 1 for _, w in shapes)
    assert any(w[0] != w[1] for _, w in shapes)
    assert {c.context["g"].name for c in cases} == set(ACTIVATIONS)


def test_relu_cases_stay_away_from_the_kink():
    """Are ReLU pre-activations far enough from 0 for central differences to be valid?"""
    for seed in range(20):
        for case in draw_cases("grad_layer1", seed):
            g, cache = case.context["g"], case.context["cache"]
            assert kink_margin(g, cache["Z1"], cache["Z2"]) >= KINK_MARGIN


def test_cases_are_reproducible_from_the_seed():
    """Does the same seed give the same hidden inputs, and another seed different ones?"""
    a, b, c = (draw_cases("forward", s) for s in (7, 7, 8))
    assert all(np.array_equal(x.call.args[0], y.call.args[0]) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].call.args[0], c[0].call.args[0])


# ------------------------------------------------------------------ correct, written differently


def forward_einsum(X, params, g):
    Z1 = np.einsum("nm,md->nd", X, params["W1"]) + params["b1"]
    H1 = g.f(Z1)
    Z2 = np.einsum("nd,de->ne", H1, params["W2"]) + params["b2"]
    H2 = g.f(Z2)
    return np.einsum("ne,e->n", H2, params["W3"]) + params["b3"], {
        "Z1": Z1,
        "H1": H1,
        "Z2": Z2,
        "H2": H2,
    }


def mse_loss_zero_d(y_hat, y):
    return np.array(np.mean((y - y_hat) ** 2))  # a 0-d array for a scalar


def grad_output_list(y_hat, y):
    return [2 * (a - b) / len(y) for a, b in zip(y_hat, y, strict=True)]  # a list, not an array


def grad_layer3_loop(delta3, cache):
    dW3 = np.zeros(cache["H2"].shape[1])
    db3 = np.array(0.0)
    for n in range(len(delta3)):
        dW3 = dW3 + delta3[n] * cache["H2"][n]
        db3 = db3 + delta3[n]
    return dW3, db3


def grad_layer2_einsum(delta3, cache, params, g):
    delta2 = np.einsum("n,e->ne", delta3, params["W3"]) * g.df(cache["Z2"])
    return np.einsum("nd,ne->de", cache["H1"], delta2), delta2.sum(0), delta2


def grad_layer1_loop(delta2, X, cache, params, g):
    delta1 = np.array(
        [(params["W2"] @ d) * g.df(z) for d, z in zip(delta2, cache["Z1"], strict=True)]
    )
    return sum(np.outer(x, d) for x, d in zip(X, delta1, strict=True)), delta1.sum(0), delta1


def backward_inline(X, y, params, g):
    return {k: np.asarray(v) for k, v in ref.backward(X, y, params, g).items()}


@pytest.mark.parametrize(
    "part, fn",
    [
        ("forward", forward_einsum),
        ("mse_loss", mse_loss_zero_d),
        ("grad_output", grad_output_list),
        ("grad_layer3", grad_layer3_loop),
        ("grad_layer2", grad_layer2_einsum),
        ("grad_layer1", grad_layer1_loop),
        ("backward", backward_inline),
    ],
)
def test_correct_code_written_differently_scores_full_marks(part, fn):
    """Do loops, einsum, lists and 0-d arrays earn full marks when the numbers are right?"""
    result = check_function(part, fn, seed=3)
    assert result.score == PARTS[part].points, result.message


# ------------------------------------------------------------------------------ planted slips


def grad_output_missing_n(y_hat, y):
    return 2 * (y_hat - y)


def grad_output_missing_2(y_hat, y):
    return (y_hat - y) / len(y)


def grad_output_flipped(y_hat, y):
    return 2 * (y - y_hat) / len(y)


def mse_loss_sum(y_hat, y):
    return float(np.sum((y - y_hat) ** 2))


def grad_layer3_not_summed(delta3, cache):
    return cache["H2"].T @ delta3, delta3


def grad_layer2_transposed(delta3, cache, params, g):
    delta2 = np.outer(delta3, params["W3"]) * g.df(cache["Z2"])
    return delta2.T @ cache["H1"], delta2.sum(0), delta2


def grad_layer2_g_for_dg(delta3, cache, params, g):
    delta2 = np.outer(delta3, params["W3"]) * g.f(cache["Z2"])
    return cache["H1"].T @ delta2, delta2.sum(0), delta2


def grad_layer2_bias_mean(delta3, cache, params, g):
    dW2, _, delta2 = ref.grad_layer2(delta3, cache, params, g)
    return dW2, delta2.mean(0), delta2


def grad_layer1_untransposed(delta2, X, cache, params, g):
    delta1 = (delta2 @ params["W2"]) * g.df(cache["Z1"])
    return X.T @ delta1, delta1.sum(0), delta1


def grad_layer1_bias_not_summed(delta2, X, cache, params, g):
    dW1, _, delta1 = ref.grad_layer1(delta2, X, cache, params, g)
    return dW1, delta1, delta1


def forward_second_layer_x(X, params, g):
    Z1 = X @ params["W1"] + params["b1"]
    Z2 = X @ params["W2"] + params["b2"]
    H2 = g.f(Z2)
    return H2 @ params["W3"] + params["b3"], {"Z1": Z1, "H1": g.f(Z1), "Z2": Z2, "H2": H2}


def backward_missing_n(X, y, params, g):
    return {k: v * len(y) for k, v in ref.backward(X, y, params, g).items()}


@pytest.mark.parametrize(
    "part, fn, diagnosis, score",
    [
        ("grad_output", grad_output_missing_n, "missing-1/N", 0),
        ("grad_output", grad_output_missing_2, "missing-factor-2", 0),
        ("grad_output", grad_output_flipped, "flipped-sign", 0),
        ("mse_loss", mse_loss_sum, "missing-1/N", 0),
        ("grad_layer3", grad_layer3_not_summed, "bias-not-summed", 1),
        ("grad_layer2", grad_layer2_transposed, "transposed", 2),
        ("grad_layer2", grad_layer2_g_for_dg, "g-for-dg", 0),
        ("grad_layer2", grad_layer2_bias_mean, "extra-1/N", 2),
        ("grad_layer1", grad_layer1_untransposed, "W2-not-transposed", 0),
        ("grad_layer1", grad_layer1_bias_not_summed, "bias-not-summed", 2),
        ("forward", forward_second_layer_x, "second-layer-takes-X", 0),
        ("backward", backward_missing_n, "missing-1/N", 0),
    ],
)
def test_planted_slip_is_diagnosed(part, fn, diagnosis, score):
    """Does a classic slip lose the right points and get named in the feedback?"""
    result = check_function(part, fn, seed=5)
    assert result.score == score, result.message
    assert diagnosis in [name for name, _ in result.diagnoses], result.diagnoses


def test_untouched_stub_scores_zero_without_crashing():
    """Does a `raise NotImplementedError()` body give 0 points and a plain message?"""

    def stub(*args, **kwargs):
        raise NotImplementedError()

    for part in MLP_NAMES:
        result = check_function(part, stub)
        assert result.score == 0
        assert "NotImplementedError" in result.error
        assert "not-implemented" in result.flags


@pytest.mark.parametrize("value", [None, "text", (1.0, 2.0, 3.0, 4.0), {"W1": 1}])
def test_malformed_return_values_score_zero(value):
    """Do None, strings, wrong tuples and partial dicts earn nothing and say why?"""
    result = check_function("grad_layer2", lambda *a: value)
    assert result.score == 0
    assert result.error


def test_missing_function_scores_zero():
    """Does a notebook without the function get 0 with "not defined"?"""
    result = check_function("forward", None)
    assert result.score == 0
    assert "not defined" in result.error
