"""CONTRACT.md's table of graded parts, kept in step with the checks."""

from __future__ import annotations

import pytest

from autograder.checks import contract
from autograder.contract_doc import BEGIN, DOCUMENT, END, main, parts_table, update_document


def test_the_document_lists_every_part_with_its_points():
    """Is CONTRACT.md's table exactly what the registered checks say?"""
    assert main(["--check"]) == 0
    text = DOCUMENT.read_text(encoding="utf-8")
    for part in contract().parts:
        assert f"| `{part.signature}` |" in text
        assert f"| {part.points:g} |" in text


def test_a_stale_table_is_caught(tmp_path, capsys):
    """Does --check fail, and --write mend it, when a row's points are edited by hand?"""
    doc = tmp_path / "CONTRACT.md"
    text = DOCUMENT.read_text(encoding="utf-8")
    row = f"| `{contract().parts[0].signature}` |"
    doc.write_text(text.replace(row, row.replace("`", "`x", 1)), encoding="utf-8")
    assert main(["--check", "--document", str(doc)]) == 1
    assert "out of date" in capsys.readouterr().out
    assert main(["--write", "--document", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == text


def test_every_row_is_one_table_row():
    """Does a returns text with a pipe (|z|) stay inside its cell?"""
    for line in parts_table(contract()).splitlines():
        if line.startswith("| `"):
            assert line.replace("\\|", "").count("|") == 4, line


def test_markers_are_required():
    """Is a document without the marker lines refused rather than silently rewritten?"""
    with pytest.raises(ValueError):
        update_document("no markers here", contract())
    assert update_document(f"a\n{BEGIN}\nold\n{END}\nb", contract()).startswith(f"a\n{BEGIN}")
