"""One attempt at a submission, as the supervisor sees it: an isolated process tree to watch.

An :class:`Attempt` starts a fresh tree (:mod:`.spawn`: the init, the loader) and reads
three channels from it, all non-blocking:

``ctl``
    A socket to the loader: which cell runs, the load report, each parts child's exit.
``init``
    A pipe from the keeper and the init: the init's pid, the loader's wait status.
``out``
    The submission's stdout and stderr, kept up to ``Limits.max_output_bytes``.

plus one ``part`` pipe per child that runs parts, over which each part's outcomes and its
``part_done`` frame stream. :meth:`Attempt.load` times the cells, :meth:`Attempt.run_parts`
times each part, and :meth:`Attempt.kill` ends the whole tree.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .job import Job
from .processes import close_fd, kill, kill_descendants, reap_nohang
from .report import Frame, LoadReport
from .spawn import Mode, Spawner
from .wire import FrameError, FrameReader

__all__ = ["HARD_GRACE_SECONDS", "Attempt", "DeadError", "PartsRun"]

# Time the soft timer gets to stop a cell before the process is killed instead.
HARD_GRACE_SECONDS = 2.0
# Time for the loader to report after its last cell (tampering check, clean-up).
REPORT_SECONDS = 10.0
# One frame from a part's process: one call's answer, at most MAX_RESULT_ELEMENTS numbers for
# the value and as many for the arguments after the call.
MAX_PART_FRAME_BYTES = 80 * 1024**2

#: ``finished(index, outcome_frames, part_done_header)`` for each part as soon as it ends;
#: the header is None when the part's stream broke.
PartFinished = Callable[[int, list[Frame], dict | None], None]


class DeadError(Exception):
    """The submission's process tree ended (or must be ended) before it answered."""

    def __init__(self, status: int | None, hung: bool = False) -> None:
        super().__init__(status)
        self.status = status
        self.hung = hung


@dataclass
class PartsRun:
    """What one child running the parts from ``start`` on sent back.

    Attributes
    ----------
    start : int
        The first part of the run: the only one that ran in a process no part ran in before.
    current : int
        The first part without a ``part_done`` frame (``len(parts)`` when all finished).
    outcomes : list
        Outcome frames of part ``current`` so far.
    status : int or None
        The child's wait status, when it ended before the last part.
    dead : DeadError or None
        Part ``current`` hung, or the loader died.
    broken : bool
        The child sent bytes that are not frames; the rest needs a fresh attempt.
    """

    start: int
    current: int
    outcomes: list[Frame] = field(default_factory=list)
    status: int | None = None
    dead: DeadError | None = None
    broken: bool = False


class Attempt:
    """One isolated process tree that loads the notebook and serves parts.

    Parameters
    ----------
    mode : Mode
    scratch : str
        Where plain mode makes the submission's temporary directory.
    protocol_fds : tuple of int
        The supervisor's channel to the grader: closed in every process of the tree.
    job : Job
    skip : dict of int to str
        Cells not to run (they hung or killed the process on an earlier attempt).
    """

    def __init__(
        self,
        mode: Mode,
        scratch: str,
        protocol_fds: tuple[int, ...],
        job: Job,
        skip: dict[int, str],
    ) -> None:
        self.mode = mode
        self.job = job
        self.selector = selectors.DefaultSelector()
        self.readers: dict[int, FrameReader] = {}
        self.frames: dict[str, list[Frame]] = {"ctl": [], "init": [], "part": []}
        self.names: dict[int, str] = {}
        self.loader_status: int | None = None
        self.current_cell: int | None = None
        #: How long the notebook took to load (set by :meth:`load`).
        self.load_seconds = 0.0
        self.tmpdir: str | None = None
        if mode == Mode.PLAIN:
            self.tmpdir = tempfile.mkdtemp(prefix="submission-", dir=scratch)
        ends = Spawner(mode, job, skip, self.tmpdir, protocol_fds).start()
        self.ctl, self.out_r, self.init_r = ends.ctl, ends.out_r, ends.init_r
        self.keeper = ends.keeper
        # The init's pid: known at once when cloned directly, else reported by the keeper.
        self.c2: int | None = ends.init
        for fd, name in ((self.ctl.fileno(), "ctl"), (self.out_r, "out"), (self.init_r, "init")):
            self._watch(fd, name)

    # -- process tree -----------------------------------------------------------------------

    def kill(self) -> None:
        """End the whole process tree and collect everything it printed."""
        if self.mode == Mode.NS:
            self._drain_init()
            if self.c2 is not None:
                kill(self.c2)
            else:
                kill(self.keeper)
            if self.keeper is None:
                # The init is our own child: when it is reaped, its namespace is empty.
                try:
                    os.waitpid(self.c2, 0)
                except ChildProcessError:
                    pass
        else:
            self._drain_init()
            if self.c2 is not None:
                try:
                    os.killpg(self.c2, signal.SIGKILL)
                except OSError:
                    pass
        try:
            if self.keeper is not None:
                os.waitpid(self.keeper, 0)
        except ChildProcessError:
            pass
        if self.mode == Mode.PLAIN:
            # Orphans re-parented to the supervisor (its subreaper role) are ended too.
            kill_descendants(os.getpid())
        else:
            # The namespace died with its init; only a keeper's orphan may be left to reap.
            reap_nohang()
        self._drain_output()
        self.selector.close()
        for fd in (self.out_r, self.init_r):
            close_fd(fd)
        self.ctl.close()
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    # -- events -----------------------------------------------------------------------------

    def _watch(self, fd: int, name: str) -> None:
        os.set_blocking(fd, False)
        self.names[fd] = name
        if name != "out":
            self.readers[fd] = FrameReader(MAX_PART_FRAME_BYTES)
        self.selector.register(fd, selectors.EVENT_READ)

    def _unwatch(self, fd: int) -> None:
        try:
            self.selector.unregister(fd)
        except (KeyError, ValueError):
            pass
        self.names.pop(fd, None)
        self.readers.pop(fd, None)

    def _read(self, fd: int) -> None:
        name = self.names.get(fd)
        if name is None:  # already at end of file
            return
        try:
            data = os.read(fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._unwatch(fd)
            if name == "ctl" or name == "part":
                self.frames[name].append(({"k": "eof"}, b""))
            return
        if name == "out":
            self.job.output.add(data)
            return
        try:
            frames = self.readers[fd].feed(data)
        except FrameError:
            self._unwatch(fd)
            self.frames[name].append(({"k": "garbage"}, b""))
            return
        for header, blob in frames:
            if name == "init":
                self._init_frame(header)
            else:
                self.frames[name].append((header, blob))

    def _init_frame(self, header: dict) -> None:
        if header.get("k") == "init" and isinstance(header.get("pid"), int):
            self.c2 = header["pid"]
        elif header.get("k") == "exit" and isinstance(header.get("status"), int):
            self.loader_status = header["status"]

    def _drain_init(self) -> None:
        for _ in range(2):
            self._read(self.init_r)

    def _drain_output(self) -> None:
        while self.out_r in self.names:
            before = self.job.output.total
            self._read(self.out_r)
            if self.job.output.total == before:
                break

    def next_frame(self, channel: str, deadline: float) -> tuple[dict, bytes]:
        """Wait for the next frame on ``channel`` (``"ctl"`` or ``"part"``).

        Raises
        ------
        DeadError
            The loader ended (``status`` set) or the deadline passed (``hung``).
        """
        while True:
            if self.frames[channel]:
                return self.frames[channel].pop(0)
            if self.loader_status is not None:
                # The loader is gone; whatever it wrote is already in the pipes.
                for fd in list(self.names):
                    self._read(fd)
                if self.frames[channel]:
                    continue
                raise DeadError(self.loader_status)
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadError(None, hung=True)
            for key, _ in self.selector.select(min(left, 1.0)):
                if key.fd in self.names:
                    self._read(key.fd)

    # -- phases -----------------------------------------------------------------------------

    def load(self) -> LoadReport:
        """Wait for the loader's report; raises :class:`DeadError` naming the cell it died in."""
        from .loader import LOAD_BUDGET_FACTOR

        seconds = self.job.limits.load_seconds
        started = time.monotonic()
        overall = started + LOAD_BUDGET_FACTOR * seconds + HARD_GRACE_SECONDS
        deadline = time.monotonic() + seconds + HARD_GRACE_SECONDS
        while True:
            header, _ = self.next_frame("ctl", min(deadline, overall))
            kind = header.get("k")
            if kind == "cell" and isinstance(header.get("i"), int):
                self.current_cell = header["i"]
                deadline = time.monotonic() + seconds + HARD_GRACE_SECONDS
            elif kind == "loaded":
                self.current_cell = None
                self.load_seconds = time.monotonic() - started
                return LoadReport.parse(header)
            elif kind in ("eof", "garbage"):
                deadline = min(deadline, time.monotonic() + HARD_GRACE_SECONDS)
            if self.current_cell is None:
                deadline = min(deadline, time.monotonic() + REPORT_SECONDS)

    def run_parts(self, start: int, finished: PartFinished, in_place: bool = False) -> PartsRun:
        """Run the parts from ``start`` on in one process, each under its own time limit.

        The process sends each part's outcomes and its ``part_done`` frame as the part ends;
        each part's limit starts when the previous part's ``part_done`` arrives. It stops after
        the last part, after a part that left state behind (see :mod:`.loader`), or when it
        dies; a part that hangs stops the run with ``dead`` set (the caller kills this attempt).

        Parameters
        ----------
        start : int
        finished : PartFinished
            Called for each part as soon as its ``part_done`` arrives (or its stream breaks),
            so its answers are checked while the process runs the next.
        in_place : bool
            Run the parts in the loader itself rather than in a forked child: only right for
            the first run after loading. The loader ends with the run, so its end is reported
            as a child's would be (``status``), and the attempt serves no further run.
        """
        run = PartsRun(start=start, current=start)
        r, w = os.pipe()
        try:
            socket.send_fds(self.ctl, [(b"here%d" if in_place else b"part%d") % start], [w])
        except OSError:
            os.close(r)
            os.close(w)
            run.dead = DeadError(self.loader_status)
            return run
        os.close(w)
        self._watch(r, "part")
        self.frames["part"].clear()
        n_parts = len(self.job.parts)
        seconds = self.job.limits.part_seconds
        deadline = time.monotonic() + seconds
        try:
            while True:
                # The parts' own frames first; the loader's exit report ends the run.
                if self._take_part_frames(run, finished):
                    deadline = time.monotonic() + seconds
                # After the last part nothing is left to wait for: the attempt is killed next.
                if run.broken or run.current >= n_parts:
                    return run
                if self.frames["ctl"]:
                    header, _ = self.frames["ctl"].pop(0)
                    if header.get("k") == "part_exit" and isinstance(header.get("status"), int):
                        self._drain_part(r)
                        self._take_part_frames(run, finished)
                        run.status = header["status"]
                        return run
                    continue
                if self.loader_status is not None:
                    if in_place:
                        # The loader was the parts' process: its end is the run's end.
                        self._drain_part(r)
                        self._take_part_frames(run, finished)
                        run.status = self.loader_status
                    else:
                        run.dead = DeadError(self.loader_status)
                    return run
                left = deadline - time.monotonic()
                if left <= 0:
                    run.dead = DeadError(None, hung=True)
                    return run
                for key, _ in self.selector.select(min(left, 1.0)):
                    if key.fd in self.names:
                        self._read(key.fd)
        finally:
            self._unwatch(r)
            close_fd(r)

    def _take_part_frames(self, run: PartsRun, finished: PartFinished) -> bool:
        """Sort the part frames received so far into ``run``; True if a part finished."""
        any_finished = False
        n_parts = len(self.job.parts)
        while self.frames["part"] and not run.broken:
            header, blob = self.frames["part"].pop(0)
            kind = header.get("k")
            if run.current >= n_parts:
                continue  # nothing more is expected: ignore what a part forged
            if kind == "outcome":
                # Beyond the part's number of calls an outcome can only be forged: dropped.
                if len(run.outcomes) < len(self.job.parts[run.current].calls):
                    run.outcomes.append((header, blob))
            elif kind == "part_done":
                finished(run.current, run.outcomes, header)
                run.current += 1
                run.outcomes = []
                any_finished = True
            elif kind == "garbage":
                # The stream cannot be followed any further: this part sent a broken answer,
                # and the parts after it run again in a fresh attempt.
                finished(run.current, run.outcomes, None)
                run.current += 1
                run.outcomes = []
                run.broken = True
                any_finished = True
        return any_finished

    def _drain_part(self, fd: int) -> None:
        while fd in self.names:
            pending = len(self.frames["part"])
            before = self.readers[fd].pending
            self._read(fd)
            if fd in self.names and (
                len(self.frames["part"]) == pending and self.readers[fd].pending == before
            ):
                break
