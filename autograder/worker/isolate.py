"""Per-submission isolation inside the sandbox: namespaces, capabilities, resource limits.

The supervisor runs unprivileged (its own uid, no capabilities) inside bubblewrap. For each
submission it forks a child that enters a fresh *user* namespace, which lets it create, without
any privilege on the host, a fresh pid, mount, IPC and UTS namespace:

* pid: the submission's first process is pid 1 there; when it exits the kernel kills every
  process the submission started, daemons included, and nothing of it outlives the submission;
* mount: a fresh ``/tmp`` and ``/dev/shm`` (private tmpfs, gone afterwards) and an empty
  ``/proc``, so nothing written by one submission is seen by the next;
* IPC: System V shared memory and message queues die with the submission.

The submission's processes then drop every capability for good (bounding set, effective,
permitted, inheritable and ambient sets) before any student code runs. ``RLIMIT_NPROC`` counts
processes per user *per user namespace*, so each submission's limit is its own.

Only Linux is supported; everything goes through ``ctypes`` because Python 3.11 has no
``os.unshare`` or ``mount``.
"""

from __future__ import annotations

import ctypes
import os
import resource

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# Capabilities are numbered from 0; the kernel rejects unknown numbers, so dropping up to 63
# covers every kernel without reading /proc/sys/kernel/cap_last_cap.
_MAX_CAP = 63

_libc = ctypes.CDLL(None, use_errno=True)


class IsolationError(OSError):
    """A namespace, mount or capability call failed."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise IsolationError(errno, f"{what}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    """``unshare(2)``."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    """``mount(2)``."""
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def prctl(option: int, arg: int = 0) -> None:
    """``prctl(2)`` with one argument."""
    _check(
        _libc.prctl(
            ctypes.c_int(option),
            ctypes.c_ulong(arg),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
        ),
        f"prctl {option}",
    )


# clone(2) on x86_64 and its namespace flags; the kernel's number differs per architecture.
_SYS_CLONE = {"x86_64": 56}
_NAMESPACE_FLAGS = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS


def can_clone_into_namespaces() -> bool:
    """Whether :func:`clone_into_namespaces` is available on this machine."""
    return os.uname().machine in _SYS_CLONE


def clone_into_namespaces() -> int:
    """Fork straight into fresh user, pid, mount, IPC and UTS namespaces.

    Like ``os.fork`` (returns the child's pid, 0 in the child), but the child is the first
    process, pid 1, of a new pid namespace, which saves the fork of an intermediate process
    that would call :func:`enter_user_namespace`. The child must call :func:`map_own_ids`
    before anything else. Only for a single-threaded caller: Python's own after-fork hooks
    do not run in the child, which must not start threads, and which starts its own
    children with ``os.fork``.
    """
    import signal

    number = _SYS_CLONE[os.uname().machine]
    pid = _libc.syscall(
        ctypes.c_long(number),
        ctypes.c_ulong(_NAMESPACE_FLAGS | signal.SIGCHLD),
        ctypes.c_void_p(0),
        ctypes.c_void_p(0),
        ctypes.c_void_p(0),
        ctypes.c_ulong(0),
    )
    if pid < 0:
        errno = ctypes.get_errno()
        raise IsolationError(errno, f"clone: {os.strerror(errno)}")
    return pid


def map_own_ids(uid: int, gid: int) -> None:
    """In a new user namespace: map ``uid`` and ``gid`` (ours outside) to 0 inside."""
    # The kernel allows an unprivileged process exactly this: map its own ids, and only after
    # giving up setgroups(2), which could otherwise drop a group that denies access.
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")


def enter_user_namespace() -> None:
    """Unshare user, pid, mount, IPC and UTS namespaces; map our uid and gid to 0 inside.

    The caller's *children* land in the new pid namespace; the caller itself does not.
    """
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)
    # The kernel allows an unprivileged process exactly this: map its own ids, and only after
    # giving up setgroups(2), which could otherwise drop a group that denies access.
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")


def private_mounts(tmp_bytes: int) -> None:
    """Fresh ``/tmp`` and ``/dev/shm``, an empty ``/proc``; run as the new pid namespace's init.

    Parameters
    ----------
    tmp_bytes : int
        Size of the private ``/tmp`` (the disk a submission can fill).
    """
    # Nothing mounted from here on may propagate back to the supervisor's view.
    mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_bytes},mode=1777")
    if os.path.isdir("/dev/shm"):
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_bytes},mode=1777")
    # The supervisor's /proc would show the supervisor; the kernel refuses a new procfs under
    # bubblewrap's partly covered one, so the submission gets an empty, read-only /proc.
    mount(
        "tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=555"
    )


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Give up every capability, now and across any later ``execve``, and forbid regaining one.

    Raises
    ------
    IsolationError
        If the capability set could not be cleared.
    """
    for cap in range(_MAX_CAP + 1):
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break  # EINVAL past the kernel's last capability
    _libc.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_dumpable(flag: bool) -> None:
    """A non-dumpable process cannot be traced or have its memory read by unprivileged peers."""
    prctl(PR_SET_DUMPABLE, int(flag))


def set_child_subreaper() -> None:
    """Orphaned descendants are re-parented to us, so we can find and end them."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_parent_death_signal(signum: int) -> None:
    """Receive ``signum`` when our parent dies."""
    prctl(PR_SET_PDEATHSIG, signum)


def set_limits(
    *,
    address_space: int,
    cpu_seconds: int,
    processes: int | None,
    file_bytes: int,
    open_files: int,
) -> None:
    """Resource limits for this process and everything it starts (soft = hard: no raising)."""

    def both(which: int, value: int) -> None:
        resource.setrlimit(which, (value, value))

    both(resource.RLIMIT_AS, address_space)
    # SIGXCPU at the soft limit, SIGKILL one second later if it is caught.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    if processes is not None:
        both(resource.RLIMIT_NPROC, processes)
    both(resource.RLIMIT_FSIZE, file_bytes)
    both(resource.RLIMIT_NOFILE, open_files)
    both(resource.RLIMIT_CORE, 0)
