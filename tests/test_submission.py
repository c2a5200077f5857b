"""Reading submissions: which cells run, which notebooks exist, what is broken."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from autograder import submission
from autograder.submission import SubmissionError, find_notebooks, read_code_cells

FILES = Path(__file__).parent / "files"
EXPECTED = {"mlp_backprop": "mlp_backprop", "logistic_hessian": "logistic_hessian"}


def test_test_cells_and_demo_cells_are_not_run():
    """Are nbgrader's test cells (grade_id test_*, graded non-solution cells) and demo cells
    left out, and every other code cell kept in order?"""
    cells = read_code_cells(FILES / "submission_cells.ipynb")
    assert len(cells) == 3
    assert cells[0] == "import numpy as np"
    assert "def forward" in cells[1]
    assert "helper = 42" in cells[2]
    assert not any("hidden_test" in c or "assert True" in c or "10**9" in c for c in cells)


def test_magics_are_blanked_so_the_rest_of_the_cell_runs():
    """Does `%matplotlib inline` or `!pip` stop being a SyntaxError for the whole cell?"""
    cells = read_code_cells(FILES / "submission_cells.ipynb")
    for source in cells:
        compile(source, "<cell>", "exec")
    assert "pass  # %matplotlib inline" in cells[1]


@pytest.mark.parametrize(
    "name, words",
    [
        ("not_json.ipynb", "not valid JSON"),
        ("not_a_notebook.ipynb", "not a Jupyter notebook"),
        ("missing.ipynb", "missing"),
    ],
)
def test_broken_notebooks_raise_a_plain_message(name, words):
    """Do a truncated file, a JSON list and a missing file each get a plain-words reason?"""
    with pytest.raises(SubmissionError, match=words):
        read_code_cells(FILES / name)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


def test_every_expected_notebook_of_every_student_is_listed(tmp_path):
    """Is a notebook a student did not submit listed as missing, not skipped?"""
    _touch(tmp_path / "ann" / "mlp_backprop" / "mlp_backprop.ipynb")
    _touch(tmp_path / "ben" / "logistic_hessian" / "logistic_hessian.ipynb")
    _touch(tmp_path / "ben" / "other_course" / "x.ipynb")
    found = find_notebooks(tmp_path, EXPECTED)
    assert [(n.student, n.assignment, n.problem) for n in found] == [
        ("ann", "logistic_hessian", "missing"),
        ("ann", "mlp_backprop", None),
        ("ben", "logistic_hessian", None),
        ("ben", "mlp_backprop", "missing"),
    ]


def test_a_single_notebook_student_or_assignment_folder_can_be_given(tmp_path):
    """Can PATH be one notebook, one student's folder or one assignment folder?"""
    nb = _touch(tmp_path / "ann" / "mlp_backprop" / "mlp_backprop.ipynb")
    [one] = find_notebooks(nb, EXPECTED)
    assert (one.student, one.assignment, one.notebook) == ("ann", "mlp_backprop", "mlp_backprop")
    [one] = find_notebooks(nb.parent, EXPECTED)
    assert (one.student, one.assignment) == ("ann", "mlp_backprop")
    both = find_notebooks(tmp_path / "ann", EXPECTED)
    assert {(n.student, n.assignment) for n in both} == {
        ("ann", "mlp_backprop"),
        ("ann", "logistic_hessian"),
    }


def test_a_path_that_does_not_exist_is_an_error(tmp_path):
    """Is a wrong PATH reported instead of grading nothing?"""
    with pytest.raises(FileNotFoundError):
        find_notebooks(tmp_path / "nope", EXPECTED)


# Characters that matter to magic lines: the marks, white space, and every line break
# str.splitlines knows.
_MAGIC_TEXT = st.text(
    alphabet=st.sampled_from(
        ["%", "!", "a", "=", "1", " ", "\t", "\u3000", "\xa0", "\n", "\r", "\x0b", "\x0c"]
        + ["\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
    ),
    max_size=40,
)


@given(_MAGIC_TEXT)
@example("x = 1\r  %time f()")
@example("\u2028!ls")
def test_magic_blanking_skips_only_texts_without_a_magic_line(source):
    """Does the shortcut for texts without a magic line give exactly what blanking every line
    gives?"""
    every_line = "\n".join(
        submission._MAGIC.sub(r"\1pass  # \2", line) for line in source.splitlines()
    )
    assert submission._blank_magics(source) == every_line
