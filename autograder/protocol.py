"""What crosses between the grader and the sandboxed process that runs a submission.

The grader decides *what* to call (:class:`Call`) and judges the answers itself; the sandbox
only runs student code and sends back plain numbers (:class:`CallOutcome`). Nothing a
submission returns is trusted beyond being a tree of float64, int64 and bool arrays: no student
object, method or class ever reaches the grader's process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

__all__ = [
    "SANDBOX_FLAGS",
    "ActivationRef",
    "Call",
    "CallOutcome",
    "Flag",
    "FunctionRef",
    "Limits",
    "PartRun",
    "SubmissionRun",
    "cell_digest",
]

GiB = 1024**3


def cell_digest(source: str) -> bytes:
    """A code cell's identity: the 128-bit BLAKE2 digest of its text.

    Used to recognise the handout's own cells, the same for every student; no one can make
    two different texts collide.
    """
    return hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Flag(StrEnum):
    """What the instructor is told about a part or a notebook, beside its score.

    The values are the words of the CSV's ``flags`` column; they travel as these strings
    between the sandbox and the grader.
    """

    # Raised by the sandbox (the submission's processes).
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASH = "crash"
    TAMPERING = "tampering"
    FORBIDDEN_IMPORT = "forbidden-import"
    AUTODIFF_IMPORT = "autodiff-import"
    OUTPUT_TRUNCATED = "output-truncated"
    NETWORK = "network"
    # Raised for one part by its judge.
    MISSING = "missing"
    NOT_IMPLEMENTED = "not-implemented"
    ERROR = "error"
    NAN = "nan"
    OVERFLOW = "overflow"
    # Raised for a whole notebook by the grader.
    MISSING_NOTEBOOK = "missing-notebook"
    UNREADABLE = "unreadable"
    SANDBOX_ERROR = "sandbox-error"
    GRADER_ERROR = "grader-error"
    LATE = "late"


#: The flags a sandbox may report; anything else it sends is dropped.
SANDBOX_FLAGS = frozenset(
    {
        Flag.TIMEOUT,
        Flag.MEMORY,
        Flag.CRASH,
        Flag.TAMPERING,
        Flag.FORBIDDEN_IMPORT,
        Flag.AUTODIFF_IMPORT,
        Flag.OUTPUT_TRUNCATED,
        Flag.NETWORK,
    }
)


@dataclass(frozen=True)
class ActivationRef:
    """Stands for ``autograder.activations.ACTIVATIONS[name]``; the sandbox builds the object."""

    name: str


@dataclass(frozen=True)
class FunctionRef:
    """A scalar test function the sandbox knows by name (for grading ``numerical_gradient``).

    Attributes
    ----------
    name : str
        Key of the sandbox's table of test functions.
    data : dict of str to ndarray
        Constants the function closes over (e.g. a matrix ``A : (k, k)`` of a quadratic form).
    """

    name: str
    data: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One call of a student's function.

    Attributes
    ----------
    part : str
        Contract function name; it is also the name looked up in the submission's namespace.
    args : tuple
        Plain data only: ndarrays of float64, int64 or bool (they arrive with that dtype;
        other real dtypes arrive as the nearest of those: any int as int64, any float as
        float64), Python floats, ints, bools and str, tuples, dicts of str to those,
        :class:`ActivationRef` and :class:`FunctionRef`.
    kwargs : dict
        Same kinds of values as ``args``.
    return_args : bool
        Also send back the array arguments as they are after the call, to see whether the
        function modified its inputs (``numerical_gradient`` must leave ``theta`` alone).
    """

    part: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    return_args: bool = False


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission.

    Attributes
    ----------
    part_seconds : float
        Wall-clock limit for all calls of one part; generous because correct code needs
        milliseconds, and a limit only has to stop loops that never end.
    load_seconds : float
        Wall-clock limit for running the notebook's code cells (definitions, top-level code).
    memory_bytes : int
        Address-space limit of the student's processes (default 2 GiB).
    max_output_bytes : int
        Printed output kept; the rest is counted and dropped.
    max_processes : int
        Processes the submission may start.
    max_file_bytes : int
        Largest file the submission may write in its private temporary directory.
    """

    part_seconds: float = 10.0
    load_seconds: float = 30.0
    memory_bytes: int = 2 * GiB
    max_output_bytes: int = 64 * 1024
    max_processes: int = 64
    max_file_bytes: int = 16 * 1024**2


@dataclass
class CallOutcome:
    """What one :class:`Call` gave back, as plain data.

    Attributes
    ----------
    value : object or None
        The return value as a tree (see :func:`autograder.worker.convert.plain_tree`): at the
        leaves ndarrays of the kind returned, bool, int64 (any integer) or float64 (any real
        float), 0-d for scalars; tuples for tuples and lists, dicts with str keys for dicts.
        ``None`` when ``error`` is set.
    error : str or None
        Plain words: ``"raised NotImplementedError: ..."``, ``"returned a complex array"``,
        ``"returned a str, not numbers"``.
    args_after : tuple or None
        With ``Call.return_args``: the array arguments after the call, with their dtype
        (non-arrays, and arrays that could not be read, as ``None``).
    """

    value: Any = None
    error: str | None = None
    args_after: tuple | None = None


@dataclass
class PartRun:
    """All calls of one part, run together under the part's time limit.

    Attributes
    ----------
    part : str
    outcomes : list of CallOutcome
        One per call, in order; shorter than the calls when the part was stopped early.
    error : str or None
        Why the part as a whole failed: ``"not defined"``, ``"timed out after 10 s"``,
        ``"ran out of memory"``, ``"the process died (signal 11)"``.
    flags : set of Flag
        For the instructor: ``timeout``, ``memory``, ``crash``, ``missing``.
    """

    part: str
    outcomes: list[CallOutcome] = field(default_factory=list)
    error: str | None = None
    flags: set[Flag] = field(default_factory=set)


@dataclass
class SubmissionRun:
    """Everything the sandbox reports about one submission.

    Attributes
    ----------
    parts : dict of str to PartRun
        One entry per part that was asked for.
    cell_errors : list of str
        One line per code cell that raised while loading (``"cell 7: SyntaxError: ..."``).
    flags : set of Flag
        For the instructor: any of :data:`SANDBOX_FLAGS`.
    imports : set of str
        Top-level modules the submission imported.
    output : str
        The first ``Limits.max_output_bytes`` of what it printed.
    notes : list of str
        For the instructor, one sentence per thing the submission tried or suffered
        (``"replaced numpy.allclose"``, ``"tried to open /work/main/solutions/..."``).
    isolation : str
        How the code ran: ``"bwrap"`` (OS isolation) or ``"fallback"`` (a plain subprocess,
        see the threat model for what it does not protect).
    """

    parts: dict[str, PartRun] = field(default_factory=dict)
    cell_errors: list[str] = field(default_factory=list)
    flags: set[Flag] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    output: str = ""
    notes: list[str] = field(default_factory=list)
    isolation: str = ""
