"""Checks of ``mlp_backprop.ipynb``: forward pass, loss and every backpropagated gradient.

Every part is fed inputs the grader draws (:func:`.mlp_cases.scenarios`: several shapes including
``N = 1``, widths of 1, non-square and square layers, every activation) with upstream values
from the reference, so a slip in one part costs that part only. Gradients are compared with
the reference and with central differences of the reference loss along random directions.
"""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from ..contract import Arg, ArgKind, PartSpec
from ..protocol import ActivationRef, Call
from .cases import Case
from .convert import Malformed
from .mlp_cases import (
    as_array,
    copy_cache,
    copy_params,
    expect_tuple,
    loss_of,
    loss_of_z1,
    loss_of_z2,
    scenarios,
)
from .part import Part
from .slips import MSE_SCALE_SLIPS, Slip

__all__ = ["MLP_PARTS"]

ASSIGNMENT = "mlp_backprop"

# The arguments the parts share, as the contract states them.
X = Arg("X", shape="(N, m)")
Y = Arg("y", shape="(N,)")
Y_HAT = Arg("y_hat", shape="(N,)")
DELTA3 = Arg("delta3", shape="(N,)")
CACHE = Arg("cache", ArgKind.PARAMS, "Z1, H1 (N, d1); Z2, H2 (N, d2)")
PARAMS = Arg("params", ArgKind.PARAMS, "W1 (m, d1), b1 (d1,), W2 (d1, d2), b2 (d2,), W3 (d2,), b3")
G = Arg("g", ArgKind.ACTIVATION)


class _MLPPart(Part):
    scale_slips = MSE_SCALE_SLIPS

    def make_cases(self, rng):
        return [self.case(s) for s in scenarios(rng)]

    def case(self, s) -> Case:
        raise NotImplementedError


# ---------------------------------------------------------------------------------- forward


def _slipped_forward(s, *, second_input="H1", output_input="H2", fn="f", output_g=False):
    """The forward pass with one classic slip; ``None`` where the shapes do not allow it."""
    X, p, g = s["X"], s["params"], s["g"]
    act = getattr(g, fn)
    Z1 = X @ p["W1"] + p["b1"]
    H1 = act(Z1)
    into2 = {"H1": H1, "X": X, "Z1": Z1}[second_input]
    if into2.shape[1] != p["W2"].shape[0]:
        return None
    Z2 = into2 @ p["W2"] + p["b2"]
    H2 = act(Z2)
    into3 = {"H2": H2, "X": X, "Z2": Z2}[output_input]
    if into3.shape[1] != p["W3"].shape[0]:
        return None
    y_hat = into3 @ p["W3"] + p["b3"]
    if output_g:
        y_hat = g.f(y_hat)
    return {"y_hat": y_hat, "Z1": Z1, "H1": H1, "Z2": Z2, "H2": H2}


def _forward_slip(name, message, **kwargs):
    def answer(case):
        out = _slipped_forward(case.context, **kwargs)
        return {} if out is None else out

    return Slip(name, message, answer)


class Forward(_MLPPart):
    spec = PartSpec(
        "forward",
        ASSIGNMENT,
        2,
        (X, PARAMS, G),
        "(y_hat (N,), cache) with cache Z1, H1 (N, d1), Z2, H2 (N, d2)",
    )
    components = {"y_hat": (1, ("y_hat",)), "cache": (1, ("Z1", "H1", "Z2", "H2"))}
    checks = (
        "`y_hat` and the cache `Z1, H1, Z2, H2` against the reference on six shapes "
        "(N = 1, widths of 1, square and non-square layers) and every activation.",
    )

    def case(self, s):
        return Case(
            Call(self.name, (s["X"], copy_params(s["params"]), ActivationRef(s["g"].name))),
            {"y_hat": s["y_hat"], **s["cache"]},
            s["label"],
            s,
        )

    def extract(self, value):
        y_hat, cache = expect_tuple(value, 2, ["y_hat", "cache"])
        if not isinstance(cache, dict):
            raise Malformed("the cache is not a dict with keys 'Z1', 'H1', 'Z2', 'H2'")
        out = {"y_hat": as_array(y_hat, "y_hat")}
        out.update({k: as_array(cache[k], k) for k in ("Z1", "H1", "Z2", "H2") if k in cache})
        return out

    def slips(self):
        return [
            _forward_slip(
                "second-layer-takes-X",
                "the second layer is fed `X`; it takes `H1 = g(Z1)` (the seed's slip "
                "`h2 = g(W2.T x + b2)`)",
                second_input="X",
            ),
            _forward_slip(
                "output-takes-X",
                "`y_hat` is computed from `X`; it depends on `x` only through `H2`",
                output_input="X",
            ),
            _forward_slip(
                "activation-skipped",
                "a layer passes on `Z` where it should pass on `g(Z)`",
                second_input="Z1",
                output_input="Z2",
            ),
            _forward_slip("df-for-f", "the forward pass uses `g.df` where it needs `g.f`", fn="df"),
            _forward_slip(
                "activation-on-output",
                "`g` is applied to the output; the output layer is linear",
                output_g=True,
            ),
        ]


# --------------------------------------------------------------------------------- mse_loss


class MSELoss(_MLPPart):
    spec = PartSpec("mse_loss", ASSIGNMENT, 1, (Y_HAT, Y), "float")
    components = {"loss": (1, ("loss",))}
    checks = ("The loss value against the reference, including a batch of one sample.",)

    def case(self, s):
        return Case(
            Call(self.name, (s["y_hat"].copy(), s["y"].copy())),
            {"loss": np.array(ref.mse_loss(s["y_hat"], s["y"]))},
            s["label"],
            s,
        )

    def extract(self, value):
        return {"loss": as_array(value, "loss")}

    def slips(self):
        def rmse(case):
            return {"loss": np.sqrt(ref.mse_loss(case.context["y_hat"], case.context["y"]))}

        def sum_abs(case):
            s = case.context
            return {"loss": np.mean(np.abs(s["y_hat"] - s["y"]))}

        return [
            Slip("root-of-mean", "is the root of the mean squared error; drop the sqrt", rmse),
            Slip("absolute-error", "averages |y - y_hat|; the loss squares the error", sum_abs),
        ]


# ------------------------------------------------------------------------------ grad_output


class GradOutput(_MLPPart):
    spec = PartSpec("grad_output", ASSIGNMENT, 1, (Y_HAT, Y), "delta3 (N,)")
    components = {"delta3": (1, ("delta3",))}
    checks = (
        "`delta3` against the reference and against central differences of the loss "
        "with respect to `y_hat`.",
    )

    def case(self, s):
        def f(y_hat):
            return ref.mse_loss(y_hat, s["y"])

        return Case(
            Call(self.name, (s["y_hat"].copy(), s["y"].copy())),
            {"delta3": s["delta3"]},
            s["label"],
            s,
            {"delta3": (f, s["y_hat"].copy())},
        )

    def extract(self, value):
        return {"delta3": as_array(value, "delta3")}


# ------------------------------------------------------------------------------ grad_layer3


class GradLayer3(_MLPPart):
    spec = PartSpec("grad_layer3", ASSIGNMENT, 2, (DELTA3, CACHE), "(dW3 (d2,), db3 float)")
    components = {"dW3": (1, ("dW3",)), "db3": (1, ("db3",))}
    bias_leaves = ("db3",)
    checks = (
        "`dW3` and `db3` against the reference and against central differences of the "
        "loss, given the reference's `delta3` and cache.",
    )

    def case(self, s):
        return Case(
            Call(self.name, (s["delta3"].copy(), copy_cache(s["cache"]))),
            {"dW3": s["grads"]["W3"], "db3": np.array(s["grads"]["b3"])},
            s["label"],
            s,
            {"dW3": loss_of(s, "W3"), "db3": loss_of(s, "b3")},
        )

    def extract(self, value):
        dW3, db3 = expect_tuple(value, 2, ["dW3", "db3"])
        return {"dW3": as_array(dW3, "dW3"), "db3": as_array(db3, "db3")}

    def slips(self):
        def from_h1(case):
            s = case.context
            H1 = s["cache"]["H1"]
            return {"dW3": H1.T @ s["delta3"]} if H1.shape == s["cache"]["H2"].shape else {}

        return [Slip("dW3-uses-H1", "`dW3` uses `H1`; the output layer's input is `H2`", from_h1)]


# ------------------------------------------------------------------------------ grad_layer2


def _layer2_with(s, *, dfn="df", z="Z2", w="W3", h="H1"):
    p, g, cache = s["params"], s["g"], s["cache"]
    delta2 = np.outer(s["delta3"], p[w]) * getattr(g, dfn)(cache[z])
    return {"dW2": cache[h].T @ delta2, "db2": delta2.sum(axis=0), "delta2": delta2}


def _layer2_slip(name, message, **kwargs):
    def answer(case):
        try:
            return _layer2_with(case.context, **kwargs)
        except (ValueError, KeyError):
            return {}

    return Slip(name, message, answer)


class GradLayer2(_MLPPart):
    spec = PartSpec(
        "grad_layer2",
        ASSIGNMENT,
        3,
        (DELTA3, CACHE, PARAMS, G),
        "(dW2 (d1, d2), db2 (d2,), delta2 (N, d2))",
    )
    components = {"dW2": (1, ("dW2",)), "db2": (1, ("db2",)), "delta2": (1, ("delta2",))}
    bias_leaves = ("db2",)
    checks = (
        "`dW2`, `db2` and `delta2` against the reference and against central differences of "
        "the loss (with respect to `W2`, `b2` and `Z2`), given the reference's `delta3`.",
    )

    def case(self, s):
        return Case(
            Call(
                self.name,
                (
                    s["delta3"].copy(),
                    copy_cache(s["cache"]),
                    copy_params(s["params"]),
                    ActivationRef(s["g"].name),
                ),
            ),
            {"dW2": s["grads"]["W2"], "db2": s["grads"]["b2"], "delta2": s["delta2"]},
            s["label"],
            s,
            {"dW2": loss_of(s, "W2"), "db2": loss_of(s, "b2"), "delta2": loss_of_z2(s)},
        )

    def extract(self, value):
        dW2, db2, delta2 = expect_tuple(value, 3, ["dW2", "db2", "delta2"])
        return {
            "dW2": as_array(dW2, "dW2"),
            "db2": as_array(db2, "db2"),
            "delta2": as_array(delta2, "delta2"),
        }

    def slips(self):
        return [
            _layer2_slip(
                "g-for-dg",
                "uses `g.f(Z2)` where the chain rule needs the derivative `g.df(Z2)`",
                dfn="f",
            ),
            _layer2_slip(
                "dg-of-H2",
                "evaluates the derivative at `H2`; it is `g.df(Z2)`, at the pre-activation",
                z="H2",
            ),
            _layer2_slip(
                "dg-of-Z1",
                "uses `g.df(Z1)`; layer 2's pre-activation is `Z2`",
                z="Z1",
            ),
            _layer2_slip(
                "dW2-uses-H2", "`dW2` multiplies by `H2`; layer 2's input is `H1`", h="H2"
            ),
        ]


# ------------------------------------------------------------------------------ grad_layer1


def _layer1_with(s, *, dfn="df", z="Z1", transpose=True, inp="X"):
    p, g, cache = s["params"], s["g"], s["cache"]
    W2 = p["W2"].T if transpose else p["W2"]
    delta1 = (s["delta2"] @ W2) * getattr(g, dfn)(cache[z])
    source = s["X"] if inp == "X" else cache[inp]
    return {"dW1": source.T @ delta1, "db1": delta1.sum(axis=0), "delta1": delta1}


def _layer1_slip(name, message, **kwargs):
    def answer(case):
        try:
            return _layer1_with(case.context, **kwargs)
        except (ValueError, KeyError):
            return {}

    return Slip(name, message, answer)


class GradLayer1(_MLPPart):
    spec = PartSpec(
        "grad_layer1",
        ASSIGNMENT,
        3,
        (Arg("delta2", shape="(N, d2)"), X, CACHE, PARAMS, G),
        "(dW1 (m, d1), db1 (d1,), delta1 (N, d1))",
    )
    components = {"dW1": (1, ("dW1",)), "db1": (1, ("db1",)), "delta1": (1, ("delta1",))}
    bias_leaves = ("db1",)
    checks = (
        "`dW1`, `db1` and `delta1` against the reference and against central differences of "
        "the loss (with respect to `W1`, `b1` and `Z1`), given the reference's `delta2`.",
    )

    def case(self, s):
        delta1 = (s["delta2"] @ s["params"]["W2"].T) * s["g"].df(s["cache"]["Z1"])
        return Case(
            Call(
                self.name,
                (
                    s["delta2"].copy(),
                    s["X"].copy(),
                    copy_cache(s["cache"]),
                    copy_params(s["params"]),
                    ActivationRef(s["g"].name),
                ),
            ),
            {"dW1": s["grads"]["W1"], "db1": s["grads"]["b1"], "delta1": delta1},
            s["label"],
            s,
            {"dW1": loss_of(s, "W1"), "db1": loss_of(s, "b1"), "delta1": loss_of_z1(s)},
        )

    def extract(self, value):
        dW1, db1, delta1 = expect_tuple(value, 3, ["dW1", "db1", "delta1"])
        return {
            "dW1": as_array(dW1, "dW1"),
            "db1": as_array(db1, "db1"),
            "delta1": as_array(delta1, "delta1"),
        }

    def slips(self):
        return [
            _layer1_slip(
                "g-for-dg",
                "uses `g.f(Z1)` where the chain rule needs the derivative `g.df(Z1)`",
                dfn="f",
            ),
            _layer1_slip("dg-of-Z2", "uses `g.df(Z2)`; layer 1's pre-activation is `Z1`", z="Z2"),
            _layer1_slip(
                "dg-of-H1",
                "evaluates the derivative at `H1`; it is `g.df(Z1)`, at the pre-activation",
                z="H1",
            ),
            _layer1_slip(
                "W2-not-transposed",
                "multiplies `delta2` by `W2`; going down a layer needs `W2.T` (`delta2 @ W2.T`)",
                transpose=False,
            ),
            _layer1_slip(
                "dW1-uses-H1", "`dW1` multiplies by `H1`; layer 1's input is `X`", inp="H1"
            ),
        ]


# --------------------------------------------------------------------------------- backward


def _backward_with(s, *, dfn="df", mean=True, second_input="H1"):
    """Backpropagation with one slip, written independently of the reference."""
    X, y, p, g = s["X"], s["y"], s["params"], s["g"]
    N = X.shape[0]
    fwd = _slipped_forward(s, second_input=second_input)
    if fwd is None:
        return {}
    dg = getattr(g, dfn)
    d3 = 2.0 * (fwd["y_hat"] - y) / (N if mean else 1)
    d2 = np.outer(d3, p["W3"]) * dg(fwd["Z2"])
    d1 = (d2 @ p["W2"].T) * dg(fwd["Z1"])
    into2 = fwd[second_input] if second_input != "X" else X
    return {
        "W1": X.T @ d1,
        "b1": d1.sum(axis=0),
        "W2": into2.T @ d2,
        "b2": d2.sum(axis=0),
        "W3": fwd["H2"].T @ d3,
        "b3": np.array(d3.sum()),
    }


def _backward_slip(name, message, **kwargs):
    def answer(case):
        return _backward_with(case.context, **kwargs)

    return Slip(name, message, answer)


class Backward(_MLPPart):
    spec = PartSpec(
        "backward", ASSIGNMENT, 2, (X, Y, PARAMS, G), "dict of gradients, keys and shapes as params"
    )
    components = {k: (1 / 3, (k,)) for k in ref.PARAM_NAMES}
    bias_leaves = ("b1", "b2", "b3")
    checks = (
        "Every gradient of the loss against the reference and against central differences "
        "of the loss along random directions, for each parameter.",
    )

    def case(self, s):
        grads = {k: np.asarray(v, dtype=np.float64) for k, v in s["grads"].items()}
        return Case(
            Call(
                self.name,
                (
                    s["X"].copy(),
                    s["y"].copy(),
                    copy_params(s["params"]),
                    ActivationRef(s["g"].name),
                ),
            ),
            grads,
            s["label"],
            s,
            {k: loss_of(s, k) for k in ref.PARAM_NAMES},
        )

    def extract(self, value):
        if not isinstance(value, dict):
            raise Malformed("returned something other than a dict with the keys of `params`")
        return {k: as_array(value[k], k) for k in ref.PARAM_NAMES if k in value}

    def slips(self):
        return [
            _backward_slip(
                "g-for-dg",
                "uses `g.f` where the chain rule needs the derivative `g.df`",
                dfn="f",
            ),
            _backward_slip(
                "missing-1/N",
                "is N times too large: the 1/N of the mean loss is missing (the seed's "
                "per-sample derivation drops it)",
                mean=False,
            ),
            _backward_slip(
                "second-layer-takes-X",
                "comes from a network whose second layer takes `X` instead of `H1` (the "
                "seed's slip)",
                second_input="X",
            ),
        ]


MLP_PARTS: list[Part] = [
    Forward(),
    MSELoss(),
    GradOutput(),
    GradLayer3(),
    GradLayer2(),
    GradLayer1(),
    Backward(),
]
