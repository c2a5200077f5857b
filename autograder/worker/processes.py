"""Small tools for the submission's process tree: wait statuses in words, killing, reaping.

Used by the supervisor's side of an attempt (:mod:`.attempt`) and, in plain mode, by the
loader to end what a submission started without ``kill(-1)``.
"""

from __future__ import annotations

import os
import signal

from ..protocol import Flag

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
# Rounds of "kill the children, reap" before kill_descendants gives up: each round ends at
# least one generation, and a fork bomb is bounded by the process limit long before this.
MAX_KILL_ROUNDS = 10_000


def describe_status(status: int) -> tuple[str, Flag]:
    """Plain words and a flag for a process's wait status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "used up its CPU time", Flag.TIMEOUT
        words = SIGNAL_WORDS.get(sig, f"signal {sig}")
        return f"the process died (signal {sig}: {words})", Flag.CRASH
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the process exited (status {code}) before it finished", Flag.CRASH


def kill(pid: int) -> None:
    """SIGKILL ``pid``; a process already gone is no error."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def close_fd(fd: int) -> None:
    """Close ``fd``; one already closed is no error."""
    try:
        os.close(fd)
    except OSError:
        pass


def reap_nohang() -> None:
    """Collect every child that has already ended, without waiting for the others."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def children(pid: int) -> list[int]:
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
    for _ in range(MAX_KILL_ROUNDS):
        kids = children(pid)
        for kid in kids:
            kill(kid)
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


def plain_reaper() -> None:
    """The loader's clean-up in plain mode: its own descendants, never ``kill(-1)``."""
    kill_descendants(os.getpid())
