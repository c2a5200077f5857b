"""nbgrader configuration of the course: run nbgrader from the repository root.

``solutions/`` holds the instructor's source notebooks (solutions, visible and hidden tests),
each as a text file and the .ipynb derived from it; ``python -m autograder release`` (or
``nbgrader generate_assignment``) writes the student release into ``exercises/``. The gradebook
is nbgrader's default SQLite file ``gradebook.db`` at the course root (git-ignored).
"""

import os
import sys

# nbgrader's gradebook shells out to the `alembic` command installed next to nbgrader's own
# Python. Put that folder on PATH, so `.venv/bin/nbgrader ...` works without activating the
# virtual environment.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# solutions/<assignment>/ holds each notebook twice: the text file instructors edit
# (<notebook>.py, jupytext's percent format, solutions included) and the .ipynb derived from
# it. nbgrader copies every other file of the folder into the release: never the text.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "*.py",
]

# Before nbgrader's own preprocessors: check each source notebook against the course contract
# and write in the contract's points, the book's address (html.baseurl of _config.yml) and
# the self-check code, so that a release made by nbgrader directly (or from formgrader) is the
# one `python -m autograder release` makes. See autograder/release_build.py.
#
# Named as strings, like every class below: reading this file must not import nbgrader's
# converters (nbconvert and the rest), which every command that reads the course's
# configuration would then pay for. The list after CourseRelease is nbgrader's own default
# (tests/test_release.py checks that it still is).
NBGRADER_GENERATE_ASSIGNMENT = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.CourseRelease.course_root = os.path.dirname(os.path.abspath(__file__))
c.GenerateAssignment.preprocessors = [
    "autograder.release_build.CourseRelease",
    *NBGRADER_GENERATE_ASSIGNMENT,
]

# Student notebooks should not be able to hang the grader forever.
c.Execute.timeout = 120

# The stub students see in place of each solution region.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback shows each test cell's output (the self-checks and the grader's plain-text verdict)
# but not the hidden block's source: nbgrader's default feedback would print it. Named as
# strings, so that reading this file imports neither nbconvert nor nbgrader's preprocessors
# (seconds of start-up for every command that reads the course's configuration).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
