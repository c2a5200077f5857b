"""What the grader sends a sandbox worker for one submission, and how it reads the answer.

The request is one ``run`` frame: the cells, the limits, and each part's calls as trees whose
arrays keep their dtype (float64, int64 or bool; see :mod:`autograder.worker.tree`). The
answer is one ``result`` frame, written by the worker's supervisor and decoded here as
strictly as if a submission had written it: only known flags, bounded strings, the parts in
the order asked, no more outcomes than calls, and trees of numbers only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .protocol import (
    SANDBOX_FLAGS,
    Call,
    CallOutcome,
    Flag,
    Limits,
    PartRun,
    SubmissionRun,
    cell_digest,
)
from .worker.attempt import HARD_GRACE_SECONDS
from .worker.loader import LOAD_BUDGET_FACTOR
from .worker.report import MAX_ARGS_AFTER, MAX_CELL_ERRORS
from .worker.supervisor import MAX_LOAD_ATTEMPTS
from .worker.tree import RESULT_KINDS, TreeDecoder, TreeEncoder
from .worker.wire import FrameError, check_flags, check_module_names, check_str, check_str_list

__all__ = [
    "REPO_ROOT",
    "Request",
    "build_request",
    "deadline_seconds",
    "failed_run",
    "parse_answer",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
# Beyond the time the limits allow, how long the grader waits for a worker before killing it.
HOST_GRACE_SECONDS = 30.0
# Bounds of the answer's text: as the supervisor keeps them, with room to spare (the cell
# errors take the supervisor's own bound, MAX_CELL_ERRORS).
MAX_NOTES = 200
MAX_IMPORTS = 500
MAX_OUTPUT_CHARS = 10**8
# A part's own flags: the sandbox's, plus "missing" for a function the notebook lacks.
PART_FLAGS = SANDBOX_FLAGS | {Flag.MISSING}


@dataclass(frozen=True)
class Request:
    """One submission's ``run`` frame, and what is needed to check the answer against it.

    Attributes
    ----------
    header : dict
    blob : bytes
        The arrays of every call's arguments.
    parts : tuple of str
        The parts in the order the answer must list them (first appearance in the calls).
    calls_per_part : dict of str to int
        The most outcomes the answer may hold for each part.
    """

    header: dict
    blob: bytes
    parts: tuple[str, ...]
    calls_per_part: dict[str, int]


def build_request(
    cells: list[str],
    calls: list[Call],
    limits: Limits,
    handout: frozenset[bytes] = frozenset(),
) -> Request:
    """The ``run`` frame for ``cells`` and ``calls``, the calls grouped by part.

    ``handout`` holds the digests (:func:`~autograder.protocol.cell_digest`) of the
    handout's own code cells: the request names the cells that are one of them, which the
    worker compiles once for all submissions instead of in each.
    """
    encoder = TreeEncoder()
    grouped: dict[str, list[dict]] = {}
    for call in calls:
        grouped.setdefault(call.part, []).append(
            {
                "args": encoder.tree(tuple(call.args)),
                "kwargs": encoder.tree(dict(call.kwargs)),
                "return_args": bool(call.return_args),
            }
        )
    header = {
        "k": "run",
        "cells": list(cells),
        "limits": asdict(limits),
        "parts": [[name, part_calls] for name, part_calls in grouped.items()],
        "repo_root": str(REPO_ROOT),
        "handout": [i for i, c in enumerate(cells) if handout and cell_digest(c) in handout],
    }
    counts = {name: len(part_calls) for name, part_calls in grouped.items()}
    return Request(header, encoder.blob(), tuple(grouped), counts)


def deadline_seconds(limits: Limits, n_parts: int) -> float:
    """How long the grader waits for the answer before it gives the worker up."""
    load = LOAD_BUDGET_FACTOR * limits.load_seconds + HARD_GRACE_SECONDS
    part = limits.part_seconds + HARD_GRACE_SECONDS
    # A part that hangs after other parts ran in its process is run once more, first in a
    # fresh process, before it is blamed: up to two hangs and two loads per part, and one
    # load more after the parts that ran in the loader itself.
    loads = MAX_LOAD_ATTEMPTS + 1 + 2 * n_parts
    return loads * load + 2 * n_parts * part + HOST_GRACE_SECONDS


def _outcome(node: Any, decoder: TreeDecoder) -> CallOutcome:
    if not isinstance(node, dict):
        raise FrameError("malformed outcome")
    error = node.get("error")
    value = node.get("value")
    after = node.get("args_after")
    outcome = CallOutcome()
    if error is not None:
        outcome.error = check_str(error, 500)
    elif value is None:
        outcome.error = "returned nothing readable"
    else:
        outcome.value = decoder.tree(value)
    if isinstance(after, list):
        outcome.args_after = tuple(
            None if n is None else decoder.tree(n) for n in after[:MAX_ARGS_AFTER]
        )
    return outcome


def parse_answer(header: dict, blob: bytes, request: Request) -> SubmissionRun:
    """Strictly decode the worker's ``result`` frame into a :class:`SubmissionRun`.

    Raises
    ------
    FrameError
        The answer does not follow the format or does not answer ``request``.
    """
    if header.get("k") != "result":
        raise FrameError("not a result")
    decoder = TreeDecoder(blob, RESULT_KINDS)
    run = SubmissionRun()
    run.cell_errors = check_str_list(header.get("cell_errors", []), MAX_CELL_ERRORS, 500)
    run.flags = check_flags(header.get("flags", []), SANDBOX_FLAGS)
    run.imports = check_module_names(header.get("imports", []), MAX_IMPORTS)
    run.notes = check_str_list(header.get("notes", []), MAX_NOTES, 300)
    run.output = check_str(header.get("output", ""), MAX_OUTPUT_CHARS)
    parts = header.get("parts")
    if not isinstance(parts, list) or len(parts) != len(request.parts):
        raise FrameError("wrong number of parts")
    for name, node in zip(request.parts, parts, strict=True):
        if not isinstance(node, dict) or node.get("part") != name:
            raise FrameError("parts out of order")
        outcomes = node.get("outcomes", [])
        if not isinstance(outcomes, list) or len(outcomes) > request.calls_per_part[name]:
            raise FrameError("too many outcomes")
        error = node.get("error")
        run.parts[name] = PartRun(
            part=name,
            outcomes=[_outcome(o, decoder) for o in outcomes],
            error=None if error is None else check_str(error, 500),
            flags=check_flags(node.get("flags", []), PART_FLAGS, 20),
        )
    return run


def failed_run(parts: tuple[str, ...], why: str, flag: Flag) -> SubmissionRun:
    """The run of a submission the sandbox could not answer: every part failed with ``why``.

    Its ``isolation`` is left for the caller to set, as on every run it returns.
    """
    run = SubmissionRun()
    run.flags.add(flag)
    run.notes.append(why)
    for name in parts:
        run.parts[name] = PartRun(part=name, error=why, flags={flag})
    return run
