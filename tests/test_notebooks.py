"""The notebooks: source structure, solutions that pass, releases that teach and give nothing away.

Sources are ``solutions/<assignment>/<notebook>.py`` (jupytext text) and the ``.ipynb`` derived
from them; releases are ``exercises/<assignment>/<notebook>.ipynb`` (made by ``python -m
autograder release``). Parts and points come from the course contract. Kernel-running tests
are marked slow; they share one kernel per assignment (``notebook_tools.Kernel``).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys

import pytest

from autograder.release_build import expected_test_cell, verify
from autograder.sources import derive

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

ASSIGNMENTS = nt.assignments()


# --------------------------------------------------------------------------------------------
# structure (fast)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_follows_the_contract(name):
    """Does the source have, for each contract part in order, its solution cell defining the
    contract's signature, then its locked test cell, and nothing else graded but answers?"""
    assert verify(derive(nt.text_path(name)), name) == []


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_carries_no_points_of_its_own(name):
    """Are the contract's points written only in the contract (none in the source's test
    cells or headings)?"""
    nb = derive(nt.text_path(name))
    for cell in nb.cells:
        if (nt.grade_id(cell) or "").startswith("test_"):
            assert "points" not in nt.nbgrader_meta(cell)
    text = nt.text_path(name).read_text(encoding="utf-8")
    assert " point)" not in text and " points)" not in text


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_written_answers_are_manually_graded_markdown(name):
    """Are the written answers markdown cells nbgrader leaves to a human grader?"""
    nb = derive(nt.text_path(name))
    answers = [c for c in nb.cells if (nt.grade_id(c) or "").startswith("answer_")]
    assert answers
    for cell in answers:
        meta = nt.nbgrader_meta(cell)
        assert cell.cell_type == "markdown"
        assert meta["solution"] and meta["grade"] and meta["points"] > 0


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_setup_cells_are_locked_and_demo_cells_tagged(name):
    """Are the setup cells locked, and is the closing section tagged ``demo`` and ungraded?"""
    nb = derive(nt.text_path(name))
    setup = [c for c in nb.cells if (nt.grade_id(c) or "").startswith("setup_")]
    assert {"setup_imports", "setup_data", "setup_checks"} <= {nt.grade_id(c) for c in setup}
    for cell in setup:
        assert nt.nbgrader_meta(cell)["locked"] and not nt.nbgrader_meta(cell)["grade"]
    demo = [c for c in nb.cells if nt.is_demo(c)]
    assert any(c.cell_type == "code" for c in demo)
    assert all(not nt.nbgrader_meta(c) for c in demo)
    last_graded = max(i for i, c in enumerate(nb.cells) if nt.nbgrader_meta(c))
    first_demo = min(i for i, c in enumerate(nb.cells) if nt.is_demo(c))
    assert first_demo > last_graded, "the demo section closes the notebook"


def _imported_modules(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_imports_only_numpy_matplotlib_and_the_standard_library(name):
    """Does a student need nothing but numpy and matplotlib?"""
    imported = set()
    for cell in nt.read(nt.release_path(name)).cells:
        if cell.cell_type == "code":
            imported |= _imported_modules(cell.source)
    extra = {m for m in imported if m not in sys.stdlib_module_names}
    assert extra <= {"numpy", "matplotlib"}, extra


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_leaks_no_solution_or_hidden_test(name):
    """Does the release hide every solution, written answer, marker and hidden test?"""
    source = nt.read(nt.source_path(name))
    release_text = nt.release_path(name).read_text(encoding="utf-8")
    release = nt.read(nt.release_path(name))
    for marker in (*nt.SOLUTION_MARKERS, *nt.HIDDEN_MARKERS, "hidden_test", "nbgrader_hook"):
        assert marker not in release_text, marker
    # Every line of every solution (and model answer) that is more than boilerplate is absent,
    # unless the source also shows it outside the solutions.
    shown = set()
    for cell in source.cells:
        if not nt.nbgrader_meta(cell).get("solution"):
            shown |= {line.strip() for line in cell.source.split("\n")}
    for cell in source.cells:
        meta = nt.nbgrader_meta(cell)
        if not meta.get("solution"):
            continue
        body = cell.source
        if cell.cell_type == "code":
            body = body[body.index(nt.SOLUTION_MARKERS[0]) : body.index(nt.SOLUTION_MARKERS[1])]
        for line in body.split("\n"):
            line = line.strip()
            if len(line) >= 20 and not line.startswith("###") and line not in shown:
                assert json.dumps(line)[1:-1] not in release_text, (meta["grade_id"], line)
    released = nt.by_grade_id(release)
    for gid, cell in nt.by_grade_id(source).items():
        meta = nt.nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            start = cell.source.index(nt.SOLUTION_MARKERS[0])
            head = cell.source[:start].rstrip(" ")
            indent = cell.source[len(head) : start]
            stub = "\n".join(indent + line for line in nt.CODE_STUB.split("\n"))
            assert released[gid].source == head + stub, gid
        elif meta.get("solution"):
            assert released[gid].source == nt.TEXT_STUB, gid
    for cell in release.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_test_cells_run_the_self_check_with_the_contracts_points(name):
    """Does each released test cell run only its part's self-check, carry the contract's
    points, and does the part's heading show them?"""
    release = nt.read(nt.release_path(name))
    cells = nt.by_grade_id(release)
    index = {nt.grade_id(c): i for i, c in enumerate(release.cells) if nt.grade_id(c)}
    for spec in nt.contract().parts_of(name):
        test = cells[spec.grade_id]
        visible = expected_test_cell(spec.name).split("### BEGIN HIDDEN TESTS")[0]
        assert test.source.strip() == visible.strip()
        assert nt.nbgrader_meta(test)["points"] == spec.points
        heading = release.cells[index[spec.name] - 1].source.split("\n", 1)[0]
        unit = "point" if spec.points == 1 else "points"
        assert heading == f"### `{spec.signature}` ({spec.points:g} {unit})", heading


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_pastes_the_self_check_code_folded(name):
    """Are the setup cells that import the self-checks in the source replaced, in the
    release, by their code (folded in JupyterLab), and is that code the package's own?"""
    from autograder.inline import module_code

    source, release = nt.read(nt.source_path(name)), nt.read(nt.release_path(name))
    pasted = nt.by_grade_id(release)
    for gid, cell in nt.by_grade_id(source).items():
        if "from autograder.selfcheck" in cell.source:
            code = pasted[gid].source
            assert "autograder" not in _imported_modules(code), gid
            assert pasted[gid].metadata.get("jupyter") == {"source_hidden": True}
            module = cell.source.split("from ", 1)[1].split(" import")[0]
            # numpy comes from the first setup cell, not from a second import.
            assert module_code(module, frozenset({"import numpy as np"})).strip() in code, gid
            assert "import numpy" not in code


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebooks_link_the_book_not_an_unseen_solution(name):
    """Does every mention of the handwritten solution link the book's page showing it, and
    does every book link of the source point at a page of the book?"""
    import re

    text = nt.text_path(name).read_text(encoding="utf-8")
    for line in text.split("\n"):
        if "andwritten solution" in line:
            assert "homework.html" in line, line
    pages = set(re.findall(r"_build/html/book/([\w-]+)\.html", text))
    assert "homework" in pages
    # The book branch adds the page showing the handwritten solution (book/homework.md).
    chapters = {p.stem for p in (nt.ROOT / "book").glob("*.md")} | {"homework"}
    assert pages <= chapters, pages - chapters


# --------------------------------------------------------------------------------------------
# nothing graded is given away


def _setup_and_demo_callables(nb):
    """Every function (and activation's f, df) the notebook's setup and demo cells define."""
    namespace = {"__name__": "__main__"}
    import matplotlib

    matplotlib.use("Agg")
    for cell in nb.cells:
        gid = nt.grade_id(cell) or ""
        if cell.cell_type == "code" and (gid.startswith("setup_") or nt.is_demo(cell)):
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
                exec(cell.source, namespace)
    found = {}
    for name, value in namespace.items():
        if callable(value) and getattr(value, "__module__", None) in (None, "__main__"):
            found[name] = value
        for attr in ("f", "df"):
            if callable(getattr(value, attr, None)):
                found[f"{name}.{attr}"] = getattr(value, attr)
    return found


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_setup_and_demo_cells_give_no_graded_part_away(name):
    """Does no function a released notebook hands out (setup cells, pasted self-checks,
    activations, demo) earn points for any graded part of either notebook?"""
    import inspect

    from autograder.nbgrader_hook import hidden_test

    found = _setup_and_demo_callables(nt.read(nt.release_path(name)))
    assert len(found) > 10
    earned = {}
    for spec in nt.contract().parts:
        required = [a for a in spec.args if not a.default]
        for label, fn in found.items():
            try:
                params = inspect.signature(fn).parameters.values()
            except (TypeError, ValueError):
                continue
            positional = [
                p for p in params if p.default is p.empty and p.kind <= p.POSITIONAL_OR_KEYWORD
            ]
            if len(positional) != len(required):
                continue
            with contextlib.redirect_stdout(io.StringIO()):
                score = hidden_test(spec.name, fn)
            if score > 0:
                earned[(label, spec.name)] = score
    assert earned == {}


def test_the_mlp_notebook_does_not_ship_a_sigmoid():
    """Is softplus, whose derivative is the graded overflow-free sigmoid, left out of the
    MLP notebook (the grader still uses it)?"""
    text = nt.release_path("mlp_backprop").read_text(encoding="utf-8")
    assert "logaddexp" not in text and "softplus =" not in text
    assert "np.exp(-np.abs" not in text


# --------------------------------------------------------------------------------------------
# running the notebooks (slow)
# (``kernels``, one Jupyter kernel per assignment, is a fixture of conftest.py.)


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_notebook_passes_every_test_cell(name, kernels):
    """Does the source notebook run top to bottom with every test cell earning full points?"""
    nb = kernels[name].run(nt.read(nt.source_path(name)))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = nt.grade_id(cell) or cell.get("id")
        assert not nt.errors(cell), f"{gid}: {nt.error_message(cell)}"
        if not nt.is_demo(cell):
            assert nt.stderr_text(cell) == "", f"{gid} wrote to stderr: {nt.stderr_text(cell)}"
    cells = nt.by_grade_id(nb)
    for fn, points in nt.parts(name).items():
        cell = cells[f"test_{fn}"]
        assert f"{fn}: all self-checks passed." in nt.stdout_text(cell)
        result = nt.execute_result(cell)
        assert result is not None, f"test_{fn} has no score"
        assert float(result) == points, f"test_{fn} scored {result} of {points}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_unfilled_release_fails_each_part_in_its_own_cell(name, kernels):
    """Does the untouched release run to the end, failing only in the test cells, each with
    its own part's NotImplementedError?"""
    nb = kernels[name].run(nt.read(nt.release_path(name)))
    tests = {f"test_{fn}" for fn in nt.parts(name)}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = nt.grade_id(cell)
        if gid in tests:
            errs = nt.errors(cell)
            assert len(errs) == 1 and errs[0].ename == "NotImplementedError", gid
            fn = gid.removeprefix("test_")
            trace = nt.strip_ansi("\n".join(errs[0].traceback))
            # The innermost frame is the stub itself: "... line 18 in grad_layer2".
            last_frame = trace.rsplit("Cell In[", 1)[-1]
            assert f" in {fn}\n" in last_frame, f"{gid} failed outside its own function"
            assert nt.PASSED not in nt.all_text(cell)
        else:
            assert not nt.errors(cell), f"{gid or cell.get('id')}: {nt.error_message(cell)}"
    demo_output = "".join(nt.stdout_text(c) for c in nb.cells if nt.is_demo(c))
    assert "Implement" in demo_output


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_correct_code_in_the_release_passes_every_self_check(name, kernels):
    """Does a student who fills the release with correct code pass every visible check, with
    nothing on stderr?"""
    filled = nt.fill_release(nt.read(nt.release_path(name)), nt.read(nt.source_path(name)))
    nb = kernels[name].run(filled)
    for cell in nb.cells:
        if cell.cell_type == "code":
            gid = nt.grade_id(cell) or cell.get("id")
            assert not nt.errors(cell), f"{gid}: {nt.error_message(cell)}"
            if not nt.is_demo(cell):
                assert nt.stderr_text(cell) == "", gid
    cells = nt.by_grade_id(nb)
    for fn in nt.parts(name):
        assert f"{fn}: all self-checks passed." in nt.stdout_text(cells[f"test_{fn}"])
        assert nt.execute_result(cells[f"test_{fn}"]) is None  # no hidden test in a release


@pytest.mark.slow
def test_a_leaked_global_fails_the_visible_check(kernels):
    """Does a grad_output that uses the N a student left in the notebook fail its check in
    the release, saying so, where the same code would pass if globals were visible?"""
    name = "mlp_backprop"
    filled = nt.fill_release(
        nt.read(nt.release_path(name)),
        nt.read(nt.source_path(name)),
        slips={"grad_output": ("/ y_hat.shape[0]", "/ N")},
    )
    cells = nt.by_grade_id(filled)
    cells["grad_output"].source = (
        "N = 5  # an experiment left behind\n" + cells["grad_output"].source
    )
    nb = kernels[name].run(filled)
    cell = nt.by_grade_id(nb)["test_grad_output"]
    assert "reads the notebook's global variable 'N'" in nt.error_message(cell)
    assert nt.PASSED not in nt.all_text(cell)


@pytest.mark.slow
def test_rerunning_a_test_cell_decides_again(kernels):
    """After every part passed, a student breaks grad_layer2 and reruns the cells below it:
    do grad_layer2's and backward's cells fail (naming grad_layer2), and pass again once it
    is fixed?"""
    name = "mlp_backprop"
    filled = nt.fill_release(nt.read(nt.release_path(name)), nt.read(nt.source_path(name)))
    kernel = kernels[name]
    nb = kernel.run(filled)
    index = {nt.grade_id(c): i for i, c in enumerate(nb.cells) if nt.grade_id(c)}
    right = nb.cells[index["grad_layer2"]].source
    for gid in ("test_grad_layer2", "test_backward"):
        assert nt.PASSED in nt.stdout_text(nb.cells[index[gid]]), gid
    # The same kernel, its namespace kept: the student edits one cell and reruns others.
    kernel.execute(right.replace('g.df(cache["Z2"])', 'g.f(cache["Z2"])'))
    for gid in ("test_grad_layer2", "test_backward"):
        cell = kernel.execute(nb.cells[index[gid]].source)
        assert nt.errors(cell), gid
        assert "grad_layer2" in nt.error_message(cell)
        assert nt.PASSED not in nt.all_text(cell)
    kernel.execute(right)
    for gid in ("test_grad_layer2", "test_backward"):
        cell = kernel.execute(nb.cells[index[gid]].source)
        assert not nt.errors(cell) and nt.PASSED in nt.stdout_text(cell), gid


@pytest.mark.slow
def test_a_failing_check_reads_well_in_jupyters_own_traceback(tmp_path):
    """In Jupyter's default (context) tracebacks, does a failing test cell show the student's
    own failing line and the message, without the word "passed" anywhere and without the
    hidden block?"""
    name = "mlp_backprop"
    filled = nt.fill_release(
        nt.read(nt.release_path(name)),
        nt.read(nt.source_path(name)),
        slips={
            "forward": ('Z2 = H1 @ params["W2"]', 'Z2 = X @ params["W2"]'),
            "grad_output": (" / y_hat.shape[0]", ""),
        },
    )
    graded = [c for c in filled.cells if not nt.is_demo(c)]
    filled.cells = graded
    cells = nt.by_grade_id(nt.run(filled, tmp_path))
    for part in ("forward", "grad_output", "backward"):
        shown = nt.all_text(cells[f"test_{part}"])
        assert "SelfCheckError" in shown and nt.PASSED not in shown, shown
        assert "hidden_test" not in shown
    assert 'Z2 = X @ params["W2"]' in nt.all_text(cells["test_forward"])
