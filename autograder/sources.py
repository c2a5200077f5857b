"""The instructor's source notebooks: jupytext text files, each paired with the .ipynb.

``solutions/<assignment>/<notebook>.py`` (jupytext's percent format, nbgrader's metadata in
each cell header) is what instructors edit, review and lint. The ``.ipynb`` beside it, which
nbgrader reads, is derived from it by :func:`sync` (``python -m autograder release`` calls
it): the text's cells, no outputs, and in the notebook's metadata a digest of those cells.

The digest is how an edit made to the ``.ipynb`` alone (in Jupyter without jupytext) is told
apart from a text file that changed since the last release: the first would be overwritten
and lost, so :func:`sync` refuses and says how to carry it into the text file. With jupytext
installed, Jupyter saves both files together and nothing needs carrying.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = [
    "DIGEST_KEY",
    "PAIRING",
    "TEXT_FORMAT",
    "TEXT_SUFFIX",
    "NotebookEditedError",
    "cells_digest",
    "derive",
    "notebook_text",
    "status",
    "sync",
]

#: jupytext's format of the source notebooks, and the pairing their header declares.
TEXT_FORMAT = "py:percent"
TEXT_SUFFIX = ".py"
PAIRING = "ipynb,py:percent"
#: Notebook metadata key under which :func:`derive` records the digest of the cells it wrote.
DIGEST_KEY = "gradients_by_hand"
#: The cell metadata that belongs to a cell's content (the rest is editor state).
_CONTENT_METADATA = ("nbgrader", "tags", "editable", "deletable")


class NotebookEditedError(RuntimeError):
    """A source ``.ipynb`` holds edits its text file does not; the message says what to run."""


def cells_digest(nb) -> str:
    """SHA-256 of the cells' types, sources and content metadata (not outputs)."""
    cells = [
        [
            c.cell_type,
            c.source,
            {k: c.metadata[k] for k in _CONTENT_METADATA if k in c.metadata},
        ]
        for c in nb.cells
    ]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()


def derive(text_path: Path):
    """The ``.ipynb`` of a text source: its cells, no outputs, the digest recorded.

    Parameters
    ----------
    text_path : Path
        ``solutions/<assignment>/<notebook>.py``.

    Returns
    -------
    nbformat.NotebookNode
    """
    import jupytext
    import nbformat

    nb = jupytext.read(Path(text_path), fmt=TEXT_FORMAT)
    for cell in nb.cells:
        cell.pop("id", None)  # nbformat 4.5 ids: made from the position, so they never churn
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
    nb.metadata[DIGEST_KEY] = {"derived_from": Path(text_path).name, "cells": cells_digest(nb)}
    nbformat.validate(nb)
    return nb


def notebook_text(nb) -> str:
    """nbformat's canonical JSON of ``nb``, as written to disk."""
    import nbformat

    return nbformat.writes(nb, version=4) + "\n"


def _paths(text_path: Path) -> tuple[Path, Path]:
    text_path = Path(text_path)
    return text_path, text_path.with_suffix(".ipynb")


def status(text_path: Path) -> str:
    """How the ``.ipynb`` beside ``text_path`` stands against it.

    Returns
    -------
    str
        ``"missing"``; ``"same"`` (its cells are the text's); ``"stale"`` (unchanged since it
        was derived, from a text that has changed since); or ``"edited"`` (changed on its own).
    """
    import nbformat

    text_path, ipynb = _paths(text_path)
    if not ipynb.is_file():
        return "missing"
    current = nbformat.read(ipynb, as_version=4)
    mine = cells_digest(current)
    if mine == cells_digest(derive(text_path)):
        return "same"
    recorded = current.metadata.get(DIGEST_KEY, {}).get("cells")
    return "stale" if recorded == mine else "edited"


def _edited_message(text_path: Path, ipynb: Path) -> str:
    ipynb = Path(os.path.relpath(ipynb))
    return (
        f"{ipynb} was changed after it was made from {text_path.name} (edited in Jupyter "
        f"without jupytext?). The release is made from {text_path.name}, so these changes "
        "would be lost. To keep them, write them into the text file, check the result with "
        "`git diff`, and release again:\n"
        f"    .venv/bin/jupytext --to {TEXT_FORMAT} {ipynb}\n"
        f"To drop them instead, delete {ipynb} (or `git checkout` it) and release again. "
        "(Opened in Jupyter with jupytext installed, the two files are saved together.)"
    )


def sync(text_path: Path, write: bool = True) -> bool:
    """Make the ``.ipynb`` beside ``text_path`` the notebook the text derives.

    Parameters
    ----------
    text_path : Path
    write : bool
        False: only say whether it would change.

    Returns
    -------
    bool
        Whether the ``.ipynb`` changed (or would).

    Raises
    ------
    NotebookEditedError
        If the ``.ipynb`` holds edits the text does not (see :func:`status`).
    """
    text_path, ipynb = _paths(text_path)
    state = status(text_path)
    if state == "edited":
        raise NotebookEditedError(_edited_message(text_path, ipynb))
    text = notebook_text(derive(text_path))
    if ipynb.is_file() and ipynb.read_text(encoding="utf-8") == text:
        return False
    if write:
        ipynb.write_text(text, encoding="utf-8")
    return True
