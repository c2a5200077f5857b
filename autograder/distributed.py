"""Grading on a Dask distributed cluster: ``python -m autograder grade ... --scheduler URL``.

One machine grades a class in a couple of minutes; for more, the same per-notebook work runs
on the workers of a `Dask distributed <https://distributed.dask.org>`_ cluster. The client (the
instructor's machine) reads every notebook and sends its *content* (workers on other machines
do not share its file system); each worker runs :func:`autograder.grade.grade_notebook` with its
own sandbox, and sends back plain data (:class:`~autograder.results.NotebookGrade`). The
client then writes the CSV, the feedback pages and the gradebook exactly as a local run does.
Each student's cases derive from the run seed, the student and the assignment only
(:func:`~autograder.grade.student_seed`), so where a notebook is graded does not change its
grade.

Starting a cluster (every worker machine needs this repository installed with ``make setup``,
and bubblewrap, like the grading machine)::

    .venv/bin/dask scheduler --host 0.0.0.0 --port 8786            # on one machine
    .venv/bin/dask worker tcp://SCHEDULER:8786 --nthreads 2 --nworkers 1   # on each worker

then ``python -m autograder grade submitted/ --out grades --scheduler tcp://SCHEDULER:8786``.
The scheduler port takes pickled tasks: expose it only on a network you trust.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from .grade import Runner, grade_safely
from .protocol import Limits
from .results import NotebookGrade
from .submission import NotebookFile

__all__ = ["ClusterError", "DaskBackend", "code_fingerprint"]

#: How long to wait for the scheduler to answer before giving up: long enough for a scheduler
#: on another continent, short enough that a typo in the address fails fast.
CONNECT_SECONDS = 20
#: Largest notebook sent to a worker. Bigger files are graded as unreadable locally: a
#: notebook of code is kilobytes, and the sandbox's own limits would refuse the rest anyway.
MAX_NOTEBOOK_BYTES = 64 * 1024**2
PACKAGE_ROOT = Path(__file__).resolve().parent


class ClusterError(RuntimeError):
    """The cluster cannot be used (unreachable, no workers, or workers with other code)."""


@dataclass(frozen=True)
class _Task:
    """One notebook as sent to a worker: plain data, no path the worker could not open."""

    student: str
    assignment: str
    notebook: str
    path: str
    content: bytes


def code_fingerprint(root: Path = PACKAGE_ROOT) -> str:
    """A hash of the grader's Python code (checks, reference, sandbox and all).

    Two machines grade identically only if they run the same code; the client compares its
    fingerprint with every worker's before sending any notebook.

    Parameters
    ----------
    root : Path
        The package's folder.

    Returns
    -------
    str
        Hex SHA-256 of every ``*.py`` under ``root`` with its relative path, in path order.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _grade_task(task: _Task, run_seed: int, limits, runner) -> NotebookGrade:
    """On a worker: grade one notebook from its content."""
    with tempfile.TemporaryDirectory(prefix="gbh-dask-") as tmp:
        # The grader reads notebooks from files; the name keeps its messages the same.
        local = Path(tmp) / f"{task.notebook}.ipynb"
        local.write_bytes(task.content)
        nb = NotebookFile(task.student, task.assignment, task.notebook, local)
        grade = grade_safely(nb, run_seed, limits, runner)
    grade.path = task.path  # as the client knows it, so the CSV and pages match a local run
    return grade


def _read(nb: NotebookFile) -> bytes | None:
    """The notebook's bytes, or None when it must be graded locally (missing, unreadable)."""
    if nb.problem is not None:
        return None
    try:
        if os.path.getsize(nb.path) > MAX_NOTEBOOK_BYTES:
            return None
        return Path(nb.path).read_bytes()
    except OSError:
        return None


def _connect(scheduler: str):
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError(
            "grading on a cluster needs the dask extra: pip install -e '.[dask]'"
        ) from exc
    try:
        return Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc


def _check_workers(client) -> int:
    """The number of workers; raises when there are none or they run other code."""
    mine = code_fingerprint()
    try:
        theirs = client.run(code_fingerprint)
    except Exception as exc:
        raise ClusterError(f"cannot run the grader on the workers: {exc}") from exc
    if not theirs:
        raise ClusterError("the scheduler has no workers (start some with `dask worker`)")
    stale = sorted(address for address, fp in theirs.items() if fp != mine)
    if stale:
        raise ClusterError(
            "these workers run a different version of the grader, so their grades could "
            f"differ from a local run: {', '.join(stale)} (install the same commit there)"
        )
    return len(theirs)


def _failing_runner(exc: BaseException) -> Runner:
    """A runner that reports the cluster's failure as the sandbox's, for that notebook only."""

    def runner(cells, calls, limits):
        raise RuntimeError(f"the cluster could not grade this notebook: {exc}")

    return runner


@dataclass
class DaskBackend:
    """Grades on the workers of a Dask scheduler (see :mod:`autograder.batch`).

    Attributes
    ----------
    scheduler : str
        The scheduler's address, ``tcp://HOST:PORT``.
    """

    scheduler: str

    def grade(
        self,
        notebooks: list[NotebookFile],
        run_seed: int,
        limits: Limits | None,
        runner: Runner | None,
        advance,
        finish=None,
    ) -> list:
        """Grade on the cluster; same results, in the same order, as a local run.

        Notebooks that never reach a sandbox (missing, unreadable) are graded here, and
        ``finish`` runs here, on the client, where the course's files are.

        Raises
        ------
        ClusterError
            When the scheduler cannot be reached, has no workers, or its workers run other
            code.
        """
        out: list[NotebookGrade | None] = [None] * len(notebooks)
        remote: dict[int, _Task] = {}
        for i, nb in enumerate(notebooks):
            content = _read(nb)
            if content is None:
                out[i] = grade_safely(nb, run_seed, limits, runner)
            else:
                remote[i] = _Task(nb.student, nb.assignment, nb.notebook, str(nb.path), content)
        advance(len(notebooks) - len(remote))
        client = _connect(self.scheduler)
        out = self._remote(client, remote, notebooks, run_seed, limits, runner, advance, out)
        if finish is None:
            return out
        return [finish(nb, grade) for nb, grade in zip(notebooks, out, strict=True)]

    def _remote(self, client, remote, notebooks, run_seed, limits, runner, advance, out):
        """Grade ``remote`` (index to task) on the cluster, into ``out``; closes ``client``."""
        try:
            if remote:
                from distributed import as_completed

                _check_workers(client)
                run = uuid.uuid4().hex[:12]  # keys of two runs on one scheduler never collide
                futures = {
                    client.submit(
                        _grade_task,
                        task,
                        run_seed,
                        limits,
                        runner,
                        # Same notebook content twice is still two students: never deduplicate.
                        pure=False,
                        key=f"grade-{run}-{i}",
                    ): i
                    for i, task in remote.items()
                }
                for future in as_completed(futures, loop=client.loop):
                    i = futures[future]
                    try:
                        out[i] = future.result()
                    except Exception as exc:  # the task itself failed (a worker kept dying)
                        out[i] = grade_safely(notebooks[i], run_seed, limits, _failing_runner(exc))
                    future.release()
                    advance(1)
        finally:
            client.close()
        return out
