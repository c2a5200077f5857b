"""The checks of every contract part: cases drawn by the grader, judges, diagnoses.

:data:`PARTS` maps each function of the exercise contract (COURSE.md) to its :class:`Part`;
:data:`ASSIGNMENTS` lists the parts of each assignment in notebook order. The same checks run
in three places: the batch grader (``python -m autograder grade``, student code in the
sandbox), pytest (``pytest --pyargs autograder.checks --submission PATH``: one test per part,
see :mod:`autograder.checks.pytest_plugin` and ``test_parts.py``) and nbgrader's hidden test
blocks (:func:`autograder.nbgrader_hook.hidden_test`).

Modules: ``core`` (cases, judging, diagnoses, tolerances), ``mlp``, ``gradient_tools`` and
``logistic`` (one :class:`Part` per contract function), ``inprocess`` (calling a function in
this process, for nbgrader's kernel and the tests).
"""

from __future__ import annotations

from ..contract import ASSIGNMENTS as CONTRACT_ASSIGNMENTS
from ..contract import Contract
from ..protocol import PartRun
from .core import (
    FD_TOL,
    MATCH_TOL,
    SLIP_TOL,
    Case,
    ComponentResult,
    Malformed,
    Part,
    PartResult,
    Slip,
    failed_result,
    format_part_text,
    part_rng,
    to_plain_tree,
)
from .gradient_tools import GRADIENT_TOOL_PARTS
from .inprocess import call_in_process, run_part_in_process
from .logistic import LOGISTIC_PARTS
from .mlp import MLP_PARTS

__all__ = [
    "ASSIGNMENTS",
    "FD_TOL",
    "MATCH_TOL",
    "PARTS",
    "SLIP_TOL",
    "Case",
    "ComponentResult",
    "Malformed",
    "Part",
    "PartResult",
    "Slip",
    "call_in_process",
    "check_function",
    "contract",
    "draw_cases",
    "failed_result",
    "format_part_text",
    "judge",
    "part_rng",
    "run_part_in_process",
    "to_plain_tree",
]

#: Contract parts by name, in notebook order.
PARTS: dict[str, Part] = {p.name: p for p in [*GRADIENT_TOOL_PARTS, *MLP_PARTS, *LOGISTIC_PARTS]}


def contract() -> Contract:
    """The course contract: the assignments and the spec of every registered part."""
    return Contract(CONTRACT_ASSIGNMENTS, tuple(p.spec for p in PARTS.values()))


#: Assignment name to ``(notebook name, part names)``.
ASSIGNMENTS: dict[str, tuple[str, list[str]]] = {
    a.name: (a.notebook, [p.name for p in contract().parts_of(a.name)])
    for a in CONTRACT_ASSIGNMENTS
}


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
