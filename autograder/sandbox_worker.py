"""The grader's side of one sandbox worker: its command line, its uid, its code, its pipes.

A :class:`Worker` is one warm supervisor process (:mod:`autograder.worker.supervisor`),
started either inside bubblewrap (:func:`bwrap_command`) or as a plain subprocess
(:func:`plain_command`), talking frames over its stdin and stdout. It sees a private copy of
exactly the code it needs (:func:`shipped_package`): the ``autograder.worker`` package and
:data:`SHIPPED_MODULES`, never the reference, the checks or the command line. Choosing a
mode and running submissions is :mod:`autograder.sandbox`'s business.
"""

from __future__ import annotations

import compileall
import fcntl
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .worker.wire import FrameError, FrameReader, pack

__all__ = [
    "SHIPPED_MODULES",
    "SandboxError",
    "SandboxTimeoutError",
    "Worker",
    "bwrap_command",
    "plain_command",
    "remove_shipped_package",
    "shipped_package",
]

log = logging.getLogger("autograder.sandbox")

PACKAGE_ROOT = Path(__file__).resolve().parent

# Host uids for sandboxes: one per concurrent worker, so each has its own process count and
# none shares a uid with a real account (checked: no passwd entry in this range on Debian).
SANDBOX_UID_BASE = 61000
MAX_SLOTS = 512
# Starting a worker imports numpy and matplotlib and probes the namespaces: seconds, not more.
START_SECONDS = 60.0
# Where the sandbox sees things.
SANDBOX_LIB = "/opt/gbh/lib"
SANDBOX_SITE = "/opt/gbh/site-packages"
#: What the worker needs from the grader's package besides ``autograder/worker/``: no
#: reference, no checks, no CLI.
SHIPPED_MODULES = ("activations.py", "protocol.py", "test_functions.py")
# The end of the worker's own error output kept for the grader's log and errors.
LOG_TAIL_BYTES = 4000

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


@dataclass(frozen=True)
class PythonLayout:
    """Where the grader's Python lives on the host.

    Attributes
    ----------
    prefix : str
        The Python installation (``sys.base_prefix``, symlinks resolved).
    executable : str
        Its interpreter (not the virtual environment's symlink to it).
    site : str
        The virtual environment's ``site-packages``.
    """

    prefix: str
    executable: str
    site: str


def python_layout() -> PythonLayout:
    """Paths of the Python installation and the virtual environment's site-packages."""
    base = os.path.realpath(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    executable = os.path.join(base, "bin", version)
    if not os.path.exists(executable):
        executable = os.path.realpath(sys.executable)
    site = os.path.realpath(sysconfig.get_paths()["purelib"])
    return PythonLayout(prefix=base, executable=executable, site=site)


_package_lock = threading.Lock()
_package_dir: str | None = None
_package_owner = 0


def shipped_package() -> str:
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


def remove_shipped_package() -> None:
    """Delete the copy :func:`shipped_package` made, if this process made it."""
    global _package_dir
    with _package_lock:
        if _package_dir and _package_owner == os.getpid():
            shutil.rmtree(_package_dir, ignore_errors=True)
        _package_dir = None


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


def bwrap_command(layout: PythonLayout, lib: str, uid: int | None) -> list[str]:
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
        (layout.prefix, layout.prefix),
        (layout.site, SANDBOX_SITE),
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
        layout.executable,
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


def plain_command(layout: PythonLayout, lib: str) -> list[str]:
    """The command line of a worker in the fallback: the same Python, no isolation."""
    return [
        layout.executable,
        "-I",
        "-S",
        "-B",
        "-c",
        _BOOT.format(lib=lib, site=layout.site),
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

    def spawn(self) -> None:
        """Start the worker process; it imports numpy and probes its isolation on its own."""
        layout = python_layout()
        lib = shipped_package()
        env = dict(_SCRUBBED_ENV)
        self.workdir = tempfile.mkdtemp(prefix="gbh-worker-")
        if self.mode == "bwrap" and _privileged():
            self.slot = _Slot()
            command = bwrap_command(layout, lib, self.slot.uid)
        elif self.mode == "bwrap":
            command = bwrap_command(layout, lib, None)
        else:
            command = plain_command(layout, lib)
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

    def await_ready(self) -> None:
        """Wait for the worker's ready frame; raise :class:`SandboxError` if it is not usable."""
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

    def log_tail(self, limit: int = LOG_TAIL_BYTES) -> str:
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
                os.killpg(self.proc.pid, signal.SIGKILL)
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
