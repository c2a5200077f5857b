"""The answer to one submission under construction, rebuilt from validated pieces.

Everything here comes from the submission's processes and is untrusted: each frame is parsed
into a typed record (:class:`Evidence`, :class:`LoadReport`, :class:`PartDone`), every answer
is decoded strictly and re-encoded (:meth:`Report.outcome`), and the final header
(:meth:`Report.header`) holds only what this module wrote itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..protocol import SANDBOX_FLAGS, Flag
from .job import Job
from .processes import describe_status
from .tree import RESULT_KINDS, TreeDecoder, TreeEncoder
from .wire import FrameError, check_flags, check_module_names, check_str, check_str_list

# All answers of one notebook together: far beyond honest answers (a few kilobytes), small
# enough that a flood of numbers cannot exhaust the grader's memory.
MAX_RESULT_BYTES = 128 * 1024**2
# Arguments sent back after one call: more than any part takes.
MAX_ARGS_AFTER = 64
# Bounds of the evidence one report may add: beyond them it is noise, not information.
MAX_NOTES = 100
MAX_STOPPED_CELLS = 1000
#: Failed-cell lines a load report may carry (one per failed cell); the grader reads the answer
#: with the same bound (:mod:`autograder.sandbox_messages`).
MAX_CELL_ERRORS = 10_000

#: Where the submission's processes were stopped by the supervisor, not by their own doing.
LOAD_FAILED = "the notebook could not be run to the end"
BROKEN_ANSWER = "sent back an answer in a broken format"

Frame = tuple[dict, bytes]


@dataclass
class Evidence:
    """What a report of the submission's processes says it saw, for the instructor.

    Attributes
    ----------
    flags : set of Flag
        Only flags a sandbox may raise (:data:`~autograder.protocol.SANDBOX_FLAGS`).
    imports : set of str
        Top-level module names (identifiers only).
    notes : list of str
    malformed : bool
        The report did not follow the format; nothing of it was kept.
    """

    flags: set[Flag] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    malformed: bool = False

    @classmethod
    def parse(cls, header: dict) -> Evidence:
        try:
            flags = check_flags(header.get("flags", []), SANDBOX_FLAGS, 20)
            imports = check_module_names(header.get("imports", []), 200)
            notes = check_str_list(header.get("notes", []), 50, 300)
        except FrameError:
            return cls(malformed=True)
        return cls(flags, imports, notes)


@dataclass
class LoadReport:
    """The loader's report after the notebook's cells ran.

    Attributes
    ----------
    cell_errors : list of str
        One line per failed cell (``"cell 3: NameError: ..."``).
    stopped : list of int
        Cells stopped by their timer; not run again when the notebook is loaded again.
    evidence : Evidence
    """

    cell_errors: list[str]
    stopped: list[int]
    evidence: Evidence

    @classmethod
    def parse(cls, header: dict) -> LoadReport:
        try:
            errors = check_str_list(header.get("cell_errors", []), MAX_CELL_ERRORS, 500)
        except FrameError:
            errors = ["the notebook's report was malformed"]
        stopped = header.get("stopped", [])
        cells = []
        if isinstance(stopped, list):
            cells = [
                c
                for c in stopped[:MAX_STOPPED_CELLS]
                if isinstance(c, int) and not isinstance(c, bool)
            ]
        return cls(errors, cells, Evidence.parse(header))


@dataclass
class PartDone:
    """A part's closing frame: why the part failed as a whole (if it did), and the evidence."""

    error: str | None
    evidence: Evidence

    @classmethod
    def parse(cls, header: dict) -> PartDone:
        error = header.get("error")
        return cls(error[:300] if isinstance(error, str) else None, Evidence.parse(header))


@dataclass
class OutcomeRecord:
    """One call's outcome, validated; ``value`` and ``args_after`` are re-encoded nodes."""

    value: Any = None
    error: str | None = None
    args_after: list | None = None

    def header(self) -> dict:
        return {"value": self.value, "error": self.error, "args_after": self.args_after}


@dataclass
class PartRecord:
    """One part's entry of the answer."""

    part: str
    error: str | None = None
    flags: set[Flag] = field(default_factory=set)
    outcomes: list[OutcomeRecord] = field(default_factory=list)

    def header(self) -> dict:
        return {
            "part": self.part,
            "error": self.error,
            "flags": sorted(self.flags),
            "outcomes": [o.header() for o in self.outcomes],
        }


class Report:
    """The answer under construction, re-encoded from validated pieces.

    Parameters
    ----------
    job : Job
        The submission answered; its parts give the answer's order.
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self.encoder = TreeEncoder()
        self.cell_errors: list[str] = []
        self.flags: set[Flag] = set()
        self.imports: set[str] = set()
        self.notes: list[str] = []
        self.parts: dict[int, PartRecord] = {}
        self.kept_bytes = 0

    # -- evidence ---------------------------------------------------------------------------

    def absorb(self, evidence: Evidence) -> None:
        """Imports, flags and notes from an untrusted report."""
        if evidence.malformed:
            self.flag(Flag.TAMPERING, "sent a malformed report")
            return
        self.flags |= evidence.flags
        self.imports |= evidence.imports
        for note in evidence.notes:
            if note not in self.notes and len(self.notes) < MAX_NOTES:
                self.notes.append(note)

    def flag(self, flag: Flag | None, note: str) -> None:
        if flag:
            self.flags.add(flag)
        if note not in self.notes:
            self.notes.append(note)

    # -- answers ----------------------------------------------------------------------------

    def outcome(self, header: dict, blob: bytes) -> OutcomeRecord:
        """One call's outcome frame, validated and re-encoded."""
        decoder = TreeDecoder(blob, RESULT_KINDS)
        self.kept_bytes += len(blob)
        if self.kept_bytes > MAX_RESULT_BYTES:
            return OutcomeRecord(
                error="returned more numbers than the grader keeps for one notebook"
            )
        out = OutcomeRecord()
        try:
            error = header.get("error")
            if error is not None:
                out.error = check_str(error, 500)
            elif header.get("value") is None:
                out.error = "returned nothing readable"
            else:
                out.value = self.encoder.tree(decoder.tree(header["value"]))
            after = header.get("args_after")
            if isinstance(after, list):
                out.args_after = [
                    None if node is None else self.encoder.tree(decoder.tree(node))
                    for node in after[:MAX_ARGS_AFTER]
                ]
        except (FrameError, TypeError):
            self.flag(Flag.TAMPERING, "sent back a malformed answer")
            return OutcomeRecord(error=BROKEN_ANSWER)
        return out

    def _record(self, index: int, outcomes: list[Frame]) -> PartRecord:
        name = self.job.parts[index].name
        record = PartRecord(name, outcomes=[self.outcome(h, b) for h, b in outcomes])
        self.parts[index] = record
        return record

    def part_done(self, index: int, outcomes: list[Frame], done: PartDone) -> None:
        """A part that finished: its outcomes and its closing frame."""
        record = self._record(index, outcomes)
        self.absorb(done.evidence)
        record.error = done.error
        if done.error == "not defined":
            record.flags.add(Flag.MISSING)
        self._memory(record)

    def part_broken(self, index: int, outcomes: list[Frame]) -> None:
        """A part whose process sent bytes that are not frames."""
        record = self._record(index, outcomes)
        record.error = BROKEN_ANSWER
        self.flag(Flag.TAMPERING, f"{record.part}: sent back a malformed answer")
        self._memory(record)

    def part_ended(self, index: int, outcomes: list[Frame], status: int) -> None:
        """A part whose process ended, with wait status ``status``, before the part finished."""
        record = self._record(index, outcomes)
        words, flag = describe_status(status)
        if status == 0:
            words = "the process exited before the part finished (os._exit?)"
        record.error = words
        record.flags.add(flag)
        self.flags.add(flag)
        self._memory(record)

    def part_stopped(self, index: int, outcomes: list[Frame], error: str, flag: Flag) -> None:
        """A part the supervisor stopped (it hung) or lost (its loader died)."""
        record = self._record(index, outcomes)
        record.error = error
        record.flags.add(flag)
        self.flags.add(flag)

    def part_not_run(self, index: int) -> None:
        """A part that could not run because the notebook never loaded to the end."""
        name = self.job.parts[index].name
        self.parts[index] = PartRecord(name, error=LOAD_FAILED, flags={Flag.CRASH})

    def _memory(self, record: PartRecord) -> None:
        if any(o.error == "ran out of memory" for o in record.outcomes):
            record.flags.add(Flag.MEMORY)
            self.flags.add(Flag.MEMORY)

    # -- the answer -------------------------------------------------------------------------

    def header(self) -> dict:
        """The ``result`` frame's header (the arrays are in :attr:`encoder`'s blob)."""
        output = self.job.output
        if output.truncated:
            self.flag(
                Flag.OUTPUT_TRUNCATED,
                f"printed {output.total:,} bytes; the first {output.limit:,} are kept",
            )
        return {
            "k": "result",
            "cell_errors": self.cell_errors,
            "flags": sorted(self.flags),
            "imports": sorted(self.imports),
            "notes": self.notes,
            "output": output.text(),
            "output_bytes": output.total,
            "parts": [
                self.parts.get(i, PartRecord(part.name, error="not run")).header()
                for i, part in enumerate(self.job.parts)
            ],
        }
