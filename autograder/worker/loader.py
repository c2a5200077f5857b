"""Runs a notebook's cells, then the parts' calls, in place or in a forked child.

This is the only place student code runs. The loader executes the cells in one shared
namespace; a cell that raises, has a syntax error or runs too long loses only its own
definitions. Then, when the supervisor asks for the parts from a given one on, the parts run
one after another and send every outcome, and a ``part_done`` frame after each part, to a
pipe of their own (a part's frames together, when it ends: see :data:`OUTBOX_BYTES`). The
supervisor times each part from those frames and reads the answers; nothing the loader or its
children send is trusted beyond being numbers.

A freshly loaded notebook runs its parts in place (request ``here``): the loader itself is
then exactly what a forked copy of it would be, and a fork of the warm process costs more than
an honest notebook's parts. The loader ends after that run. The run stops early after a part
that left anything behind that could change how the next part runs (see :mod:`.part_state`:
tampering, processes, threads, signal handlers, timers, rebound names, a changed random state,
...); the supervisor then loads the notebook again and asks for the remaining parts in forked
children (request ``part``): each a fresh copy of the untouched loaded notebook, serving parts
until one leaves state behind. A part that hung or died after other parts in the same process
runs again, first in a fresh process, before it is blamed. So a part that tampers, hangs or
crashes costs only itself. What a part leaves inside the notebook's own objects (an item
appended to a list) is seen by the parts after it, as when the notebook runs top to bottom: it
can only change that notebook's own answers.
"""

from __future__ import annotations

import builtins
import builtins as _builtins_module
import gc
import os
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

import numpy as _numpy

from ..protocol import Flag
from ..test_functions import STRICT_FLOATING_POINT_PARTS
from .convert import NotNumbersError, describe_error, encode_args_after, encode_result, short
from .isolate import set_child_subreaper
from .part_state import ProcessState, left_state_behind, process_state
from .tree import TreeEncoder
from .watch import Watcher
from .wire import pack, write_all, write_frame

# Taken before any student code runs: a submission may replace ``numpy`` in sys.modules or
# patch ``numpy.errstate``, and the grader's own machinery must not use the fake.
_ERRSTATE = _numpy.errstate

# A private snapshot of the builtins for this module's functions: a submission that replaces
# ``builtins.isinstance`` (or any other) in its process must not break the worker's own code.
__builtins__ = dict(vars(_builtins_module))

# The cells together may run this many times one cell's limit: one runaway cell does not
# starve the cells after it, and a notebook of runaway cells still ends.
LOAD_BUDGET_FACTOR = 2
# The process calls the loader makes after student code ran, captured before it ran.
_fork, _waitpid, _close, _exit, _kill = os.fork, os.waitpid, os.close, os._exit, os.kill
_signal, _setitimer, _recv_fds = signal.signal, signal.setitimer, socket.recv_fds
_monotonic, _sleep = time.monotonic, time.sleep
_MAGIC_LINE = re.compile(r"^\s*[%!]")
_gc_freeze = gc.freeze
# Processes just killed count against the process limit until they are reaped, so a fork right
# after a fork bomb was ended can fail for a moment: the loader retries for this long.
FORK_RETRY_SECONDS = 2.0
# A part's outcomes are held back and written with its ``part_done`` frame, one write and one
# wake-up of the supervisor per part instead of one per call (~0.1 ms of the supervisor's each).
# Nothing is lost: the answers of a part that hangs or dies are not scored. Past this many bytes
# they go at once, so a part returning large arrays is not held in memory twice.
OUTBOX_BYTES = 1024**2


class CellTimeout(BaseException):
    """Raised inside a cell by the soft timer; a BaseException so ``except Exception`` in
    student code does not swallow it."""


@dataclass
class LoaderTask:
    """What the loader needs, inherited from the supervisor through ``fork``.

    Attributes
    ----------
    cells : list of str
    skip : dict of int to str
        Cells not to run on this attempt (they hung or killed the process before), with the
        reason already recorded.
    cell_seconds : float
        Soft time limit per cell (a timer raises :class:`CellTimeout` inside it).
    parts : list of (str, int)
        Each part's name and its number of calls; each call is decoded anew, in the child
        that makes it, by ``decode_call``.
    decode_call : callable
        ``decode_call(part_index, call_index) -> (args, kwargs, return_args)``.
    repo_root : str
    ctl_fd : int
        Socket to the supervisor.
    reap : callable or None
        Ends every process the submission started; ``None`` means ``kill(-1)``, right only
        inside the submission's own pid namespace.
    allowed_roots : tuple of str
        Paths the worker itself reads from (see :class:`~.watch.Watcher`).
    part_seconds : float
        Wall-clock limit of one part: a child whose CPU time left is short of what the next
        part could use hands that part a fresh process.
    compiled : dict of int to code
        Cells compiled by the supervisor (the handout's own, identical for every student):
        run as they are instead of compiled again here.
    """

    cells: list[str]
    skip: dict[int, str]
    cell_seconds: float
    parts: list[tuple[str, int]]
    decode_call: Any
    repo_root: str
    ctl_fd: int
    reap: Any = None
    allowed_roots: tuple[str, ...] = ()
    part_seconds: float = 0.0
    compiled: dict[int, CodeType] = field(default_factory=dict)


def blank_magics(source: str) -> tuple[str, str | None]:
    """The cell's Python source with IPython magics blanked, or why it cannot run.

    Callers try the source as it is first and come here only after a ``SyntaxError``, so a
    line that merely looks like a magic inside valid Python (a ``%`` continuing an expression)
    is never touched. Line magics (``%matplotlib inline``) and shell escapes (``!pip install``)
    become empty lines, keeping line numbers; cell magics (``%%time``) make the cell fail.

    Parameters
    ----------
    source : str
        A code cell that did not compile as it is.

    Returns
    -------
    text : str
        The source with magic lines blanked (``source`` itself when refused).
    refusal : str or None
        Why the cell cannot run, or ``None``.
    """
    if source.lstrip().startswith("%%"):
        magic = source.lstrip().split(None, 1)[0]
        return source, f"uses the cell magic {magic[:30]}, which the grader does not run"
    lines = [("" if _MAGIC_LINE.match(line) else line) for line in source.split("\n")]
    return "\n".join(lines), None


def _alarm(signum, frame):
    raise CellTimeout()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _describe_cell_exception(index: int, exc: BaseException, watcher: Watcher) -> str:
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return f"cell {index}: SyntaxError: {short(exc.msg)}{where}"
    if isinstance(exc, SystemExit):
        watcher.note(Flag.CRASH, f"cell {index} called sys.exit()")
        code = short(exc.code, 60)
        return f"cell {index}: called sys.exit({code}); the rest of the cell was skipped"
    if isinstance(exc, MemoryError):
        watcher.note(Flag.MEMORY, f"cell {index} ran out of memory")
        return f"cell {index}: ran out of memory"
    return f"cell {index}: {type(exc).__name__}: {short(exc)}"


def compile_cell(source: str, index: int) -> CodeType | str | BaseException:
    """The cell's code object, or why it cannot run (a refusal, or the compiler's error).

    The cell is compiled as it is first: the self-checks the release pastes in are ~45 kB,
    and compiling them twice cost every submission ~8 ms. Only a cell that is not Python as
    it is goes through :func:`blank_magics` and is compiled again.
    """
    name = f"<cell {index}>"
    try:
        return compile(source, name, "exec")
    except SyntaxError:
        pass
    except BaseException as exc:  # ValueError for NUL bytes, RecursionError, MemoryError
        return exc
    text, refusal = blank_magics(source)
    if refusal:
        return refusal
    try:
        return compile(text, name, "exec")
    except BaseException as exc:
        return exc


def run_cells(task: LoaderTask, namespace: dict, watcher: Watcher) -> tuple[list[str], list[int]]:
    """Execute the cells in order; return one line per failed cell, and the stopped cells.

    Each cell may run for ``task.cell_seconds``; all of them together for
    :data:`LOAD_BUDGET_FACTOR` times that. A cell stopped by its timer loses its own work only.
    """
    errors: list[str] = []
    stopped: list[int] = []
    budget_end = _monotonic() + LOAD_BUDGET_FACTOR * task.cell_seconds
    for index, source in enumerate(task.cells):
        if index in task.skip:
            continue
        left = budget_end - _monotonic()
        if left <= 0.05:
            errors.append(f"cell {index}: not run, the notebook used up its time")
            continue
        write_frame(task.ctl_fd, {"k": "cell", "i": index})
        code = task.compiled.get(index) or compile_cell(source, index)
        if isinstance(code, str):
            errors.append(f"cell {index}: {code}")
            continue
        if isinstance(code, BaseException):
            errors.append(_describe_cell_exception(index, code, watcher))
            continue
        seconds = min(task.cell_seconds, left)
        _signal(signal.SIGALRM, _alarm)
        _setitimer(signal.ITIMER_REAL, seconds)
        try:
            try:
                exec(code, namespace)
            finally:
                _setitimer(signal.ITIMER_REAL, 0)
        except CellTimeout:
            watcher.note(Flag.TIMEOUT, f"cell {index} ran longer than {seconds:.3g} s")
            errors.append(f"cell {index}: did not finish within {seconds:.3g} s and was stopped")
            stopped.append(index)
        except BaseException as exc:
            watcher.restore_builtins()
            errors.append(_describe_cell_exception(index, exc, watcher))
        watcher.restore_builtins()
        _flush()
    return errors, stopped


def _call_outcome(
    fn, args, kwargs, return_args, watcher: Watcher, strict: bool = False
) -> tuple[dict, bytes]:
    encoder = TreeEncoder()
    header: dict[str, Any] = {"k": "outcome", "value": None, "error": None, "args_after": None}
    # Parts that promise "no overflow warning" (sigmoid) are run with overflow raising, as
    # the in-process path does, so a right-valued but overflowing answer is caught here too.
    fp = {"over": "raise", "invalid": "raise"} if strict else {}
    try:
        try:
            with _ERRSTATE(**fp):
                value = fn(*args, **kwargs)
        finally:
            watcher.restore_builtins()
    except MemoryError:
        watcher.note(Flag.MEMORY, "a part ran out of memory")
        header["error"] = "ran out of memory"
        return header, b""
    except SystemExit as exc:
        watcher.note(Flag.CRASH, "a part called sys.exit()")
        header["error"] = f"called sys.exit({short(exc.code, 60)}) instead of returning"
        return header, b""
    except RecursionError:
        header["error"] = "raised RecursionError: the function calls itself without end"
        return header, b""
    except BaseException as exc:
        header["error"] = describe_error(exc)
        return header, b""
    try:
        header["value"] = encode_result(value, encoder)
    except NotNumbersError as exc:
        header["value"] = None
        header["error"] = str(exc)
    except BaseException as exc:  # reading a rigged object raised SystemExit or the like
        header["value"] = None
        header["error"] = f"returned a value that could not be read ({describe_error(exc)})"
    if return_args:
        try:
            header["args_after"] = encode_args_after(args, encoder)
        except BaseException:
            header["args_after"] = None
    if header["value"] is None and header["error"] is None:
        header["error"] = "returned nothing readable"
    return header, encoder.blob()


class Outbox:
    """Frames for the supervisor, written together: see :data:`OUTBOX_BYTES`."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.frames: list[bytes] = []
        self.size = 0

    def add(self, header: dict, blob: bytes = b"", now: bool = False) -> None:
        """Queue one frame; ``now`` writes it and everything before it at once."""
        frame = pack(header, blob)
        self.frames.append(frame)
        self.size += len(frame)
        if now or self.size > OUTBOX_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.frames:
            data = b"".join(self.frames)
            self.frames, self.size = [], 0
            write_all(self.fd, data)


def run_part(
    task: LoaderTask, index: int, namespace: dict, watcher: Watcher, outbox: Outbox
) -> dict:
    """Call one part's function for each of its calls and queue each outcome in ``outbox``.

    Returns
    -------
    dict
        The part's ``part_done`` header, for the caller to send once it knows whether this
        process may run the next part.
    """
    name, n_calls = task.parts[index]
    fn = namespace.get(name)
    if fn is None:
        return {"k": "part_done", "i": index, "error": "not defined", **watcher.report()}
    if not callable(fn):
        return {
            "k": "part_done",
            "i": index,
            "error": f"is a {type(fn).__name__}, not a function",
            **watcher.report(),
        }
    strict = name in STRICT_FLOATING_POINT_PARTS
    for call_index in range(n_calls):
        args, kwargs, return_args = task.decode_call(index, call_index)
        header, blob = _call_outcome(fn, args, kwargs, return_args, watcher, strict)
        _flush()
        # An error goes at once: it may explain a crash that follows (ran out of memory).
        outbox.add(header, blob, now=header["error"] is not None)
    try:
        watcher.check_tampering()
    except BaseException:
        watcher.note(Flag.TAMPERING, "the tampering check itself failed")
    return {"k": "part_done", "i": index, "error": None, **watcher.report()}


def _must_stop(
    before: ProcessState | None, namespace: dict, task: LoaderTask, watcher: Watcher, flags: set
) -> bool:
    """Whether the next part needs a fresh child (new flags, state left behind, or unsure)."""
    if before is None or watcher.flags != flags:
        return True
    try:
        return left_state_behind(before, namespace, task.part_seconds)
    except Exception:
        return True


def run_parts(task: LoaderTask, start: int, namespace: dict, watcher: Watcher, fd: int) -> None:
    """Run the parts from ``start`` on, until one leaves state behind (in a forked child, or in
    the loader itself for a freshly loaded notebook).

    Each part's outcomes and its ``part_done`` frame are sent as soon as the part ends, so the
    supervisor times every part on its own. The child stops after the last part, or after a
    part that changed anything the next one could notice (:func:`left_state_behind`); the
    supervisor then asks for a fresh child for the rest.
    """
    outbox = Outbox(fd)
    try:
        # Orphans of a part's processes come to this child, so none can go unnoticed.
        set_child_subreaper()
    except OSError:
        pass
    # The loaded notebook's objects are never garbage: keep the per-part collection short.
    _gc_freeze()
    try:
        before: ProcessState | None = process_state(namespace)
    except Exception:
        before = None  # the cells broke what the snapshot reads: one part per child
    for index in range(start, len(task.parts)):
        flags = set(watcher.flags)
        done = run_part(task, index, namespace, watcher, outbox)
        # A part whose function was missing ran no student code and changed nothing.
        ran = done["error"] is None
        stop = (
            ran
            and index + 1 < len(task.parts)
            and _must_stop(before, namespace, task, watcher, flags)
        )
        _flush()
        outbox.add(done, now=True)
        if stop:
            return


def _reap_strays(task: LoaderTask) -> None:
    """End every process of this submission except us and the namespace's init."""
    if task.reap is not None:
        task.reap()
        return
    try:
        _kill(-1, signal.SIGKILL)
    except OSError:
        pass  # nobody else to signal
    while True:
        try:
            pid, _ = _waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _fork_after_strays(task: LoaderTask) -> int:
    """``fork``, retried while the strays just killed still count against the process limit."""
    end = _monotonic() + FORK_RETRY_SECONDS
    while True:
        try:
            return _fork()
        except BlockingIOError:  # EAGAIN: at the process limit
            if _monotonic() > end:
                raise
            _reap_strays(task)
            _sleep(0.005)


def main(task: LoaderTask) -> None:
    """The loader's whole life: load, report, then serve parts until told to stop.

    Each request ``b"part<i>"`` (with a pipe's write end) forks a child that runs the parts
    from ``i`` on (:func:`run_parts`); when the child is gone, the loader ends whatever it
    left running and reports ``part_exit`` with the child's wait status. The request
    ``b"here<i>"`` runs them in the loader itself, which then exits: its wait status, reported
    by the init, is the run's end.
    """
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    watcher = Watcher(namespace, task.repo_root, task.allowed_roots)
    watcher.install()
    errors, stopped = run_cells(task, namespace, watcher)
    try:
        watcher.check_tampering()
    except BaseException:
        watcher.note(Flag.TAMPERING, "the tampering check itself failed")
    _flush()
    # Whatever the top-level code started (daemons, a fork bomb) ends before any part runs.
    _reap_strays(task)
    write_frame(
        task.ctl_fd,
        {"k": "loaded", "cell_errors": errors, "stopped": stopped, **watcher.report()},
    )
    ctl = socket.socket(fileno=task.ctl_fd)
    while True:
        try:
            message, fds, _, _ = _recv_fds(ctl, 4096, 1)
        except OSError:
            return
        if not message:
            return
        if message[:4] not in (b"part", b"here") or not fds:
            for fd in fds:
                _close(fd)
            continue
        index = int(message[4:])
        # In place the loader ends with the run; a forked child does and the loader goes on.
        pid = 0 if message[:4] == b"here" else _fork_after_strays(task)
        if pid == 0:
            try:
                # The parts never reach the supervisor's control socket.
                _close(task.ctl_fd)
                run_parts(task, index, namespace, watcher, fds[0])
                _flush()
            finally:
                _exit(0)
        _close(fds[0])
        _, status = _waitpid(pid, 0)
        _reap_strays(task)
        write_frame(task.ctl_fd, {"k": "part_exit", "i": index, "status": status})
