"""``autograder.release_build`` and ``autograder.inline``: from source notebook to release.

Checked here without nbgrader: the verification against the contract, the points, links and
self-check code the release writes in, and that the pasted code runs where the course's
package is not installed.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap

import nbformat
import pytest

from autograder.inline import InlineError, inline_cell, module_code, selfcheck_imports
from autograder.release_build import (
    BOOK_MARKER,
    SOURCE_BOOK_PREFIX,
    book_url,
    hidden_block,
    prepare,
    verify,
)
from autograder.sources import derive

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt


@pytest.fixture(scope="module")
def sources():
    return {a: derive(nt.text_path(a)) for a in nt.assignments()}


def _index(nb):
    return {nt.grade_id(c): i for i, c in enumerate(nb.cells) if nt.grade_id(c)}


def _break_signature(nb):
    cell = nb.cells[_index(nb)["forward"]]
    cell.source = cell.source.replace("def forward(X, params, g):", "def forward(X, p, g):")


def _move_test_cell(nb):
    i = _index(nb)["test_forward"]
    nb.cells.insert(i + 3, nb.cells.pop(i))


def _points_in_test_cell(nb):
    nb.cells[_index(nb)["test_mse_loss"]].metadata["nbgrader"]["points"] = 5


def _points_in_heading(nb):
    i = _index(nb)["mse_loss"] - 1
    nb.cells[i].source = nb.cells[i].source.replace(
        "`mse_loss(y_hat, y)`", "`mse_loss(y_hat, y)` (1 point)"
    )


def _edit_hidden_block(nb):
    cell = nb.cells[_index(nb)["test_backward"]]
    cell.source = cell.source.replace('hidden_test("backward", backward)', "pass")


def _unlock_test_cell(nb):
    nb.cells[_index(nb)["test_grad_output"]].metadata["nbgrader"]["locked"] = False


def _drop_part(nb):
    i = _index(nb)["relative_error"]
    del nb.cells[i : i + 2]


def _extra_graded_cell(nb):
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_bonus",
        "locked": True,
        "points": 1,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    nb.cells.insert(_index(nb)["backward"], cell)


def _swap_parts(nb):
    i, j = _index(nb)["forward"] - 1, _index(nb)["mse_loss"] - 1
    block_a, block_b = nb.cells[i : i + 3], nb.cells[j : j + 3]
    nb.cells[i : i + 3], nb.cells[j : j + 3] = block_b, block_a


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (_break_signature, "must define `def forward(X, params, g):`"),
        (_move_test_cell, "test cell 'test_forward' must come right after it"),
        (_points_in_test_cell, "test_mse_loss: points come from the contract"),
        (_points_in_heading, "points in the heading come from the contract"),
        (_edit_hidden_block, "test_backward: must run the self-check, then end with the hidden"),
        (_unlock_test_cell, "test_grad_output: must be locked"),
        (_drop_part, "relative_error: no solution cell"),
        (_extra_graded_cell, "test_bonus: a graded cell that is neither"),
        (_swap_parts, "not in the contract's order"),
    ],
)
def test_verify_names_each_departure_from_the_contract(sources, mutate, words):
    """Does the release's check of a source notebook catch each way it can depart from the
    contract, in words that say where?"""
    nb = copy.deepcopy(sources["mlp_backprop"])
    assert verify(nb, "mlp_backprop") == []
    mutate(nb)
    problems = verify(nb, "mlp_backprop")
    assert any(words in p for p in problems), problems


def test_verify_refuses_an_assignment_outside_the_contract(sources):
    """Is a notebook released as an assignment the contract does not know refused?"""
    assert verify(sources["mlp_backprop"], "homework_3") != []


def test_hidden_block_is_the_one_nbgrader_hook_documents():
    """Is the hidden block exactly the four lines the hook's docstring shows?"""
    from autograder import nbgrader_hook

    doc = textwrap.dedent(nbgrader_hook.__doc__.split("::", 1)[1].split("\n\n", 2)[1])
    assert hidden_block("grad_layer2") == doc.strip()


@pytest.mark.parametrize("name", nt.assignments())
def test_prepare_writes_in_the_contracts_points(sources, name):
    """Do the prepared test cells, headings and questions carry the contract's points (and
    the written answers their own)?"""
    nb = prepare(sources[name], name)
    cells, index = nt.by_grade_id(nb), _index(nb)
    for spec in nt.contract().parts_of(name):
        assert nt.nbgrader_meta(cells[spec.grade_id])["points"] == spec.points
        unit = "point" if spec.points == 1 else "points"
        assert (
            f"`{spec.signature}` ({spec.points:g} {unit})" in nb.cells[index[spec.name] - 1].source
        )
    for gid, cell in cells.items():
        if gid.startswith("answer_"):
            points = nt.nbgrader_meta(cell)["points"]
            question = nb.cells[index[gid] - 1].source
            assert f"**Question ({points:g} point" in question


def test_prepare_leaves_its_input_alone(sources):
    """Is the source notebook unchanged by preparing a release from it?"""
    nb = sources["logistic_hessian"]
    before = nbformat.writes(nb)
    prepare(nb, "logistic_hessian")
    assert nbformat.writes(nb) == before


@pytest.mark.parametrize("url", ["https://example.org/gradients/", ""])
def test_prepare_links_the_book_at_its_published_address(sources, url):
    """With a published address, do the book links point there; without one, are they plain
    titles with a sentence saying where to find the book? Either way, no link leads into
    the instructor's repository."""
    nb = prepare(sources["mlp_backprop"], "mlp_backprop", book=url)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert SOURCE_BOOK_PREFIX not in text and BOOK_MARKER not in text
    if url:
        assert "(https://example.org/gradients/book/backprop.html)" in text
        assert "(https://example.org/gradients/book/homework.html)" in text
        assert "online at <https://example.org/gradients/>" in text
    else:
        assert (
            "*Backpropagation*" in text and "released without the course book's web address" in text
        )
        assert "](http" not in text


def test_book_url_is_read_from_the_books_config(tmp_path):
    """Is the address ``html.baseurl`` of ``_config.yml``, and empty without one?"""
    assert book_url(tmp_path) == ""
    (tmp_path / "_config.yml").write_text("title: x\nhtml:\n  use_repository_button: false\n")
    assert book_url(tmp_path) == ""
    (tmp_path / "_config.yml").write_text("html:\n  baseurl: https://example.org/book/\n")
    assert book_url(tmp_path) == "https://example.org/book/"


def test_the_course_config_has_no_address_yet():
    """Does this repository's book config leave the address empty (so the release says how
    to find the book instead of linking a made-up site)?"""
    assert book_url(nt.ROOT) == ""


def test_inline_pastes_each_module_once_dependencies_first():
    """Is a module pasted after the modules it imports from, and never twice in a notebook?"""
    first, modules = inline_cell("from autograder.selfcheck.activations import relu", set())
    assert modules == ["autograder.selfcheck.activations"]
    second, modules = inline_cell(
        "# checks\nfrom autograder.selfcheck.mlp import check", set(modules)
    )
    assert modules == [
        "autograder.selfcheck.core",
        "autograder.selfcheck.tools",
        "autograder.selfcheck.mlp",
    ]
    assert second.index(module_code("autograder.selfcheck.core")) < second.index("def check(")
    assert second.index("def _check_numerical_gradient") < second.index("def check(")
    assert "class Activation" in first and "class Activation" not in second


def test_inline_leaves_other_cells_alone():
    """Is a cell that does anything besides importing the self-checks left as it is?"""
    assert selfcheck_imports("import numpy as np") is None
    assert selfcheck_imports("from autograder.selfcheck.mlp import check\nx = 1") is None
    assert inline_cell("from autograder.selfcheck.mlp import check\nx = 1", set()) is None


def test_inline_refuses_a_name_the_modules_do_not_define():
    """Does importing a name that does not exist fail the release, not the student?"""
    with pytest.raises(InlineError, match="does not define"):
        inline_cell("from autograder.selfcheck.mlp import no_such_check", set())


@pytest.mark.parametrize("name", nt.assignments())
def test_pasted_code_runs_without_the_course_package(sources, name, tmp_path):
    """Do a prepared notebook's setup cells and the course's solutions pass every self-check
    in a Python where ``autograder`` cannot be imported (as on a student's computer)?"""
    nb = prepare(sources[name], name)
    code = ["import sys", "sys.modules['autograder'] = None  # any import of it fails"]
    for cell in nb.cells:
        gid = nt.grade_id(cell) or ""
        if cell.cell_type == "code" and gid.startswith("setup_"):
            code.append(cell.source)
        elif cell.cell_type == "code" and nt.nbgrader_meta(cell).get("solution"):
            code.append(nt.solution_region(cell.source))
    code += [f'check("{p}", {p})' for p in nt.parts(name)]
    script = tmp_path / "student.py"
    script.write_text("\n\n".join(code))
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("all self-checks passed.") == len(nt.parts(name))


def test_nbgrader_runs_the_course_preprocessor_first():
    """Does nbgrader's own configuration make generate_assignment prepare each notebook
    before its own preprocessors (so formgrader releases what the CLI does)?"""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(nt.ROOT)).load_config()
    chain = config.GenerateAssignment.preprocessors
    assert chain[0] == "autograder.release_build.CourseRelease" and len(chain) > 5
    assert "*.py" in config.CourseDirectory.ignore
