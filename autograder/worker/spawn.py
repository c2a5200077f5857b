"""Starting one submission's process tree, and the code its trusted processes run.

Everything here runs in freshly forked processes, before any student code and then beside it
in processes the student cannot reach:

*keeper* (``ns`` mode, where the kernel cannot clone straight into new namespaces)
    Enters fresh user, pid, mount, IPC and UTS namespaces and starts the init inside them.
*init*
    The tree's first process (pid 1 of its namespace in ``ns`` mode; a session leader and
    subreaper in ``plain`` mode). It mounts a private ``/tmp``, drops every capability, starts
    the loader, reaps orphans and reports how the loader ended.
*loader*
    Closes every inherited descriptor, sets the resource limits and runs
    :func:`autograder.worker.loader.main`, the only code that runs student code.

The supervisor keeps the reading ends (:class:`TreeEnds`) and watches them (:mod:`.attempt`).
"""

from __future__ import annotations

import gc
import math
import os
import signal
import socket
import sys
import traceback
from dataclasses import dataclass
from enum import StrEnum

from . import isolate
from .job import Job
from .processes import close_fd, kill_descendants, plain_reaper
from .wire import write_frame

# The private /tmp a submission may fill: a few of the largest files it may write, and never
# less than this (matplotlib's cache, numpy's temporary files).
TMP_FILES_PER_SUBMISSION = 4
MIN_TMP_BYTES = 64 * 1024**2
OPEN_FILES = 256
# Descriptors the loader closes above the ones it keeps: beyond any a process inherits here.
MAX_INHERITED_FD = 65536
# CPU time the loader may use beyond its wall-clock budgets (the cells' and one part's): the
# interpreter's start-up work, the tampering checks and the reports.
CPU_SLACK_SECONDS = 5
# The keeper (unless the init is cloned directly), the namespace's init, the loader and the
# parts' child are counted with the student's processes by RLIMIT_NPROC.
GRADER_PROCESSES = 4
# Exit status of a forked helper whose own code failed (EX_SOFTWARE).
HELPER_FAILED = 70


class Mode(StrEnum):
    """How the supervisor isolates each submission."""

    #: Inside bubblewrap: fresh namespaces per submission.
    NS = "ns"
    #: The fallback: a process group, a subreaper and a temporary directory.
    PLAIN = "plain"


@dataclass
class TreeEnds:
    """What the supervisor keeps of a tree it started.

    Attributes
    ----------
    ctl : socket.socket
        Its side of the control socket to the loader.
    out_r : int
        Reading end of the submission's stdout and stderr.
    init_r : int
        Reading end of the keeper's and the init's reports.
    keeper : int or None
        The keeper's pid (None when the init was cloned directly).
    init : int or None
        The init's pid, when the supervisor started it itself (else the keeper reports it).
    """

    ctl: socket.socket
    out_r: int
    init_r: int
    keeper: int | None
    init: int | None


class Spawner:
    """Starts one process tree for ``job``; its other methods run in the forked processes.

    Parameters
    ----------
    mode : Mode
    job : Job
    skip : dict of int to str
        Cells the loader must not run.
    workdir : str or None
        The submission's working directory in ``plain`` mode (``ns`` mode uses its private
        ``/tmp``).
    protocol_fds : tuple of int
        The supervisor's channel to the grader: closed in every process of the tree.
    """

    def __init__(
        self,
        mode: Mode,
        job: Job,
        skip: dict[int, str],
        workdir: str | None,
        protocol_fds: tuple[int, ...],
    ) -> None:
        self.mode = mode
        self.job = job
        self.skip = skip
        self.workdir = workdir
        self.protocol_fds = protocol_fds
        self.direct = False

    def start(self) -> TreeEnds:
        """Fork the tree; return the supervisor's ends (the children never return)."""
        ctl_sup, ctl_loader = socket.socketpair()
        out_r, out_w = os.pipe()
        init_r, init_w = os.pipe()
        # Where the kernel allows it, the namespace's init is cloned straight into the new
        # namespaces: one fork of this large process fewer than through a keeper.
        self.direct = self.mode == Mode.NS and isolate.can_clone_into_namespaces()
        if self.direct:
            uid, gid = os.getuid(), os.getgid()
            c2 = isolate.clone_into_namespaces()
            if c2 == 0:
                code = HELPER_FAILED
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
            return self._keep_parent_ends(ctl_sup, ctl_loader, out_w, init_w, out_r, init_r, c2)
        keeper = os.fork()
        if keeper == 0:
            code = HELPER_FAILED
            try:
                self._drop_parent_ends(ctl_sup, out_r, init_r)
                self._keeper(ctl_loader.fileno(), out_w, init_w)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        return self._keep_parent_ends(ctl_sup, ctl_loader, out_w, init_w, out_r, init_r, keeper)

    def _drop_parent_ends(self, ctl_sup, out_r, init_r) -> None:
        # In the child: nothing that leads back to the supervisor may stay open in a process
        # tree that will run student code.
        ctl_sup.close()
        os.close(out_r)
        os.close(init_r)
        for fd in self.protocol_fds:
            close_fd(fd)

    def _keep_parent_ends(self, ctl_sup, ctl_loader, out_w, init_w, out_r, init_r, child):
        # After the fork: the supervisor keeps the reading ends and its side of the control
        # socket; the child's ends must close here, or end-of-file would never be seen.
        ctl_loader.close()
        os.close(out_w)
        os.close(init_w)
        return TreeEnds(
            ctl=ctl_sup,
            out_r=out_r,
            init_r=init_r,
            keeper=None if self.direct else child,
            init=child if self.direct else None,
        )

    def _keeper(self, ctl_fd: int, out_w: int, init_w: int) -> None:
        # Trusted code, in the supervisor's pid namespace: enter fresh namespaces and start the
        # new pid namespace's init, then wait for it.
        if self.mode == Mode.NS:
            # The kernel lets a process write its own uid map only while it is dumpable; the
            # keeper is out of reach of student code (a pid namespace above it) either way.
            isolate.set_dumpable(True)
            isolate.enter_user_namespace()
        c2 = os.fork()
        if c2 == 0:
            code = HELPER_FAILED
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
        if self.mode == Mode.NS:
            tmp_bytes = max(MIN_TMP_BYTES, TMP_FILES_PER_SUBMISSION * job.limits.max_file_bytes)
            isolate.private_mounts(tmp_bytes)
            isolate.drop_capabilities()
            isolate.set_dumpable(False)
            isolate.set_parent_death_signal(signal.SIGKILL)
            workdir = "/tmp"
        else:
            os.setsid()
            isolate.set_child_subreaper()
            workdir = self.workdir
        loader = os.fork()
        if loader == 0:
            code = HELPER_FAILED
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
        if self.mode == Mode.PLAIN:
            kill_descendants(os.getpid())
        write_frame(init_w, {"k": "exit", "status": status})

    def _loader(self, ctl_fd: int, out_w: int, workdir: str) -> None:
        from . import loader

        # Everything the supervisor made is inherited and lives as long as this process: the
        # collector never walks it, which would write to (and so copy) each page it is on.
        gc.freeze()

        job = self.job
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        keep = sorted({0, 1, 2, ctl_fd})
        for low, high in zip(keep, [*keep[1:], MAX_INHERITED_FD], strict=True):
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
            limits.load_seconds * loader.LOAD_BUDGET_FACTOR
            + limits.part_seconds
            + CPU_SLACK_SECONDS
        )
        isolate.set_limits(
            address_space=limits.memory_bytes,
            cpu_seconds=cpu,
            processes=limits.max_processes + GRADER_PROCESSES - self.direct,
            file_bytes=limits.max_file_bytes,
            open_files=OPEN_FILES,
        )
        # Writing past the file size limit then raises OSError instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if self.mode == Mode.PLAIN:
            # Without a pid namespace of its own, kill(-1) would reach every process of this
            # user on the machine: the loader ends its own descendants instead.
            isolate.set_child_subreaper()
            reap = plain_reaper
        else:
            reap = None
        task = loader.LoaderTask(
            cells=job.cells,
            skip=self.skip,
            cell_seconds=limits.load_seconds,
            compiled=job.compiled,
            parts=[(part.name, len(part.calls)) for part in job.parts],
            decode_call=job.decode_call,
            repo_root=job.repo_root,
            allowed_roots=tuple(sys.path),
            ctl_fd=ctl_fd,
            reap=reap,
            part_seconds=limits.part_seconds,
        )
        loader.main(task)
