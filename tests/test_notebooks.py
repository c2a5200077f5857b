"""The nbgrader notebooks: source structure, solutions that pass, releases that teach.

Sources are ``solutions/<assignment>/<assignment>.ipynb`` (made by
``solutions/build_sources.py``); releases are ``exercises/<assignment>/<assignment>.ipynb``
(made by ``python -m autograder release``). Kernel-running tests are marked slow.
"""

from __future__ import annotations

import ast
import json
import re

import pytest

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

ASSIGNMENTS = list(nt.CONTRACT)


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def assignment(request):
    return request.param


# --------------------------------------------------------------------------------------------
# structure (fast)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_has_one_solution_and_one_test_cell_per_contract_function(name):
    """Does each contract function have its solution cell, then its test cell with the
    contract's points, and nothing graded besides them and the written answers?"""
    nb = nt.read(nt.source_path(name))
    cells = nb.cells
    seen = {}
    for i, cell in enumerate(cells):
        meta = nt.nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if gid in nt.CONTRACT[name]:
            assert cell.cell_type == "code"
            assert meta["solution"] is True and meta["grade"] is False, gid
            test = cells[i + 1]
            tmeta = nt.nbgrader_meta(test)
            assert tmeta.get("grade_id") == f"test_{gid}", f"{gid} is not followed by its test"
            assert tmeta["grade"] is True and tmeta["locked"] is True
            assert tmeta["solution"] is False
            assert tmeta["points"] == nt.CONTRACT[name][gid], gid
            assert sum(m in cell.source for m in nt.SOLUTION_MARKERS) == 2, gid
            assert re.search(rf"^def {gid}\(", cell.source, re.M), f"{gid} is not defined"
            seen[gid] = tmeta["points"]
        if meta:
            assert meta["schema_version"] == 3
    assert seen == nt.CONTRACT[name]
    ids = [nt.grade_id(c) for c in cells if nt.grade_id(c)]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    graded = {nt.grade_id(c) for c in cells if nt.nbgrader_meta(c).get("grade")}
    answers = {g for g in graded if g.startswith("answer_")}
    assert graded == {f"test_{f}" for f in nt.CONTRACT[name]} | answers
    assert 1 <= len(answers) <= 2


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_written_answers_are_manually_graded_markdown(name):
    """Are the written answers markdown cells nbgrader leaves to a human grader?"""
    nb = nt.read(nt.source_path(name))
    for cell in nb.cells:
        gid = nt.grade_id(cell) or ""
        if gid.startswith("answer_"):
            meta = nt.nbgrader_meta(cell)
            assert cell.cell_type == "markdown"
            assert meta["solution"] and meta["grade"] and meta["points"] > 0


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_block_is_the_hook_call_at_the_end_of_each_test_cell(name):
    """Does every test cell end with exactly the hidden block that calls the autograder?"""
    nb = nt.read(nt.source_path(name))
    cells = nt.by_grade_id(nb)
    for fn in nt.CONTRACT[name]:
        source = cells[f"test_{fn}"].source
        expected = (
            "### BEGIN HIDDEN TESTS\n"
            "from autograder.nbgrader_hook import hidden_test\n"
            f'hidden_test("{fn}", {fn})\n'
            "### END HIDDEN TESTS"
        )
        assert source.endswith(expected), fn
        assert source.count("### BEGIN HIDDEN TESTS") == 1
        visible = source[: -len(expected)]
        assert "autograder" not in visible, f"test_{fn}: visible checks must not import autograder"
        assert nt.solution_region(source) == source, "no solution markers in a test cell"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_setup_cells_are_locked_and_demo_cells_tagged(name):
    """Are the setup cells locked, and is the closing section tagged ``demo`` and ungraded?"""
    nb = nt.read(nt.source_path(name))
    setup = [c for c in nb.cells if (nt.grade_id(c) or "").startswith("setup_")]
    assert {"setup_imports", "setup_data"} <= {nt.grade_id(c) for c in setup}
    for cell in setup:
        assert nt.nbgrader_meta(cell)["locked"] and not nt.nbgrader_meta(cell)["grade"]
    demo = [c for c in nb.cells if nt.is_demo(c)]
    assert any(c.cell_type == "code" for c in demo)
    assert all(not nt.nbgrader_meta(c) for c in demo)
    last_graded = max(i for i, c in enumerate(nb.cells) if nt.nbgrader_meta(c))
    first_demo = min(i for i, c in enumerate(nb.cells) if nt.is_demo(c))
    assert first_demo > last_graded, "the demo section closes the notebook"


def _imported_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_imports_only_numpy_and_matplotlib(name):
    """Does a student need nothing but numpy and matplotlib (and the standard library)?"""
    nb = nt.read(nt.release_path(name))
    imported = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            imported |= _imported_modules(cell.source)
    assert imported <= {"numpy", "matplotlib", "warnings"}, imported


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_leaks_no_solution_markers_or_hidden_tests(name):
    """Does the release hide every solution, written answer, marker and hidden test?"""
    source = nt.read(nt.source_path(name))
    release_text = nt.release_path(name).read_text(encoding="utf-8")
    release = nt.read(nt.release_path(name))
    for marker in (*nt.SOLUTION_MARKERS, *nt.HIDDEN_MARKERS, "hidden_test", "autograder"):
        assert marker not in release_text, marker
    # Every line of every solution (and model answer) that is more than boilerplate is absent,
    # unless the source also shows it outside the solutions (a visible check calls backward
    # the way backward's solution calls grad_output, say).
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
            start = body.index(nt.SOLUTION_MARKERS[0])
            body = body[start : body.index(nt.SOLUTION_MARKERS[1])]
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
def test_release_keeps_the_visible_checks(name):
    """Are the visible self-checks of the source exactly what the release shows?"""
    source = nt.by_grade_id(nt.read(nt.source_path(name)))
    release = nt.by_grade_id(nt.read(nt.release_path(name)))
    for fn in nt.CONTRACT[name]:
        src = source[f"test_{fn}"].source
        visible = src[: src.index(nt.HIDDEN_MARKERS[0])]
        assert release[f"test_{fn}"].source.strip() == visible.strip(), fn


# --------------------------------------------------------------------------------------------
# running the notebooks (slow)


@pytest.fixture(scope="module")
def executed_solutions(tmp_path_factory):
    out = {}
    for name in ASSIGNMENTS:
        out[name] = nt.run(nt.read(nt.source_path(name)), tmp_path_factory.mktemp(name))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_notebook_passes_every_test_cell(name, executed_solutions):
    """Does the source notebook run top to bottom with every test cell earning full points?"""
    nb = executed_solutions[name]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = nt.grade_id(cell) or cell.get("id")
        assert not nt.errors(cell), f"{gid}: {nt.error_message(cell)}"
        if not nt.is_demo(cell):
            assert nt.stderr_text(cell) == "", f"{gid} wrote to stderr: {nt.stderr_text(cell)}"
    cells = nt.by_grade_id(nb)
    for fn, points in nt.CONTRACT[name].items():
        cell = cells[f"test_{fn}"]
        assert f"{fn}: all self-checks passed." in nt.stdout_text(cell)
        assert "skipped" not in nt.stdout_text(cell), f"test_{fn} skipped a check"
        result = nt.execute_result(cell)
        assert result is not None, f"test_{fn} has no score"
        assert float(result) == points, f"test_{fn} scored {result} of {points}"


@pytest.fixture(scope="module")
def executed_releases(tmp_path_factory):
    out = {}
    for name in ASSIGNMENTS:
        out[name] = nt.run(nt.read(nt.release_path(name)), tmp_path_factory.mktemp(name))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_unfilled_release_fails_each_part_in_its_own_cell(name, executed_releases):
    """Does the untouched release run to the end, failing only in the test cells, each with
    its own part's NotImplementedError?"""
    nb = executed_releases[name]
    tests = {f"test_{fn}" for fn in nt.CONTRACT[name]}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = nt.grade_id(cell)
        if gid in tests:
            errs = nt.errors(cell)
            assert len(errs) == 1 and errs[0].ename == "NotImplementedError", gid
            fn = gid.removeprefix("test_")
            trace = nt.strip_ansi("\n".join(errs[0].traceback))
            assert f"{fn}(" in trace, f"{gid} failed outside its own function"
        else:
            assert not nt.errors(cell), f"{gid or cell.get('id')}: {nt.error_message(cell)}"
    demo_output = "".join(nt.stdout_text(c) for c in nb.cells if nt.is_demo(c))
    assert "Implement" in demo_output


@pytest.fixture(scope="module")
def executed_filled(tmp_path_factory):
    out = {}
    for name in ASSIGNMENTS:
        filled = nt.fill_release(nt.read(nt.release_path(name)), nt.read(nt.source_path(name)))
        out[name] = nt.run(filled, tmp_path_factory.mktemp(name))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_correct_code_in_the_release_passes_every_self_check(name, executed_filled):
    """Does a student who fills the release with correct code pass every visible check,
    with no check skipped and nothing on stderr?"""
    nb = executed_filled[name]
    for cell in nb.cells:
        if cell.cell_type == "code":
            gid = nt.grade_id(cell) or cell.get("id")
            assert not nt.errors(cell), f"{gid}: {nt.error_message(cell)}"
            if not nt.is_demo(cell):
                assert nt.stderr_text(cell) == "", gid
    cells = nt.by_grade_id(nb)
    for fn in nt.CONTRACT[name]:
        text = nt.stdout_text(cells[f"test_{fn}"])
        assert f"{fn}: all self-checks passed." in text
        assert "skipped" not in text
        assert nt.execute_result(cells[f"test_{fn}"]) is None  # no hidden test in a release


# (assignment, part, old, new, words the failure message must contain)
SLIPS = [
    (
        "mlp_backprop",
        "numerical_gradient",
        "(2.0 * eps)",
        "eps",
        "twice too large",
    ),
    (
        "mlp_backprop",
        "numerical_gradient",
        "flat[i] = old - eps\n        f_minus = float(f(work))\n"
        "        flat[i] = old  # restore before moving to the next entry\n"
        "        gflat[i] = (f_plus - f_minus) / (2.0 * eps)",
        "flat[i] = old\n        gflat[i] = (f_plus - float(f(work))) / eps",
        "one-sided",
    ),
    ("mlp_backprop", "mse_loss", "np.mean(r**2)", "np.sum(r**2)", "divide by N"),
    (
        "mlp_backprop",
        "grad_output",
        " / y_hat.shape[0]",
        "",
        "did you forget the 1/N of the mean?",
    ),
    (
        "mlp_backprop",
        "grad_output",
        "return 2.0 * (y_hat - np.asarray(y, dtype=np.float64))",
        "return 2.0 * (np.asarray(y, dtype=np.float64) - y_hat)",
        "wrong sign",
    ),
    ("mlp_backprop", "grad_output", "return 2.0 *", "return 1.0 *", "factor 2"),
    ("mlp_backprop", "grad_layer3", "db3 = float(np.sum(delta3))", "db3 = delta3", "summed"),
    ("mlp_backprop", "grad_layer2", 'g.df(cache["Z2"])', 'g.f(cache["Z2"])', "g.df, not g.f"),
    ("mlp_backprop", "grad_layer2", "db2 = delta2.sum(axis=0)", "db2 = delta2", "summed over"),
    (
        "mlp_backprop",
        "grad_layer1",
        "dW1 = np.asarray(X, dtype=np.float64).T @ delta1",
        "dW1 = (np.asarray(X, dtype=np.float64).T @ delta1).T",
        "transposed",
    ),
    (
        "mlp_backprop",
        "forward",
        'Z2 = H1 @ params["W2"] + params["b2"]',
        'Z2 = H1 @ params["W2"] + params["b2"] + params["b1"] @ params["W2"]',
        "every bias is added once",
    ),
    (
        "logistic_hessian",
        "sigmoid",
        "e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
        "return 1.0 / (1.0 + np.exp(-z))",
        "overflows",
    ),
    (
        "logistic_hessian",
        "logistic_loss",
        "return float(np.sum(",
        "return float(np.mean(",
        "the sum",
    ),
    (
        "logistic_hessian",
        "logistic_grad",
        "return X.T @ (y_hat - np.asarray(y, dtype=np.float64))",
        "return X.T @ (y_hat - np.asarray(y, dtype=np.float64)) / len(y_hat)",
        "times too small",
    ),
    (
        "logistic_hessian",
        "logistic_grad",
        "(y_hat - np.asarray(y, dtype=np.float64))",
        "(np.asarray(y, dtype=np.float64) - y_hat)",
        "wrong sign",
    ),
    ("logistic_hessian", "newton_step", "return w - step", "return w + step", "uphill"),
    (
        "logistic_hessian",
        "hessian_diagonal",
        "@ (X * X)",
        "@ X",
        "squar",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "part", "old", "new", "words"),
    SLIPS,
    ids=[f"{s[1]}-{i}" for i, s in enumerate(SLIPS)],
)
def test_classic_slip_gets_a_message_that_points_at_it(name, part, old, new, words, tmp_path):
    """Does a classic slip fail its own part's self-check with words that name the slip?"""
    filled = nt.fill_release(
        nt.read(nt.release_path(name)), nt.read(nt.source_path(name)), slips={part: (old, new)}
    )
    nb = nt.run(filled, tmp_path)
    cell = nt.by_grade_id(nb)[f"test_{part}"]
    message = nt.error_message(cell)
    assert message.startswith("AssertionError"), message or "the self-check passed"
    assert words in message, message
    assert nt.stderr_text(cell) == ""
