"""The warm process in the sandbox: takes submissions from the grader, reports what happened.

The supervisor never runs student code. It imports numpy once (matplotlib once a submission
used it) and compiles the handout's cells once (:class:`HandoutCode`), then for each
submission forks a fresh, isolated process tree (an :class:`~.attempt.Attempt`) that loads
the notebook (:mod:`.loader`), and times, reads and, when needed, kills it:

* a cell that hangs past its soft timer, or kills the process, is skipped and the notebook is
  loaded again without it (at most :data:`MAX_LOAD_ATTEMPTS` times);
* the parts run one after another in the loader itself, then (if one left state behind) in
  children of a loader started again; the process running them sends each part's outcomes
  and a ``part_done`` frame as the part ends, so each part is timed on its own; a part that
  hangs, crashes or exits costs that part only, and is blamed only if that happened in a
  fresh process (else it runs again, first in a fresh one); after a hang the notebook is
  loaded again;
* whatever the submission started is gone before the next submission begins.

Everything read from the submission's processes is decoded strictly, checked and re-encoded
(:mod:`.report`); the grader decodes the supervisor's answer strictly again.

Two modes (:class:`~.attempt.Mode`): ``ns`` (inside bubblewrap, a fresh user/pid/mount/IPC
namespace per submission) and ``plain`` (the fallback: a process group, a subreaper and a
temporary directory; see :mod:`autograder.sandbox` for what it does not protect).
"""

from __future__ import annotations

import gc
import os
import re
import sys
import tempfile
import traceback
from collections import OrderedDict
from types import CodeType

from ..protocol import Flag, Limits
from . import isolate, loader
from .attempt import Attempt, DeadError
from .job import Job
from .processes import describe_status
from .report import Frame, PartDone, Report
from .spawn import Mode
from .wire import pack, read_frame, write_all, write_frame

# A notebook that needs to be loaded again after this many hung or fatal cells is given up:
# each attempt costs up to a cell's time limit, and honest notebooks need one attempt.
MAX_LOAD_ATTEMPTS = 4
# A notebook that took longer than this to load runs its parts in forked children from the
# start: the loader itself runs them only where loading it again (after a part that left state
# behind) costs little. Honest notebooks load in tens of milliseconds.
IN_PLACE_MAX_LOAD_SECONDS = 0.5
# Handout cells kept compiled: a class's notebooks share a few dozen; past this many the
# oldest are compiled again when next seen.
COMPILED_CELLS = 256
# The empty submission a new worker runs once to learn whether isolation works here: short
# limits, because it does nothing.
PROBE_LIMITS = Limits(
    part_seconds=5,
    load_seconds=5,
    max_output_bytes=1024,
    max_processes=8,
    max_file_bytes=1024**2,
)


class HandoutCode:
    """The code objects of the handout's cells, compiled once per worker.

    Only cells the grader recognised as the handout's own (``Job.handout``) are compiled
    here, outside any submission's limits: their text is the course's, not a student's.
    Compiling the pasted self-checks in each forked submission cost ~16 ms, most of it copying
    the pages the compiler writes to. Keyed by position and text, so a changed cell is never
    taken for the handout's, and the code is exactly what the loader would compile.
    """

    def __init__(self, size: int = COMPILED_CELLS) -> None:
        self.size = size
        self.cache: OrderedDict[tuple[int, str], CodeType] = OrderedDict()

    def of(self, job: Job) -> dict[int, CodeType]:
        """``{cell index: code}`` for the job's handout cells that compile."""
        code = {}
        for index in job.handout:
            source = job.cells[index]
            key = (index, source)
            found = self.cache.get(key)
            if found is None:
                made = loader.compile_cell(source, index)
                if not isinstance(made, CodeType):
                    continue  # the loader reports it, as for any cell
                found = self.cache[key] = made
                if len(self.cache) > self.size:
                    self.cache.popitem(last=False)
            else:
                self.cache.move_to_end(key)
            code[index] = found
        return code


class Supervisor:
    """The request loop; owns the protocol channel to the grader.

    Parameters
    ----------
    mode : Mode
    """

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.proto_in = os.dup(0)
        self.proto_out = os.dup(1)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        self.scratch = tempfile.mkdtemp(prefix="gbh-worker-") if mode == Mode.PLAIN else "/tmp"
        # Orphans of a submission come to us, so nothing it started can outlive it unseen.
        isolate.set_child_subreaper()
        # Peers cannot trace us or read our memory (in ns mode no student process can even
        # see us: they live in a pid namespace below ours).
        isolate.set_dumpable(False)
        self.handout_code = HandoutCode()

    def attempt(self, job: Job, skip: dict[int, str]) -> Attempt:
        """A fresh process tree for ``job``, without the cells in ``skip``."""
        return Attempt(self.mode, self.scratch, (self.proto_in, self.proto_out), job, skip)

    def warm(self) -> None:
        """Import what student code uses, once, so each submission's fork has it for free."""
        os.environ.setdefault("MPLBACKEND", "Agg")
        if self.mode == Mode.NS:
            os.environ["MPLCONFIGDIR"] = "/tmp/.matplotlib"
        import numpy  # noqa: F401
        import numpy.linalg  # noqa: F401
        import numpy.random  # noqa: F401  (loaded on first use, ~8 ms, by most notebooks)
        import numpy.testing  # noqa: F401

        from .. import activations, protocol, test_functions  # noqa: F401
        from . import convert, loader, watch  # noqa: F401

        # Everything imported so far lives as long as the worker: keep the garbage collector of
        # each forked child from walking it, which would copy those pages for nothing.
        gc.freeze()

    def warm_matplotlib(self) -> None:
        """Import matplotlib for the submissions to come (half a second, once).

        Done only after a submission imported it, never at start: every submission's process
        tree is a fork of this process, and matplotlib's modules more than double the memory
        that each fork copies the page tables of and that each exit tears down (measured:
        an empty submission 24 ms with matplotlib imported, 12 ms without). A class whose
        graded cells plot pays the import once per worker, not once per submission.
        """
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        except Exception:
            pass
        gc.freeze()

    def probe(self) -> str | None:
        """Try one empty submission; return why isolation fails, or None."""
        job = Job(cells=["x = 1"], limits=PROBE_LIMITS, parts=[])
        attempt = self.attempt(job, {})
        try:
            attempt.load()
        except DeadError as dead:
            return f"a test submission did not load (status {dead.status})"
        finally:
            attempt.kill()
        return None

    def serve(self) -> None:
        self.warm()
        matplotlib_warm = False
        problem = None
        try:
            problem = self.probe()
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        write_frame(self.proto_out, {"k": "ready", "ok": problem is None, "problem": problem})
        while True:
            try:
                header, blob = read_frame(self.proto_in)
            except (EOFError, OSError):
                return
            if header.get("k") != "run":
                return
            imported: set[str] = set()
            try:
                job = Job.from_frame(header, blob)
                job.compiled = self.handout_code.of(job)
                report = grade(self, job)
                imported = report.imports
                frame = pack(report.header(), report.encoder.blob())
            except Exception:
                # A bug of ours, not the submission's doing: say so, and stay up for the next.
                traceback.print_exc()
                frame = pack({"k": "failed", "error": traceback.format_exc(limit=3)[-1500:]})
            write_all(self.proto_out, frame)
            if not matplotlib_warm and "matplotlib" in imported:
                self.warm_matplotlib()
                matplotlib_warm = True


def grade(sup: Supervisor, job: Job) -> Report:
    """Load the notebook and run every part, loading again after a hang or a crash."""
    report = Report(job)

    def finished(index: int, outcomes: list[Frame], done: dict | None) -> None:
        if done is None:
            report.part_broken(index, outcomes)
        else:
            report.part_done(index, outcomes, PartDone.parse(done))

    skip: dict[int, str] = {}
    pending = list(range(len(job.parts)))
    loaded_once = False
    failed_loads = 0
    # The first run of parts is made by the loader itself (one fork fewer for every honest
    # notebook); a notebook loaded again for the parts left over serves them from forked
    # children, so a notebook whose parts keep leaving state behind is loaded once more at
    # most, and one slow to load is not (IN_PLACE_MAX_LOAD_SECONDS).
    in_place = True
    while True:
        attempt = sup.attempt(job, skip)
        try:
            try:
                loaded = attempt.load()
            except DeadError as dead:
                cell = attempt.current_cell
                if dead.hung:
                    reason = f"did not finish within {job.limits.load_seconds:g} s and was killed"
                    report.flag(Flag.TIMEOUT, f"cell {cell} ran too long and was killed")
                else:
                    words, flag = describe_status(dead.status or 0)
                    reason = f"ended the notebook's process: {words}"
                    report.flag(flag, f"cell {cell}: {words}")
                failed_loads += 1
                if cell is None or cell in skip or failed_loads >= MAX_LOAD_ATTEMPTS:
                    for i in pending:
                        report.part_not_run(i)
                    if cell is not None:
                        report.cell_errors.append(f"cell {cell}: {reason}")
                    return report
                skip[cell] = reason
                continue
            if not loaded_once:
                loaded_once = True
                report.cell_errors = sorted(
                    [*loaded.cell_errors, *(f"cell {c}: {r}" for c, r in skip.items())],
                    key=_cell_number,
                )
            report.absorb(loaded.evidence)
            if attempt.load_seconds > IN_PLACE_MAX_LOAD_SECONDS:
                in_place = False
            # Cells stopped by their timer are not run again when the notebook is reloaded.
            for cell in loaded.stopped:
                skip.setdefault(cell, "stopped")
            while pending:
                spent = in_place  # an in-place run ends the loader: nothing more is served
                run = attempt.run_parts(pending[0], finished, in_place)
                in_place = False
                pending = list(range(run.current, len(job.parts)))
                if not pending:
                    break
                if run.broken:
                    break  # load again for the remaining parts
                if run.current != run.start:
                    # The part in progress shared its process with parts before it, which may
                    # be what stopped it: it runs again, first in a fresh process, before it
                    # is blamed. (A process that ended after a part that left state behind
                    # lands here too.)
                    if run.dead is not None or spent:
                        break  # the loader is gone or the part hung: load again
                    continue
                index = run.current
                pending.pop(0)
                if run.dead is not None:
                    if run.dead.hung:
                        error = f"timed out after {job.limits.part_seconds:g} s"
                        flag = Flag.TIMEOUT
                    else:
                        error, flag = describe_status(run.dead.status or 0)
                    report.part_stopped(index, run.outcomes, error, flag)
                    break  # load again for the remaining parts
                report.part_ended(index, run.outcomes, run.status or 0)
                if spent:
                    break  # load again for the remaining parts
            if not pending:
                return report
        finally:
            attempt.kill()


def _cell_number(line: str) -> int:
    match = re.match(r"cell (\d+)", line)
    return int(match.group(1)) if match else -1


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``main(["ns"])`` inside bubblewrap, ``main(["plain"])`` in the fallback."""
    argv = sys.argv[1:] if argv is None else argv
    word = argv[0] if argv else Mode.NS
    if word not in tuple(Mode):
        raise SystemExit(f"unknown mode {word!r}")
    Supervisor(Mode(word)).serve()
