"""Run a submission's code isolated from the grader, and get back plain numbers.

:func:`run_submission` is the whole interface: the grader passes the notebook's code cells and
the calls it wants made (:class:`~autograder.protocol.Call`), and receives a
:class:`~autograder.protocol.SubmissionRun` of trees of numbers (float64, int64 and bool
arrays), error messages and flags. The
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

This module chooses the mode and runs submissions; :mod:`autograder.sandbox_worker` starts
and talks to the worker processes, :mod:`autograder.sandbox_messages` writes the request and
reads the answer, and :mod:`autograder.sandbox_audit` scans the source outside the sandbox.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import shutil
import threading

from .protocol import Call, Flag, Limits, SubmissionRun
from .sandbox_audit import audit_submission
from .sandbox_messages import (
    REPO_ROOT,  # noqa: F401 - where the course repository is, as before the split
    build_request,
    deadline_seconds,
    failed_run,
    parse_answer,
)
from .sandbox_worker import (
    SandboxError,
    SandboxTimeoutError,
    Worker,
    remove_shipped_package,
)
from .worker.wire import FrameError, check_str

__all__ = ["SandboxError", "isolation_mode", "run_submission", "shutdown", "start_early"]

log = logging.getLogger(__name__)

ENV_MODE = "GBH_SANDBOX"
# Tries of one submission when its worker dies under it (see run_submission).
WORKER_ATTEMPTS = 2


# -- choosing the mode ---------------------------------------------------------------------------

_state = threading.local()
_mode_lock = threading.Lock()
_auto_mode: str | None = None
_all_workers: list[Worker] = []
# Workers started ahead of their first submission (start_early), by (process, mode).
_early: dict[tuple[int, str], Worker] = {}


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


def _spawned_worker(mode: str) -> Worker:
    if mode == "bwrap" and shutil.which("bwrap") is None:
        raise SandboxError("bubblewrap (bwrap) is not installed")
    _register_cleanup()
    worker = Worker(mode)
    worker.spawn()
    _all_workers.append(worker)
    return worker


def start_early(mode: str) -> None:
    """Start this process's worker for ``mode`` now, without waiting for it.

    Starting a worker (bubblewrap, Python, numpy, a probe) takes most of a second, all of it in
    the worker's own process: a command grading one notebook calls this first and reads the
    course and the submission meanwhile; the first :func:`run_submission` in this process then
    waits for that worker instead of starting one. (The process is started from the calling
    thread: bubblewrap's --die-with-parent follows the thread that started it.)
    """
    key = (os.getpid(), _requested_mode(mode))
    if key not in _early:
        try:
            _early[key] = _spawned_worker(key[1])
        except (SandboxError, OSError):
            pass  # the first submission starts one again and reports why it cannot


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
    worker = _early.pop((os.getpid(), mode), None) or _spawned_worker(mode)
    try:
        worker.await_ready()
    except SandboxError:
        _all_workers.remove(worker)
        raise
    workers[mode] = worker
    return worker


def shutdown() -> None:
    """Stop every worker this process started (also done at exit)."""
    for worker in _all_workers:
        worker.close()  # a no-op for workers inherited through fork
    _all_workers.clear()
    remove_shipped_package()
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


def run_submission(
    cells: list[str],
    calls: list[Call],
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass, safe as a default
    *,
    mode: str | None = None,
    handout: frozenset[bytes] = frozenset(),
) -> SubmissionRun:
    """Run a notebook's code cells in the sandbox and make the grader's calls.

    Parameters
    ----------
    cells : list of str
        The notebook's code cells except the grader's test cells, in order. They run in one
        shared namespace; a cell that fails loses its own definitions only.
    calls : list of Call
        Calls to make, grouped by ``Call.part``. The parts run one after another, each under
        its own time limit, in the loaded notebook's process (or a fresh copy of it); a part
        that hangs, crashes, tampers or leaves state behind hands the parts after it a fresh
        copy, and a part is blamed for a hang or a crash only in a fresh copy (see
        :mod:`autograder.worker.loader`).
    limits : Limits
        ``load_seconds`` applies to each cell (a cell past it is stopped and loses its own
        definitions; all cells together get twice that); ``part_seconds`` to all calls of
        one part together.
    mode : {"auto", "bwrap", "fallback"}, optional
        Overrides ``GBH_SANDBOX``.
    handout : frozenset of bytes, optional
        Digests (:func:`~autograder.protocol.cell_digest`) of the handout's code cells, the
        same for every student: the worker compiles those once, not in every submission
        (~16 ms a notebook for the pasted self-checks). Only an exact copy of such a cell is
        affected; how it runs does not change.

    Returns
    -------
    SubmissionRun
        With a :class:`PartRun` for every part named in ``calls``. Never raises because of
        what the submission did; raises :class:`SandboxError` only if no sandbox can start.
    """
    chosen = isolation_mode(mode)
    request = build_request(cells, calls, limits, handout)
    seconds = deadline_seconds(limits, len(request.parts))
    run = None
    audits = []

    def audit() -> None:
        # The source scan needs only the cells: it runs while the sandbox runs them.
        if not audits:
            audits.append(audit_submission(cells))

    # A worker that dies mid-submission is replaced and the submission tried once more: a
    # fault of the grader's own should not cost a student; a submission that really kills
    # its worker fails twice and only costs itself.
    for attempt in range(WORKER_ATTEMPTS):
        worker = _get_worker(chosen)
        try:
            answer, answer_blob = worker.run(request.header, request.blob, seconds, audit)
            if answer.get("k") == "failed":
                raise SandboxError(f"the worker failed: {check_str(answer.get('error', ''))}")
            run = parse_answer(answer, answer_blob, request)
            break
        except SandboxTimeoutError as exc:
            worker.close()
            why = f"the grader's sandbox stopped answering ({exc})"
            run = failed_run(request.parts, why[:300], Flag.TIMEOUT)
            break
        except (SandboxError, FrameError) as exc:
            worker.close()
            log.warning("sandbox worker failed (attempt %d): %s", attempt + 1, exc)
            why = f"the grader's sandbox stopped while running this notebook ({exc})"
            run = failed_run(request.parts, why[:300], Flag.CRASH)
    run.isolation = chosen
    audit()
    scan = audits[0]
    run.imports |= scan.imports
    run.flags |= scan.flags
    for note in scan.notes:
        if note not in run.notes:
            run.notes.append(note)
    return run
