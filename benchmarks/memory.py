"""Peak memory of a grading command's processes, sampled from ``/proc`` while it runs.

Run as a separate process (``python memory.py PID``) that polls the process tree below PID
until its standard input closes, then prints the peaks as JSON. For each grading worker (a
child of PID, or PID itself when it grades alone) it tracks the peak resident set of the
worker, of its warm sandbox supervisor, of the largest single submission process, and the
peak proportional set size (PSS: shared pages split among the processes sharing them) of the
worker's whole tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

#: How often resident sets are read: often enough to see many submission processes (each
#: lives a few tens of milliseconds), rarely enough to cost well under 1% of a core.
SAMPLE_SECONDS = 0.2
#: The proportional set size walks every page table of the tree: only every this many samples.
PSS_EVERY = 10


def _process_table() -> dict[int, tuple[int, str]]:
    """Every process's parent and name, from ``/proc``."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.find(b"(") + 1 : stat.rfind(b")")].decode(errors="replace")
        fields = stat[stat.rfind(b")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), name)
    return table


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm", "rb") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _pss(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
        for line in fh:
            if line.startswith(b"Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _tree(children: dict[int, list[int]], root: int) -> list[int]:
    out, queue = [], [root]
    while queue:
        pid = queue.pop()
        out.append(pid)
        queue.extend(children.get(pid, []))
    return out


def sample(command: int) -> dict[str, int]:
    """Poll the tree of ``command`` until stdin closes; return the peaks in bytes."""
    peaks = {"grader_rss": 0, "supervisor_rss": 0, "submission_rss": 0, "pss": 0, "workers": 0}
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    tick = 0
    while not done.wait(SAMPLE_SECONDS):
        tick += 1
        table = _process_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        # Grading processes: the pool's workers, or the command itself when it grades alone.
        workers = [p for p in children.get(command, []) if table[p][1].startswith("python")]
        workers = workers or [command]
        peaks["workers"] = max(peaks["workers"], len(workers))
        for worker in workers:
            pss = 0
            for pid in _tree(children, worker):
                if pid not in table or table[pid][1] == "bwrap":
                    continue
                ppid = table[pid][0]
                try:
                    rss = _rss(pid)
                    if tick % PSS_EVERY == 0:
                        pss += _pss(pid)
                except (OSError, ValueError, IndexError):
                    continue
                if pid == worker:
                    role = "grader_rss"
                elif table.get(ppid, (0, ""))[1] == "bwrap":
                    role = "supervisor_rss"
                else:
                    role = "submission_rss"
                peaks[role] = max(peaks[role], rss)
            peaks["pss"] = max(peaks["pss"], pss)
    return peaks


class MemorySampler:
    """``with MemorySampler(pid) as m: ...`` then ``m.mib()``: the peaks, in MiB."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks: dict[str, int] = {}

    def __enter__(self) -> MemorySampler:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.pid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        out, _ = self.proc.communicate("", timeout=60)
        self.peaks = json.loads(out or "{}")

    def mib(self) -> dict[str, float]:
        """The peaks in MiB (and the largest number of grading processes seen)."""
        return {k: (v if k == "workers" else v / 1024**2) for k, v in self.peaks.items()}


if __name__ == "__main__":
    print(json.dumps(sample(int(sys.argv[1]))))
