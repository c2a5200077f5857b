"""``autograder.sources``: the text source notebooks and the ``.ipynb`` derived from them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from autograder.sources import (
    DIGEST_KEY,
    PAIRING,
    NotebookEditedError,
    derive,
    notebook_text,
    status,
    sync,
)

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

ASSIGNMENTS = nt.assignments()


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_committed_notebook_is_what_its_text_derives(name):
    """Is the committed source .ipynb, byte for byte, the one its text file derives (so
    nbgrader, formgrader and the tests read what the instructor wrote)?"""
    expected = notebook_text(derive(nt.text_path(name)))
    assert nt.source_path(name).read_text(encoding="utf-8") == expected, (
        f"{nt.source_path(name)} is stale: run `python -m autograder release`"
    )


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_text_is_what_jupytext_writes(name):
    """Does jupytext write the text file back unchanged from its notebook (so saving in
    Jupyter with jupytext does not reformat it), and does its header pair the two files?"""
    text = nt.text_path(name).read_text(encoding="utf-8")
    assert jupytext.writes(derive(nt.text_path(name)), fmt="py:percent") == text
    assert f"formats: {PAIRING}" in text


@pytest.fixture
def source(tmp_path) -> Path:
    """A copy of one text source in an empty folder, its .ipynb derived."""
    name = "logistic_hessian"
    text = tmp_path / nt.text_path(name).name
    shutil.copy(nt.text_path(name), text)
    assert sync(text) is True
    return text


def test_a_missing_notebook_is_derived(tmp_path):
    """Does sync write the .ipynb when there is none, recording the digest of its cells?"""
    text = tmp_path / "nb.py"
    shutil.copy(nt.text_path("mlp_backprop"), text)
    assert status(text) == "missing"
    assert sync(text) is True
    nb = nbformat.read(text.with_suffix(".ipynb"), as_version=4)
    assert nb.metadata[DIGEST_KEY]["derived_from"] == "nb.py"
    assert status(text) == "same" and sync(text) is False


def test_a_changed_text_rewrites_its_notebook(source):
    """After the text changes, is the untouched .ipynb recognized as stale and rewritten?"""
    text = source.read_text()
    assert "## Part 1: the loss\n" in text
    source.write_text(text.replace("## Part 1: the loss\n", "## Part 1: the loss function\n"))
    assert status(source) == "stale"
    assert sync(source) is True
    assert "Part 1: the loss function" in source.with_suffix(".ipynb").read_text()
    assert status(source) == "same"


def test_a_notebook_saved_with_jupytext_is_accepted(source):
    """A notebook Jupyter saved with jupytext (same cells, plus outputs and other ids): is it
    in step with its text, and normalized by the next sync?"""
    ipynb = source.with_suffix(".ipynb")
    nb = nbformat.read(ipynb, as_version=4)
    for i, cell in enumerate(nb.cells):
        cell.id = f"jupyter-{i}"
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="ran\n")]
            cell.execution_count = i
    del nb.metadata[DIGEST_KEY]
    nbformat.write(nb, ipynb)
    assert status(source) == "same"
    assert sync(source) is True
    assert ipynb.read_text() == notebook_text(derive(source))


def test_an_edit_made_without_jupytext_is_never_lost(source):
    """An instructor edits the .ipynb in Jupyter without jupytext: does sync refuse to
    overwrite it, say which command carries the edit into the text, and does that command
    (run as printed) make the next sync keep the edit?"""
    ipynb = source.with_suffix(".ipynb")
    nb = nbformat.read(ipynb, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown")
    cell.source += "\n\nA sentence written in Jupyter."
    nbformat.write(nb, ipynb)
    before = ipynb.read_text()
    assert status(source) == "edited"
    with pytest.raises(NotebookEditedError) as raised:
        sync(source)
    message = str(raised.value)
    assert ipynb.read_text() == before, "the edited notebook was overwritten"
    command = next(line.strip() for line in message.split("\n") if "jupytext --to" in line)
    assert command.startswith(".venv/bin/jupytext --to py:percent ")
    args = command.split()[1:]
    subprocess.run(
        [sys.executable, "-m", "jupytext", *args[:-1], str(ipynb)],
        check=True,
        capture_output=True,
    )
    assert "A sentence written in Jupyter." in source.read_text()
    sync(source)
    assert "A sentence written in Jupyter." in ipynb.read_text()


def test_deleting_an_edited_notebook_discards_the_edit(source):
    """Is deleting the .ipynb, as the message offers, enough to release from the text?"""
    ipynb = source.with_suffix(".ipynb")
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[0].source += " (edited)"
    nbformat.write(nb, ipynb)
    assert status(source) == "edited"
    ipynb.unlink()
    assert sync(source) is True and "(edited)" not in ipynb.read_text()
