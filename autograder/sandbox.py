"""Run a submission's code isolated from the grader, and get back plain numbers.

:func:`run_submission` is the whole interface: the grader passes the notebook's code cells and
the calls it wants made (:class:`~autograder.protocol.Call`), and receives a
:class:`~autograder.protocol.SubmissionRun` of float64 trees, error messages and flags. The
verdict is computed afterwards, in the grader's process, which student code never reaches.

Two isolation modes (``SubmissionRun.isolation`` says which one ran):

``bwrap``
    A warm worker process inside bubblewrap: no network, a filesystem view of only the Python
    installation, the virtual environment's ``site-packages`` and a minimal copy of the
    worker's own code (never the course repository, ``solutions/``, the reference, the
    gradebook or other submissions), read-only; without capabilities, as a uid of its own when
    the grader is root (else as the grader's user inside a user namespace). Each submission
    then gets fresh user, pid, mount and IPC namespaces (see
    :mod:`autograder.worker.isolate`): a private ``/tmp``, resource limits, and every process
    it started killed with it.

``fallback``
    Where bubblewrap is missing or the kernel forbids namespaces: the same worker as a plain
    subprocess with a scrubbed environment, a temporary working directory and the same
    resource limits; processes are ended through a subreaper. It does **not** hide the file
    system (a submission can read anything the grader's user can read, including
    ``solutions/``, and write what that user can write), does not block the network, and run
    as root its process limit does not apply. A warning is logged whenever it is used.

Set ``GBH_SANDBOX=fallback`` (or ``bwrap``) to force a mode; the default, ``auto``, probes
bubblewrap once per process and falls back if the probe fails.
"""

from __future__ import annotations

import atexit
import compileall
import fcntl
import functools
import logging
import multiprocessing.util
import os
import re
import selectors
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

from .protocol import Call, CallOutcome, Limits, PartRun, SubmissionRun
from .sandbox_audit import SourceAudit, audit_cells
from .worker.supervisor import HARD_GRACE_SECONDS, KNOWN_FLAGS, MAX_LOAD_ATTEMPTS
from .worker.wire import (
    RESULT_KINDS,
    FrameError,
    FrameReader,
    TreeDecoder,
    TreeEncoder,
    check_str,
    check_str_list,
    pack,
)

__all__ = ["SandboxError", "isolation_mode", "run_submission", "shutdown"]

log = logging.getLogger(__name__)

ENV_MODE = "GBH_SANDBOX"
PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent

# Host uids for sandboxes: one per concurrent worker, so each has its own process count and
# none shares a uid with a real account (checked: no passwd entry in this range on Debian).
SANDBOX_UID_BASE = 61000
MAX_SLOTS = 512
# Starting a worker imports numpy and matplotlib and probes the namespaces: seconds, not more.
START_SECONDS = 60.0
# Beyond the time the limits allow, how long the grader waits for a worker before killing it.
HOST_GRACE_SECONDS = 30.0
# Tries of one submission when its worker dies under it (see run_submission).
WORKER_ATTEMPTS = 2
# Where the sandbox sees things.
SANDBOX_LIB = "/opt/gbh/lib"
SANDBOX_SITE = "/opt/gbh/site-packages"
# What the worker needs from the grader's package: no reference, no checks, no CLI.
SHIPPED_MODULES = ("activations.py", "protocol.py", "test_functions.py")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
# Most code cells of a class's notebooks are the handout's own, the same for every student:
# their source scan is remembered, per cell, up to this many cells of at most this size (a
# few megabytes of text in all).
AUDIT_CACHE_CELLS = 1024
AUDIT_CACHE_CELL_CHARS = 16 * 1024

_BOOT = (
    "import sys; sys.path[:0] = [{lib!r}]; sys.path.append({site!r}); "
    "from autograder.worker.supervisor import main; main(sys.argv[1:])"
)
_SCRUBBED_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/tmp",
    "MPLBACKEND": "Agg",
    # One thread per process: the worker forks, and threads of BLAS do not survive a fork.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


class SandboxError(RuntimeError):
    """The sandbox could not be started (for instance ``GBH_SANDBOX=bwrap`` without bwrap)."""


class SandboxTimeoutError(SandboxError):
    """The worker did not answer within the time the limits allow."""


# -- what goes into the sandbox ---------------------------------------------------------------


def _python_layout() -> dict[str, str]:
    """Paths of the Python installation and the virtual environment's site-packages."""
    base = os.path.realpath(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    executable = os.path.join(base, "bin", version)
    if not os.path.exists(executable):
        executable = os.path.realpath(sys.executable)
    return {
        "prefix": base,
        "executable": executable,
        "site": os.path.realpath(sysconfig.get_paths()["purelib"]),
    }


_package_lock = threading.Lock()
_package_dir: str | None = None
_package_owner = 0


def _shipped_package() -> str:
    """A private copy of exactly the code the worker needs, compiled; made once per process."""
    global _package_dir, _package_owner
    with _package_lock:
        if _package_dir and os.path.isdir(_package_dir):
            return _package_dir
        root = tempfile.mkdtemp(prefix="gbh-sandbox-lib-")
        os.chmod(root, 0o755)
        package = os.path.join(root, "autograder")
        os.makedirs(os.path.join(package, "worker"))
        with open(os.path.join(package, "__init__.py"), "w") as f:
            f.write('"""The grader\'s package as the sandbox sees it: activations only."""\n')
        for name in SHIPPED_MODULES:
            source = PACKAGE_ROOT / name
            if source.exists():
                shutil.copy2(source, os.path.join(package, name))
        for source in (PACKAGE_ROOT / "worker").glob("*.py"):
            shutil.copy2(source, os.path.join(package, "worker", source.name))
        compileall.compile_dir(package, quiet=1)
        for dirpath, dirnames, filenames in os.walk(root):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)
        _package_dir, _package_owner = root, os.getpid()
        return root


# -- uid slots -------------------------------------------------------------------------------


class _Slot:
    """An exclusive host uid for one worker, held through a lock file while the worker lives."""

    def __init__(self) -> None:
        directory = os.path.join(tempfile.gettempdir(), "gbh-sandbox-slots")
        os.makedirs(directory, exist_ok=True)
        for index in range(MAX_SLOTS):
            fd = os.open(os.path.join(directory, f"{index}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.fd = fd
            self.uid = SANDBOX_UID_BASE + index
            return
        raise SandboxError("no free sandbox uid slot")

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# -- the worker --------------------------------------------------------------------------------


def _bwrap_command(layout: dict[str, str], lib: str, uid: int | None) -> list[str]:
    """The command line of a worker in bubblewrap (``uid`` None: the grader is not root)."""
    args = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]
    for top in ("usr", "bin", "lib", "lib64", "lib32", "sbin"):
        path = "/" + top
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        args += ["--ro-bind-try", path, path]
    made: set[str] = set()
    for source, target in (
        (layout["prefix"], layout["prefix"]),
        (layout["site"], SANDBOX_SITE),
        (lib, SANDBOX_LIB),
    ):
        # bubblewrap makes missing parent directories mode 0700, which the sandbox's uid could
        # not enter: make them world-readable first.
        parents = Path(target).parents
        for parent in reversed([str(p) for p in parents if str(p) != "/"]):
            if parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", parent]
        args += ["--ro-bind", source, target]
    args += [
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        "--remount-ro",
        "/",
        "--chdir",
        "/tmp",
    ]
    python = [
        layout["executable"],
        "-I",
        "-S",
        "-B",
        "-c",
        _BOOT.format(lib=SANDBOX_LIB, site=SANDBOX_SITE),
        "ns",
    ]
    if uid is None:
        # Not root: bubblewrap itself enters a user namespace, and the worker runs as the
        # grader's own user there, without capabilities.
        return [*args[:1], "--unshare-user", *args[1:], "--", *python]
    # Root: switch to the slot's uid with setpriv (which needs these two capabilities and then
    # drops every capability), so that the kernel counts the submission's processes.
    return [
        *args,
        "--cap-add",
        "CAP_SETUID",
        "--cap-add",
        "CAP_SETGID",
        "--",
        "/usr/bin/setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--bounding-set=-all",
        "--inh-caps=-all",
        "--no-new-privs",
        "--",
        *python,
    ]


def _privileged() -> bool:
    """Whether the grader runs as root (and so can give each worker a uid of its own)."""
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def _plain_command(layout: dict[str, str], lib: str) -> list[str]:
    return [
        layout["executable"],
        "-I",
        "-S",
        "-B",
        "-c",
        _BOOT.format(lib=lib, site=layout["site"]),
        "plain",
    ]


class Worker:
    """One warm supervisor process (see :mod:`autograder.worker.supervisor`)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        # A forked copy of the grader inherits this object but not the process behind it:
        # only the process that started the worker may use or stop it.
        self.owner = os.getpid()
        self.proc: subprocess.Popen | None = None
        self.slot: _Slot | None = None
        self.workdir: str | None = None
        self.stderr_path: str | None = None
        self.problem: str | None = None

    def start(self) -> None:
        layout = _python_layout()
        lib = _shipped_package()
        env = dict(_SCRUBBED_ENV)
        self.workdir = tempfile.mkdtemp(prefix="gbh-worker-")
        if self.mode == "bwrap" and _privileged():
            self.slot = _Slot()
            command = _bwrap_command(layout, lib, self.slot.uid)
        elif self.mode == "bwrap":
            command = _bwrap_command(layout, lib, None)
        else:
            command = _plain_command(layout, lib)
            env["HOME"] = env["TMPDIR"] = self.workdir
        self.stderr_path = os.path.join(self.workdir, "worker.log")
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                cwd=self.workdir,
                close_fds=True,
                start_new_session=True,
            )
        os.set_blocking(self.proc.stdin.fileno(), False)
        self.reader = FrameReader()
        try:
            header, _ = self._read(time.monotonic() + START_SECONDS)
        except SandboxError as exc:
            tail = self.log_tail()[-1500:]
            self.close()
            raise SandboxError(f"{self.mode} worker did not start: {exc}; {tail}") from None
        if header.get("k") != "ready" or not header.get("ok"):
            problem = f"{header.get('problem')}; {self.log_tail()[-1500:]}"
            self.close()
            raise SandboxError(f"{self.mode} worker is not usable: {problem}")

    def log_tail(self, limit: int = 4000) -> str:
        """The end of the worker's own error output (never student output)."""
        try:
            with open(self.stderr_path or "", "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _read(self, deadline: float) -> tuple[dict, bytes]:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SandboxTimeoutError("the worker did not answer in time")
                if not selector.select(left):
                    continue
                data = os.read(fd, 1 << 20)
                if not data:
                    # The details are for the grader's log, not for a student's feedback.
                    log.warning("sandbox worker stopped; its log ends: %s", self.log_tail())
                    raise SandboxError("the worker stopped")
                try:
                    frames = self.reader.feed(data)
                except FrameError as exc:
                    raise SandboxError(f"the worker sent garbage: {exc}") from None
                if frames:
                    return frames[0]

    def _write(self, data: bytes, deadline: float) -> None:
        # Non-blocking, so a worker that stopped reading cannot hang the grader.
        assert self.proc is not None and self.proc.stdin is not None
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_WRITE)
            while view:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SandboxTimeoutError("the worker did not take the submission")
                if not selector.select(left):
                    continue
                try:
                    written = os.write(fd, view)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    raise SandboxError(f"the worker is gone: {exc}") from None
                view = view[written:]

    def run(self, header: dict, blob: bytes, seconds: float, meanwhile=None) -> tuple[dict, bytes]:
        """Send one submission; return the worker's raw answer.

        ``meanwhile``, if given, is called after the submission is sent and before the answer
        is awaited: grader-side work that then overlaps with the sandbox's.
        """
        deadline = time.monotonic() + seconds
        self._write(pack(header, blob), deadline)
        if meanwhile is not None:
            meanwhile()
        return self._read(deadline)

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        """Stop the worker and everything in its sandbox."""
        if self.owner != os.getpid():
            return  # another process's worker, seen through fork: not ours to stop
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            try:
                self.proc.kill()
            except OSError:
                pass
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except (OSError, AttributeError):
                    pass
            self.proc = None
        if self.slot is not None:
            self.slot.release()
            self.slot = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


# -- choosing the mode ---------------------------------------------------------------------------

_state = threading.local()
_mode_lock = threading.Lock()
_auto_mode: str | None = None
_all_workers: list[Worker] = []


def _requested_mode(mode: str | None) -> str:
    chosen = (mode or os.environ.get(ENV_MODE) or "auto").strip().lower()
    if chosen not in ("auto", "bwrap", "fallback"):
        raise SandboxError(f"{ENV_MODE} must be auto, bwrap or fallback, not {chosen!r}")
    return chosen


def isolation_mode(mode: str | None = None) -> str:
    """The mode :func:`run_submission` will use: ``"bwrap"`` or ``"fallback"``.

    In ``auto`` mode the first call starts a bubblewrap worker to find out, once per process.
    """
    global _auto_mode
    requested = _requested_mode(mode)
    if requested != "auto":
        return requested
    with _mode_lock:
        if _auto_mode is None:
            if shutil.which("bwrap") is None:
                _auto_mode = "fallback"
                reason = "bubblewrap (bwrap) is not installed"
            else:
                try:
                    _get_worker("bwrap")
                    _auto_mode = "bwrap"
                    reason = ""
                except SandboxError as exc:
                    _auto_mode = "fallback"
                    reason = str(exc)
            if _auto_mode == "fallback":
                log.warning(
                    "Student code runs WITHOUT OS isolation (fallback mode): %s. It can read "
                    "files the grader can read and use the network. See the threat model.",
                    reason,
                )
        return _auto_mode


def _get_worker(mode: str) -> Worker:
    workers = getattr(_state, "workers", None)
    if workers is None or getattr(_state, "pid", None) != os.getpid():
        workers = _state.workers = {}
        _state.pid = os.getpid()
    worker = workers.get(mode)
    if worker is not None and worker.alive():
        return worker
    if worker is not None:
        worker.close()
    if mode == "bwrap" and shutil.which("bwrap") is None:
        raise SandboxError("bubblewrap (bwrap) is not installed")
    _register_cleanup()
    worker = Worker(mode)
    worker.start()
    workers[mode] = worker
    _all_workers.append(worker)
    return worker


def shutdown() -> None:
    """Stop every worker this process started (also done at exit)."""
    global _package_dir
    for worker in _all_workers:
        worker.close()  # a no-op for workers inherited through fork
    _all_workers.clear()
    with _package_lock:
        if _package_dir and _package_owner == os.getpid():
            shutil.rmtree(_package_dir, ignore_errors=True)
        _package_dir = None
    workers = getattr(_state, "workers", None)
    if workers:
        workers.clear()


atexit.register(shutdown)
_finalizer_pid = 0


def _register_cleanup() -> None:
    """Make sure this process stops its workers when it ends, however it ends normally.

    Processes of a multiprocessing pool end with ``os._exit``, which skips ``atexit``, and
    clear the finalizers they inherit; their workers would die with them (bubblewrap's
    ``--die-with-parent``) but leave temporary files behind. So each process registers its own.
    """
    global _finalizer_pid
    if _finalizer_pid != os.getpid():
        _finalizer_pid = os.getpid()
        multiprocessing.util.Finalize(None, shutdown, exitpriority=10)


# -- one submission --------------------------------------------------------------------------------


def _request(cells: list[str], calls: list[Call], limits: Limits) -> tuple[dict, bytes, list]:
    encoder = TreeEncoder()
    order: list[str] = []
    grouped: dict[str, list[dict]] = {}
    for call in calls:
        if call.part not in grouped:
            order.append(call.part)
            grouped[call.part] = []
        grouped[call.part].append(
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
        "parts": [[name, grouped[name]] for name in order],
        "repo_root": str(REPO_ROOT),
    }
    return header, encoder.blob(), order


def _deadline_seconds(limits: Limits, n_parts: int) -> float:
    from .worker.loader import LOAD_BUDGET_FACTOR

    load = LOAD_BUDGET_FACTOR * limits.load_seconds + HARD_GRACE_SECONDS
    part = limits.part_seconds + HARD_GRACE_SECONDS
    # A part that hangs after other parts ran in its process is run once more, first in a
    # fresh process, before it is blamed: up to two hangs and two loads per part.
    return (MAX_LOAD_ATTEMPTS + 2 * n_parts) * load + 2 * n_parts * part + HOST_GRACE_SECONDS


def _outcome(node: dict, decoder: TreeDecoder) -> CallOutcome:
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
        outcome.args_after = tuple(None if n is None else decoder.tree(n) for n in after[:64])
    return outcome


def _parse_answer(
    header: dict, blob: bytes, order: list[str], calls_per_part: dict
) -> SubmissionRun:
    """Strictly decode the worker's answer into a SubmissionRun."""
    if header.get("k") != "result":
        raise FrameError("not a result")
    decoder = TreeDecoder(blob, RESULT_KINDS)
    run = SubmissionRun()
    run.cell_errors = check_str_list(header.get("cell_errors", []), 10_000, 500)
    run.flags = {f for f in check_str_list(header.get("flags", []), 50, 40) if f in KNOWN_FLAGS}
    run.imports = {
        i for i in check_str_list(header.get("imports", []), 500, 100) if _IDENTIFIER.match(i)
    }
    run.notes = check_str_list(header.get("notes", []), 200, 300)
    run.output = check_str(header.get("output", ""), 10**8)
    parts = header.get("parts")
    if not isinstance(parts, list) or len(parts) != len(order):
        raise FrameError("wrong number of parts")
    for name, node in zip(order, parts, strict=True):
        if not isinstance(node, dict) or node.get("part") != name:
            raise FrameError("parts out of order")
        outcomes = node.get("outcomes", [])
        if not isinstance(outcomes, list) or len(outcomes) > calls_per_part[name]:
            raise FrameError("too many outcomes")
        error = node.get("error")
        part = PartRun(
            part=name,
            outcomes=[_outcome(o, decoder) for o in outcomes],
            error=None if error is None else check_str(error, 500),
            flags={
                f
                for f in check_str_list(node.get("flags", []), 20, 40)
                if f in KNOWN_FLAGS | {"missing"}
            },
        )
        run.parts[name] = part
    return run


@functools.lru_cache(maxsize=AUDIT_CACHE_CELLS)
def _audit_cell(source: str) -> SourceAudit:
    # Shared between submissions: never modified, only read by _audit.
    return audit_cells([source])


def _audit(cells: list[str]) -> SourceAudit:
    """``audit_cells(cells)``, from remembered scans of cells seen before.

    The scan looks at each cell on its own, so merging the cells' findings in order gives
    the same imports, flags and notes (each note once, in order of first appearance).
    """
    merged = SourceAudit()
    for source in cells:
        if len(source) > AUDIT_CACHE_CELL_CHARS:
            found = audit_cells([source])
        else:
            found = _audit_cell(source)
        merged.imports |= found.imports
        merged.flags |= found.flags
        for note in found.notes:
            merged.note(None, note)
    return merged


def _failed_run(order: list[str], why: str, flag: str, isolation: str) -> SubmissionRun:
    run = SubmissionRun(isolation=isolation)
    run.flags.add(flag)
    run.notes.append(why)
    for name in order:
        run.parts[name] = PartRun(part=name, error=why, flags={flag})
    return run


def run_submission(
    cells: list[str],
    calls: list[Call],
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass, safe as a default
    *,
    mode: str | None = None,
) -> SubmissionRun:
    """Run a notebook's code cells in the sandbox and make the grader's calls.

    Parameters
    ----------
    cells : list of str
        The notebook's code cells except the grader's test cells, in order. They run in one
        shared namespace; a cell that fails loses its own definitions only.
    calls : list of Call
        Calls to make, grouped by ``Call.part``. The parts run one after another, each under
        its own time limit, in a process forked from the loaded notebook; a part that hangs,
        crashes, tampers or leaves state behind hands the parts after it a fresh copy, and a
        part is blamed for a hang or a crash only in a fresh copy (see
        :mod:`autograder.worker.loader`).
    limits : Limits
        ``load_seconds`` applies to each cell (a cell past it is stopped and loses its own
        definitions; all cells together get twice that); ``part_seconds`` to all calls of
        one part together.
    mode : {"auto", "bwrap", "fallback"}, optional
        Overrides ``GBH_SANDBOX``.

    Returns
    -------
    SubmissionRun
        With a :class:`PartRun` for every part named in ``calls``. Never raises because of
        what the submission did; raises :class:`SandboxError` only if no sandbox can start.
    """
    chosen = isolation_mode(mode)
    header, blob, order = _request(cells, calls, limits)
    calls_per_part = {name: 0 for name in order}
    for call in calls:
        calls_per_part[call.part] += 1
    seconds = _deadline_seconds(limits, len(order))
    run = None
    audits = []

    def audit() -> None:
        # The source scan needs only the cells: it runs while the sandbox runs them.
        if not audits:
            audits.append(_audit(cells))

    # A worker that dies mid-submission is replaced and the submission tried once more: a
    # fault of the grader's own should not cost a student; a submission that really kills
    # its worker fails twice and only costs itself.
    for attempt in range(WORKER_ATTEMPTS):
        worker = _get_worker(chosen)
        try:
            answer, answer_blob = worker.run(header, blob, seconds, audit)
            if answer.get("k") == "failed":
                raise SandboxError(f"the worker failed: {check_str(answer.get('error', ''))}")
            run = _parse_answer(answer, answer_blob, order, calls_per_part)
            break
        except SandboxTimeoutError as exc:
            worker.close()
            why = f"the grader's sandbox stopped answering ({exc})"
            run = _failed_run(order, why[:300], "timeout", chosen)
            break
        except (SandboxError, FrameError) as exc:
            worker.close()
            log.warning("sandbox worker failed (attempt %d): %s", attempt + 1, exc)
            why = f"the grader's sandbox stopped while running this notebook ({exc})"
            run = _failed_run(order, why[:300], "crash", chosen)
    run.isolation = chosen
    audit()
    scan = audits[0]
    run.imports |= scan.imports
    run.flags |= scan.flags
    for note in scan.notes:
        if note not in run.notes:
            run.notes.append(note)
    return run
