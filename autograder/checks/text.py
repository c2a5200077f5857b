"""Verdicts in words: numbers for people, messages safe to show, a part's plain-text feedback.

Feedback must never reveal the grader's hidden inputs: only shapes, activation names, relative
errors and indices appear, and whatever text comes from a submission is scrubbed of real
numbers first.
"""

from __future__ import annotations

import math
import re

from ..results import PartResult

__all__ = ["format_error", "format_part_text", "round_score", "scrub", "shape_text"]

#: Longest message from student code kept in feedback: a line or two, enough to recognise it.
SCRUB_LIMIT = 240

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")


def scrub(text: str, limit: int = SCRUB_LIMIT) -> str:
    """A message from student code, safe to show: no real numbers, bounded length.

    Code can put the hidden inputs into an exception's message (``raise ValueError(X)``).
    Real numbers are replaced by ``<number>``; integers stay, so numpy's shape messages remain
    readable.
    """
    text = _NUMBER.sub("<number>", str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shape_text(shape) -> str:
    """``(3, 4)``, ``(5,)``, ``()``; ``"error"`` for no shape."""
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


def format_part_text(result: PartResult) -> str:
    """Plain-text feedback for one part: points, checks, shapes, worst error, diagnosis.

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
        lines += [f"    * {d.message}" for d in result.diagnoses]
    checks = result.components[0].checks if result.components else []
    if checks:
        lines.append("  Checked: " + " ".join(checks))
    return "\n".join(lines)
