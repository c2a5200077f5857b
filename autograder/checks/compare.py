"""Comparing one output of a part with the reference and with finite differences.

A *leaf* is one named output (``dW2``, ``y_hat``, ``loss``). :func:`judge_leaf` looks at it
over all the cases of a part and returns a :class:`LeafVerdict`: whether it passed, what went
wrong in words, and the worst relative error with where it happened (shapes and indices only,
never the grader's input values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..finite_differences import directional_check
from ..finite_differences import relative_error as _relative_error
from .cases import Case
from .text import format_error, shape_text

__all__ = [
    "FD_DIRECTIONS",
    "FD_NOISE_FLOOR",
    "FD_TOL",
    "MATCH_TOL",
    "LeafVerdict",
    "judge_leaf",
    "relative_error",
    "same_shape",
]

#: Agreement with the reference. Correct code written differently (loops, einsum, another
#: summation order) differs by round-off, around 1e-15 relative; any real slip changes the
#: answer by a factor of order one. 1e-6 leaves nine orders of magnitude on both sides.
MATCH_TOL = 1e-6
#: Agreement with central differences along random directions. On the grader's inputs the
#: truncation and round-off error of a central difference with step 1e-6 is about 1e-9, so a
#: correct gradient sits three orders below this and a wrong one many above.
FD_TOL = 1e-6
#: Scale floor of the finite-difference comparison, relative to ``1 + |f|``. A central
#: difference with step 1e-6 carries round-off of about ``2e-10 |f|``; for a gradient much
#: smaller than ``|f|`` that noise alone would exceed :data:`FD_TOL` relatively. With this
#: floor the comparison becomes absolute there, ``FD_TOL * 1e-2 = 1e-8`` of ``1 + |f|``: fifty
#: times the noise, and still far below any real slip.
FD_NOISE_FLOOR = 1e-2
#: Random directions per finite-difference witness. An error ``e`` in a gradient shows as
#: ``e . v`` along a Gaussian direction ``v``, which hides it a factor ``t`` below its size
#: with probability about ``t``: one direction misses a thousandfold cancellation one time in
#: a thousand. The witness is the second oracle, beside the reference (which the tests check
#: against autograd); more directions would triple its cost for every notebook of a class.
FD_DIRECTIONS = 1
#: Examples of one problem shown per output: enough to see the pattern, few enough to read.
MAX_PROBLEMS = 3


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """The course's relative error, with NaN and infinity counted as the worst possible.

    Parameters
    ----------
    a, b : ndarray, same shape

    Returns
    -------
    float
        ``max|a - b| / max(1e-12, max|a| + max|b|)``; ``inf`` when either holds nan or inf.
    """
    with np.errstate(all="ignore"):
        if a.size and not (np.isfinite(a).all() and np.isfinite(b).all()):
            return math.inf
        return _relative_error(a, b)


def worst_index(received: np.ndarray, expected: np.ndarray) -> tuple[int, ...]:
    """Index of the entry where ``received`` is furthest from ``expected`` (same shapes)."""
    with np.errstate(all="ignore"):
        diff = np.abs(received - expected)
        diff = np.where(np.isfinite(diff), diff, np.inf)
    if diff.ndim == 0:
        return ()
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))


def same_shape(received: np.ndarray, expected: np.ndarray) -> bool:
    """Contract shapes must match exactly, except that a scalar may come as any size-1 array."""
    if received.shape == expected.shape:
        return True
    return expected.ndim == 0 and received.size == 1


def directional_error(f, theta, grad, rng) -> float:
    """Relative error of ``grad`` against central differences of ``f`` along random directions.

    Like :func:`~autograder.finite_differences.directional_check`, with a floor on the scale:
    a central difference carries round-off of about ``1e-16 |f| / 1e-6 = 1e-10 |f|``, so a
    gradient that is exactly zero (a dead ReLU unit) must not be judged against that noise.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    theta : ndarray
    grad : ndarray, shape of ``theta``
    rng : numpy.random.Generator
        Draws the directions.

    Returns
    -------
    float
    """
    check = directional_check(f, grad, theta, FD_DIRECTIONS, rng=rng)
    # |f(theta)| sets only the floor: the midpoint of the two evaluations gives it within
    # O(eps^2) (1e-12 relatively) and spares a third evaluation of the reference's loss.
    f0 = abs(float(np.mean(check.midpoint)))
    scale = max(
        float(np.abs(check.analytic).max() + np.abs(check.numeric).max()),
        FD_NOISE_FLOOR * (1.0 + f0),
    )
    return float(np.abs(check.analytic - check.numeric).max() / scale)


@dataclass
class LeafVerdict:
    """How one output fared over all the cases of a part.

    Attributes
    ----------
    passed : bool
    problems : list of str
        Up to :data:`MAX_PROBLEMS` sentences.
    worst_error : float
        Largest relative error against the reference (``inf``: no comparable answer).
    worst_where : str
        ``"dW2[1, 0] in case 3"``.
    expected_shape, received_shape : str
        Of the worst case.
    fd_error : float or None
        Largest relative error against finite differences, where a witness applies.
    nan : bool
        Some answer held nan or inf.
    """

    passed: bool = True
    problems: list[str] = field(default_factory=list)
    worst_error: float = 0.0
    worst_where: str = ""
    expected_shape: str = ""
    received_shape: str = ""
    fd_error: float | None = None
    nan: bool = False

    def problem(self, text: str) -> None:
        self.passed = False
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def worse(self, err: float) -> bool:
        """Whether a comparison with error ``err`` would replace the worst one kept."""
        return err > self.worst_error or not self.worst_where

    def note(self, err: float, where: str, expected_shape: str, received_shape: str) -> None:
        """Keep the worst comparison seen so far."""
        if self.worse(err):
            self.worst_error, self.worst_where = err, where
            self.expected_shape, self.received_shape = expected_shape, received_shape


def _fd_error(witness, got: np.ndarray, index: int) -> float:
    if isinstance(witness, np.ndarray):
        # Precomputed by finite differences (e.g. a Hessian from differences of the gradient).
        return relative_error(got, witness)
    return directional_error(*witness, got, np.random.default_rng(index))


def judge_leaf(
    leaf: str,
    cases: list[Case],
    received: list[dict[str, np.ndarray] | None],
    errors: list[str | None],
    match_tol: float = MATCH_TOL,
) -> LeafVerdict:
    """Judge one output over every case that expects it.

    Parameters
    ----------
    leaf : str
    cases : list of Case
    received : list of (dict of str to ndarray) or None
        The student's leaves per case, ``None`` where the call failed.
    errors : list of str or None
        Why each failed call failed.
    match_tol : float
        Agreement required with the reference.

    Returns
    -------
    LeafVerdict
    """
    verdict = LeafVerdict()
    for i, case in enumerate(cases):
        if leaf not in case.expected:
            continue  # this case checks other outputs
        expected = case.expected[leaf]
        exp_shape = shape_text(expected.shape)
        where = f"case {i + 1} ({case.label})"
        answers = received[i]
        got = None if answers is None else answers.get(leaf)
        if answers is None or got is None:
            verdict.problem(
                f"{where}: {errors[i]}" if answers is None else f"{where}: `{leaf}` is missing"
            )
            verdict.note(
                math.inf,
                f"{leaf} in case {i + 1}",
                exp_shape,
                "error" if answers is None else "missing",
            )
            continue
        if not same_shape(got, expected):
            verdict.problem(
                f"{where}: `{leaf}` has shape {shape_text(got.shape)}, expected {exp_shape}"
            )
            verdict.note(math.inf, f"{leaf} in case {i + 1}", exp_shape, shape_text(got.shape))
            continue
        rec_shape = shape_text(got.shape)
        got = got.reshape(expected.shape)
        finite = bool(np.isfinite(got).all())
        verdict.nan = verdict.nan or not finite
        err = relative_error(got, expected)
        if verdict.worse(err):  # where it happened is worked out only for the worst case
            idx = worst_index(got, expected)
            at = f"{leaf}[{', '.join(map(str, idx))}]" if idx else leaf
            verdict.note(err, f"{at} in case {i + 1}", exp_shape, rec_shape)
        if err > match_tol:
            verdict.problem(
                f"{where}: `{leaf}` differs from the expected values "
                f"(relative error {format_error(err)})"
                + ("; it contains nan or inf" if not finite else "")
            )
        if leaf in case.witnesses and finite:
            fd_err = _fd_error(case.witnesses[leaf], got, i)
            verdict.fd_error = fd_err if verdict.fd_error is None else max(verdict.fd_error, fd_err)
            if fd_err > FD_TOL and err <= match_tol:
                verdict.problem(
                    f"{where}: `{leaf}` disagrees with finite differences "
                    f"(relative error {format_error(fd_err)})"
                )
    return verdict
