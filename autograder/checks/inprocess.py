"""Calling a student's function in the current process and turning the answer into plain data.

Used where the student's code already shares the process: nbgrader's kernel (the hidden test
blocks) and the tests of the judges. The answers go through :func:`~.convert.to_plain_tree`, so
the judges see exactly what they would see from the sandbox.
"""

from __future__ import annotations

import contextlib
import copy
import io
import sys
import warnings
from typing import Any

import numpy as np

from ..activations import ACTIVATIONS
from ..protocol import ActivationRef, Call, CallOutcome, Flag, FunctionRef, PartRun
from ..test_functions import STRICT_FLOATING_POINT_PARTS, bind
from ..worker.convert import plain_args_after
from .convert import Malformed, to_plain_tree

__all__ = [
    "call_in_process",
    "materialize",
    "run_part_in_process",
    "run_submission_in_process",
]


def materialize(value: Any) -> Any:
    """Turn a :class:`Call` argument into what the student's function receives.

    Arrays are copied (a function that modifies its inputs cannot disturb the grader's),
    :class:`ActivationRef` becomes the activation object and :class:`FunctionRef` the
    one-argument test function.
    """
    if isinstance(value, ActivationRef):
        return ACTIVATIONS[value.name]
    if isinstance(value, FunctionRef):
        return bind(value.name, value.data)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    return copy.deepcopy(value)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = f": {text[0][:200]}" if text else ""
    return f"raised {type(exc).__name__}{detail}"


def call_in_process(fn, call: Call) -> CallOutcome:
    """Call ``fn`` as ``call`` says, catching everything, and return plain data.

    Warnings are silenced (nbgrader gives no credit to a test cell that writes to stderr),
    except that floating-point overflow raises for the parts that promise not to overflow.

    Parameters
    ----------
    fn : callable
        The student's function.
    call : Call

    Returns
    -------
    CallOutcome
    """
    args = tuple(materialize(a) for a in call.args)
    kwargs = {k: materialize(v) for k, v in call.kwargs.items()}
    strict = call.part in STRICT_FLOATING_POINT_PARTS
    fp = {"over": "raise", "invalid": "raise"} if strict else {"all": "ignore"}
    try:
        with (
            warnings.catch_warnings(),
            np.errstate(**fp),
            contextlib.redirect_stderr(sys.stdout),
        ):
            warnings.simplefilter("ignore")
            value = fn(*args, **kwargs)
            plain = to_plain_tree(value)
    except Malformed as exc:
        return CallOutcome(error=str(exc))
    except Exception as exc:  # student code may raise anything; it becomes feedback
        return CallOutcome(error=_error_text(exc))
    after = plain_args_after(args) if call.return_args else None
    return CallOutcome(value=plain, args_after=after)


def run_part_in_process(fn, calls: list[Call]) -> PartRun:
    """All calls of one part, in order, in this process.

    Parameters
    ----------
    fn : callable or None
        The student's function; ``None`` when the notebook does not define it.
    calls : list of Call

    Returns
    -------
    PartRun
    """
    part = calls[0].part if calls else ""
    if fn is None or not callable(fn):
        return PartRun(part, error="not defined", flags={Flag.MISSING})
    return PartRun(part, [call_in_process(fn, c) for c in calls])


def run_submission_in_process(cells: list[str], calls: list[Call], limits=None):
    """Run a notebook's cells and the calls in *this* process: for trusted code only.

    The same signature and result as :func:`autograder.sandbox.run_submission`, without any
    isolation or limit; the tests use it to exercise the grader's orchestration with the
    bundled, trusted sample notebooks independently of the sandbox.

    Parameters
    ----------
    cells : list of str
    calls : list of Call
    limits : Limits, optional
        Ignored.

    Returns
    -------
    SubmissionRun
    """
    from ..protocol import SubmissionRun

    namespace: dict[str, Any] = {"__name__": "__main__"}
    run = SubmissionRun()
    out = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(out),
    ):
        warnings.simplefilter("ignore")
        for i, source in enumerate(cells):
            try:
                exec(compile(source, f"<cell {i + 1}>", "exec"), namespace)  # noqa: S102
            except BaseException as exc:  # a cell's failure must not stop the others
                run.cell_errors.append(f"cell {i + 1}: {type(exc).__name__}: {exc}"[:300])
    run.output = out.getvalue()[:65536]
    by_part: dict[str, list[Call]] = {}
    for call in calls:
        by_part.setdefault(call.part, []).append(call)
    for part, part_calls in by_part.items():
        fn = namespace.get(part)
        run.parts[part] = run_part_in_process(fn if callable(fn) else None, part_calls)
        run.parts[part].part = part
    return run
