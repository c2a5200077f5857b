"""The self-checks of ``mlp_backprop.ipynb``: one check per graded function, and ``check``.

Each check draws its own small examples (``N, m, d1, d2 = 5, 3, 4, 2``, all different, so a
transposed or misplaced product shows in a shape), calls the student's function on them and
compares with exact values or with directional finite differences of the network as the
notebook defines it (see :mod:`.core` for what the checks may contain).
"""

import numpy as np

from .activations import identity, leaky_relu, relu, tanh
from .core import (
    _broadcast_shapes,
    _check_number,
    _check_shape,
    _CheckError,
    _close,
    _compare_gradient,
    _matmul_sizes,
    _run,
)
from .tools import _check_numerical_gradient, _check_relative_error

#: The sizes of the checks' examples: batch, inputs, first and second hidden layer.
_N, _M, _D1, _D2 = 5, 3, 4, 2
#: How far every pre-activation stays from ReLU's kink at 0, so that a central difference of
#: step 1e-6 never straddles it.
_KINK_MARGIN = 1e-3

#: Names of the arrays of the network, by the size of their last axis (for shape errors).
_INPUT_BY_SIZE = {_M: "X (N, m)", _D1: "H1 or Z1 (N, d1)", _D2: "H2 or Z2 (N, d2)"}
_WEIGHT_BY_SIZE = {_M: "W1 (m rows)", _D1: "W2 (d1 rows)", _D2: "W3 (d2 entries)"}


def _example(g, seed, m=_M):
    """A batch, targets, random parameters and the layer values of the network for ``g``.

    Returns
    -------
    dict
        ``X (N, m)``, ``y (N,)``, ``params``, ``Z1, H1 (N, d1)``, ``Z2, H2 (N, d2)``,
        ``y_hat (N,)``. Seeds whose pre-activations come within ``_KINK_MARGIN`` of 0 are
        skipped.
    """
    rng = np.random.default_rng(seed)
    while True:
        X, y = rng.normal(size=(_N, m)), rng.normal(size=_N)
        p = {
            "W1": rng.normal(size=(m, _D1)) / np.sqrt(m),
            "b1": 0.1 * rng.normal(size=_D1),
            "W2": rng.normal(size=(_D1, _D2)) / np.sqrt(_D1),
            "b2": 0.1 * rng.normal(size=_D2),
            "W3": rng.normal(size=_D2) / np.sqrt(_D2),
            "b3": float(0.1 * rng.normal()),
        }
        Z1 = X @ p["W1"] + p["b1"]
        Z2 = g.f(Z1) @ p["W2"] + p["b2"]
        if min(np.min(np.abs(Z1)), np.min(np.abs(Z2))) > _KINK_MARGIN:
            H2 = g.f(Z2)
            return {
                "X": X,
                "y": y,
                "params": p,
                "Z1": Z1,
                "H1": g.f(Z1),
                "Z2": Z2,
                "H2": H2,
                "y_hat": H2 @ p["W3"] + p["b3"],
            }


def _sizes_of(ex):
    p = ex["params"]
    return f"Here X is {ex['X'].shape}, W1 {p['W1'].shape}, W2 {p['W2'].shape}, W3 {p['W3'].shape}."


def _explain_forward_error(ex):
    """Reads numpy's shape errors in ``forward`` as a statement about the network."""

    def explain(error):
        sizes = _matmul_sizes(error)
        if sizes:
            rows, cols = sizes
            left = _INPUT_BY_SIZE.get(cols, f"an array with {cols} columns")
            right = _WEIGHT_BY_SIZE.get(rows, f"an array with {rows} rows")
            text = f"A matrix product multiplies {left} by {right}, and their sizes do not fit."
            if cols == _M and rows == _D1:
                text += " The second layer takes H1 = g.f(Z1), not X: Z2 = H1 @ W2 + b2."
            elif cols == _M and rows == _D2:
                text += " The output takes H2, not X: y_hat = H2 @ W3 + b3."
            elif cols == _D1 and rows == _M:
                text += " The second layer's weights are W2, not W1: Z2 = H1 @ W2 + b2."
            else:
                text += " Each layer multiplies the previous layer's output by its own weights."
            return text + " " + _sizes_of(ex)
        shapes = _broadcast_shapes(error)
        if shapes:
            return (
                f"Arrays of shapes {shapes} were combined elementwise: is a bias added to "
                "the wrong layer? b1 has d1 entries and goes with W1, b2 with W2. " + _sizes_of(ex)
            )
        return ""

    return explain


def _explain_backward_error(what, shapes):
    """Reads numpy's shape errors in a backward step, given the arrays' shapes (text)."""

    def explain(error):
        sizes, broadcast = _matmul_sizes(error), _broadcast_shapes(error)
        if sizes is None and broadcast is None:
            return ""
        return (
            f"Some factor of {what} has the wrong shape. {shapes} Write down the shape of "
            "every factor of the chain rule before multiplying."
        )

    return explain


# ------------------------------------------------------------- part 2: the forward pass, loss


def _check_forward(nb, forward):
    for g in (relu, leaky_relu, tanh, identity):
        for m in (_M, _D1):  # with m = d1, feeding X to the second layer runs: its values show
            ex = _example(g, seed=1, m=m)
            p = ex["params"]
            out = nb.call(forward, ex["X"].copy(), _fresh(p), g, explain=_explain_forward_error(ex))
            if not (isinstance(out, tuple) and len(out) == 2):
                raise _CheckError(
                    f"forward should return a tuple (y_hat, cache), got {_describe_kind(out)}."
                )
            y_hat, cache = out
            _check_shape(f"y_hat (g = {g.name})", y_hat, (_N,))
            if not isinstance(cache, dict):
                raise _CheckError("cache should be a dict with the keys 'Z1', 'H1', 'Z2', 'H2'.")
            missing = sorted({"Z1", "H1", "Z2", "H2"} - set(cache))
            if missing:
                raise _CheckError(f"cache is missing the keys {missing}.")
            for key, shape in (
                ("Z1", (_N, _D1)),
                ("H1", (_N, _D1)),
                ("Z2", (_N, _D2)),
                ("H2", (_N, _D2)),
            ):
                _check_shape(f"cache['{key}'] (g = {g.name})", cache[key], shape)
            Z1, H1, Z2, H2 = (np.asarray(cache[k], dtype=float) for k in ("Z1", "H1", "Z2", "H2"))
            X = ex["X"]
            if not _close(Z1, X @ p["W1"] + p["b1"]):
                raise _CheckError(f"Z1 should be X @ W1 + b1 (g = {g.name}).")
            if not _close(H1, g.f(Z1)):
                also = " (not g.df)" if _close(H1, g.df(Z1)) else ""
                raise _CheckError(f"H1 should be g.f(Z1){also} (g = {g.name}).")
            if not _close(Z2, H1 @ p["W2"] + p["b2"]):
                if m == _D1 and _close(Z2, X @ p["W2"] + p["b2"]):
                    raise _CheckError(
                        "Z2 is X @ W2 + b2: the second layer takes H1 = g.f(Z1), not X. "
                        "(Here m = d1, so the product ran; with other sizes numpy refuses it.)"
                    )
                raise _CheckError(f"Z2 should be H1 @ W2 + b2 (g = {g.name}).")
            if not _close(H2, g.f(Z2)):
                also = " (not g.df)" if _close(H2, g.df(Z2)) else ""
                raise _CheckError(f"H2 should be g.f(Z2){also} (g = {g.name}).")
            if not _close(y_hat, H2 @ p["W3"] + p["b3"]):
                raise _CheckError(
                    f"y_hat should be H2 @ W3 + b3 (g = {g.name}): the output depends on X "
                    "only through H2, and b3 is added once."
                )
    return [
        "returns (y_hat, cache) with the contract's shapes, for relu, leaky_relu, tanh, identity",
        "each layer takes the previous layer's output: Z1, H1, Z2, H2 and y_hat fit together",
    ]


def _describe_kind(value):
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return f"a {type(value).__name__}"


def _check_mse_loss(nb, mse_loss):
    L = _check_number(
        "mse_loss([1, 2, 2], [0, 0, 0])", nb.call(mse_loss, np.array([1.0, 2.0, 2.0]), np.zeros(3))
    )
    if abs(L - 9.0) < 1e-12:
        raise _CheckError(
            "mse_loss([1, 2, 2], [0, 0, 0]) gave 9 = 1 + 4 + 4, the sum: the loss is the "
            "mean, so divide by N (here 3)."
        )
    if abs(L - 5 / 3) < 1e-12:
        raise _CheckError("mse_loss([1, 2, 2], [0, 0, 0]) gave 5/3: are the residuals squared?")
    if abs(L - 3.0) > 1e-12:
        raise _CheckError(f"mse_loss([1, 2, 2], [0, 0, 0]) should be (1 + 4 + 4) / 3 = 3, got {L}.")
    L = _check_number("mse_loss", nb.call(mse_loss, np.array([0.5, -1.5]), np.array([1.0, 0.5])))
    if abs(L - 2.125) > 1e-12:
        raise _CheckError(
            f"mse_loss([0.5, -1.5], [1, 0.5]) should be (0.25 + 4) / 2 = 2.125, got {L}: the "
            "loss is the mean over the batch, whatever its size N."
        )
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=7), rng.normal(size=7)
    if _check_number("mse_loss(y, y)", nb.call(mse_loss, a, a.copy())) != 0:
        raise _CheckError("mse_loss(y, y) should be 0.")
    ab = _check_number("mse_loss(a, b)", nb.call(mse_loss, a, b))
    if abs(ab - _check_number("mse_loss(b, a)", nb.call(mse_loss, b, a))) > 1e-12:
        raise _CheckError("mse_loss(a, b) should equal mse_loss(b, a).")
    return ["gives the values of the definition for batches of 3, 2 and 7 samples"]


# ---------------------------------------------------------------- part 3: backpropagation


def _output_factors(N):
    return [
        (N, f"It is exactly N = {N} times too large: the 1/N of the mean is missing."),
        (0.5, "It is half the right answer: differentiating the square gives a factor 2."),
        (
            -1,
            "It has the wrong sign: L = mean((y_hat - y)**2), so compare (y_hat - y) with (y - "
            "y_hat).",
        ),
        (2, "It is twice too large: is the factor 2 counted twice?"),
        (
            N / 2,
            f"It is exactly N/2 = {N / 2:g} times too large: the 1/N and the factor 2 are both "
            "missing.",
        ),
        (1 / N, f"It is exactly N = {N} times too small: is the 1/N there twice?"),
        (-N, f"It has the wrong sign and is N = {N} times too large."),
    ]


def _check_grad_output(nb, grad_output):
    rng = np.random.default_rng(4)
    for N in (_N, 3):
        y_hat, y = rng.normal(size=N), rng.normal(size=N)
        delta3 = nb.call(grad_output, y_hat, y)
        _check_shape(f"delta3 (N = {N})", delta3, (N,))
        _compare_gradient(
            f"delta3 (N = {N})",
            delta3,
            lambda v, y=y: np.mean((v - y) ** 2),  # the loss as the notebook defines it
            y_hat,
            rng,
            _output_factors(N),
            "Each delta3_n is the derivative of L with respect to y_hat_n alone, so it "
            "involves only sample n: y_hat_n and y_n (a fixed index such as y[0], or the "
            "i of a single-sample formula, does not belong in the batch expression).",
        )
    return ["delta3 is the gradient of the mean squared error (finite differences, N = 5 and 3)"]


_SHARED = "a shared parameter's gradient sums every sample's contribution over the batch (axis 0)."


def _layer_factors(N, delta):
    return [
        (
            1 / N,
            f"It is exactly N = {N} times too small: {delta} already holds the 1/N of the mean; do"
            " not divide again.",
        ),
        (
            N,
            f"It is exactly N = {N} times too large: sum over the batch, without an extra factor "
            "N.",
        ),
        (-1, f"It has the wrong sign: {delta} already carries the sign of the error."),
    ]


def _check_grad_layer3(nb, grad_layer3):
    rng = np.random.default_rng(5)
    for g in (tanh, relu):
        _grad_layer3_case(nb, grad_layer3, _example(g, seed=5), g, rng)
    return ["dW3 and db3 against finite differences of the output layer (tanh, relu)"]


def _grad_layer3_case(nb, grad_layer3, ex, g, rng):
    delta3 = rng.normal(size=_N)  # any upstream error will do
    H2, W3, b3 = ex["H2"], ex["params"]["W3"], ex["params"]["b3"]
    shapes = f"Here delta3 is ({_N},) and H2 ({_N}, {_D2})."
    out = nb.call(grad_layer3, delta3, _cache(ex), explain=_explain_backward_error("dW3", shapes))
    dW3, db3 = _unpack("grad_layer3", out, "(dW3, db3)")
    _check_shape("dW3", dW3, (_D2,))
    _check_shape("db3", db3, (), per_sample="b3 is shared by every sample: sum over the batch.")
    db3 = float(np.asarray(db3, dtype=float))
    if not _close(db3, np.sum(delta3)):
        if _close(db3, np.mean(delta3)):
            raise _CheckError(
                "db3 is the mean of delta3: sum over the batch instead (delta3 already holds "
                "the 1/N of the mean)."
            )
        raise _CheckError(
            "db3 is not the derivative of sum(delta3 * y_hat) with respect to b3: "
            "y_hat_n = ... + b3 for every n."
        )
    _compare_gradient(
        f"dW3 (g = {g.name})",
        dW3,
        lambda W: delta3 @ (H2 @ W + b3),  # the output layer as the notebook defines it
        W3,
        rng,
        _layer_factors(_N, "delta3"),
        "The output is y_hat = H2 @ W3 + b3: the derivative with respect to W3 pairs each "
        "sample's delta3_n with that sample's row of H2, summed over the batch.",
    )


_CHAIN_2 = (
    "Look at each factor of the chain rule: g.df (the derivative), not g.f; W3, the weights "
    "of the layer above; and which samples are summed."
)


def _check_grad_layer2(nb, grad_layer2):
    rng = np.random.default_rng(6)
    for g in (tanh, relu):
        _grad_layer2_case(nb, grad_layer2, _example(g, seed=6), g, rng)
    return ["delta2, dW2 and db2 against finite differences of the second layer (tanh, relu)"]


def _grad_layer2_case(nb, grad_layer2, ex, g, rng):
    p, H1 = ex["params"], ex["H1"]
    W2, b2, W3, b3 = p["W2"], p["b2"], p["W3"], p["b3"]
    delta3 = rng.normal(size=_N)  # any upstream error will do
    shapes = f"Here delta3 is ({_N},), W3 ({_D2},), Z2 and H2 ({_N}, {_D2}), H1 ({_N}, {_D1})."
    out = nb.call(
        grad_layer2,
        delta3,
        _cache(ex),
        _fresh(p),
        g,
        explain=_explain_backward_error("delta2 or dW2", shapes),
    )
    dW2, db2, delta2 = _unpack("grad_layer2", out, "(dW2, db2, delta2)")
    _check_shape("delta2", delta2, (_N, _D2))
    _check_shape("dW2", dW2, (_D1, _D2))
    _check_shape("db2", db2, (_D2,), per_sample=_SHARED)
    # Each is a derivative of sum_n delta3_n y_hat_n, y_hat seen as a function of Z2, W2, b2.
    _compare_gradient(
        f"delta2 (g = {g.name})",
        delta2,
        lambda Z2: delta3 @ (g.f(Z2) @ W3 + b3),
        ex["Z2"],
        rng,
        _layer_factors(_N, "delta3"),
        "delta2 = dL/dZ2: for sample n, delta3_n times W3, elementwise times g'(Z2[n]). "
        + _CHAIN_2,
    )
    _compare_gradient(
        f"dW2 (g = {g.name})",
        dW2,
        lambda W: delta3 @ (g.f(H1 @ W + b2) @ W3 + b3),
        W2,
        rng,
        _layer_factors(_N, "delta2"),
        "Your delta2 is right, so look at how dW2 is made from it: Z2 = H1 @ W2 + b2, so "
        "the derivative with respect to W2 pairs H1's rows with delta2's rows.",
    )
    _compare_gradient(
        f"db2 (g = {g.name})",
        db2,
        lambda b: delta3 @ (g.f(H1 @ W2 + b) @ W3 + b3),
        b2,
        rng,
        _layer_factors(_N, "delta2"),
        "db2 sums delta2 over the batch: b2 is added to every sample's Z2.",
    )


def _check_grad_layer1(nb, grad_layer1):
    rng = np.random.default_rng(7)
    for g in (tanh, relu):
        _grad_layer1_case(nb, grad_layer1, _example(g, seed=7), g, rng)
    return ["delta1, dW1 and db1 against finite differences of the first layer (tanh, relu)"]


def _grad_layer1_case(nb, grad_layer1, ex, g, rng):
    p, X = ex["params"], ex["X"]
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    delta2 = rng.normal(size=(_N, _D2))  # any upstream error will do
    shapes = (
        f"Here delta2 is ({_N}, {_D2}), W2 ({_D1}, {_D2}), Z1 ({_N}, {_D1}), X ({_N}, {_M}): "
        "delta1 = dL/dZ1 goes back through W2 (the factor dz2/dh1 = W2), from (N, d2) to "
        "(N, d1), before g'(Z1)."
    )
    out = nb.call(
        grad_layer1,
        delta2,
        X.copy(),
        _cache(ex),
        _fresh(p),
        g,
        explain=_explain_backward_error("delta1 or dW1", shapes),
    )
    dW1, db1, delta1 = _unpack("grad_layer1", out, "(dW1, db1, delta1)")
    _check_shape("delta1", delta1, (_N, _D1))
    _check_shape("dW1", dW1, (_M, _D1))
    _check_shape("db1", db1, (_D1,), per_sample=_SHARED)
    # Each is a derivative of sum(delta2 * Z2), Z2 seen as a function of Z1, W1, b1.
    _compare_gradient(
        f"delta1 (g = {g.name})",
        delta1,
        lambda Z1: np.sum(delta2 * (g.f(Z1) @ W2 + b2)),
        ex["Z1"],
        rng,
        _layer_factors(_N, "delta2"),
        "delta1 = dL/dZ1: delta2 goes back through W2 (dz2/dh1 = W2, not dz2/db2 "
        "db2/dh1), then elementwise times g'(Z1). Use g.df, not g.f.",
    )
    _compare_gradient(
        f"dW1 (g = {g.name})",
        dW1,
        lambda W: np.sum(delta2 * (g.f(X @ W + b1) @ W2 + b2)),
        W1,
        rng,
        _layer_factors(_N, "delta1"),
        "Your delta1 is right, so look at how dW1 is made from it: Z1 = X @ W1 + b1 pairs "
        "X's rows with delta1's rows.",
    )
    _compare_gradient(
        f"db1 (g = {g.name})",
        db1,
        lambda b: np.sum(delta2 * (g.f(X @ W1 + b) @ W2 + b2)),
        b1,
        rng,
        _layer_factors(_N, "delta1"),
        "db1 sums delta1 over the batch: b1 is added to every sample's Z1.",
    )


def _fresh(params):
    """A copy of ``params`` whose arrays the student's code may change without harm."""
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in params.items()}


def _cache(ex):
    """A fresh copy of the example's layer values, as ``forward`` would return them."""
    return {k: ex[k].copy() for k in ("Z1", "H1", "Z2", "H2")}


def _unpack(name, out, expected):
    """The entries of the tuple ``out``, or a failure saying it is not ``expected``."""
    if not (isinstance(out, tuple) and len(out) == expected.count(",") + 1):
        raise _CheckError(f"{name} should return a tuple {expected}, got {_describe_kind(out)}.")
    return out


def _network_loss(X, y, params, g, name):
    """The mean squared error as a function of the parameter ``name`` (notebook's definition)."""

    def loss(value):
        p = dict(params)
        p[name] = value if np.ndim(params[name]) else float(value)
        H1 = g.f(X @ p["W1"] + p["b1"])
        H2 = g.f(H1 @ p["W2"] + p["b2"])
        return np.mean((H2 @ p["W3"] + p["b3"] - y) ** 2)

    return loss


def _check_backward(nb, backward):
    rng = np.random.default_rng(8)
    for g in (tanh, relu):
        ex = _example(g, seed=8)
        X, y, p = ex["X"], ex["y"], ex["params"]
        grads = nb.call(backward, X.copy(), y.copy(), _fresh(p), g)
        if not isinstance(grads, dict):
            raise _CheckError(
                f"backward should return a dict of gradients, got {_describe_kind(grads)}."
            )
        missing = sorted(set(p) - set(grads))
        if missing:
            raise _CheckError(f"the gradient dict is missing the keys {missing}.")
        for name in p:
            _check_shape(f"grads['{name}']", grads[name], np.shape(p[name]), per_sample=_SHARED)
        for name in p:
            _compare_gradient(
                f"grads['{name}'] (g = {g.name})",
                grads[name],
                _network_loss(X, y, p, g, name),
                p[name],
                rng,
                _output_factors(_N),
                "The parts backward chains are checked on their own: look at how backward "
                "passes results between them (which delta goes where, cache and params).",
            )
    return ["every gradient against finite differences of the mean squared error (tanh, relu)"]


#: The notebook's graded functions and their checks, in notebook order.
_PARTS = {
    "numerical_gradient": _check_numerical_gradient,
    "relative_error": _check_relative_error,
    "forward": _check_forward,
    "mse_loss": _check_mse_loss,
    "grad_output": _check_grad_output,
    "grad_layer3": _check_grad_layer3,
    "grad_layer2": _check_grad_layer2,
    "grad_layer1": _check_grad_layer1,
    "backward": _check_backward,
}


def check(part, function):
    """Run the self-check of one graded function and print what it checked.

    Parameters
    ----------
    part : str
        The function's name, e.g. ``"grad_layer2"``.
    function : callable
        Your function.

    Raises
    ------
    SelfCheckError
        With what to fix, when a check fails (or the part cannot be checked yet).
    """
    failure = _run(_PARTS, part, function)  # None when there is nothing to fix
    if failure is not None:
        raise failure  # the message below says what to fix
