"""One pytest test per contract part of each submitted notebook.

The notebooks come from ``--submission PATH``; see :mod:`autograder.pytest_plugin`.
"""

from __future__ import annotations

import pytest

from . import format_part_text


def test_part(graded_part, grade_of, record_property):
    """Does this part of the submission earn all its points?"""
    nb, part = graded_part
    grade = grade_of(nb)
    result = next(r for r in grade.results if r.part == part)
    record_property("points", result.score)
    record_property("max_points", result.max_score)
    record_property("seed", grade.seed)
    if result.score < result.max_score:
        pytest.fail(format_part_text(result), pytrace=False)
