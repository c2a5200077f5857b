"""An nbgrader course on disk: its folders, its gradebook, its late-submission policy.

Read from the course's ``nbgrader_config.py`` with nbgrader's rules for ``CourseDirectory``
(the same defaults; ``tests/test_course.py`` compares the two), so the grader finds
``submitted/``, writes ``autograded/`` and ``feedback/`` and opens the gradebook exactly where
nbgrader's commands and formgrader look, and applies the late penalty the course configured
(``c.AssignLatePenalties.plugin_class``). nbgrader's own ``CourseDirectory`` and timestamp
parser import nbformat, tornado and setuptools: a second of start-up for every command.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .submission import NotebookFile

__all__ = [
    "CONFIG_FILE",
    "Course",
    "CourseError",
    "copy_submission_files",
    "default_db_url",
    "read_timestamp",
]

CONFIG_FILE = "nbgrader_config.py"
#: nbgrader's default folder layout, the only one the grader reads.
DEFAULT_STRUCTURE = os.path.join("{nbgrader_step}", "{student_id}", "{assignment_id}")
#: nbgrader's own defaults of the ``CourseDirectory`` settings the grader reads.
NBGRADER_DEFAULTS = {
    "course_id": "",
    "db_url": "",
    "source_directory": "source",
    "release_directory": "release",
    "submitted_directory": "submitted",
    "autograded_directory": "autograded",
    "feedback_directory": "feedback",
}
TIMESTAMP_FILE = "timestamp.txt"
SECRET_FILE = "submission_secret.txt"


class CourseError(Exception):
    """The folder is not an nbgrader course, or its configuration cannot be read."""


def default_db_url(root: str | Path = ".") -> str:
    """nbgrader's default gradebook of a folder: ``sqlite:///<root>/gradebook.db``."""
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


def copy_submission_files(src: Path, dst: Path) -> None:
    """Copy ``timestamp.txt`` and ``submission_secret.txt`` from ``src`` into ``dst``.

    nbgrader keeps both beside every copy of a submission (the autograded notebook, the
    feedback page: ``release_feedback`` reads them there); a file ``src`` lacks is skipped.

    Parameters
    ----------
    src, dst : Path
        Folders; ``dst`` must exist.
    """
    for name in (TIMESTAMP_FILE, SECRET_FILE):
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


def parse_timestamp(text: str) -> datetime.datetime:
    """A timestamp as nbgrader writes and reads them, in naive UTC.

    nbgrader writes ``2026-12-01 10:00:00.123456 UTC`` (its ``get_timestamp``); an offset or
    a zone name in the third place is honoured as ``nbgrader.utils.parse_utc`` honours it.

    Raises
    ------
    ValueError
    """
    parts = text.split(" ")
    if len(parts) == 3 and parts[2] in ("UTC", "GMT", "Z"):
        stamp = datetime.datetime.fromisoformat(" ".join(parts[:2]))
    else:
        from nbgrader.utils import parse_utc  # any other zone: nbgrader's own parser

        return parse_utc(text)
    if stamp.tzinfo is not None:
        stamp = (stamp - stamp.utcoffset()).replace(tzinfo=None)
    return stamp


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
    try:
        return parse_timestamp(text)
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
        structure = config.CourseDirectory.get("directory_structure", DEFAULT_STRUCTURE)
        if Path(structure) != Path(DEFAULT_STRUCTURE):
            raise CourseError(
                f"{root / CONFIG_FILE} sets CourseDirectory.directory_structure = {structure!r};"
                f" the grader reads nbgrader's default layout, {DEFAULT_STRUCTURE!r}"
            )
        return cls(root, config)

    def _setting(self, name: str) -> str:
        value = self.config.CourseDirectory.get(name, NBGRADER_DEFAULTS.get(name, ""))
        return value.strip() if name == "course_id" else value

    @property
    def course_id(self) -> str:
        """nbgrader's course id (empty when the course sets none, as in nbgrader's apps)."""
        return self._setting("course_id")

    @property
    def db_url(self) -> str:
        """The gradebook; nbgrader's default is ``gradebook.db`` in the course root."""
        return self._setting("db_url") or default_db_url(self.root)

    def step_folder(self, step: str) -> Path:
        """The folder of one of nbgrader's steps (``submitted``, ``autograded``, ...)."""
        return self.root / self._setting(f"{step}_directory")

    def release_notebook(self, assignment: str, notebook: str) -> Path:
        """The student notebook as released (``release_directory`` has no student level)."""
        return self.step_folder("release") / assignment / f"{notebook}.ipynb"

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
        submitted = self.step_folder("submitted")
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

        nbgrader's own ``AssignLatePenalties.plugin_class`` (by default: no penalty), built
        from the course's configuration on its first use (most runs have no late work, and
        the plugin's package imports nbgrader's database models).
        """
        plugin = []

        def penalty(student: str, score: float, seconds_late: float) -> float | None:
            if not plugin:
                plugin.append(self._late_plugin())
            return plugin[0].late_submission_penalty(student, score, seconds_late)

        return penalty

    def _late_plugin(self):
        from traitlets.utils.importstring import import_item

        # As nbgrader's AssignLatePenalties builds it, without importing its preprocessors
        # (and with them nbconvert) for one configurable class.
        plugin_class = self.config.AssignLatePenalties.get(
            "plugin_class", "nbgrader.plugins.LateSubmissionPlugin"
        )
        if isinstance(plugin_class, str):
            plugin_class = import_item(plugin_class)
        return plugin_class(config=self.config)
