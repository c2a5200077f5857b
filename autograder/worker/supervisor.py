"""The warm process in the sandbox: takes submissions from the grader, reports what happened.

The supervisor never runs student code. It imports numpy (and matplotlib) once, then for each
submission forks a fresh, isolated process tree (an :class:`~.attempt.Attempt`) that loads
the notebook (:mod:`.loader`), and times, reads and, when needed, kills it:

* a cell that hangs past its soft timer, or kills the process, is skipped and the notebook is
  loaded again without it (at most :data:`MAX_LOAD_ATTEMPTS` times);
* the parts run one after another in one child of the loader, which streams each part's
  outcomes and a ``part_done`` frame, so each part is timed on its own; a part that hangs,
  crashes or exits costs that part only, and is blamed only if that happened in a fresh child
  (else it runs again, first in a fresh one); after a hang the notebook is loaded again;
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

from ..protocol import Flag, Limits
from . import isolate
from .attempt import Attempt, DeadError
from .job import Job
from .processes import describe_status
from .report import Frame, PartDone, Report
from .spawn import Mode
from .wire import pack, read_frame, write_all, write_frame

# A notebook that needs to be loaded again after this many hung or fatal cells is given up:
# each attempt costs up to a cell's time limit, and honest notebooks need one attempt.
MAX_LOAD_ATTEMPTS = 4
# The empty submission a new worker runs once to learn whether isolation works here: short
# limits, because it does nothing.
PROBE_LIMITS = Limits(
    part_seconds=5,
    load_seconds=5,
    max_output_bytes=1024,
    max_processes=8,
    max_file_bytes=1024**2,
)


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
        """Import matplotlib for the submissions after the first (half a second, once).

        Done after the first submission rather than at start: a command grading one notebook
        does not wait for it, and a batch pays it once per worker, not once per submission
        that imports matplotlib.
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
            try:
                job = Job.from_frame(header, blob)
                report = grade(self, job)
                frame = pack(report.header(), report.encoder.blob())
            except Exception:
                # A bug of ours, not the submission's doing: say so, and stay up for the next.
                traceback.print_exc()
                frame = pack({"k": "failed", "error": traceback.format_exc(limit=3)[-1500:]})
            write_all(self.proto_out, frame)
            if not matplotlib_warm:
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
            # Cells stopped by their timer are not run again when the notebook is reloaded.
            for cell in loaded.stopped:
                skip.setdefault(cell, "stopped")
            while pending:
                run = attempt.run_parts(pending[0], finished)
                pending = list(range(run.current, len(job.parts)))
                if not pending:
                    break
                if run.broken:
                    break  # load again for the remaining parts
                if run.current != run.start:
                    # The part in progress shared its process with parts before it, which may
                    # be what stopped it: it runs again, first in a fresh process, before it
                    # is blamed. (A child that ended after a part that left state behind
                    # lands here too.)
                    if run.dead is not None:
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
