"""Naming the mistake: classic slips replayed on the grader's inputs.

When an output is wrong, each of the part's known slips is applied to the reference on the
same inputs; a slip that reproduces the student's numbers on every case is named in the
feedback. Shape-level slips (a transpose, a bias gradient not summed over the batch) and
constant factors (a missing 1/N, a flipped sign) are recognised generically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..results import Diagnosis
from .cases import Case
from .compare import relative_error, same_shape
from .text import shape_text

__all__ = [
    "LOGISTIC_SCALE_SLIPS",
    "MSE_SCALE_SLIPS",
    "SLIP_TOL",
    "ScaleSlip",
    "Slip",
    "diagnose",
    "ran_cases",
]

#: How closely a replayed slip must reproduce the student's numbers to be named. A slip either
#: reproduces them to round-off or misses by order one; the same bound as ``MATCH_TOL``.
SLIP_TOL = 1e-6
#: How close a fitted constant factor must be to a slip's factor (relative).
FACTOR_TOL = 1e-6

#: A case paired with what the student returned for one leaf (same leaf in ``case.expected``).
Ran = list[tuple[Case, np.ndarray]]


@dataclass(frozen=True)
class Slip:
    """A classic mistake, replayed on a case to see whether it explains the student's numbers.

    Attributes
    ----------
    name : str
        Short id, used in the CSV's diagnosis column and in tests.
    message : str
        What the student did and how to fix it, in plain words.
    answer : callable
        ``answer(case) -> dict of leaf to ndarray``: the reference with the slip applied; leaves
        the slip does not affect, or cannot be computed for this case's shapes, are omitted.
    """

    name: str
    message: str
    answer: Callable[[Case], dict[str, np.ndarray]]


@dataclass(frozen=True)
class ScaleSlip:
    """A slip that multiplies an answer by a constant, possibly depending on the batch size.

    Attributes
    ----------
    name : str
    factor : callable
        ``factor(N) -> float``.
    message : str
        Completes "`leaf` ...".
    """

    name: str
    factor: Callable[[int], float]
    message: str


#: The constant factors of the mean squared error's classic slips (the MLP assignment).
MSE_SCALE_SLIPS: tuple[ScaleSlip, ...] = (
    ScaleSlip(
        "flipped-sign",
        lambda N: -1.0,
        "has the opposite sign: check `y_hat - y` against `y - y_hat`",
    ),
    ScaleSlip(
        "missing-factor-2", lambda N: 0.5, "is half the right value: the factor 2 from the square"
    ),
    ScaleSlip("extra-factor-2", lambda N: 2.0, "is twice the right value: a factor 2 too many"),
    ScaleSlip(
        "missing-1/N",
        lambda N: float(N),
        "is N times too large: the 1/N of the mean loss is missing",
    ),
    ScaleSlip(
        "missing-2/N",
        lambda N: N / 2.0,
        "is N/2 times too large: both the 2 and the 1/N of the mean loss are missing",
    ),
    ScaleSlip(
        "missing-1/N-flipped-sign",
        lambda N: -float(N),
        "is -N times the right value: the 1/N is missing and the sign is flipped",
    ),
    ScaleSlip(
        "extra-1/N",
        lambda N: 1.0 / N,
        "is N times too small: divided by N once too often (a mean instead of a sum?)",
    ),
    ScaleSlip(
        "flipped-sign-missing-2", lambda N: -0.5, "has the wrong sign and lacks the factor 2"
    ),
)

#: The constant factors of the logistic loss's classic slips: it is a sum over the samples,
#: with no square and no 1/N.
LOGISTIC_SCALE_SLIPS: tuple[ScaleSlip, ...] = (
    ScaleSlip(
        "flipped-sign",
        lambda N: -1.0,
        "has the opposite sign: the loss's derivative in `z_n` is `y_hat_n - y_n`, not "
        "`y_n - y_hat_n`",
    ),
    ScaleSlip(
        "mean-not-sum",
        lambda N: 1.0 / N,
        "is N times too small: the course's logistic loss is a sum over the samples, not a mean",
    ),
    ScaleSlip(
        "sum-counted-N-times",
        lambda N: float(N),
        "is N times too large: a sum over the samples taken twice (an extra factor N)?",
    ),
    ScaleSlip("extra-factor-2", lambda N: 2.0, "is twice the right value: a factor 2 too many"),
    ScaleSlip("missing-half", lambda N: 0.5, "is half the right value: a factor 2 missing"),
)


def reproduces(got: np.ndarray, answer: np.ndarray) -> bool:
    """Whether a replayed slip gives the student's numbers: same shape, same non-finite
    entries (a slip that overflows overflows where the student's code does), and agreement
    to :data:`SLIP_TOL` on the rest."""
    if not same_shape(got, answer):
        return False
    got = got.reshape(answer.shape)
    fin_g, fin_a = np.isfinite(got), np.isfinite(answer)
    if not np.array_equal(fin_g, fin_a):
        return False
    if not np.array_equal(
        np.nan_to_num(got[~fin_g], nan=0.0), np.nan_to_num(answer[~fin_a], nan=0.0)
    ):
        return False
    return relative_error(got[fin_g], answer[fin_a]) <= SLIP_TOL


def _fits(slip: Slip, leaf: str, ran: Ran) -> bool:
    """A slip fits when it reproduces every case it applies to and changes at least one."""
    changed = 0
    for case, got in ran:
        try:
            with np.errstate(all="ignore"):
                answer = slip.answer(case).get(leaf)
        except Exception:  # a slip that cannot apply to these shapes does not fit
            answer = None
        if answer is None:
            continue
        answer = np.asarray(answer, dtype=np.float64)
        if not reproduces(got, answer):
            return False
        # A slip explains a wrong leaf only where it changes the answer.
        if not reproduces(case.expected[leaf], answer):
            changed += 1
    return changed > 0


def bias_not_summed(leaf: str, ran: Ran) -> list[Diagnosis]:
    """A per-sample answer with one more leading axis of size N, whose sum is right."""
    per_sample = [
        got.shape == (c.context["N"],) + c.expected[leaf].shape
        and relative_error(got.sum(axis=0), c.expected[leaf]) <= SLIP_TOL
        for c, got in ran
    ]
    if all(per_sample) and any(c.context["N"] > 1 for c, _ in ran):
        return [
            Diagnosis(
                "bias-not-summed",
                f"`{leaf}` has one row per sample: sum it over the batch "
                "(`axis=0`) to get the gradient of the bias",
            )
        ]
    return []


def transposed(leaf: str, ran: Ran) -> list[Diagnosis]:
    """The right numbers in the transposed layout (and not merely a symmetric answer)."""
    fits = [
        got.ndim == 2
        and got.T.shape == c.expected[leaf].shape
        and relative_error(got.T, c.expected[leaf]) <= SLIP_TOL
        for c, got in ran
    ]
    if all(fits) and any(
        got.shape != c.expected[leaf].shape or not np.allclose(got, got.T) for c, got in ran
    ):
        return [
            Diagnosis(
                "transposed",
                f"`{leaf}` is transposed: a gradient has the shape of its parameter "
                f"(expected {shape_text(ran[0][0].expected[leaf].shape)}, "
                f"received {shape_text(ran[0][1].shape)})",
            )
        ]
    return []


def scaled(leaf: str, ran: Ran, scale_slips: tuple[ScaleSlip, ...]) -> list[Diagnosis]:
    """A constant factor (possibly depending on N) between the student and the reference."""
    factors = []
    for case, got in ran:
        expected = case.expected[leaf]
        if not same_shape(got, expected) or not np.all(np.isfinite(got)):
            return []
        got = got.reshape(expected.shape)
        denom = float(np.sum(expected * expected))
        if denom < 1e-24:
            continue
        c = float(np.sum(got * expected)) / denom
        if relative_error(got, c * expected) > SLIP_TOL:
            return []
        factors.append((c, case.context.get("N", 1)))
    found = []
    for slip in scale_slips:
        fits = [
            abs(c - slip.factor(N)) <= FACTOR_TOL * max(1.0, abs(slip.factor(N)))
            for c, N in factors
        ]
        # It must explain every case, and not only cases where it changes nothing.
        if factors and all(fits) and any(abs(slip.factor(N) - 1.0) > 1e-9 for _, N in factors):
            found.append(Diagnosis(slip.name, f"`{leaf}` {slip.message}"))
    return found


def ran_cases(leaf: str, cases: list[Case], received: list[dict[str, np.ndarray] | None]) -> Ran:
    """The cases that returned ``leaf``, each paired with the student's value for it.

    Parameters
    ----------
    leaf : str
    cases : list of Case
    received : list of (dict of str to ndarray) or None
        What came back per case, aligned with ``cases``; ``None`` (or empty) when the call
        failed.

    Returns
    -------
    list of (Case, ndarray)
        Only cases whose ``expected`` has ``leaf`` too, in case order.
    """
    return [
        (c, r[leaf])
        for c, r in zip(cases, received, strict=True)
        if r and leaf in r and leaf in c.expected
    ]


def diagnose(
    leaf: str,
    cases: list[Case],
    received: list[dict[str, np.ndarray] | None],
    slips: list[Slip],
    bias_leaves: tuple[str, ...] = (),
    scale_slips: tuple[ScaleSlip, ...] = (),
) -> list[Diagnosis]:
    """Slips that reproduce the student's numbers for ``leaf`` on every case that ran.

    The part's own slips first; when none fits, a bias not summed over the batch, a
    transpose, or a constant factor.
    """
    ran = ran_cases(leaf, cases, received)
    if not ran:
        return []
    found = [Diagnosis(s.name, f"`{leaf}`: {s.message}") for s in slips if _fits(s, leaf, ran)]
    if found:
        return found
    if leaf in bias_leaves:
        found = bias_not_summed(leaf, ran)
    return found or transposed(leaf, ran) or scaled(leaf, ran, scale_slips)
