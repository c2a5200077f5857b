"""Reading submissions: which notebooks a folder holds, and the student's code in each.

An nbgrader ``submitted/`` tree is ``<student>/<assignment>/<notebook>.ipynb``. Every student
found is expected to have every contract notebook; a missing one is reported (and scored 0),
not skipped, so the CSV has a row for every part of every student.

From a notebook the grader runs every code cell in order except nbgrader's test cells
(``grade_id`` starting with ``test_``, or graded cells that are not solutions: they hold the
visible self-checks and the hidden tests, which call the grader itself) and cells tagged
``demo`` (ungraded training loops and plots). IPython magics and shell escapes are not Python;
they are blanked out so the rest of the cell still runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from operator import methodcaller
from pathlib import Path

__all__ = [
    "SKIP_TAGS",
    "NotebookFile",
    "SubmissionError",
    "find_notebooks",
    "is_test_cell",
    "notebook_code_cells",
    "read_code_cells",
]

#: Cell tags whose cells the grader does not run: ungraded demonstrations.
SKIP_TAGS = frozenset({"demo"})

_MAGIC = re.compile(r"^(\s*)([%!].*)$")
_starts_magic = methodcaller("startswith", ("%", "!"))


class SubmissionError(Exception):
    """A notebook that cannot be read: the message says why, in plain words."""


@dataclass
class NotebookFile:
    """One expected notebook of one student.

    Attributes
    ----------
    student, assignment, notebook : str
        ``notebook`` without ``.ipynb``.
    path : Path
        Where it is (or would be, when missing).
    problem : str or None
        Why it cannot be graded before even opening it (``"missing"``).
    """

    student: str
    assignment: str
    notebook: str
    path: Path
    problem: str | None = None


def is_test_cell(cell) -> bool:
    """Whether a cell is one of nbgrader's test cells (self-checks and hidden tests).

    Parameters
    ----------
    cell : dict
        A notebook cell (JSON), or an nbformat node.

    Returns
    -------
    bool
    """
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    grade_id = str(meta.get("grade_id", ""))
    if grade_id.startswith("test_"):
        return True
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def _blank_magics(source: str) -> str:
    # `%matplotlib inline` or `!pip install` would be a SyntaxError for the whole cell.
    lines = source.splitlines()
    # The pasted self-checks are a thousand lines without a magic: decided in C (str.lstrip
    # strips what the pattern's \s matches), the per-line substitution cost ~2.5 ms a notebook.
    if not any(map(_starts_magic, map(str.lstrip, lines))):
        return "\n".join(lines)
    return "\n".join(_MAGIC.sub(r"\1pass  # \2", line) for line in lines)


def read_code_cells(path: str | Path) -> list[str]:
    """The code a notebook defines, in order, without test and demo cells.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of str
        One source string per code cell to run.

    Raises
    ------
    SubmissionError
        When the file is missing, not JSON or not a notebook.
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SubmissionError("the notebook is missing") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"the notebook cannot be read ({type(exc).__name__})") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"the notebook is not valid JSON (line {exc.lineno})") from exc
    # A structural check, not nbformat's schema: nbformat's validator costs seconds to import,
    # and any cell the grader cannot read is skipped below anyway.
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError("the file is not a Jupyter notebook (no cells)")
    return notebook_code_cells(data)


def notebook_code_cells(data: dict) -> list[str]:
    """The code a notebook (its JSON, with a list of cells) defines, as :func:`read_code_cells`.

    Parameters
    ----------
    data : dict

    Returns
    -------
    list of str
    """
    out = []
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        if is_test_cell(cell) or SKIP_TAGS & set(cell.get("metadata", {}).get("tags", []) or []):
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if not isinstance(source, str):
            continue
        out.append(_blank_magics(source))
    return out


def find_notebooks(root: str | Path, expected: dict[str, str]) -> list[NotebookFile]:
    """Every notebook to grade under ``root``, including expected ones that are missing.

    Parameters
    ----------
    root : str or Path
        An nbgrader ``submitted/`` tree, one student's folder in it, one assignment folder,
        or a single notebook (its parent folder names the assignment and the one above the
        student, as in the tree).
    expected : dict of str to str
        Assignment name to notebook name (without ``.ipynb``).

    Returns
    -------
    list of NotebookFile
        Sorted by student, then assignment. Folders that are not a contract assignment are
        ignored.

    Raises
    ------
    FileNotFoundError
        When ``root`` does not exist.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist")
    if root.is_file():
        assignment = root.parent.name
        if assignment not in expected:
            # A loose notebook: recognise the assignment by the notebook's name.
            assignment = next((a for a, n in expected.items() if n == root.stem), assignment)
        student = root.parent.parent.name if root.parent.name in expected else "student"
        return [NotebookFile(student or "student", assignment, root.stem, root)]
    if root.name in expected and (root / f"{expected[root.name]}.ipynb").is_file():
        # One student's assignment folder.
        return [
            NotebookFile(
                root.parent.name or "student",
                root.name,
                expected[root.name],
                root / f"{expected[root.name]}.ipynb",
            )
        ]
    if any((root / a).is_dir() for a in expected):
        # One student's folder: its subfolders are assignments.
        student_dirs = [root]
    else:
        student_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    out = []
    for student_dir in student_dirs:
        if student_dir.name.startswith("."):
            continue
        for assignment, notebook in sorted(expected.items()):
            path = student_dir / assignment / f"{notebook}.ipynb"
            problem = None if path.is_file() else "missing"
            out.append(NotebookFile(student_dir.name, assignment, notebook, path, problem))
    return out
