"""One submission as the supervisor received it: cells, limits, the parts' calls, the output.

The request comes from the grader (trusted), but it is decoded as strictly as anything else:
a malformed request is a bug on the grader's side and fails that submission only.
"""

from __future__ import annotations

import builtins as _builtins_module
import math
from dataclasses import dataclass, field, fields
from types import CodeType
from typing import Any

from ..activations import ACTIVATIONS
from ..protocol import Limits
from ..test_functions import bind
from .tree import REQUEST_KINDS, TreeDecoder
from .wire import FrameError, check_str, check_str_list

# A private snapshot of the builtins: :meth:`Job.decode_call` runs in the process that runs
# the parts, after student code may have replaced ``builtins.isinstance`` or others.
__builtins__ = dict(vars(_builtins_module))

# Bounds of a request: far beyond a real notebook (a few dozen cells of a few kilobytes, nine
# parts of a few calls), tight enough that a broken request fails fast.
MAX_CELLS = 10_000
MAX_CELL_CHARS = 10**7
MAX_PARTS = 1_000
MAX_CALLS_PER_PART = 10_000
MAX_PART_NAME_CHARS = 200

# Bound here, in the supervisor, before any student code could plant a stand-in.
_activation = ACTIVATIONS.__getitem__
_function = bind


class OutputSink:
    """Keeps the first ``limit`` bytes of what the submission printed; counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += data[:room]

    @property
    def truncated(self) -> bool:
        return self.total > self.limit

    def text(self) -> str:
        return self.kept.decode("utf-8", "replace")


@dataclass(frozen=True)
class CallRequest:
    """One call as the grader sent it: tree nodes, decoded only in the process that calls.

    Attributes
    ----------
    args, kwargs : object
        Tree nodes (see :mod:`.tree`) of a tuple and a dict.
    return_args : bool
        Send back the array arguments as they are after the call.
    """

    args: Any
    kwargs: Any
    return_args: bool = False


@dataclass(frozen=True)
class PartRequest:
    """One part: the name looked up in the notebook, and its calls in order."""

    name: str
    calls: tuple[CallRequest, ...]


def parse_limits(node: Any) -> Limits:
    """The :class:`~autograder.protocol.Limits` of a request: every field, finite, not negative.

    Raises
    ------
    FrameError
        A field is missing, not a number, or negative.
    """
    if not isinstance(node, dict):
        raise FrameError("limits must be an object")
    values = {}
    for spec in fields(Limits):
        raw = node.get(spec.name)
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | float)
            or not math.isfinite(raw)
            or raw < 0
        ):
            raise FrameError(f"limit {spec.name} must be a number, not negative")
        # Each field keeps the type of its default: seconds as float, counts as int.
        values[spec.name] = type(spec.default)(raw)
    return Limits(**values)


def _parse_call(node: Any) -> CallRequest:
    if not (isinstance(node, dict) and "args" in node and "kwargs" in node):
        raise FrameError("malformed call")
    return_args = node.get("return_args", False)
    if not isinstance(return_args, bool):
        raise FrameError("return_args must be a bool")
    return CallRequest(node["args"], node["kwargs"], return_args)


def _parse_part(node: Any) -> PartRequest:
    if not (isinstance(node, list) and len(node) == 2 and isinstance(node[1], list)):
        raise FrameError("malformed part")
    name, calls = node
    if len(calls) > MAX_CALLS_PER_PART:
        raise FrameError("too many calls")
    return PartRequest(check_str(name, MAX_PART_NAME_CHARS), tuple(_parse_call(c) for c in calls))


@dataclass
class Job:
    """One submission: what to run, under which limits, and the output it printed so far.

    Attributes
    ----------
    cells : list of str
        The notebook's code cells, in order.
    limits : Limits
    parts : list of PartRequest
        In the order the answer lists them.
    blob : bytes
        The arrays the calls' nodes point into.
    repo_root : str
        The course repository's path on the grading machine (for the watcher's notes).
    handout : tuple of int
        The cells that are the handout's own, as the grader recognised them: the supervisor
        compiles those once for every submission (see :class:`.supervisor.HandoutCode`).
    compiled : dict of int to code
        The handout cells' code objects, filled by the supervisor before the tree is forked.
    output : OutputSink
        What the submission printed, filled while it runs.
    """

    cells: list[str]
    limits: Limits
    parts: list[PartRequest]
    blob: bytes = b""
    repo_root: str = ""
    handout: tuple[int, ...] = ()
    compiled: dict[int, CodeType] = field(default_factory=dict)
    output: OutputSink = field(init=False)

    def __post_init__(self) -> None:
        self.output = OutputSink(self.limits.max_output_bytes)

    @classmethod
    def from_frame(cls, header: dict, blob: bytes) -> Job:
        """The job of a ``run`` frame; raises :class:`FrameError` if it is malformed."""
        parts = header.get("parts")
        if not isinstance(parts, list) or len(parts) > MAX_PARTS:
            raise FrameError("malformed parts")
        cells = check_str_list(header.get("cells"), MAX_CELLS, MAX_CELL_CHARS)
        handout = header.get("handout", [])
        if not isinstance(handout, list) or not all(
            type(i) is int and 0 <= i < len(cells) for i in handout
        ):
            raise FrameError("malformed handout cells")
        return cls(
            cells=cells,
            limits=parse_limits(header.get("limits")),
            parts=[_parse_part(p) for p in parts],
            blob=blob,
            repo_root=check_str(header.get("repo_root", "")),
            handout=tuple(handout),
        )

    def decode_call(self, part: int, call: int) -> tuple[tuple, dict, bool]:
        """``(args, kwargs, return_args)`` of one call, freshly decoded (private arrays)."""
        request = self.parts[part].calls[call]
        decoder = TreeDecoder(self.blob, REQUEST_KINDS, activation=_activation, function=_function)
        args = decoder.tree(request.args)
        kwargs = decoder.tree(request.kwargs)
        return tuple(args), dict(kwargs), request.return_args
