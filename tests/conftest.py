"""Shared pytest fixtures.

Book fixtures (``tests/test_book.py``): ``built_book`` builds the Jupyter Book once per test
session into a temporary folder; ``plain_venv`` is a virtual environment with nothing but
numpy, matplotlib and ipykernel, made once per session, in which the chapters' downloadable
notebooks must run. Notebook fixture (``tests/test_notebooks.py``, ``tests/test_slips.py``):
``kernels`` starts one Jupyter kernel per assignment, once per test module. Other parts of the
course may add their own fixtures below, in their own clearly named section.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The modules that take longest (``pytest --durations``), longest first. ``make test`` hands
#: whole modules to parallel workers (``--dist loadfile``) in collection order; one of these
#: started last would finish minutes after the rest. The order changes no result.
LONGEST_FIRST = (
    "test_book",
    "test_course_loop",
    "test_autograde_agreement",
    "test_sandbox",
    "test_benchmarks",
    "test_nbgrader_roundtrip",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rpartition(".")[2], len(rank)))


# --------------------------------------------------------------------------------------------
# The book
# --------------------------------------------------------------------------------------------

#: The build must finish well within this (it takes about a minute from scratch on 2 cores).
BOOK_BUILD_TIMEOUT = 900


@dataclass(frozen=True)
class BookBuild:
    """The result of one ``jupyter-book build`` of the repository.

    Attributes
    ----------
    html : Path
        The built site (``<output>/_build/html``).
    output : Path
        The ``--path-output`` folder (also holds ``_build/jupyter_execute``).
    returncode : int
    log : str
        stdout and stderr of the build, interleaved.
    seconds : float
        Wall-clock duration of the build.
    """

    html: Path
    output: Path
    returncode: int
    log: str
    seconds: float


def _jupyter_book_command() -> list[str]:
    """The jupyter-book of the interpreter running the tests (the project's .venv)."""
    local = Path(sys.executable).parent / "jupyter-book"
    if local.exists():
        return [str(local)]
    found = shutil.which("jupyter-book")
    if found:
        return [found]
    pytest.fail("jupyter-book is not installed in this environment (make setup installs it)")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BookBuild:
    """Build the book from scratch, once per session, exactly as the README's command does
    (``-W -n --keep-going``: warnings are errors), but into a temporary output folder so that
    the developer's ``_build/`` and its execution cache are neither used nor touched."""
    output = tmp_path_factory.mktemp("book-build")
    command = [
        *_jupyter_book_command(),
        "build",
        str(REPO_ROOT),
        "-W",
        "-n",
        "--keep-going",
        "--path-output",
        str(output),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # The chapters' kernels must use this environment's Python (with the autograder package).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    start = time.monotonic()
    proc = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=BOOK_BUILD_TIMEOUT,
        check=False,
    )
    return BookBuild(
        html=output / "_build" / "html",
        output=output,
        returncode=proc.returncode,
        log=proc.stdout,
        seconds=time.monotonic() - start,
    )


#: What a student installs to run a chapter notebook, and nothing else.
PLAIN_PACKAGES = ("numpy", "matplotlib", "ipykernel")


@dataclass(frozen=True)
class PlainVenv:
    """A virtual environment with only :data:`PLAIN_PACKAGES` (and their dependencies).

    Attributes
    ----------
    python : Path
        Its interpreter.
    kernels : Path
        A folder holding one Jupyter kernel spec, ``plain``, that runs that interpreter.
    """

    python: Path
    kernels: Path


def _make_plain_venv(root: Path) -> PlainVenv:
    """``python -m venv`` and ``pip install`` of :data:`PLAIN_PACKAGES`, as a student would."""
    venv = root / "venv"
    # The base interpreter, not the project's venv, so nothing of the project leaks in.
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # pip compiles the byte-code (its default): where PYTHONDONTWRITEBYTECODE is set, as on
    # this course's machines, every chapter's kernel would otherwise compile numpy and
    # matplotlib again (1.7 s a kernel, against 10 s once in the install).
    proc = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *PLAIN_PACKAGES,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip could not install {PLAIN_PACKAGES}:\n{proc.stdout}\n{proc.stderr}")
    kernels = root / "kernels"
    spec = kernels / "plain"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "plain numpy + matplotlib",
                "language": "python",
            }
        )
    )
    return PlainVenv(python=python, kernels=kernels)


@pytest.fixture(scope="session")
def plain_venv_started(tmp_path_factory):
    """The plain environment being made in a background thread: a module that needs it later
    asks for this first (``usefixtures``) so the install overlaps its other work."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(_make_plain_venv, tmp_path_factory.mktemp("plain-venv"))
    yield future
    pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def plain_venv(plain_venv_started) -> PlainVenv:
    """A virtual environment made as a student would: ``python -m venv`` and ``pip install
    numpy matplotlib ipykernel`` from the package index, nothing more."""
    try:
        return plain_venv_started.result()
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        pytest.fail(str(exc))


# --------------------------------------------------------------------------------------------
# The gradebook
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gradebook_template(tmp_path_factory) -> Path:
    """An empty gradebook made once per session (nbgrader creates its schema and stamps it)."""
    from autograder.gradebook import create_gradebook

    path = tmp_path_factory.mktemp("gradebook-template") / "gradebook.db"
    create_gradebook(path)
    return path


@pytest.fixture
def gradebook_url(gradebook_template, tmp_path) -> str:
    """A fresh gradebook of this test's own: a copy of the session's template."""
    path = tmp_path / "gradebook.db"
    shutil.copyfile(gradebook_template, path)
    return f"sqlite:///{path}"


# --------------------------------------------------------------------------------------------
# The notebooks
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """Assignment -> a Jupyter kernel of its own (:class:`notebook_tools.Kernel`), started once
    per test module and closed after it."""
    try:
        import notebook_tools as nt
    except ImportError:  # tests/ imported as a package
        from tests import notebook_tools as nt

    out = {a: nt.Kernel(tmp_path_factory.mktemp(a)) for a in nt.assignments()}
    yield out
    for kernel in out.values():
        kernel.close()
