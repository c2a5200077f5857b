"""What grading found, as plain records: per component, per part, per notebook.

These records are the only thing that travels from the judges to the CSV, the gradebook, the
``autograded/`` notebooks and the feedback pages (and back from a Dask worker), so they hold
plain data only: numbers, strings, :class:`~autograder.protocol.Flag` sets. Nothing here
imports the checks, the sandbox or the writers; they all import this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from .contract import grade_id_of_test
from .protocol import Flag

__all__ = [
    "ComponentResult",
    "Diagnosis",
    "NotebookGrade",
    "PartResult",
    "grade_from_json",
    "grade_to_json",
]


class Diagnosis(NamedTuple):
    """A classic slip that explains the student's numbers (unpacks as ``name, message``).

    Attributes
    ----------
    name : str
        Short id, in the CSV's ``diagnosis`` column (``"missing-1/N"``).
    message : str
        What the student did and how to fix it, in plain words.
    """

    name: str
    message: str


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
    """Verdict on one graded part (one test cell).

    Attributes
    ----------
    part : str
        The contract function's name.
    score, max_score : float
    components : list of ComponentResult
    diagnoses : list of Diagnosis
        Every classic slip that fits the numbers.
    error : str or None
        Why nothing could be judged (not defined, raised, timed out, ...).
    flags : set of Flag
    leaf_errors : dict of str to float
        Worst relative error per output, for the feedback figure.
    seed : int or None
    """

    part: str
    score: float
    max_score: float
    components: list[ComponentResult] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    error: str | None = None
    flags: set[Flag] = field(default_factory=set)
    leaf_errors: dict[str, float] = field(default_factory=dict)
    seed: int | None = None

    @property
    def grade_id(self) -> str:
        """The test cell's ``grade_id``."""
        return grade_id_of_test(self.part)

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
            text += "; likely: " + "; ".join(d.name for d in self.diagnoses)
        return text


@dataclass
class NotebookGrade:
    """Everything the grader found about one notebook.

    Attributes
    ----------
    student, assignment, notebook, path : str
    seed : int
    results : list of PartResult
        One per contract part of the assignment, in notebook order.
    problem : str or None
        Why the notebook could not be run at all.
    flags : set of Flag
        Notebook-level flags (``missing-notebook``, ``unreadable``, ``sandbox-error``, and
        the sandbox's own, e.g. ``tampering``).
    cell_errors : list of str
        Cells that raised while loading.
    notes : list of str
        The sandbox's sentences for the instructor (what the submission tried or suffered).
    isolation : str
        How the code ran (``bwrap``, ``none``), from the sandbox.
    seconds : float
        Wall-clock time spent on it.
    """

    student: str
    assignment: str
    notebook: str
    path: str
    seed: int
    results: list[PartResult] = field(default_factory=list)
    problem: str | None = None
    flags: set[Flag] = field(default_factory=set)
    cell_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isolation: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)


# --------------------------------------------------------------------------------------------
# As JSON: the grade travels inside the autograded notebook, from `grade` to `feedback`.

#: Bump when the JSON form changes, so an old autograded notebook is regraded, not misread.
JSON_VERSION = 1


def _number(x: float | None) -> float | str | None:
    # JSON has no infinity or nan; "not comparable" errors are infinite.
    if x is None or math.isfinite(x):
        return x
    return str(x)


def _float(x: float | str | None) -> float | None:
    return None if x is None else float(x)


def _component_json(c: ComponentResult) -> dict:
    return {
        "name": c.name,
        "score": c.score,
        "max_score": c.max_score,
        "passed": c.passed,
        "checks": list(c.checks),
        "problems": list(c.problems),
        "expected_shape": c.expected_shape,
        "received_shape": c.received_shape,
        "worst_error": _number(c.worst_error),
        "worst_where": c.worst_where,
        "fd_error": _number(c.fd_error),
    }


def grade_to_json(grade: NotebookGrade) -> dict:
    """``grade`` as plain JSON data (see :func:`grade_from_json`).

    Written field by field (``dataclasses.asdict`` deep-copies every value, milliseconds per
    notebook for thousands of notebooks).
    """
    results = [
        {
            "part": r.part,
            "score": r.score,
            "max_score": r.max_score,
            "components": [_component_json(c) for c in r.components],
            "diagnoses": [list(d) for d in r.diagnoses],
            "error": r.error,
            "flags": sorted(r.flags),
            "leaf_errors": {k: _number(v) for k, v in r.leaf_errors.items()},
            "seed": r.seed,
        }
        for r in grade.results
    ]
    data = {
        "student": grade.student,
        "assignment": grade.assignment,
        "notebook": grade.notebook,
        "path": grade.path,
        "seed": grade.seed,
        "results": results,
        "problem": grade.problem,
        "flags": sorted(grade.flags),
        "cell_errors": list(grade.cell_errors),
        "notes": list(grade.notes),
        "isolation": grade.isolation,
        "seconds": grade.seconds,
    }
    return {"version": JSON_VERSION, "grade": data}


def grade_from_json(data: dict) -> NotebookGrade:
    """The :class:`NotebookGrade` that :func:`grade_to_json` wrote.

    Raises
    ------
    ValueError
        When ``data`` is not such a grade (another version, or malformed).
    """
    try:
        if data["version"] != JSON_VERSION:
            raise ValueError(f"grade written in format {data['version']}, not {JSON_VERSION}")
        g = dict(data["grade"])
        results = []
        for r in g.pop("results"):
            r = dict(r)
            components = [
                ComponentResult(
                    **{
                        **c,
                        "worst_error": _float(c["worst_error"]),
                        "fd_error": _float(c["fd_error"]),
                    }
                )
                for c in r.pop("components")
            ]
            results.append(
                PartResult(
                    **{
                        **r,
                        "components": components,
                        "diagnoses": [Diagnosis(*d) for d in r["diagnoses"]],
                        "flags": {Flag(f) for f in r["flags"]},
                        "leaf_errors": {k: _float(v) for k, v in r["leaf_errors"].items()},
                    }
                )
            )
        return NotebookGrade(**{**g, "results": results, "flags": {Flag(f) for f in g["flags"]}})
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a grade: {exc}") from exc
