"""A graded part: its cases, its scored components and how they are judged.

The grader draws its own inputs for a part (:class:`~.cases.Case`), the student's function is
called on them somewhere else (a sandboxed process, or nbgrader's kernel), and only plain
trees of numbers come back (:class:`~autograder.protocol.CallOutcome`). Judging happens here,
from those numbers: each named output (a *leaf*, e.g. ``dW2``) is compared with the trusted
reference and, for gradients, with finite differences (:mod:`.compare`); outputs are grouped
into *components* that carry the part's points, so a part with several outputs earns partial
credit; when an output is wrong, known slips are replayed to name the mistake (:mod:`.slips`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..contract import PartSpec
from ..protocol import CallOutcome, Flag, PartRun
from ..results import ComponentResult, Diagnosis, PartResult
from .cases import Case
from .compare import MATCH_TOL, MAX_PROBLEMS, LeafVerdict, judge_leaf
from .convert import Malformed
from .slips import ScaleSlip, Slip, diagnose
from .text import round_score, scrub

__all__ = ["Part", "failed_result"]


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
        Component name to its points and the leaves it covers. A component with no leaves
        is a side condition (e.g. "theta unchanged"): it earns its points only when every
        other component of the part is right, so doing nothing never scores.
    checks : tuple of str
        Sentences describing what is checked, for the feedback.
    bias_leaves : tuple of str
        Leaves that are sums over the batch (a per-sample answer is a classic slip).
    scale_slips : tuple of ScaleSlip
        Constant factors to recognise in a wrong answer.
    match_tol : float
        Agreement required with the reference.
    """

    spec: PartSpec
    components: dict[str, tuple[float, tuple[str, ...]]] = {}
    checks: tuple[str, ...] = ()
    bias_leaves: tuple[str, ...] = ()
    scale_slips: tuple[ScaleSlip, ...] = ()
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

    def diagnose_leaf(
        self, leaf: str, cases: list[Case], received: list[dict[str, np.ndarray] | None]
    ) -> list[Diagnosis]:
        """The slips that explain a wrong ``leaf`` (a hook for part-specific shapes)."""
        return diagnose(leaf, cases, received, self.slips(), self.bias_leaves, self.scale_slips)

    # --- shared -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def points(self) -> float:
        return self.spec.points

    @property
    def leaves(self) -> list[str]:
        return [leaf for _, (_, leaves) in self.components.items() for leaf in leaves]

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
        if run.error is not None:
            return self._part_failed(run, seed)
        result = PartResult(self.name, 0.0, float(self.points), seed=seed)
        result.flags |= set(run.flags)
        received, errors = self._received(cases, run)
        if all(r is None for r in received):
            result.error = next((e for e in errors if e is not None), "no answers came back")
            not_implemented = "NotImplementedError" in result.error
            result.flags.add(Flag.NOT_IMPLEMENTED if not_implemented else Flag.ERROR)

        verdicts = {
            leaf: judge_leaf(leaf, cases, received, errors, self.match_tol) for leaf in self.leaves
        }
        result.leaf_errors = {leaf: v.worst_error for leaf, v in verdicts.items()}
        if any(v.nan for v in verdicts.values()):
            result.flags.add(Flag.NAN)
        if any(r is not None for r in received):
            result.diagnoses = self._diagnoses(verdicts, cases, received)
        result.components = self._components(verdicts, cases, run, received, errors)
        result.score = round_score(sum(c.score for c in result.components), float(self.points))
        return result

    def _part_failed(self, run: PartRun, seed: int | None) -> PartResult:
        """Zero points when the part as a whole could not run (missing, timed out, crashed)."""
        if run.error == "not defined":
            message = f"`{self.name}` is not defined in the notebook"
            flags = {*run.flags, Flag.MISSING}
        else:
            message, flags = scrub(run.error or ""), set(run.flags)
        return failed_result(self, message, flags, seed)

    def _received(self, cases: list[Case], run: PartRun):
        """The student's leaves per case (``None`` where the call failed) and why each failed."""
        received: list[dict[str, np.ndarray] | None] = []
        errors: list[str | None] = []
        for i in range(len(cases)):
            outcome = run.outcomes[i] if i < len(run.outcomes) else None
            leaves, error = None, None
            if outcome is None:
                error = "did not run (the part was stopped)"
            elif outcome.error is not None:
                error = scrub(outcome.error)
            else:
                try:
                    leaves = self.extract(outcome.value)
                except Malformed as exc:
                    error = str(exc)
            received.append(leaves)
            errors.append(error)
        return received, errors

    def _diagnoses(self, verdicts: dict[str, LeafVerdict], cases, received) -> list[Diagnosis]:
        """Every slip that fits a wrong leaf; one slip that explains several leaves is said
        once, naming them all."""
        found: dict[str, tuple[str, list[str]]] = {}
        for leaf, verdict in verdicts.items():
            if verdict.passed:
                continue
            for name, message in self.diagnose_leaf(leaf, cases, received):
                found.setdefault(name, (message, []))[1].append(leaf)
        out = []
        for name, (message, leaves) in found.items():
            prefix = f"`{leaves[0]}`"
            if len(leaves) > 1 and message.startswith(prefix):
                message = ", ".join(f"`{leaf}`" for leaf in leaves) + message[len(prefix) :]
            out.append(Diagnosis(name, message))
        return out

    def _components(self, verdicts, cases, run, received, errors) -> list[ComponentResult]:
        extra: dict[str, list[str]] = {}
        for i, case in enumerate(cases):
            if i < len(run.outcomes) and run.outcomes[i].error is None and received[i]:
                for comp, problems in self.extra_problems(case, run.outcomes[i]).items():
                    extra.setdefault(comp, [])
                    extra[comp] += [p for p in problems if p not in extra[comp]]
        valued = [leaves for _, leaves in self.components.values() if leaves]
        values_right = all(verdicts[leaf].passed for leaves in valued for leaf in leaves)
        out = []
        for comp, (points, leaves) in self.components.items():
            comp_verdicts = [verdicts[leaf] for leaf in leaves]
            problems = [p for v in comp_verdicts for p in v.problems] + extra.get(comp, [])
            if not leaves:
                # A side condition is not earned by a call that failed, nor by an answer that
                # is wrong: returning zeros leaves `theta` unchanged too.
                problems += [
                    f"case {i + 1} ({cases[i].label}): {e}" for i, e in enumerate(errors) if e
                ][:MAX_PROBLEMS]
                if not problems and not values_right:
                    problems.append(
                        "counts only together with right values, and the values are wrong"
                    )
            problems = problems[:MAX_PROBLEMS]  # enough to see the pattern; more would drown it
            worst = max(comp_verdicts, key=lambda v: v.worst_error, default=LeafVerdict())
            fd = [v.fd_error for v in comp_verdicts if v.fd_error is not None]
            passed = not problems
            out.append(
                ComponentResult(
                    comp,
                    float(points) if passed else 0.0,
                    float(points),
                    passed,
                    list(self.checks),
                    problems,
                    worst.expected_shape,
                    worst.received_shape,
                    worst.worst_error,
                    worst.worst_where,
                    max(fd) if fd else None,
                )
            )
        return out


def failed_result(part: Part, message: str, flags=(), seed: int | None = None) -> PartResult:
    """Zero points for a part that could not be judged at all (missing or broken notebook).

    Parameters
    ----------
    part : Part
    message : str
        Why, in plain words.
    flags : iterable of Flag
    seed : int, optional

    Returns
    -------
    PartResult
    """
    result = PartResult(part.name, 0.0, float(part.points), seed=seed)
    result.error = message
    result.flags = {Flag(f) for f in flags}
    result.components = [
        ComponentResult(name, 0.0, float(points), False, list(part.checks), [message])
        for name, (points, _) in part.components.items()
    ]
    return result
