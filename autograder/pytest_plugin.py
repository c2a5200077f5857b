"""pytest plugin of the checks: ``pytest --pyargs autograder.checks --submission PATH``.

Registered through the ``pytest11`` entry point (pyproject.toml), so both
``pytest --pyargs autograder.checks --submission PATH`` and
``pytest autograder/checks --submission PATH`` work in the course's environment.

``PATH`` is an nbgrader ``submitted/`` tree or one notebook. Each contract part of each
notebook becomes one test (``test_parts.py``) that passes when the part earns all its points;
its points are recorded as the test's ``user_properties`` (``points``, ``max_points``, also
in JUnit XML with ``--junitxml``). Each notebook runs once in the sandbox, however many of its
parts are collected.
"""

from __future__ import annotations

import pytest

# The same as autograder.grade.DEFAULT_SEED, without importing the grader when pytest starts.
DEFAULT_SEED = 2705


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "grading submissions with the course's checks")
    group.addoption(
        "--submission",
        default=None,
        help="an nbgrader submitted/ tree or one notebook to grade",
    )
    group.addoption(
        "--grading-seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"run seed of the cases (default {DEFAULT_SEED})",
    )
    group.addoption(
        "--in-process",
        action="store_true",
        help="run the notebooks in this process, without the sandbox: trusted notebooks only",
    )


def pytest_generate_tests(metafunc):
    if "graded_part" not in metafunc.fixturenames:
        return
    path = metafunc.config.getoption("--submission")
    if not path:
        metafunc.parametrize(
            "graded_part",
            [pytest.param(None, marks=pytest.mark.skip(reason="no --submission given"))],
        )
        return
    from .checks import contract
    from .grade import discover

    params = [
        pytest.param((nb, part.name), id=f"{nb.student}/{nb.assignment}/{part.name}")
        for nb in discover(path)
        for part in contract().parts_of(nb.assignment)
    ]
    metafunc.parametrize("graded_part", params)


@pytest.fixture(scope="session")
def grade_of(pytestconfig):
    """``grade_of(notebook_file) -> NotebookGrade``, graded once per notebook per session."""
    cache = {}
    seed = pytestconfig.getoption("--grading-seed")
    runner = None
    if pytestconfig.getoption("--in-process"):
        from .checks.inprocess import run_submission_in_process

        runner = run_submission_in_process

    def grade(nb):
        from .grade import grade_notebook

        key = (nb.student, nb.assignment)
        if key not in cache:
            cache[key] = grade_notebook(nb, seed, runner=runner)
        return cache[key]

    return grade
