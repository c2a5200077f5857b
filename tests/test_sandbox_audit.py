"""Does the grader's own reading of a submission's source spot what it tries?"""

from __future__ import annotations

from autograder.sandbox_audit import audit_cells


def test_autodiff_and_forbidden_imports_are_found():
    """Are autodiff libraries, the reference and solutions found in every import form?"""
    audit = audit_cells(
        [
            "import torch\nfrom jax import grad",
            "import autograd.numpy as anp",
            "from autograder.reference import backward",
            "from autograder import checks",
            "mod = __import__('autograder.reference')",
            "import importlib\nimportlib.import_module('tensorflow')",
        ]
    )
    assert {"torch", "jax", "autograd", "autograder", "tensorflow"} <= audit.imports
    assert audit.flags == {"autodiff-import", "forbidden-import"}
    assert any("autograder.checks" in n for n in audit.notes)


def test_patching_and_planting_are_found():
    """Are assignments to numpy, builtins and sys.modules found, but not to one's own objects?"""
    audit = audit_cells(
        [
            "import numpy as np\nnp.allclose = lambda *a, **k: True",
            "import builtins\nbuiltins.abs = abs",
            "import sys\nsys.modules['numpy'] = None",
            "setattr(np.testing, 'assert_allclose', print)",
        ]
    )
    assert audit.flags == {"tampering"}
    assert len(audit.notes) == 4
    honest = audit_cells(["class A:\n    def __init__(self):\n        self.max = 3\n"])
    assert not honest.flags


def test_paths_to_solutions_are_found():
    """Are paths into solutions/, submitted/ or the gradebook flagged as forbidden access?"""
    audit = audit_cells(["open('../../solutions/mlp_backprop/mlp_backprop.ipynb')"])
    assert audit.flags == {"forbidden-import"}
    assert not audit_cells(["open('my_solution_notes.txt')"]).flags


def test_unparsable_cells_are_skipped():
    """Does a cell with a syntax error or a cell magic not stop the scan of the others?"""
    audit = audit_cells(["def f(:\n", "%%time\nimport torch", "%matplotlib inline\nimport jax"])
    assert audit.imports == {"jax"}


def test_a_cell_seen_before_is_not_scanned_again_and_finds_the_same(monkeypatch):
    """Is each cell, even one as large as the pasted self-checks, scanned once however many
    submissions carry it, with the same imports, flags and notes as a fresh scan?"""
    from autograder import sandbox_audit

    large = "import numpy as np\n" + "".join(
        f"def f{i}(x):\n    return x + {i}\n" for i in range(3000)
    )
    cells = [large, "import torch\nnp.sum = lambda x: 0\n", "open('../gradebook.db')"]
    assert len(large) > 40_000
    fresh = audit_cells(cells)
    scanned = []
    real = sandbox_audit.audit_cells
    monkeypatch.setattr(
        sandbox_audit, "audit_cells", lambda c: scanned.append(c) or real(c), raising=True
    )
    for _ in range(3):
        found = sandbox_audit.audit_submission(cells)
        assert (found.imports, found.flags, found.notes) == (
            fresh.imports,
            fresh.flags,
            fresh.notes,
        )
    assert len(scanned) <= len(cells)
