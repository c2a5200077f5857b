"""The warm process in the sandbox: takes submissions from the grader, reports what happened.

The supervisor never runs student code. It imports numpy (and matplotlib) once, then for each
submission forks a fresh, isolated process tree (see :mod:`autograder.worker.isolate`) that loads
the notebook (:mod:`autograder.worker.loader`), and times, reads and, when needed, kills it:

* a cell that hangs past its soft timer, or kills the process, is skipped and the notebook is
  loaded again without it (at most :data:`MAX_LOAD_ATTEMPTS` times);
* the parts run one after another in one child of the loader, which streams each part's
  outcomes and a ``part_done`` frame, so each part is timed on its own; a part that hangs,
  crashes or exits costs that part only, and is blamed only if that happened in a fresh child
  (else it runs again, first in a fresh one); after a hang the notebook is loaded again;
* whatever the submission started is gone before the next submission begins.

Everything read from the submission's processes is decoded strictly (:mod:`.wire`), checked
and re-encoded; the grader decodes the supervisor's answer strictly again.

Two modes: ``ns`` (inside bubblewrap, a fresh user/pid/mount/IPC namespace per submission) and
``plain`` (the fallback: a process group, a subreaper and a temporary directory; see
:mod:`autograder.sandbox` for what it does not protect).
"""

from __future__ import annotations

import gc
import math
import os
import re
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import isolate
from .wire import (
    REQUEST_KINDS,
    RESULT_KINDS,
    FrameError,
    FrameReader,
    TreeDecoder,
    TreeEncoder,
    check_str,
    check_str_list,
    pack,
    read_frame,
    write_all,
    write_frame,
)

# A notebook that needs to be loaded again after this many hung or fatal cells is given up:
# each attempt costs up to a cell's time limit, and honest notebooks need one attempt.
MAX_LOAD_ATTEMPTS = 4
# Time the soft timer gets to stop a cell before the process is killed instead.
HARD_GRACE_SECONDS = 2.0
# Time for the loader to report after its last cell (tampering check, clean-up).
REPORT_SECONDS = 10.0
# The private /tmp a submission may fill: a few of the largest files it may write.
TMP_FILES_PER_SUBMISSION = 4
OPEN_FILES = 256
# All answers of one notebook together: far beyond honest answers (a few kilobytes), small
# enough that a flood of numbers cannot exhaust the grader's memory.
MAX_RESULT_BYTES = 128 * 1024**2
# One frame from a part's process: one call's answer, at most MAX_RESULT_ELEMENTS floats for
# the value and as many for the arguments after the call.
MAX_PART_FRAME_BYTES = 80 * 1024**2
# The keeper (unless the init is cloned directly), the namespace's init, the loader and the
# parts' child are counted with the student's processes by RLIMIT_NPROC.
GRADER_PROCESSES = 4

KNOWN_FLAGS = frozenset(
    {
        "timeout",
        "memory",
        "crash",
        "tampering",
        "forbidden-import",
        "autodiff-import",
        "output-truncated",
        "network",
    }
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")

SIGNAL_WORDS = {
    signal.SIGSEGV: "a segmentation fault (SIGSEGV)",
    signal.SIGBUS: "a bus error (SIGBUS)",
    signal.SIGFPE: "a floating-point exception (SIGFPE)",
    signal.SIGABRT: "an abort (SIGABRT)",
    signal.SIGILL: "an illegal instruction (SIGILL)",
    signal.SIGKILL: "SIGKILL",
    signal.SIGTERM: "SIGTERM",
    signal.SIGXCPU: "the CPU time limit (SIGXCPU)",
    signal.SIGXFSZ: "the file size limit (SIGXFSZ)",
}


def describe_status(status: int) -> tuple[str, str]:
    """Plain words and a flag for a process's wait status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "used up its CPU time", "timeout"
        words = SIGNAL_WORDS.get(sig, f"signal {sig}")
        return f"the process died (signal {sig}: {words})", "crash"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the process exited (status {code}) before it finished", "crash"


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
    outcomes: list = field(default_factory=list)
    status: int | None = None
    dead: DeadError | None = None
    broken: bool = False


class Attempt:
    """One isolated process tree that loads the notebook and serves parts."""

    def __init__(self, sup: Supervisor, job: Job, skip: dict[int, str]) -> None:
        self.sup = sup
        self.job = job
        self.skip = skip
        self.selector = selectors.DefaultSelector()
        self.readers: dict[int, FrameReader] = {}
        self.frames: dict[str, list[tuple[dict, bytes]]] = {"ctl": [], "init": [], "part": []}
        self.names: dict[int, str] = {}
        self.c2: int | None = None
        self.loader_status: int | None = None
        self.current_cell: int | None = None
        self.tmpdir: str | None = None
        self._start()

    # -- process tree -----------------------------------------------------------------------

    def _start(self) -> None:
        ctl_sup, ctl_loader = socket.socketpair()
        out_r, out_w = os.pipe()
        init_r, init_w = os.pipe()
        if self.sup.mode == "plain":
            self.tmpdir = tempfile.mkdtemp(prefix="submission-", dir=self.sup.scratch)
        # Where the kernel allows it, the namespace's init is cloned straight into the new
        # namespaces: one fork of this large process fewer than through a keeper.
        self.direct = self.sup.mode == "ns" and isolate.can_clone_into_namespaces()
        if self.direct:
            self.keeper = None
            uid, gid = os.getuid(), os.getgid()
            c2 = isolate.clone_into_namespaces()
            if c2 == 0:
                code = 70
                try:
                    self._drop_parent_ends(ctl_sup, out_r, init_r)
                    # Writing our own id maps needs a dumpable process; no student code
                    # exists yet, and _init makes us non-dumpable before starting any.
                    isolate.set_dumpable(True)
                    isolate.map_own_ids(uid, gid)
                    self._init(ctl_loader.fileno(), out_w, init_w)
                    code = 0
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(code)
            self.c2 = c2
            self._keep_parent_ends(ctl_sup, ctl_loader, out_r, out_w, init_r, init_w)
            return
        keeper = os.fork()
        if keeper == 0:
            code = 70
            try:
                self._drop_parent_ends(ctl_sup, out_r, init_r)
                self._keeper(ctl_loader.fileno(), out_w, init_w)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        self.keeper = keeper
        self._keep_parent_ends(ctl_sup, ctl_loader, out_r, out_w, init_r, init_w)

    def _drop_parent_ends(self, ctl_sup, out_r, init_r) -> None:
        # In the child: nothing that leads back to the supervisor may stay open in a process
        # tree that will run student code.
        ctl_sup.close()
        os.close(out_r)
        os.close(init_r)
        self.sup.close_protocol()

    def _keep_parent_ends(self, ctl_sup, ctl_loader, out_r, out_w, init_r, init_w) -> None:
        # After the fork: the supervisor keeps the reading ends and its side of the control
        # socket; the child's ends must close here, or end-of-file would never be seen.
        ctl_loader.close()
        os.close(out_w)
        os.close(init_w)
        self.ctl = ctl_sup
        self.out_r, self.init_r = out_r, init_r
        for fd, name in ((ctl_sup.fileno(), "ctl"), (out_r, "out"), (init_r, "init")):
            self._watch(fd, name)

    def _keeper(self, ctl_fd: int, out_w: int, init_w: int) -> None:
        # Trusted code, in the supervisor's pid namespace: enter fresh namespaces and start the
        # new pid namespace's init, then wait for it.
        if self.sup.mode == "ns":
            # The kernel lets a process write its own uid map only while it is dumpable; the
            # keeper is out of reach of student code (a pid namespace above it) either way.
            isolate.set_dumpable(True)
            isolate.enter_user_namespace()
        c2 = os.fork()
        if c2 == 0:
            code = 70
            try:
                self._init(ctl_fd, out_w, init_w)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        write_frame(init_w, {"k": "init", "pid": c2})
        os.close(ctl_fd)
        os.close(out_w)
        os.close(init_w)
        while True:
            try:
                os.waitpid(c2, 0)
                return
            except ChildProcessError:
                return
            except InterruptedError:
                continue

    def _init(self, ctl_fd: int, out_w: int, init_w: int) -> None:
        # The submission's first process (pid 1 of its namespace in ``ns`` mode). It runs no
        # student code: it starts the loader, reaps orphans and reports how the loader ended.
        job = self.job
        if self.sup.mode == "ns":
            tmp_bytes = max(64 * 1024**2, TMP_FILES_PER_SUBMISSION * job.limits["max_file_bytes"])
            isolate.private_mounts(tmp_bytes)
            isolate.drop_capabilities()
            isolate.set_dumpable(False)
            isolate.set_parent_death_signal(signal.SIGKILL)
            workdir = "/tmp"
        else:
            os.setsid()
            isolate.set_child_subreaper()
            workdir = self.tmpdir
        loader = os.fork()
        if loader == 0:
            code = 70
            try:
                os.close(init_w)
                self._loader(ctl_fd, out_w, workdir)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(ctl_fd)
        os.close(out_w)
        while True:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                status = 0
                break
            if pid == loader:
                break
        if self.sup.mode == "plain":
            kill_descendants(os.getpid())
        write_frame(init_w, {"k": "exit", "status": status})

    def _loader(self, ctl_fd: int, out_w: int, workdir: str) -> None:
        from . import loader

        job = self.job
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        keep = sorted({0, 1, 2, ctl_fd})
        for low, high in zip(keep, [*keep[1:], 65536], strict=True):
            os.closerange(low + 1, high)
        os.chdir(workdir)
        os.environ.update(
            HOME=workdir,
            TMPDIR=workdir,
            MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"),
            MPLBACKEND="Agg",
        )
        os.makedirs(os.environ["MPLCONFIGDIR"], exist_ok=True)
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(line_buffering=True)
        limits = job.limits
        cpu = math.ceil(
            limits["load_seconds"] * loader.LOAD_BUDGET_FACTOR + limits["part_seconds"] + 5
        )
        isolate.set_limits(
            address_space=limits["memory_bytes"],
            cpu_seconds=cpu,
            processes=limits["max_processes"] + GRADER_PROCESSES - self.direct,
            file_bytes=limits["max_file_bytes"],
            open_files=OPEN_FILES,
        )
        # Writing past the file size limit then raises OSError instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if self.sup.mode == "plain":
            # Without a pid namespace of its own, kill(-1) would reach every process of this
            # user on the machine: the loader ends its own descendants instead.
            isolate.set_child_subreaper()
            reap = _plain_reaper
        else:
            reap = None
        task = loader.LoaderTask(
            cells=job.cells,
            skip=self.skip,
            cell_seconds=limits["load_seconds"],
            parts=[(name, len(calls)) for name, calls in job.parts],
            decode_call=job.decode_call,
            repo_root=job.repo_root,
            allowed_roots=tuple(sys.path),
            ctl_fd=ctl_fd,
            reap=reap,
            part_seconds=limits["part_seconds"],
        )
        loader.main(task)

    def kill(self) -> None:
        """End the whole process tree and collect everything it printed."""
        if self.sup.mode == "ns":
            self._drain_init()
            if self.c2 is not None:
                _kill(self.c2)
            else:
                _kill(self.keeper)
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
        if self.sup.mode == "plain":
            # Orphans re-parented to the supervisor (its subreaper role) are ended too.
            kill_descendants(os.getpid())
        else:
            # The namespace died with its init; only a keeper's orphan may be left to reap.
            _reap_nohang()
        self._drain_output()
        self.selector.close()
        for fd in (self.out_r, self.init_r):
            _close(fd)
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

    def load(self) -> dict:
        """Wait for the loader's report; raises :class:`DeadError` naming the cell it died in."""
        from .loader import LOAD_BUDGET_FACTOR

        seconds = self.job.limits["load_seconds"]
        overall = time.monotonic() + LOAD_BUDGET_FACTOR * seconds + HARD_GRACE_SECONDS
        deadline = time.monotonic() + seconds + HARD_GRACE_SECONDS
        while True:
            header, _ = self.next_frame("ctl", min(deadline, overall))
            kind = header.get("k")
            if kind == "cell" and isinstance(header.get("i"), int):
                self.current_cell = header["i"]
                deadline = time.monotonic() + seconds + HARD_GRACE_SECONDS
            elif kind == "loaded":
                self.current_cell = None
                return header
            elif kind in ("eof", "garbage"):
                deadline = min(deadline, time.monotonic() + HARD_GRACE_SECONDS)
            if self.current_cell is None:
                deadline = min(deadline, time.monotonic() + REPORT_SECONDS)

    def run_parts(self, start: int, finished: Callable[[int, list, dict], None]) -> PartsRun:
        """Run the parts from ``start`` on in one child, each under its own time limit.

        The child streams each part's outcomes and then its ``part_done`` frame; each part's
        limit starts when the previous part's ``part_done`` arrives. The child stops after the
        last part, after a part that left state behind (see :mod:`.loader`), or when it dies;
        a part that hangs stops the run with ``dead`` set (the caller kills this attempt).

        Parameters
        ----------
        start : int
        finished : callable
            ``finished(index, outcome_frames, final_frame)`` for each part as soon as its
            ``part_done`` arrives, so its answers are checked while the child runs the next.
        """
        run = PartsRun(start=start, current=start)
        r, w = os.pipe()
        try:
            socket.send_fds(self.ctl, [b"part%d" % start], [w])
        except OSError:
            os.close(r)
            os.close(w)
            run.dead = DeadError(self.loader_status)
            return run
        os.close(w)
        self._watch(r, "part")
        self.frames["part"].clear()
        n_parts = len(self.job.parts)
        seconds = self.job.limits["part_seconds"]
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
            _close(r)

    def _take_part_frames(self, run: PartsRun, finished: Callable[[int, list, dict], None]) -> bool:
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
                if len(run.outcomes) < len(self.job.parts[run.current][1]):
                    run.outcomes.append((header, blob))
            elif kind == "part_done":
                finished(run.current, run.outcomes, header)
                run.current += 1
                run.outcomes = []
                any_finished = True
            elif kind == "garbage":
                # The stream cannot be followed any further: this part sent a broken answer,
                # and the parts after it run again in a fresh attempt.
                finished(run.current, run.outcomes, {"k": "garbage"})
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


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _reap_nohang() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (the plain mode's view of the process tree)."""
    kids = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return kids
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields follow the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def kill_descendants(pid: int) -> None:
    """Kill and reap every process below ``pid`` (which must be their subreaper)."""
    for _ in range(10_000):
        kids = _children(pid)
        for kid in kids:
            _kill(kid)
        reaped = False
        while True:
            try:
                got, _ = os.waitpid(-1, 0 if kids and not reaped else os.WNOHANG)
            except ChildProcessError:
                return
            if got == 0:
                break
            reaped = True
        if not kids and not reaped:
            return


def _plain_reaper() -> None:
    """The loader's clean-up in plain mode: its own descendants, never ``kill(-1)``."""
    kill_descendants(os.getpid())


class Job:
    """One submission as the supervisor received it."""

    def __init__(self, header: dict, blob: bytes) -> None:
        from ..activations import ACTIVATIONS

        self.cells = check_str_list(header["cells"], max_items=10_000, limit=10**7)
        limits = header["limits"]
        self.limits = {
            key: float(limits[key]) if "seconds" in key else int(limits[key])
            for key in (
                "part_seconds",
                "load_seconds",
                "memory_bytes",
                "max_output_bytes",
                "max_processes",
                "max_file_bytes",
            )
        }
        self.repo_root = check_str(header.get("repo_root", ""))
        self.parts: list[tuple[str, list[dict]]] = [
            (check_str(name, 200), list(calls)) for name, calls in header["parts"]
        ]
        self.blob = blob
        self.output = OutputSink(self.limits["max_output_bytes"])

        # Imported here, in the supervisor, before any student code could plant a stand-in.
        from ..test_functions import bind

        self._activation = ACTIVATIONS.__getitem__
        self._function = bind

    def decode_call(self, part: int, call: int) -> tuple[tuple, dict, bool]:
        node = self.parts[part][1][call]
        decoder = TreeDecoder(
            self.blob, REQUEST_KINDS, activation=self._activation, function=self._function
        )
        args = decoder.tree(node["args"])
        kwargs = decoder.tree(node["kwargs"])
        return tuple(args), dict(kwargs), bool(node.get("return_args", False))


class Report:
    """The answer under construction, re-encoded from validated pieces."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.encoder = TreeEncoder()
        self.cell_errors: list[str] = []
        self.flags: set[str] = set()
        self.imports: set[str] = set()
        self.notes: list[str] = []
        self.parts: dict[int, dict] = {}
        self.kept_bytes = 0

    def absorb(self, header: dict) -> None:
        """Imports, flags and notes from an untrusted report."""
        try:
            flags = check_str_list(header.get("flags", []), 20, 40)
            imports = check_str_list(header.get("imports", []), 200, 100)
            notes = check_str_list(header.get("notes", []), 50, 300)
        except FrameError:
            self.flag("tampering", "sent a malformed report")
            return
        self.flags.update(f for f in flags if f in KNOWN_FLAGS)
        self.imports.update(i for i in imports if _IDENTIFIER.match(i))
        for note in notes:
            if note not in self.notes and len(self.notes) < 100:
                self.notes.append(note)

    def flag(self, flag: str | None, note: str) -> None:
        if flag:
            self.flags.add(flag)
        if note not in self.notes:
            self.notes.append(note)

    def outcome(self, header: dict, blob: bytes) -> dict:
        """One call's outcome, validated and re-encoded."""
        decoder = TreeDecoder(blob, RESULT_KINDS)
        out: dict[str, Any] = {"value": None, "error": None, "args_after": None}
        self.kept_bytes += len(blob)
        if self.kept_bytes > MAX_RESULT_BYTES:
            out["error"] = "returned more numbers than the grader keeps for one notebook"
            return out
        try:
            error = header.get("error")
            if error is not None:
                out["error"] = check_str(error, 500)
            elif header.get("value") is None:
                out["error"] = "returned nothing readable"
            else:
                out["value"] = self.encoder.tree(decoder.tree(header["value"]))
            after = header.get("args_after")
            if isinstance(after, list):
                out["args_after"] = [
                    None if node is None else self.encoder.tree(decoder.tree(node))
                    for node in after[:64]
                ]
        except (FrameError, TypeError):
            out = {
                "value": None,
                "error": "sent back an answer in a broken format",
                "args_after": None,
            }
            self.flag("tampering", "sent back a malformed answer")
        return out

    def header(self) -> dict:
        output = self.job.output
        if output.truncated:
            self.flag(
                "output-truncated",
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
                self.parts.get(i, {"part": name, "error": "not run", "flags": [], "outcomes": []})
                for i, (name, _) in enumerate(self.job.parts)
            ],
        }


class Supervisor:
    """The request loop; owns the protocol channel to the grader."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.proto_in = os.dup(0)
        self.proto_out = os.dup(1)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        self.scratch = tempfile.mkdtemp(prefix="gbh-worker-") if mode == "plain" else "/tmp"
        # Orphans of a submission come to us, so nothing it started can outlive it unseen.
        isolate.set_child_subreaper()
        # Peers cannot trace us or read our memory (in ns mode no student process can even
        # see us: they live in a pid namespace below ours).
        isolate.set_dumpable(False)

    def close_protocol(self) -> None:
        _close(self.proto_in)
        _close(self.proto_out)

    def warm(self) -> None:
        """Import what student code uses, once, so each submission's fork has it for free."""
        os.environ.setdefault("MPLBACKEND", "Agg")
        if self.mode == "ns":
            os.environ["MPLCONFIGDIR"] = "/tmp/.matplotlib"
        import numpy  # noqa: F401
        import numpy.linalg  # noqa: F401
        import numpy.random  # noqa: F401  (loaded on first use, ~8 ms, by most notebooks)
        import numpy.testing  # noqa: F401

        from .. import activations, protocol, test_functions  # noqa: F401
        from . import convert, loader, watch  # noqa: F401

        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        except Exception:
            pass
        # Everything imported so far lives as long as the worker: keep the garbage collector of
        # each forked child from walking it, which would copy those pages for nothing.
        gc.freeze()

    def probe(self) -> str | None:
        """Try one empty submission; return why isolation fails, or None."""
        job = Job(
            {
                "cells": ["x = 1"],
                "limits": {
                    "part_seconds": 5,
                    "load_seconds": 5,
                    "memory_bytes": 2 * 1024**3,
                    "max_output_bytes": 1024,
                    "max_processes": 8,
                    "max_file_bytes": 1024**2,
                },
                "parts": [],
            },
            b"",
        )
        attempt = Attempt(self, job, {})
        try:
            attempt.load()
        except DeadError as dead:
            return f"a test submission did not load (status {dead.status})"
        finally:
            attempt.kill()
        return None

    def serve(self) -> None:
        self.warm()
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
                job = Job(header, blob)
                report = grade(self, job)
                frame = pack(report.header(), report.encoder.blob())
            except Exception:
                # A bug of ours, not the submission's doing: say so, and stay up for the next.
                traceback.print_exc()
                frame = pack({"k": "failed", "error": traceback.format_exc(limit=3)[-1500:]})
            write_all(self.proto_out, frame)


def grade(sup: Supervisor, job: Job) -> Report:
    """Load the notebook and run every part, loading again after a hang or a crash."""
    report = Report(job)

    def finished(index: int, outcomes: list, done: dict) -> None:
        report.parts[index] = finish_part(report, job.parts[index][0], outcomes, done)

    skip: dict[int, str] = {}
    pending = list(range(len(job.parts)))
    loaded_once = False
    failed_loads = 0
    while True:
        attempt = Attempt(sup, job, skip)
        try:
            try:
                loaded = attempt.load()
            except DeadError as dead:
                cell = attempt.current_cell
                if dead.hung:
                    reason = (
                        f"did not finish within {job.limits['load_seconds']:g} s and was killed"
                    )
                    report.flag("timeout", f"cell {cell} ran too long and was killed")
                else:
                    words, flag = describe_status(dead.status or 0)
                    reason = f"ended the notebook's process: {words}"
                    report.flag(flag, f"cell {cell}: {words}")
                failed_loads += 1
                if cell is None or cell in skip or failed_loads >= MAX_LOAD_ATTEMPTS:
                    for i in pending:
                        report.parts[i] = {
                            "part": job.parts[i][0],
                            "error": "the notebook could not be run to the end",
                            "flags": ["crash"],
                            "outcomes": [],
                        }
                    if cell is not None:
                        report.cell_errors.append(f"cell {cell}: {reason}")
                    return report
                skip[cell] = reason
                continue
            if not loaded_once:
                loaded_once = True
                errors = loaded.get("cell_errors", [])
                try:
                    errors = check_str_list(errors, 10_000, 500)
                except FrameError:
                    errors = ["the notebook's report was malformed"]
                report.cell_errors = sorted(
                    [*errors, *(f"cell {c}: {r}" for c, r in skip.items())],
                    key=_cell_number,
                )
            report.absorb(loaded)
            # Cells stopped by their timer are not run again when the notebook is reloaded.
            stopped = loaded.get("stopped", [])
            if isinstance(stopped, list):
                for cell in stopped[:1000]:
                    if isinstance(cell, int) and not isinstance(cell, bool):
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
                name = job.parts[index][0]
                pending.pop(0)
                if run.dead is not None:
                    part_flags: list[str] = []
                    if run.dead.hung:
                        seconds = job.limits["part_seconds"]
                        error = f"timed out after {seconds:g} s"
                        part_flags.append("timeout")
                    else:
                        error, flag = describe_status(run.dead.status or 0)
                        part_flags.append(flag)
                    report.flags.update(part_flags)
                    report.parts[index] = {
                        "part": name,
                        "error": error,
                        "flags": part_flags,
                        "outcomes": [report.outcome(h, b) for h, b in run.outcomes],
                    }
                    break  # load again for the remaining parts
                report.parts[index] = finish_part(report, name, run.outcomes, None, run.status)
            if not pending:
                return report
        finally:
            attempt.kill()


def _cell_number(line: str) -> int:
    match = re.match(r"cell (\d+)", line)
    return int(match.group(1)) if match else -1


def finish_part(
    report: Report, name: str, outcomes: list, done: dict | None, status: int | None = None
) -> dict:
    """A part's record from what its child sent and how it ended."""
    part: dict[str, Any] = {
        "part": name,
        "error": None,
        "flags": [],
        "outcomes": [report.outcome(h, b) for h, b in outcomes],
    }
    if done is not None and done.get("k") == "part_done":
        report.absorb(done)
        error = done.get("error")
        if isinstance(error, str):
            part["error"] = error[:300]
            if error == "not defined":
                part["flags"].append("missing")
    elif done is not None:
        part["error"] = "sent back an answer in a broken format"
        report.flag("tampering", f"{name}: sent back a malformed answer")
    else:
        words, flag = describe_status(status or 0)
        if status == 0:
            words = "the process exited before the part finished (os._exit?)"
        part["error"] = words
        part["flags"].append(flag)
        report.flags.add(flag)
    if any(
        o["error"] == "ran out of memory" for o in part["outcomes"] if isinstance(o["error"], str)
    ):
        part["flags"].append("memory")
        report.flags.add("memory")
    return part


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``main(["ns"])`` inside bubblewrap, ``main(["plain"])`` in the fallback."""
    argv = sys.argv[1:] if argv is None else argv
    mode = argv[0] if argv else "ns"
    if mode not in ("ns", "plain"):
        raise SystemExit(f"unknown mode {mode!r}")
    Supervisor(mode).serve()
