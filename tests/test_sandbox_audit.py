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
