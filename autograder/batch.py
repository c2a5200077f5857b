"""Grading many notebooks: on this machine's cores, or on a backend passed in (a Dask cluster).

A backend is anything with ``grade(notebooks, run_seed, limits, runner, advance, finish)``
returning one result per notebook, in order, and calling ``advance(n)`` as notebooks finish (for
the progress bar). :class:`LocalBackend` grades in worker processes of this machine, each with
its warm sandbox; :class:`autograder.distributed.DaskBackend` sends the notebooks' contents to
a cluster. Both call :func:`autograder.grade.grade_safely`, so where a notebook is graded never
changes its grade. ``finish(notebook, grade)``, when given, turns each grade into the result
where it is cheapest: in the local worker that graded it (writing its autograded notebook
there, in parallel), or on the cluster's client.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Protocol

from .grade import DEFAULT_SEED, Runner, grade_safely
from .protocol import Limits
from .results import NotebookGrade
from .submission import NotebookFile

__all__ = ["Backend", "Finish", "LocalBackend", "grade_all"]


class Backend(Protocol):
    """Where a batch is graded."""

    def grade(
        self,
        notebooks: list[NotebookFile],
        run_seed: int,
        limits: Limits | None,
        runner: Runner | None,
        advance: Callable[[int], object],
        finish: Finish | None,
    ) -> list: ...


#: ``finish(notebook, grade) -> result``: what becomes of a grade where it was made.
Finish = Callable[[NotebookFile, NotebookGrade], object]


def _grade_one(args):
    nb, run_seed, limits, runner, finish = args
    grade = grade_safely(nb, run_seed, limits, runner)
    return grade if finish is None else finish(nb, grade)


# What every notebook of a batch shares, given to each worker process once when it starts
# (_install) rather than pickled with each notebook: the writer carries the released
# notebooks, ~230 kB, ~3.5 ms a notebook to pickle and unpickle.
_shared: tuple = ()


def _install(run_seed, limits, runner, finish) -> None:
    global _shared
    _shared = (run_seed, limits, runner, finish)


def _grade_installed(nb):
    return _grade_one((nb, *_shared))


@dataclass
class LocalBackend:
    """Worker processes on this machine (``jobs = 1``: grade in this process).

    Attributes
    ----------
    jobs : int or None
        Worker processes; the number of cores when ``None``, never more than the notebooks.
    """

    jobs: int | None = None

    def grade(self, notebooks, run_seed, limits, runner, advance, finish=None) -> list:
        jobs = max(1, min(self.jobs or os.cpu_count() or 1, len(notebooks)))
        shared = (run_seed, limits, runner, finish)
        args = [(nb, *shared) for nb in notebooks]
        out: list = [None] * len(notebooks)
        if jobs == 1:
            for i, a in enumerate(args):
                out[i] = _grade_one(a)
                advance(1)
            return out
        retry = []
        with ProcessPoolExecutor(max_workers=jobs, initializer=_install, initargs=shared) as pool:
            futures = {pool.submit(_grade_installed, nb): i for i, nb in enumerate(notebooks)}
            for future in as_completed(futures):
                try:
                    out[futures[future]] = future.result()
                    advance(1)
                except Exception:  # a worker process died: grade its notebooks again below
                    retry.append(futures[future])
        for i in sorted(retry):
            out[i] = _grade_one(args[i])
            advance(1)
        return out


def grade_all(
    notebooks: list[NotebookFile],
    run_seed: int = DEFAULT_SEED,
    backend: Backend | None = None,
    limits: Limits | None = None,
    runner: Runner | None = None,
    progress: bool = True,
    finish: Finish | None = None,
) -> list:
    """Grade many notebooks with a progress bar.

    Parameters
    ----------
    notebooks : list of NotebookFile
    run_seed : int
    backend : Backend, optional
        :class:`LocalBackend` with one worker per core by default.
    limits : Limits, optional
    runner : callable, optional
        As in :func:`autograder.grade.grade_notebook`; must be picklable (a module-level
        function) when the backend uses other processes.
    progress : bool
        Show a tqdm progress bar on stderr.
    finish : callable, optional
        ``finish(notebook, grade) -> result``, applied where each notebook was graded; must be
        picklable when the backend uses other processes.

    Returns
    -------
    list
        In the order of ``notebooks``: the NotebookGrade of each, or what ``finish`` made of it.
    """
    from tqdm import tqdm

    backend = backend if backend is not None else LocalBackend()
    with tqdm(total=len(notebooks), desc="grading", unit="nb", disable=not progress) as bar:
        return backend.grade(notebooks, run_seed, limits, runner, bar.update, finish)
