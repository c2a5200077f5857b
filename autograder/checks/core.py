"""The machinery every part's check shares: cases, judging from plain numbers, diagnoses.

A *part* is one function of the exercise contract. The grader draws its own inputs for it
(:class:`Case`), the student's function is called on them somewhere else (a sandboxed process,
or nbgrader's kernel), and only plain float64 trees come back (:class:`~autograder.protocol.
CallOutcome`). Judging happens here, from those numbers: each named output (a *leaf*, e.g.
``dW2``) is compared with the trusted reference and, for gradients, with finite differences;
outputs are grouped into *components* that carry the part's points, so a part with several
outputs earns partial credit. When an output is wrong, known slips are replayed on the same
inputs and the one that reproduces the student's numbers is named in the feedback.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..contract import ASSIGNMENTS, PartSpec
from ..finite_differences import directional_check
from ..protocol import Call, CallOutcome, PartRun

__all__ = [
    "FD_TOL",
    "MATCH_TOL",
    "SLIP_TOL",
    "Case",
    "ComponentResult",
    "Malformed",
    "Part",
    "PartResult",
    "Slip",
    "failed_result",
    "format_part_text",
    "part_rng",
    "scrub",
    "to_plain_tree",
]

#: Agreement with the reference. Correct code written differently (loops, einsum, another
#: summation order) differs by round-off, around 1e-15 relative; any real slip changes the
#: answer by a factor of order one. 1e-6 leaves nine orders of magnitude on both sides.
MATCH_TOL = 1e-6
#: Agreement with central differences along random directions. On the grader's inputs the
#: truncation and round-off error of a central difference with step 1e-6 is about 1e-9, so a
#: correct gradient sits three orders below this and a wrong one many above.
FD_TOL = 1e-6
#: How closely a replayed slip must reproduce the student's numbers to be named. A slip either
#: reproduces them to round-off or misses by order one; the same bound as :data:`MATCH_TOL`.
SLIP_TOL = 1e-6
#: Scale floor of the finite-difference comparison, relative to ``1 + |f|``. A central
#: difference with step 1e-6 carries round-off of about ``2e-10 |f|``; for a gradient much
#: smaller than ``|f|`` that noise alone would exceed :data:`FD_TOL` relatively. With this
#: floor the comparison becomes absolute there, ``FD_TOL * 1e-2 = 1e-8`` of ``1 + |f|``: fifty
#: times the noise, and still far below any real slip.
FD_NOISE_FLOOR = 1e-2
#: Random directions per finite-difference witness: one wrong component escapes a random
#: direction with probability zero, three make the check robust to an unlucky cancellation.
FD_DIRECTIONS = 3


def part_rng(seed: int, part: str) -> np.random.Generator:
    """Generator for one part's cases, reproducible from the run's seed and the part's name.

    Parameters
    ----------
    seed : int
        The run's seed (recorded in the CSV and the feedback).
    part : str

    Returns
    -------
    numpy.random.Generator
        Independent of the other parts, so adding a case to one part never changes another's.
    """
    return np.random.default_rng([seed, zlib.crc32(part.encode())])


_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")


def scrub(text: str, limit: int = 240) -> str:
    """A message from student code, safe to show: no real numbers, bounded length.

    Feedback must never reveal the grader's hidden inputs, and code can put them into an
    exception's message (``raise ValueError(X)``). Real numbers are replaced by ``<number>``;
    integers stay, so numpy's shape messages remain readable.
    """
    text = _NUMBER.sub("<number>", str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Malformed(Exception):  # noqa: N818 (it reads as the verdict: "Malformed: ...")
    """The returned value does not have the contract's structure (message in plain words)."""


def to_plain_tree(value: Any) -> Any:
    """Convert a returned value into the protocol's plain tree of float64 arrays.

    Used by the in-process paths (nbgrader's kernel, the tests); the sandbox does the same on
    its side of the process boundary. Raises :class:`Malformed` for values that are not
    numbers.

    Parameters
    ----------
    value : object
        Numbers, arrays, tuples, lists and dicts with str keys, nested.

    Returns
    -------
    object
        Leaves are float64 ndarrays (0-d for scalars); tuples for tuples and lists; dicts keep
        their str keys.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise Malformed(f"returned a dict with a {type(key).__name__} key, not str")
            out[key] = to_plain_tree(item)
        return out
    if isinstance(value, (tuple, list)):
        return tuple(to_plain_tree(item) for item in value)
    if value is None:
        raise Malformed("returned None (a missing `return`?)")
    if isinstance(value, (bool, np.bool_)):
        raise Malformed("returned a bool, not numbers")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return np.array(float(value), dtype=np.float64)
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            raise Malformed("returned a complex array")
        if value.dtype.kind not in "fiu":
            raise Malformed(f"returned an array of {value.dtype}, not numbers")
        return np.array(value, dtype=np.float64, copy=True)
    if isinstance(value, complex):
        raise Malformed("returned a complex number")
    raise Malformed(f"returned a {type(value).__name__}, not numbers")


# --------------------------------------------------------------------------------------------
# Cases and slips


@dataclass
class Case:
    """One call of the student's function, with everything the grader needs to judge it.

    Attributes
    ----------
    call : Call
        What the student's function receives (plain data only).
    expected : dict of str to ndarray
        The reference's answer, one entry per leaf.
    label : str
        Shapes and activation, shown in feedback (never the input values).
    context : dict
        Grader-side data for slips and witnesses (inputs, ``N``, the activation object).
    witnesses : dict of str to (callable, ndarray) or ndarray
        Per leaf, the finite-difference witness: a scalar function ``f(theta) -> float`` and
        the point ``theta`` whose gradient the leaf must be, or an array already computed by
        finite differences (shaped like the leaf).
    sandbox_only : bool
        Run only where the sandbox's memory limit protects the machine (a case built to
        exhaust memory if the code does what the contract forbids); nbgrader's kernel and the
        in-process paths skip it.
    """

    call: Call
    expected: dict[str, np.ndarray]
    label: str
    context: dict[str, Any] = field(default_factory=dict)
    witnesses: dict[str, Any] = field(default_factory=dict)
    sandbox_only: bool = False


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


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class ComponentResult:
    """Verdict on one scored component of a part (e.g. ``dW2``, or the whole ``cache``).

    Attributes
    ----------
    name : str
    score, max_score : float
    passed : bool
    checks : list of str
        What was checked, in words.
    problems : list of str
        What went wrong, in words (empty when passed).
    expected_shape, received_shape : str
        Of the worst case, as text (``"(3, 4)"``); ``received_shape`` may say ``"error"``.
    worst_error : float
        Largest relative error against the reference over the cases (``inf`` when it could
        not be computed: wrong shape, error, NaN).
    worst_where : str
        Leaf, case and index of the worst entry, e.g. ``"dW2[1, 0] in case 3"``.
    fd_error : float or None
        Largest relative error against finite differences, when a witness applies.
    """

    name: str
    score: float
    max_score: float
    passed: bool
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    expected_shape: str = ""
    received_shape: str = ""
    worst_error: float = 0.0
    worst_where: str = ""
    fd_error: float | None = None


@dataclass
class PartResult:
    """Verdict on one part.

    Attributes
    ----------
    part, assignment, notebook : str
    score, max_score : float
    components : list of ComponentResult
    diagnoses : list of (str, str)
        ``(slip name, message)`` for every classic slip that fits the numbers.
    error : str or None
        Why nothing could be judged (not defined, raised, timed out, ...).
    flags : set of str
        For the instructor (``missing``, ``error``, ``timeout``, ``nan``, ...).
    leaf_errors : dict of str to float
        Worst relative error per output, for the feedback figure.
    seed : int or None
    """

    part: str
    assignment: str
    notebook: str
    score: float
    max_score: float
    components: list[ComponentResult] = field(default_factory=list)
    diagnoses: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    flags: set[str] = field(default_factory=set)
    leaf_errors: dict[str, float] = field(default_factory=dict)
    seed: int | None = None

    @property
    def message(self) -> str:
        """One line for the CSV."""
        if self.error:
            return self.error
        bad = [c.name for c in self.components if not c.passed]
        if not bad:
            return "all checks passed"
        text = "wrong: " + ", ".join(bad)
        if self.diagnoses:
            text += "; likely: " + "; ".join(name for name, _ in self.diagnoses)
        return text


def _shape_text(shape) -> str:
    if shape is None:
        return "error"
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def format_error(x: float | None, digits: int = 2) -> str:
    """A relative error for people: ``-`` when absent, words when it is not a number."""
    if x is None:
        return "-"
    if math.isinf(x):
        return "not comparable"
    if math.isnan(x):
        return "nan"
    return f"{x:.{digits}e}"


def round_score(score: float, max_score: float) -> float:
    """Scores as nbgrader will read them: rounded to 1e-4 and never above the maximum.

    nbgrader raises when a partial grade exceeds the cell's points, and ``2 * (2/3 + 1/3)``
    can round to one ulp above 2; rounding to four decimals removes that noise.
    """
    return float(min(max_score, max(0.0, round(score, 4))))


# --------------------------------------------------------------------------------------------
# Comparisons


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """The course's relative error, with NaN and infinity counted as the worst possible."""
    with np.errstate(all="ignore"):
        if a.size == 0:
            return 0.0
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return math.inf
        scale = max(1e-12, float(np.max(np.abs(a)) + np.max(np.abs(b))))
        return float(np.max(np.abs(a - b)) / scale)


def _worst_index(received: np.ndarray, expected: np.ndarray) -> tuple:
    with np.errstate(all="ignore"):
        diff = np.abs(received - expected)
        diff = np.where(np.isfinite(diff), diff, np.inf)
    if diff.ndim == 0:
        return ()
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))


def _same_shape(received: np.ndarray, expected: np.ndarray) -> bool:
    """Contract shapes must match exactly, except that a scalar may come as any size-1 array."""
    if received.shape == expected.shape:
        return True
    return expected.ndim == 0 and received.size == 1


#: Factors a classic slip multiplies an answer by, as functions of the batch size ``N``, each
#: with its name and explanation (completed by "`leaf` ...").
SCALE_SLIPS: list[tuple[str, Callable[[int], float], str]] = [
    (
        "flipped-sign",
        lambda N: -1.0,
        "has the opposite sign: check `y_hat - y` against `y - y_hat`",
    ),
    ("missing-factor-2", lambda N: 0.5, "is half the right value: the factor 2 from the square"),
    ("extra-factor-2", lambda N: 2.0, "is twice the right value: a factor 2 too many"),
    (
        "missing-1/N",
        lambda N: float(N),
        "is N times too large: the 1/N of the mean loss is missing",
    ),
    (
        "missing-2/N",
        lambda N: N / 2.0,
        "is N/2 times too large: both the 2 and the 1/N of the mean loss are missing",
    ),
    (
        "missing-1/N-flipped-sign",
        lambda N: -float(N),
        "is -N times the right value: the 1/N is missing and the sign is flipped",
    ),
    (
        "extra-1/N",
        lambda N: 1.0 / N,
        "is N times too small: divided by N once too often (a mean instead of a sum?)",
    ),
    (
        "flipped-sign-missing-2",
        lambda N: -0.5,
        "has the wrong sign and lacks the factor 2",
    ),
]


def _reproduces(got: np.ndarray, answer: np.ndarray) -> bool:
    """Whether a replayed slip gives the student's numbers: same shape, same non-finite
    entries (a slip that overflows overflows where the student's code does), and agreement
    to :data:`SLIP_TOL` on the rest."""
    if not _same_shape(got, answer):
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


def _directional_error(f, theta, grad, rng) -> float:
    """Relative error of ``grad`` against central differences of ``f`` along random directions.

    Like :func:`~autograder.finite_differences.directional_check`, with a floor on the scale:
    a central difference carries round-off of about ``1e-16 |f| / 1e-6 = 1e-10 |f|``, so a
    gradient that is exactly zero (a dead ReLU unit) must not be judged against that noise.
    """
    check = directional_check(f, grad, theta, FD_DIRECTIONS, rng=rng)
    f0 = abs(float(f(np.array(theta, dtype=np.float64))))
    scale = max(
        float(np.max(np.abs(check.analytic)) + np.max(np.abs(check.numeric))),
        FD_NOISE_FLOOR * (1.0 + f0),
    )
    return float(np.max(np.abs(check.analytic - check.numeric)) / scale)


# --------------------------------------------------------------------------------------------
# The part


class Part:
    """One contract function: its cases, its scored components and how they are judged.

    Subclasses set the class attributes and implement :meth:`make_cases` and :meth:`extract`;
    the generic judge compares every leaf with the reference and its witness, and looks for a
    slip that explains each wrong leaf.

    Attributes
    ----------
    spec : PartSpec
        The contract's record of the function: name, assignment, points, arguments.
    components : dict of str to (float, tuple of str)
        Component name to its points and the leaves it covers.
    checks : tuple of str
        Sentences describing what is checked, for the feedback.
    bias_leaves : tuple of str
        Leaves that are sums over the batch (a per-sample answer is a classic slip).
    """

    spec: PartSpec
    components: dict[str, tuple[float, tuple[str, ...]]] = {}
    checks: tuple[str, ...] = ()
    bias_leaves: tuple[str, ...] = ()
    scale_slips: bool = True
    match_tol: float = MATCH_TOL

    # --- to implement -----------------------------------------------------------------------

    def make_cases(self, rng: np.random.Generator) -> list[Case]:
        """Draw the part's cases."""
        raise NotImplementedError

    def extract(self, value: Any) -> dict[str, np.ndarray]:
        """Split a returned tree into named leaves, or raise :class:`Malformed`."""
        raise NotImplementedError

    def slips(self) -> list[Slip]:
        """Part-specific classic slips (generic scale, transpose and sum slips are built in)."""
        return []

    def extra_problems(self, case: Case, outcome: CallOutcome) -> dict[str, list[str]]:
        """Further problems per component beyond value agreement (e.g. inputs modified)."""
        return {}

    # --- shared -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def assignment(self) -> str:
        return self.spec.assignment

    @property
    def points(self) -> float:
        return self.spec.points

    @property
    def notebook(self) -> str:
        return next((a.notebook for a in ASSIGNMENTS if a.name == self.assignment), "")

    @property
    def leaves(self) -> list[str]:
        return [leaf for _, (_, leaves) in self.components.items() for leaf in leaves]

    def calls(self, cases: list[Case]) -> list[Call]:
        return [case.call for case in cases]

    def judge(self, cases: list[Case], run: PartRun, seed: int | None = None) -> PartResult:
        """Judge the part from the sandbox's plain numbers.

        Parameters
        ----------
        cases : list of Case
            As drawn by :meth:`make_cases`.
        run : PartRun
            What came back; its outcomes are in the order of ``cases``.
        seed : int, optional
            Recorded in the result.

        Returns
        -------
        PartResult
        """
        result = PartResult(
            self.name, self.assignment, self.notebook, 0.0, float(self.points), seed=seed
        )
        result.flags |= set(run.flags)
        if run.error is not None:
            result.error = scrub(run.error)
            if run.error == "not defined":
                result.error = f"`{self.name}` is not defined in the notebook"
                result.flags.add("missing")
            result.components = [
                ComponentResult(n, 0.0, float(p), False, list(self.checks), [result.error])
                for n, (p, _) in self.components.items()
            ]
            return result

        # Leaves received per case (None when the call failed or the structure is wrong).
        received: list[dict[str, np.ndarray] | None] = []
        errors: list[str | None] = []
        for i in range(len(cases)):
            outcome = run.outcomes[i] if i < len(run.outcomes) else None
            if outcome is None:
                received.append(None)
                errors.append("did not run (the part was stopped)")
            elif outcome.error is not None:
                received.append(None)
                errors.append(scrub(outcome.error))
            else:
                try:
                    received.append(self.extract(outcome.value))
                    errors.append(None)
                except Malformed as exc:
                    received.append(None)
                    errors.append(str(exc))
        first_error = next((e for e in errors if e is not None), None)
        if all(r is None for r in received):
            result.error = first_error or "no answers came back"
            if "NotImplementedError" in result.error:
                result.flags.add("not-implemented")
            else:
                result.flags.add("error")

        extra: dict[str, list[str]] = {}
        for i, case in enumerate(cases):
            if i < len(run.outcomes) and run.outcomes[i].error is None and received[i]:
                for comp, problems in self.extra_problems(case, run.outcomes[i]).items():
                    extra.setdefault(comp, [])
                    extra[comp] += [p for p in problems if p not in extra[comp]]

        leaf_verdicts = {
            leaf: self._judge_leaf(leaf, cases, received, errors) for leaf in self.leaves
        }
        slips = self.slips()
        diagnoses: dict[str, tuple[str, list[str]]] = {}
        for leaf, verdict in leaf_verdicts.items():
            result.leaf_errors[leaf] = verdict["worst_error"]
            if not verdict["passed"] and any(r is not None for r in received):
                for name, message in self._diagnose(leaf, cases, received, slips):
                    diagnoses.setdefault(name, (message, []))[1].append(leaf)
        for name, (message, leaves) in diagnoses.items():
            # One slip that explains several outputs is said once, naming them all.
            prefix = f"`{leaves[0]}`"
            if len(leaves) > 1 and message.startswith(prefix):
                message = ", ".join(f"`{leaf}`" for leaf in leaves) + message[len(prefix) :]
            result.diagnoses.append((name, message))

        total = 0.0
        for comp, (points, leaves) in self.components.items():
            verdicts = [leaf_verdicts[leaf] for leaf in leaves]
            problems = [p for v in verdicts for p in v["problems"]] + extra.get(comp, [])
            if not leaves:
                # A property without an output of its own (e.g. "theta unchanged") is not
                # earned by a call that failed.
                problems += [
                    f"case {i + 1} ({cases[i].label}): {e}" for i, e in enumerate(errors) if e
                ][:3]
            problems = problems[:3]  # enough to see the pattern; more would drown it
            passed = not problems
            worst = max(
                verdicts,
                key=lambda v: v["worst_error"],
                default={
                    "worst_error": 0.0,
                    "worst_where": "",
                    "expected_shape": "",
                    "received_shape": "",
                },
            )
            fd = [v["fd_error"] for v in verdicts if v["fd_error"] is not None]
            score = float(points) if passed else 0.0
            total += score
            result.components.append(
                ComponentResult(
                    comp,
                    score,
                    float(points),
                    passed,
                    list(self.checks),
                    problems,
                    worst["expected_shape"],
                    worst["received_shape"],
                    worst["worst_error"],
                    worst["worst_where"],
                    max(fd) if fd else None,
                )
            )
            if any(v["nan"] for v in verdicts):
                result.flags.add("nan")
        result.score = round_score(total, float(self.points))
        return result

    def _judge_leaf(self, leaf, cases, received, errors) -> dict:
        problems: list[str] = []
        worst = {"err": -1.0, "where": "", "exp": "", "rec": ""}
        fd_worst: float | None = None
        has_nan = False

        def note(err, where, exp_shape, rec_shape):
            if err > worst["err"]:
                worst.update(err=err, where=where, exp=exp_shape, rec=rec_shape)

        def problem(text):
            # Three examples are enough to see the pattern; the rest would drown it.
            if len(problems) < 3:
                problems.append(text)

        for i, case in enumerate(cases):
            if leaf not in case.expected:
                continue  # this case checks other outputs
            expected = case.expected[leaf]
            exp_shape = _shape_text(expected.shape)
            where = f"case {i + 1} ({case.label})"
            got = None if received[i] is None else received[i].get(leaf)
            if received[i] is None:
                problem(f"{where}: {errors[i]}")
                note(math.inf, f"{leaf} in case {i + 1}", exp_shape, "error")
                continue
            if got is None:
                problem(f"{where}: `{leaf}` is missing")
                note(math.inf, f"{leaf} in case {i + 1}", exp_shape, "missing")
                continue
            if not _same_shape(got, expected):
                problem(
                    f"{where}: `{leaf}` has shape {_shape_text(got.shape)}, expected {exp_shape}"
                )
                note(math.inf, f"{leaf} in case {i + 1}", exp_shape, _shape_text(got.shape))
                continue
            rec_shape = _shape_text(got.shape)
            got = got.reshape(expected.shape)
            finite = bool(np.all(np.isfinite(got)))
            has_nan = has_nan or not finite
            err = relative_error(got, expected)
            idx = _worst_index(got, expected)
            at = f"{leaf}[{', '.join(map(str, idx))}]" if idx else leaf
            note(err, f"{at} in case {i + 1}", exp_shape, rec_shape)
            if err > self.match_tol:
                problem(
                    f"{where}: `{leaf}` differs from the expected values "
                    f"(relative error {format_error(err)})"
                    + ("; it contains nan or inf" if not finite else "")
                )
            if leaf in case.witnesses and finite:
                witness = case.witnesses[leaf]
                if isinstance(witness, np.ndarray):
                    # Precomputed by finite differences (e.g. a Hessian from differences of
                    # the gradient): compare directly.
                    fd_err = relative_error(got, witness)
                else:
                    fd_err = _directional_error(*witness, got, np.random.default_rng(i))
                fd_worst = fd_err if fd_worst is None else max(fd_worst, fd_err)
                if fd_err > FD_TOL and err <= self.match_tol:
                    problem(
                        f"{where}: `{leaf}` disagrees with finite differences "
                        f"(relative error {format_error(fd_err)})"
                    )
        return {
            "passed": not problems,
            "problems": problems,
            "worst_error": max(worst["err"], 0.0),
            "worst_where": worst["where"],
            "expected_shape": worst["exp"],
            "received_shape": worst["rec"],
            "fd_error": fd_worst,
            "nan": has_nan,
        }

    def _diagnose(self, leaf, cases, received, slips) -> list[tuple[str, str]]:
        """Slips that reproduce the student's numbers for ``leaf`` on every case that ran."""
        ran = [
            (c, r[leaf])
            for c, r in zip(cases, received, strict=True)
            if r and leaf in r and leaf in c.expected
        ]
        if not ran:
            return []
        found: list[tuple[str, str]] = []
        for slip in slips:
            fits = 0
            for case, got in ran:
                try:
                    with np.errstate(all="ignore"):
                        answer = slip.answer(case).get(leaf)
                except Exception:  # a slip that cannot apply to these shapes does not fit
                    answer = None
                if answer is None:
                    continue
                answer = np.asarray(answer, dtype=np.float64)
                if not _reproduces(got, answer):
                    fits = -1
                    break
                # A slip explains a wrong leaf only where it changes the answer.
                if _reproduces(case.expected[leaf], answer):
                    continue
                fits += 1
            if fits > 0:
                found.append((slip.name, f"`{leaf}`: {slip.message}"))
        if found:
            return found
        return self._generic_diagnoses(leaf, ran)

    def _generic_diagnoses(self, leaf, ran) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        # Not summed over the batch: a per-sample answer with one more leading axis of size N.
        if leaf in self.bias_leaves:
            per_sample = [
                got.shape == (c.context["N"],) + c.expected[leaf].shape
                and relative_error(got.sum(axis=0), c.expected[leaf]) <= SLIP_TOL
                for c, got in ran
            ]
            if all(per_sample) and any(c.context["N"] > 1 for c, _ in ran):
                return [
                    (
                        "bias-not-summed",
                        f"`{leaf}` has one row per sample: sum it over the batch "
                        "(`axis=0`) to get the gradient of the bias",
                    )
                ]
        # Transposed: the right numbers in the transposed layout.
        transposed = [
            got.ndim == 2
            and got.T.shape == c.expected[leaf].shape
            and relative_error(got.T, c.expected[leaf]) <= SLIP_TOL
            for c, got in ran
        ]
        if all(transposed) and any(
            got.shape != c.expected[leaf].shape or not np.allclose(got, got.T) for c, got in ran
        ):
            return [
                (
                    "transposed",
                    f"`{leaf}` is transposed: a gradient has the shape of its parameter "
                    f"(expected {_shape_text(ran[0][0].expected[leaf].shape)}, "
                    f"received {_shape_text(ran[0][1].shape)})",
                )
            ]
        if not self.scale_slips:
            return found
        # A constant factor (possibly depending on N) between the student and the reference.
        factors = []
        for case, got in ran:
            expected = case.expected[leaf]
            if not _same_shape(got, expected) or not np.all(np.isfinite(got)):
                return found
            got = got.reshape(expected.shape)
            denom = float(np.sum(expected * expected))
            if denom < 1e-24:
                continue
            c = float(np.sum(got * expected)) / denom
            if relative_error(got, c * expected) > SLIP_TOL:
                return found
            factors.append((c, case.context.get("N", 1)))
        for name, factor, message in SCALE_SLIPS:
            fits = [abs(c - factor(N)) <= 1e-6 * max(1.0, abs(factor(N))) for c, N in factors]
            # It must explain every case, and not only cases where it changes nothing.
            if factors and all(fits) and any(abs(factor(N) - 1.0) > 1e-9 for _, N in factors):
                found.append((name, f"`{leaf}` {message}"))
        return found


def format_part_text(result: PartResult) -> str:
    """Plain-text feedback for one part: points, checks, shapes, worst error, diagnosis.

    Never shows the grader's inputs: only shapes, activation names, errors and indices.

    Parameters
    ----------
    result : PartResult

    Returns
    -------
    str
    """
    lines = [f"{result.part}: {result.score:.4g} / {result.max_score:g} points"]
    if result.seed is not None:
        lines[0] += f"   (grading seed {result.seed})"
    if result.error:
        lines.append(f"  Problem: {result.error}")
    for comp in result.components:
        mark = "ok " if comp.passed else "WRONG"
        line = f"  [{mark}] {comp.name}: {comp.score:.3g} / {comp.max_score:.3g}"
        if not result.error and comp.expected_shape:
            line += (
                f"; shapes expected {comp.expected_shape}, received {comp.received_shape}"
                f"; worst relative error {format_error(comp.worst_error)}"
            )
            if comp.worst_where and not comp.passed:
                line += f" at {comp.worst_where}"
            if comp.fd_error is not None:
                line += f"; against finite differences {format_error(comp.fd_error)}"
        lines.append(line)
        if not result.error:
            lines += [f"        - {p}" for p in comp.problems]
    if result.diagnoses:
        lines.append("  Likely cause:")
        lines += [f"    * {msg}" for _, msg in result.diagnoses]
    checks = result.components[0].checks if result.components else []
    if checks:
        lines.append("  Checked: " + " ".join(checks))
    return "\n".join(lines)


def failed_result(part: Part, message: str, flags=(), seed: int | None = None) -> PartResult:
    """Zero points for a part that could not be judged at all (missing or broken notebook).

    Parameters
    ----------
    part : Part
    message : str
        Why, in plain words.
    flags : iterable of str
    seed : int, optional

    Returns
    -------
    PartResult
    """
    result = PartResult(
        part.name, part.assignment, part.notebook, 0.0, float(part.points), seed=seed
    )
    result.error = message
    result.flags = set(flags)
    result.components = [
        ComponentResult(name, 0.0, float(points), False, list(part.checks), [message])
        for name, (points, _) in part.components.items()
    ]
    return result
