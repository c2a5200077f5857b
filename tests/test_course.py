"""An nbgrader course on disk, read as nbgrader reads it (without importing nbgrader)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import parse_utc

from autograder.course import Course, CourseError, parse_timestamp

CONFIGS = {
    "nothing set": "",
    "the repository's": None,
    "renamed folders": (
        'c.CourseDirectory.submitted_directory = "inbox"\n'
        'c.CourseDirectory.autograded_directory = "graded"\n'
        'c.CourseDirectory.feedback_directory = "back"\n'
        'c.CourseDirectory.release_directory = "out"\n'
    ),
    "own gradebook and id": (
        'c.CourseDirectory.db_url = "sqlite:////srv/grades.db"\n'
        'c.CourseDirectory.course_id = "  ml-101 "\n'
    ),
}


@pytest.fixture(params=list(CONFIGS))
def course_root(request, tmp_path):
    body = CONFIGS[request.param]
    if body is None:
        repo = Path(__file__).resolve().parents[1]
        body = (repo / "nbgrader_config.py").read_text().replace("c = get_config()", "")
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n" + body)
    return tmp_path


def test_the_course_is_where_nbgrader_looks(course_root):
    """Do the folders, the gradebook and the course id come out as nbgrader's CourseDirectory
    says, for the same configuration?"""
    course = Course.load(course_root)
    theirs = CourseDirectory(config=course.config)
    theirs.root = str(course_root)
    assert course.course_id == theirs.course_id
    assert course.db_url == theirs.db_url
    for step in ("submitted", "autograded", "feedback", "release"):
        name = getattr(theirs, f"{step}_directory")
        assert (
            str(course.step_folder(step)) == theirs.format_path(name, ".", ".").rsplit("/./.", 1)[0]
        )


def test_a_layout_the_grader_does_not_read_is_refused(tmp_path):
    """Is a custom directory_structure refused with a clear reason, not misread?"""
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.directory_structure = "{assignment_id}/{student_id}"\n'
    )
    with pytest.raises(CourseError, match="directory_structure"):
        Course.load(tmp_path)


def test_a_folder_without_configuration_is_not_a_course(tmp_path):
    """Is a folder without nbgrader_config.py refused with the way out?"""
    with pytest.raises(CourseError, match="not an nbgrader course"):
        Course.load(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01 10:00:00.123456 UTC",
        "2026-12-01 10:00:00 UTC",
        "2026-12-01 10:00:00.5 +0100",
        "2026-12-01 10:00:00 -0530",
        "2026-12-01 23:30:00 America/New_York",
        "2026-12-01T10:00:00",
    ],
)
def test_timestamps_read_as_nbgrader_reads_them(text):
    """Is every timestamp nbgrader writes or accepts read as the same UTC time?"""
    assert parse_timestamp(text) == parse_utc(text)
