"""The checks of every contract part, and the registry that makes them the course's contract.

:data:`PARTS` maps each graded function to its :class:`Part`, in notebook order; each part
carries its :class:`~autograder.contract.PartSpec` (name, assignment, points, arguments), so
:func:`contract` is derived from the registered checks and the course's assignments. The same
checks run in three places: the batch grader (``python -m autograder grade``, student code in
the sandbox), pytest (``pytest --pyargs autograder.checks --submission PATH``, see
:mod:`autograder.pytest_plugin`) and nbgrader's hidden test blocks
(:func:`autograder.nbgrader_hook.hidden_test`).

Modules: ``part`` (a part's judging), ``cases``, ``compare`` (one output against the reference
and finite differences), ``slips`` (naming the mistake), ``text`` (verdicts in words),
``convert`` (returned values as numbers), ``inprocess`` (calling a function in this process);
``gradient_tools``, ``mlp`` and ``logistic`` hold one :class:`Part` per contract function.
"""

from __future__ import annotations

from ..contract import ASSIGNMENTS, Assignment, Contract
from ..protocol import PartRun
from ..results import PartResult
from .cases import Case, part_rng
from .compare import FD_TOL, MATCH_TOL
from .convert import Malformed, to_plain_tree
from .gradient_tools import GRADIENT_TOOL_PARTS
from .inprocess import call_in_process, run_part_in_process
from .logistic import LOGISTIC_PARTS
from .mlp import MLP_PARTS
from .part import Part, failed_result
from .slips import SLIP_TOL, Slip
from .text import format_part_text

__all__ = [
    "FD_TOL",
    "MATCH_TOL",
    "PARTS",
    "SLIP_TOL",
    "Case",
    "Malformed",
    "Part",
    "Slip",
    "call_in_process",
    "check_function",
    "contract",
    "draw_cases",
    "failed_result",
    "format_part_text",
    "judge",
    "part_rng",
    "register",
    "run_part_in_process",
    "to_plain_tree",
]

#: Contract parts by name, in notebook order.
PARTS: dict[str, Part] = {p.name: p for p in [*GRADIENT_TOOL_PARTS, *MLP_PARTS, *LOGISTIC_PARTS]}
#: The course's assignments; an extension may add one with :func:`register`.
_ASSIGNMENTS: list[Assignment] = list(ASSIGNMENTS)


def register(part: Part, assignment: Assignment | None = None) -> None:
    """Add a graded part (and its assignment, if new) to the course.

    The three files of a new graded function are its reference, its :class:`Part` (listed in
    its module's parts list, which registers it here at import) and its cells in the source
    notebook; extensions and tests can register a part at run time with this function.

    Parameters
    ----------
    part : Part
    assignment : Assignment, optional
        Required when ``part.spec.assignment`` is not one of the course's assignments yet.

    Raises
    ------
    ValueError
        When the result would not be a consistent contract (see :class:`Contract`).
    """
    assignments = list(_ASSIGNMENTS)
    if assignment is not None and assignment.name not in {a.name for a in assignments}:
        assignments.append(assignment)
    Contract(tuple(assignments), tuple(p.spec for p in [*PARTS.values(), part]))
    _ASSIGNMENTS[:] = assignments
    PARTS[part.name] = part


def contract() -> Contract:
    """The course contract: the assignments and the spec of every registered part."""
    return Contract(tuple(_ASSIGNMENTS), tuple(p.spec for p in PARTS.values()))


def draw_cases(part: str, seed: int, sandboxed: bool = False) -> list[Case]:
    """The cases of ``part`` for a run seed (reproducible).

    Parameters
    ----------
    part : str
    seed : int
    sandboxed : bool
        Include the cases that rely on the sandbox's memory limit (see ``Case.sandbox_only``).

    Returns
    -------
    list of Case
    """
    cases = PARTS[part].make_cases(part_rng(seed, part))
    return cases if sandboxed else [c for c in cases if not c.sandbox_only]


def judge(part: str, cases: list[Case], run: PartRun, seed: int | None = None) -> PartResult:
    """Judge one part from the plain numbers that came back."""
    return PARTS[part].judge(cases, run, seed)


def check_function(part: str, fn, seed: int = 0) -> PartResult:
    """Draw the cases, call ``fn`` in this process and judge it: for tests and nbgrader.

    Parameters
    ----------
    part : str
        Contract function name.
    fn : callable or None
    seed : int

    Returns
    -------
    PartResult
    """
    cases = draw_cases(part, seed)
    run = run_part_in_process(fn, [c.call for c in cases])
    run.part = part
    return judge(part, cases, run, seed)
