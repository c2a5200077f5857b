"""The ``autograded/`` notebooks: what formgrader shows and nbgrader's tools read.

``nbgrader autograde`` copies each submission to ``autograded/<student>/<assignment>/``,
restores the cells students must not change from the gradebook, runs the notebook, and keeps
the timestamp and the submission secret beside it. The grader writes the same layout without
running a kernel: the student's cells as submitted, the locked cells restored as nbgrader
restores them (:func:`restore_locked_cells`), and in each test cell the grader's verdict for
that part as plain text plus its score as the cell's last value, which is how nbgrader reads
partial credit. The full verdict also goes into the notebook's metadata (``autograder``), for
the feedback pages. Hidden inputs never appear: only what :func:`format_part_text` writes.
"""

from __future__ import annotations

import copy
import datetime
import json
from dataclasses import dataclass
from pathlib import Path

from .checks.text import format_part_text
from .course import copy_submission_files, read_timestamp
from .nbgrader_cells import (
    compute_checksum,
    determine_grade,
    grade_id,
    is_grade,
    is_locked,
    is_solution,
    is_task,
)
from .results import NotebookGrade, grade_to_json

__all__ = [
    "METADATA_KEY",
    "AutogradedWriter",
    "CellOutcomes",
    "GradedSubmission",
    "SourceCell",
    "autograded_notebook",
    "cell_outcomes",
    "read_submitted",
    "restore_locked_cells",
    "write_autograded",
]

#: Where the verdict is kept in the autograded notebook's metadata.
METADATA_KEY = "autograder"
#: What a test cell the grader does not know says (it is given no points rather than all).
UNKNOWN_TEST = (
    "This test cell is not one of the course's graded parts, so the autograder did not run "
    "it: 0 points (grade it by hand if it should count)."
)


@dataclass(frozen=True)
class SourceCell:
    """A cell as ``nbgrader generate_assignment`` recorded it in the gradebook.

    Attributes
    ----------
    name : str
        Its ``grade_id``.
    cell_type : str
    locked : bool
    source : str
    checksum : str or None
    points : float or None
        For grade cells.
    """

    name: str
    cell_type: str
    locked: bool
    source: str
    checksum: str | None
    points: float | None = None


def _as_cell(source: SourceCell) -> dict:
    """A fresh cell made from its gradebook record (for a cell the submission lacks)."""
    meta = {
        "grade": source.points is not None,
        "grade_id": source.name,
        "locked": source.locked,
        "schema_version": 3,
        "solution": False,
        "checksum": source.checksum,
    }
    if source.points is not None:
        meta["points"] = source.points
    cell = {
        "cell_type": source.cell_type,
        "id": source.name.replace("_", "-")[:64],  # nbformat 4.5 ids: letters, digits, -
        "metadata": {"nbgrader": meta},
        "source": source.source,
    }
    if source.cell_type == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def restore_locked_cells(nb: dict, sources: dict[str, SourceCell]) -> list[str]:
    """Overwrite what a student must not change, as nbgrader's ``OverwriteCells`` does.

    For every cell nbgrader tracks: the cell type, the locked flag and a grade cell's points
    come from the gradebook, the checksum is the recorded one, and a locked cell whose
    content changed gets its recorded source back. A cell unknown to the gradebook loses its
    ``grade_id``. Grade cells the student deleted are put back after the cell before them in
    the release (their solution cell), so formgrader shows every graded cell.

    Parameters
    ----------
    nb : dict
        The notebook as JSON, changed in place.
    sources : dict of str to SourceCell
        The gradebook's cells of this notebook, in notebook order; empty when the gradebook
        has none (nothing is restored then).

    Returns
    -------
    list of str
        One sentence per change, for the instructor.
    """
    if not sources:
        return []
    changes = []
    for cell in nb["cells"]:
        name = grade_id(cell)
        if name is None:
            continue
        meta = cell["metadata"]["nbgrader"]
        source = sources.get(name)
        if source is None:
            del meta["grade_id"]
            changes.append(f"cell {name!r} is not in the gradebook: no longer tracked")
            continue
        if cell["cell_type"] != source.cell_type:
            changes.append(f"cell {name!r}: type restored to {source.cell_type}")
            cell["cell_type"] = source.cell_type
            if source.cell_type == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        if is_locked(cell) != source.locked:
            meta["locked"] = source.locked
        if source.locked:
            # A locked cell is never a solution, and a grade cell exactly when it has points:
            # flags a student flipped in the JSON would change how the cell is scored.
            meta["solution"] = False
            meta["grade"] = source.points is not None
        if is_grade(cell) and source.points is not None:
            meta["points"] = source.points
        meta["checksum"] = source.checksum
        if source.locked and compute_checksum(cell) != source.checksum:
            changes.append(f"cell {name!r} was edited: the released version is restored")
            cell["source"] = source.source
    present = {grade_id(c) for c in nb["cells"]}
    order = list(sources)
    for i, name in enumerate(order):
        if name in present or sources[name].points is None:
            continue
        before = next((order[j] for j in range(i - 1, -1, -1) if order[j] in present), None)
        at = next(
            (k + 1 for k, c in enumerate(nb["cells"]) if before and grade_id(c) == before),
            len(nb["cells"]),
        )
        nb["cells"].insert(at, _as_cell(sources[name]))
        present.add(name)
        changes.append(f"cell {name!r} was deleted: the released version is restored")
    return changes


def _verdict_outputs(text: str, score: float) -> list[dict]:
    # nbgrader reads a test cell's last value as partial credit (float(text/plain)).
    return [
        {"output_type": "stream", "name": "stdout", "text": text + "\n"},
        {
            "output_type": "execute_result",
            "data": {"text/plain": repr(float(score))},
            "metadata": {},
            "execution_count": 1,
        },
    ]


def autograded_notebook(
    submitted: dict | None, grade: NotebookGrade, sources: dict[str, SourceCell], base: dict | None
) -> dict:
    """The autograded notebook of one submission.

    Parameters
    ----------
    submitted : dict or None
        The submitted notebook as JSON (changed in place and returned); ``None`` when it is
        missing or unreadable.
    grade : NotebookGrade
    sources : dict of str to SourceCell
        The gradebook's cells of this notebook (see :func:`restore_locked_cells`).
    base : dict or None
        The released notebook, used in place of a missing or unreadable submission.

    Returns
    -------
    dict
        A notebook (JSON) whose test cells hold the verdicts.
    """
    if submitted is not None:
        nb = submitted  # parsed for this call alone: changed in place
    elif base is not None:
        nb = copy.deepcopy(base)
    else:
        nb = {"cells": [_as_cell(s) for s in sources.values()], "metadata": {}}
    nb.setdefault("nbformat", 4)
    nb.setdefault("nbformat_minor", 5)
    restore_locked_cells(nb, sources)
    results = {r.grade_id: r for r in grade.results}
    for cell in nb["cells"]:
        name = grade_id(cell)
        if cell["cell_type"] != "code" or not is_grade(cell) or name is None:
            continue
        result = results.get(name)
        if result is None:
            cell["outputs"] = _verdict_outputs(UNKNOWN_TEST, 0.0)
        else:
            text = format_part_text(result)
            if grade.problem:
                text = f"This notebook could not be graded: {grade.problem}\n{text}"
            cell["outputs"] = _verdict_outputs(text, result.score)
        cell["execution_count"] = 1
    nb.setdefault("metadata", {})[METADATA_KEY] = grade_to_json(grade)
    return nb


def write_autograded(nb: dict, folder: Path, notebook: str, submitted_folder: Path) -> Path:
    """Write ``folder/<notebook>.ipynb`` and copy the submission's timestamp and secret.

    Parameters
    ----------
    nb : dict
    folder : Path
        ``autograded/<student>/<assignment>``.
    notebook : str
    submitted_folder : Path
        ``submitted/<student>/<assignment>``, where nbgrader's ``collect`` left
        ``timestamp.txt`` and ``submission_secret.txt``.

    Returns
    -------
    Path
    """
    folder.mkdir(parents=True, exist_ok=True)
    copy_submission_files(submitted_folder, folder)
    path = folder / f"{notebook}.ipynb"
    # Without indentation: json's C encoder (indenting falls back to the pure-Python one, ten
    # times slower); Jupyter, nbgrader and formgrader read either.
    path.write_text(json.dumps(nb, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_submitted(path: Path) -> dict | None:
    """The submitted notebook as JSON, or ``None`` when it is missing or not a notebook."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None
    if not all(isinstance(c, dict) and "cell_type" in c for c in nb["cells"]):
        return None
    return nb


@dataclass
class CellOutcomes:
    """What the gradebook and the feedback page need of an autograded notebook's cells.

    Attributes
    ----------
    scores : dict of str to float or None
        Each grade cell's automatic score, as nbgrader reads it (``None``: awaits a person).
    untouched : set of str
        Solution cells left as handed out ("No response.").
    answers : dict of str to str
        The written answers (manually graded solution cells), as the student wrote them.
    answer_points : dict of str to float
        Their points.
    """

    scores: dict[str, float | None]
    untouched: set[str]
    answers: dict[str, str]
    answer_points: dict[str, float]


def cell_outcomes(nb: dict) -> CellOutcomes:
    """The :class:`CellOutcomes` of an autograded notebook."""
    out = CellOutcomes({}, set(), {}, {})
    for cell in nb["cells"]:
        name = grade_id(cell)
        if name is None:
            continue
        if is_grade(cell):
            out.scores[name] = determine_grade(cell)[0]
        if is_solution(cell):
            meta = cell["metadata"]["nbgrader"]
            if meta.get("checksum") == compute_checksum(cell) and not is_task(cell):
                out.untouched.add(name)
            if is_grade(cell):
                source = cell.get("source", "")
                out.answers[name] = "".join(source) if isinstance(source, list) else source
                out.answer_points[name] = float(meta["points"])
    return out


@dataclass
class GradedSubmission:
    """One graded notebook on its way into the gradebook.

    Attributes
    ----------
    grade : NotebookGrade
    cells : CellOutcomes
        What its autograded notebook's cells score, as nbgrader reads them.
    timestamp : datetime.datetime or None
        When it was submitted (UTC), from ``timestamp.txt``.
    """

    grade: NotebookGrade
    cells: CellOutcomes
    timestamp: datetime.datetime | None = None


@dataclass
class AutogradedWriter:
    """Builds and writes each graded notebook's autograded copy; runs where grading runs.

    Attributes
    ----------
    root : Path or None
        The ``autograded/`` folder; ``None``: build the notebook, write nothing.
    sources : dict of (str, str) to dict of str to SourceCell
        The gradebook's cells per ``(assignment, notebook)``.
    releases : dict of (str, str) to dict or None
        The released notebooks, stand-ins for missing or unreadable submissions.
    """

    root: Path | None
    sources: dict
    releases: dict

    def __call__(self, nb_file, grade: NotebookGrade):
        """The graded notebook, recorded: returns a ``GradedSubmission``."""
        key = (grade.assignment, grade.notebook)
        submitted = None if nb_file.problem else read_submitted(Path(nb_file.path))
        nb = autograded_notebook(
            submitted, grade, self.sources.get(key, {}), self.releases.get(key)
        )
        folder = Path(nb_file.path).parent
        if self.root is not None:
            write_autograded(
                nb, self.root / grade.student / grade.assignment, grade.notebook, folder
            )
        return GradedSubmission(grade, cell_outcomes(nb), read_timestamp(folder))
