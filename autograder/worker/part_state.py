"""What one part could leave behind for the next part of the same process, and how to tell.

The parts of a notebook run one after another in one process, the loader or a child forked
from it (:mod:`.loader`). Before the first, that process takes a :class:`ProcessState`; after
each part, :func:`left_state_behind` compares the process with it, and the process hands the
remaining parts to a fresh copy of the loaded notebook when anything changed that could change
how the next part runs. Runs after student code: every function it calls was captured at
import, before any student code.
"""

from __future__ import annotations

import _signal
import builtins as _builtins_module
import gc
import os
import resource
import signal
import sys
from dataclasses import dataclass
from typing import Any

import numpy as _numpy

# A private snapshot of the builtins for this module's functions: a submission that replaces
# ``builtins.isinstance`` (or any other) in its process must not break the worker's own code.
__builtins__ = dict(vars(_builtins_module))

# What a part could change for the parts after it, captured before student code ran. The
# handlers are read raw, from _signal: signal.getsignal wraps each in an enum, 60 of them per
# part.
_getsignal, _getitimer, _sigmask = _signal.getsignal, signal.getitimer, signal.pthread_sigmask
_getrlimit, _getrusage = resource.getrlimit, resource.getrusage
_current_frames, _getcwd = sys._current_frames, os.getcwd
_waitpid = os.waitpid
_gc_collect = gc.collect
_SIGNALS = tuple(sorted(signal.valid_signals()))
_TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)
_RLIMITS = (
    resource.RLIMIT_AS,
    resource.RLIMIT_CPU,
    resource.RLIMIT_NPROC,
    resource.RLIMIT_FSIZE,
    resource.RLIMIT_NOFILE,
    resource.RLIMIT_STACK,
)
# Modules whose attributes a part could rebind for the parts after it (builtins are restored
# after every call, see Watcher.restore_builtins).
_SHARED_MODULES = tuple(
    m for m in (_numpy, getattr(_numpy, "linalg", None), getattr(_numpy, "random", None)) if m
) + tuple(sys.modules[name] for name in ("math", "os", "sys") if name in sys.modules)
# A part whose process grew by more than this (peak resident memory) hands the parts after it
# a fresh process: honest parts allocate kilobytes, and the memory limit is per process.
MAX_RSS_GROWTH_KIB = 256 * 1024


def _rng_state() -> Any:
    legacy = getattr(getattr(_numpy, "random", None), "mtrand", None)
    try:
        name, keys, pos, gauss, cached = legacy._rand.get_state()
        state: Any = (name, keys.tobytes(), pos, gauss, cached)
    except Exception:
        state = None
    random = sys.modules.get("random")
    try:
        return state, random.getstate() if random is not None else None
    except Exception:
        return state, None


@dataclass
class ProcessState:
    """What one part could change that would change how the next part of the notebook runs.

    Compared by :func:`left_state_behind`; cheap to take (tens of microseconds).

    Attributes
    ----------
    names : dict
        The notebook's namespace, copied (values compared by identity first).
    modules : list of dict
        The attributes of numpy, numpy.linalg, numpy.random, math, os and sys.
    signals, mask, timers, rlimits : list
        Signal handlers, the blocked signals, interval timers, resource limits.
    recursion : int
    path : list of str
    sys_objects : tuple
        Trace and profile functions, the standard streams and ``sys.modules``: compared by
        identity, the same objects, not equal ones.
    cwd : str
    environ : dict of str to str
    random : tuple
        numpy's legacy and Python's random states.
    rss : int
        Peak resident memory so far, in KiB.
    """

    names: dict
    modules: list
    signals: list
    mask: Any
    timers: list
    rlimits: list
    recursion: int
    path: list
    sys_objects: tuple
    cwd: str
    environ: dict
    random: Any
    rss: int


# Fields of ProcessState compared by equality (the rest need their own comparison).
_EQUAL_FIELDS = (
    "signals",
    "mask",
    "timers",
    "rlimits",
    "recursion",
    "path",
    "cwd",
    "environ",
    "random",
)


def process_state(namespace: dict) -> ProcessState:
    """The :class:`ProcessState` now, taken in the child before its first part."""
    return ProcessState(
        names=dict(namespace),
        modules=[dict(vars(module)) for module in _SHARED_MODULES],
        signals=[_getsignal(s) for s in _SIGNALS],
        mask=_sigmask(signal.SIG_BLOCK, ()),
        timers=[_getitimer(t) for t in _TIMERS],
        rlimits=[_getrlimit(r) for r in _RLIMITS],
        recursion=sys.getrecursionlimit(),
        path=sys.path[:],
        sys_objects=(
            sys.gettrace(),
            sys.getprofile(),
            sys.stdin,
            sys.stdout,
            sys.stderr,
            sys.modules,
        ),
        cwd=_getcwd(),
        environ=dict(os.environ),
        random=_rng_state(),
        rss=_getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


def _has_live_children() -> bool:
    # The child is a subreaper: every process a part started, however detached, is either its
    # child or the descendant of a live child. Zombies are collected on the way.
    while True:
        try:
            pid, _ = _waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def _same_bindings(before: dict, now: dict, exact: bool) -> bool:
    # Dicts compare in C, each value by identity first; a name rebound to an equal value
    # changes nothing, one rebound to an array raises (ambiguous truth) and counts as changed.
    try:
        return bool(before == now) if exact else bool(before.items() <= now.items())
    except Exception:
        return False


def left_state_behind(before: ProcessState, namespace: dict, part_seconds: float) -> bool:
    """Whether the part that just ran left anything that could change the next part's run.

    Parameters
    ----------
    before : ProcessState
        Taken before the child's first part.
    namespace : dict
        The notebook's namespace.
    part_seconds : float
        The next part's wall-clock limit.

    Returns
    -------
    bool
        True if the next part must run in a fresh process: a process or thread still running,
        a rebound, added or deleted name in the notebook or in numpy, math, os or sys, a
        changed signal handler, mask, timer, resource limit, working directory, environment
        or random state, a trace function, much more memory, or too little CPU time left.
    """
    # Objects the part dropped are finalised now, on its time: a rigged __del__ must not run
    # during the next part.
    _gc_collect()
    if _has_live_children() or len(_current_frames()) > 1:
        return True
    now = process_state(namespace)
    if not _same_bindings(before.names, now.names, True):
        return True
    # Modules may gain attributes honestly (a submodule imported on first use).
    for old, new in zip(before.modules, now.modules, strict=True):
        if not _same_bindings(old, new, False):
            return True
    for name in _EQUAL_FIELDS:
        if getattr(before, name) != getattr(now, name):
            return True
    if any(a is not b for a, b in zip(before.sys_objects, now.sys_objects, strict=True)):
        return True
    if now.rss - before.rss > MAX_RSS_GROWTH_KIB:
        return True
    usage = _getrusage(resource.RUSAGE_SELF)
    soft, _ = before.rlimits[1]
    if soft != resource.RLIM_INFINITY:
        left = soft - (usage.ru_utime + usage.ru_stime)
        # Room for the next part even if it keeps both of this machine's cores busy.
        if left < 2 * part_seconds + 1:
            return True
    return False
