"""nbgrader configuration of the course: run nbgrader from the repository root.

``solutions/`` holds the instructor's source notebooks (solutions, visible and hidden tests);
``nbgrader generate_assignment`` writes the student release into ``exercises/``. The gradebook
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

# Helper scripts in solutions/ (the notebook generator) are not part of any assignment.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "build_sources.py",
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
