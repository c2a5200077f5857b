"""An nbgrader course on disk: its folders, its gradebook, its late-submission policy.

Read from the course's ``nbgrader_config.py`` through nbgrader's own ``CourseDirectory``, so
the grader finds ``submitted/``, writes ``autograded/`` and ``feedback/`` and opens the
gradebook exactly where nbgrader's commands and formgrader look, and applies the late penalty
the course configured (``c.AssignLatePenalties.plugin_class``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .submission import NotebookFile

__all__ = ["CONFIG_FILE", "Course", "CourseError", "read_timestamp"]

CONFIG_FILE = "nbgrader_config.py"
TIMESTAMP_FILE = "timestamp.txt"
SECRET_FILE = "submission_secret.txt"


class CourseError(Exception):
    """The folder is not an nbgrader course, or its configuration cannot be read."""


def read_timestamp(folder: str | Path) -> datetime.datetime | None:
    """The submission time nbgrader recorded in ``folder/timestamp.txt`` (UTC, naive).

    Returns ``None`` when there is no such file, or it is empty or unreadable (nbgrader then
    treats the submission as on time, and so does the grader).
    """
    path = Path(folder) / TIMESTAMP_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text:
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Course:
    """The course rooted at ``root``.

    Attributes
    ----------
    root : Path
    config : traitlets.config.Config
        Everything ``nbgrader_config.py`` set.
    """

    root: Path
    config: Any

    @classmethod
    def load(cls, root: str | Path = ".") -> Course:
        """The course whose ``nbgrader_config.py`` is in ``root``.

        Raises
        ------
        CourseError
            When there is no ``nbgrader_config.py``, or it fails to load.
        """
        root = Path(root).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise CourseError(
                f"{root} is not an nbgrader course (no {CONFIG_FILE}); run from the course "
                "root, or give the folder of submissions to grade"
            )
        from traitlets.config.loader import PyFileConfigLoader

        try:
            config = PyFileConfigLoader(CONFIG_FILE, str(root)).load_config()
        except Exception as exc:  # the course's own Python, which may raise anything
            raise CourseError(f"cannot read {root / CONFIG_FILE}: {exc}") from exc
        config.CourseDirectory.root = str(root)
        return cls(root, config)

    @cached_property
    def _dirs(self):
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config)

    @property
    def course_id(self) -> str:
        """nbgrader's course id (empty when the course sets none, as in nbgrader's apps)."""
        return self._dirs.course_id

    @property
    def db_url(self) -> str:
        return self._dirs.db_url

    def step_folder(self, step: str) -> Path:
        """The folder of one of nbgrader's steps (``submitted``, ``autograded``, ...)."""
        return Path(self._dirs.root) / getattr(self._dirs, f"{step}_directory")

    def folder(self, step: str, student: str, assignment: str) -> Path:
        """``<root>/<step>/<student>/<assignment>`` with the course's folder names.

        Parameters
        ----------
        step : {"submitted", "autograded", "feedback", "release", "source"}
        student, assignment : str
        """
        name = getattr(self._dirs, f"{step}_directory")
        return Path(self._dirs.format_path(name, student, assignment))

    def release_notebook(self, assignment: str, notebook: str) -> Path:
        """The student notebook as released (``release_directory`` has no student level)."""
        release = Path(self._dirs.root) / self._dirs.release_directory
        return release / assignment / f"{notebook}.ipynb"

    def submissions(
        self,
        notebooks: dict[str, str],
        assignment: str | None = None,
        student: str | None = None,
    ) -> list[NotebookFile]:
        """Every notebook of ``submitted/`` to grade, missing ones included.

        Parameters
        ----------
        notebooks : dict of str to str
            Assignment name to notebook name, from the contract.
        assignment, student : str, optional
            Only this assignment, only this student (nbgrader's ``--assignment`` and
            ``--student``).

        Returns
        -------
        list of NotebookFile
            Sorted by student, then assignment; a student is listed for an assignment only
            when a folder of theirs for it exists (they submitted something).
        """
        submitted = Path(self._dirs.root) / self._dirs.submitted_directory
        if not submitted.is_dir():
            return []
        out = []
        for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
            if student_dir.name.startswith(".") or (student and student_dir.name != student):
                continue
            for name, notebook in sorted(notebooks.items()):
                if assignment and name != assignment:
                    continue
                folder = student_dir / name
                if not folder.is_dir():
                    continue
                path = folder / f"{notebook}.ipynb"
                problem = None if path.is_file() else "missing"
                out.append(NotebookFile(student_dir.name, name, notebook, path, problem))
        return out

    def late_penalty(self) -> Callable[[str, float, float], float | None]:
        """The course's late-submission policy: ``penalty(student, score, seconds_late)``.

        nbgrader's own ``AssignLatePenalties.plugin_class`` (by default: no penalty), built from
        the course's configuration; the penalty is kept between 0 and the score, as nbgrader
        keeps it.
        """
        from traitlets.utils.importstring import import_item

        # As nbgrader's AssignLatePenalties builds it, without importing its preprocessors
        # (and with them nbconvert) for one configurable class.
        plugin_class = self.config.AssignLatePenalties.get(
            "plugin_class", "nbgrader.plugins.LateSubmissionPlugin"
        )
        if isinstance(plugin_class, str):
            plugin_class = import_item(plugin_class)
        plugin = plugin_class(config=self.config)

        def penalty(student: str, score: float, seconds_late: float) -> float | None:
            value = plugin.late_submission_penalty(student, score, seconds_late)
            return None if value is None else min(max(float(value), 0.0), score)

        return penalty
