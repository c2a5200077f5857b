"""The grade as JSON, the form in which it travels inside the autograded notebook."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from autograder.checks.inprocess import run_submission_in_process
from autograder.grade import discover, grade_notebook
from autograder.results import (
    ComponentResult,
    NotebookGrade,
    PartResult,
    grade_from_json,
    grade_to_json,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "submitted"


@pytest.mark.parametrize("student", ["fay_transposed_dW2", "oz_broken", "cy_untouched"])
def test_a_grade_comes_back_from_json_unchanged(student):
    """Does a grade (diagnoses, flags, infinite errors, a broken notebook) survive the trip
    through strict JSON?"""
    for nb in discover(SAMPLES / student):
        grade = grade_notebook(nb, runner=run_submission_in_process)
        text = json.dumps(grade_to_json(grade), allow_nan=False)
        assert grade_from_json(json.loads(text)) == grade


def test_every_field_is_written():
    """Does the JSON name every field of the records (so a new field cannot be dropped)?"""
    grade = grade_notebook(
        discover(SAMPLES / "ed_flipped_sign")[0], runner=run_submission_in_process
    )
    data = grade_to_json(grade)["grade"]
    assert set(data) == {f.name for f in dataclasses.fields(NotebookGrade)}
    assert set(data["results"][0]) == {f.name for f in dataclasses.fields(PartResult)}
    component = data["results"][0]["components"][0]
    assert set(component) == {f.name for f in dataclasses.fields(ComponentResult)}


def test_another_format_is_refused():
    """Is a verdict written by another version refused rather than misread?"""
    with pytest.raises(ValueError, match="format"):
        grade_from_json({"version": 0, "grade": {}})
    with pytest.raises(ValueError):
        grade_from_json({"version": 1, "grade": {"student": "x"}})
