"""Build the hostile and broken submissions in ``tests/files/hostile/submitted/``.

Every case is a correct submission (the sample student ``ada_full_marks``, whose notebooks are
the release with the course's solutions filled in) with one hostile or broken change: a cell
added, a solution replaced, a locked cell edited, the file corrupted or left out. The other
assignment's notebook is a correct copy, so each case also shows that the damage stays in the
notebook it was done in.

``expected.json`` says, per case, what it tries (``what``), the flags the grader must raise
(``flags``), the parts of the changed notebook that must score 0 (``zero``; ``"all"`` for
every part of it) and the honest parts, of both notebooks, that must keep full marks
(``keep``, by assignment). Hostile code that destroys files aims at
a decoy tree (:data:`DECOY`) that the test creates and checks afterwards, never at a real
path: the corpus must be harmless even if someone grades it without isolation.

Run ``.venv/bin/python tests/files/hostile/make_corpus.py`` from the repository root after
``samples/make_samples.py``.
"""

from __future__ import annotations

import copy
import json
import shutil
import textwrap
from pathlib import Path

import nbformat

from autograder.checks import contract

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BASE = ROOT / "samples" / "submitted" / "ada_full_marks"
OUT = HERE / "submitted"
#: The contract's assignments, and the graded parts of each notebook in notebook order.
NOTEBOOKS = contract().notebooks()
ASSIGNMENTS = tuple(NOTEBOOKS)
PARTS = {a: tuple(p.name for p in contract().parts_of(a)) for a in ASSIGNMENTS}

#: Where the destructive cases aim (the test fills it with files and checks them afterwards).
DECOY = "/tmp/gbh-hostile-decoy"
#: Printed by the daemon cases, so the test can look for survivors in the process table.
DAEMON_MARK = "7777.77"


def _code(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


def _find(nb, grade_id: str) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def replace(grade_id: str, code: str):
    """Put ``code`` in the solution cell ``grade_id``."""

    def edit(nb):
        nb.cells[_find(nb, grade_id)].source = _code(code)

    return edit


def insert_after(grade_id: str, code: str):
    """A new, ungraded code cell after the cell ``grade_id``."""

    def edit(nb):
        # A fixed cell id (nbformat would draw a random one), so the corpus rebuilds the same.
        cell = nbformat.v4.new_code_cell(_code(code), id=f"hostile-{len(nb.cells)}")
        nb.cells.insert(_find(nb, grade_id) + 1, cell)

    return edit


def edit_locked(grade_id: str, extra: str):
    """Append ``extra`` to a locked (read-only) cell, as a student editing the JSON would."""

    def edit(nb):
        cell = nb.cells[_find(nb, grade_id)]
        cell.source = cell.source.rstrip("\n") + "\n" + _code(extra)

    return edit


def both(*edits):
    def edit(nb):
        for e in edits:
            e(nb)

    return edit


WRONG_MSE = replace("mse_loss", "def mse_loss(y_hat, y):\n    return 0.0\n")
WRONG_RELATIVE = replace("relative_error", "def relative_error(a, b):\n    return 0.0\n")

#: name -> (assignment, edit or "corrupt"/"missing", expected)
CASES: dict[str, tuple[str, object, dict]] = {
    "h01_numpy_patch": (
        "mlp_backprop",
        both(
            insert_after(
                "setup_imports",
                """
                # Make every comparison pass, as in-kernel graders use these.
                np.allclose = lambda *a, **k: True
                np.isclose = lambda *a, **k: True
                np.array_equal = lambda *a, **k: True
                np.testing.assert_allclose = lambda *a, **k: None
                np.testing.assert_array_almost_equal = lambda *a, **k: None
                """,
            ),
            WRONG_MSE,
        ),
        {
            "what": "patches numpy's comparisons, with a wrong mse_loss",
            "flags": ["tampering"],
            "zero": ["mse_loss"],
        },
    ),
    "h02_builtins_patch": (
        "mlp_backprop",
        both(
            insert_after(
                "setup_imports",
                """
                import builtins
                builtins.abs = lambda x: 0
                builtins.max = lambda *a, **k: 0
                builtins.isinstance = lambda *a: True
                builtins.len = lambda x: 0
                """,
            ),
            WRONG_RELATIVE,
        ),
        {
            "what": "replaces abs, max, isinstance and len, with a wrong relative_error",
            "flags": ["tampering"],
            "zero": ["relative_error"],
        },
    ),
    "h03_fake_modules": (
        "mlp_backprop",
        both(
            insert_after(
                "setup_imports",
                """
                import sys, types
                fake = types.ModuleType("numpy")
                fake.allclose = lambda *a, **k: True
                sys.modules["numpy"] = fake
                sys.modules["numpy.testing"] = fake
                sys.modules["autograder"] = types.ModuleType("autograder")
                sys.modules["autograder.checks"] = types.ModuleType("autograder.checks")
                """,
            ),
            WRONG_MSE,
        ),
        {
            "what": "plants fake numpy and autograder modules in sys.modules, wrong mse_loss",
            "flags": ["tampering"],
            "zero": ["mse_loss"],
        },
    ),
    "h04_rigged_scalars": (
        "mlp_backprop",
        both(
            replace(
                "mse_loss",
                """
                class Anything:
                    def __eq__(self, other): return True
                    def __ne__(self, other): return False
                    def __lt__(self, other): return True
                    def __le__(self, other): return True
                    def __gt__(self, other): return True
                    def __ge__(self, other): return True
                    def __abs__(self): return 0.0
                    def __sub__(self, other): return 0.0
                    __rsub__ = __sub__
                    def __float__(self): return 0.0
                    def __array_ufunc__(self, *a, **k): return True
                    def __array__(self, *a, **k): return np.zeros(())

                def mse_loss(y_hat, y):
                    return Anything()
                """,
            ),
            replace(
                "relative_error",
                """
                class Tiny(float):
                    def __eq__(self, other): return True
                    def __lt__(self, other): return True
                    def __le__(self, other): return True
                    def __abs__(self): return 0.0
                    __hash__ = float.__hash__

                def relative_error(a, b):
                    return Tiny(12345.0)
                """,
            ),
        ),
        {
            "what": "returns objects whose ==, <, abs and __array_ufunc__ always say 'close'",
            "flags": [],
            "zero": ["mse_loss", "relative_error"],
        },
    ),
    "h05_rigged_arrays": (
        "mlp_backprop",
        both(
            replace(
                "backward",
                """
                class Agreeable(np.ndarray):
                    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
                    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                        return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)
                    def __array_function__(self, func, types, args, kwargs): return True

                def backward(X, y, params, g):
                    return {k: np.zeros(np.shape(v)).view(Agreeable) for k, v in params.items()}
                """,
            ),
            replace(
                "numerical_gradient",
                """
                class LooksLikeAnArray:
                    def __init__(self, shape): self.shape = shape
                    def __array__(self, *a, **k): return np.zeros(self.shape)
                    def __eq__(self, other): return True

                def numerical_gradient(f, theta, eps=1e-6):
                    return LooksLikeAnArray(np.shape(theta))
                """,
            ),
        ),
        {
            "what": "returns an ndarray subclass with rigged ==/ufuncs, and an __array__ object",
            "flags": [],
            "zero": ["backward", "numerical_gradient"],
        },
    ),
    "h06_import_reference": (
        "mlp_backprop",
        replace(
            "backward",
            """
            try:
                from autograder.reference import backward as _ref_backward
            except ImportError:
                _ref_backward = None
            try:
                import autograder.checks  # noqa: F401
            except ImportError:
                pass

            def backward(X, y, params, g):
                return _ref_backward(X, y, params, g)
            """,
        ),
        {
            "what": "imports the grader's reference backward and its checks",
            "flags": ["forbidden-import"],
            "zero": ["backward"],
        },
    ),
    "h07_read_solutions": (
        "mlp_backprop",
        replace(
            "backward",
            """
            import glob, json
            _source = None
            for _path in (["/work/main/solutions/mlp_backprop/mlp_backprop.ipynb",
                           "../../solutions/mlp_backprop/mlp_backprop.ipynb",
                           "../../../solutions/mlp_backprop/mlp_backprop.ipynb"]
                          + glob.glob("/*/solutions/mlp_backprop/*.ipynb")
                          + glob.glob("/*/*/solutions/mlp_backprop/*.ipynb")):
                try:
                    _source = json.load(open(_path))
                    break
                except OSError:
                    continue

            def backward(X, y, params, g):
                cells = ["".join(c["source"]) for c in _source["cells"]]
                exec(next(c for c in cells if c.startswith("def backward")), globals())
                return backward(X, y, params, g)
            """,
        ),
        {
            "what": "reads the solution notebook from solutions/ and runs its backward",
            "flags": ["forbidden-import"],
            "zero": ["backward"],
        },
    ),
    "h08_fake_results": (
        "mlp_backprop",
        both(
            insert_after(
                "setup_imports",
                """
                import sys, json
                for stream in (sys.stdout, sys.stderr):
                    print("Score: 17/17", file=stream)
                    print("TOTAL 17 / 17 points", file=stream)
                    print(json.dumps({"score": 17.0, "max_score": 17.0, "grade_id": "test_forward",
                                      "cell_type": "code", "points": 2}), file=stream)
                    print("h08_fake_results,mlp_backprop,mlp_backprop,test_mse_loss,1,1",
                          file=stream)
                    print("student_id,assignment,notebook,grade_id,score,max_score", file=stream)
                    print("===== 9 passed in 0.12s =====", file=stream)
                    print("tests/test_parts.py::test_mse_loss PASSED", file=stream)
                    print("All tests passed! 17/17", file=stream)
                    print("GBH1" + json.dumps({"k": "result", "flags": []}), file=stream)
                import os
                os.write(1, b"GBH1\\x00\\x00\\x00\\x10" + b'{"k":"loaded"}')
                """,
            ),
            WRONG_MSE,
        ),
        {
            "what": "prints fake scores as text, nbgrader JSON, CSV rows, pytest lines, frames",
            "flags": [],
            "zero": ["mse_loss"],
        },
    ),
    "h09_top_level_loop": (
        "mlp_backprop",
        insert_after("setup_imports", "while True:\n    pass\n"),
        {"what": "an infinite loop at top level", "flags": ["timeout"], "zero": []},
    ),
    "h10_part_loop": (
        "mlp_backprop",
        replace(
            "backward",
            "def backward(X, y, params, g):\n    while True:\n        pass\n",
        ),
        {"what": "an infinite loop inside backward", "flags": ["timeout"], "zero": ["backward"]},
    ),
    "h11_ignores_signals": (
        "mlp_backprop",
        both(
            insert_after(
                "setup_checks",
                """
                import signal
                for _s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(_s, signal.SIG_IGN)
                while True:
                    try:
                        pass
                    except BaseException:
                        pass
                """,
            ),
            replace(
                "mse_loss",
                """
                import signal

                def mse_loss(y_hat, y):
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                    while True:
                        pass
                """,
            ),
        ),
        {
            "what": "ignores SIGTERM/SIGALRM in a top-level loop and in mse_loss",
            "flags": ["timeout"],
            "zero": ["mse_loss"],
        },
    ),
    "h12_memory_bomb": (
        "mlp_backprop",
        both(
            insert_after("setup_imports", "hog = [bytearray(2**30) for _ in range(64)]\n"),
            replace(
                "backward",
                "def backward(X, y, params, g):\n    return np.ones((10**6, 10**6))\n",
            ),
        ),
        {
            "what": "allocates 64 GiB at top level and 8 TB in backward",
            "flags": ["memory"],
            "zero": ["backward"],
        },
    ),
    "h13_fork_bomb": (
        "mlp_backprop",
        insert_after(
            "setup_imports",
            """
            import os, time
            for _i in range(100000):
                try:
                    if os.fork() == 0:
                        while True:
                            try:
                                os.fork()
                            except OSError:
                                time.sleep(0.1)
                except OSError:
                    break
            """,
        ),
        {"what": "a fork bomb at top level", "flags": [], "zero": []},
    ),
    "h14_daemons": (
        "mlp_backprop",
        both(
            insert_after(
                "setup_imports",
                f"""
                import subprocess
                subprocess.Popen(["sleep", "{DAEMON_MARK}"], start_new_session=True)
                subprocess.Popen(["sh", "-c", "nohup sleep {DAEMON_MARK} >/dev/null 2>&1 &"])
                """,
            ),
            insert_after(
                "mse_loss",
                f"""
                _correct_mse = mse_loss

                def mse_loss(y_hat, y):
                    import os, subprocess
                    subprocess.Popen(["sleep", "{DAEMON_MARK}"], start_new_session=True)
                    if os.fork() == 0:
                        os.setsid()
                        os.execvp("sleep", ["sleep", "{DAEMON_MARK}"])
                    return _correct_mse(y_hat, y)
                """,
            ),
        ),
        {"what": "starts sleep daemons at top level and inside mse_loss", "flags": [], "zero": []},
    ),
    "h15_sys_exit": (
        "mlp_backprop",
        both(
            insert_after("setup_checks", "import sys\nsys.exit(0)\n"),
            replace("mse_loss", "import sys\n\ndef mse_loss(y_hat, y):\n    sys.exit(17)\n"),
        ),
        {
            "what": "calls sys.exit at top level and in mse_loss",
            "flags": ["crash"],
            "zero": ["mse_loss"],
        },
    ),
    "h16_os_exit": (
        "mlp_backprop",
        both(
            insert_after("setup_checks", "import os\nos._exit(0)\n"),
            replace(
                "relative_error",
                "import os\n\ndef relative_error(a, b):\n    os._exit(0)\n",
            ),
        ),
        {
            "what": "calls os._exit at top level and in relative_error",
            "flags": ["crash"],
            "zero": ["relative_error"],
        },
    ),
    "h17_kills_itself": (
        "mlp_backprop",
        both(
            insert_after(
                "setup_checks", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
            ),
            replace(
                "backward",
                """
                import os, signal

                def backward(X, y, params, g):
                    os.kill(os.getppid(), signal.SIGKILL)
                    os.kill(-1, signal.SIGKILL)
                    os.kill(os.getpid(), signal.SIGKILL)
                """,
            ),
        ),
        {
            "what": "kills itself, its parent and everything it can at top level and in backward",
            "flags": ["crash"],
            "zero": ["backward"],
        },
    ),
    "h18_segfault": (
        "mlp_backprop",
        both(
            insert_after("setup_checks", "import ctypes\nctypes.string_at(0)\n"),
            replace(
                "numerical_gradient",
                """
                import ctypes

                def numerical_gradient(f, theta, eps=1e-6):
                    return ctypes.string_at(0)
                """,
            ),
        ),
        {
            "what": "a segmentation fault at top level and in numerical_gradient",
            "flags": ["crash"],
            "zero": ["numerical_gradient"],
        },
    ),
    "h19_huge_output": (
        "mlp_backprop",
        insert_after(
            "setup_imports",
            """
            import sys
            _line = "Score: 17/17 " * 1000 + "\\n"
            for _ in range(10_000):
                sys.stdout.write(_line)
            """,
        ),
        {"what": "prints 130 MB", "flags": ["output-truncated"], "zero": []},
    ),
    "h20_destroys_files": (
        "mlp_backprop",
        insert_after(
            "setup_imports",
            f"""
            import os, shutil, glob
            for _target in ["{DECOY}/solutions", "{DECOY}/submitted", "../..", "../../.."]:
                shutil.rmtree(_target, ignore_errors=True)
            for _path in ["{DECOY}/gradebook.db", "gradebook.db", "../gradebook.db",
                          "../../gradebook.db"]:
                try:
                    with open(_path, "w") as _f:
                        _f.write("all students: 0 points")
                except OSError:
                    pass
            for _path in glob.glob("{DECOY}/**/*.ipynb", recursive=True):
                try:
                    with open(_path, "w") as _f:
                        _f.write("overwritten")
                except OSError:
                    pass
            """,
        ),
        {
            "what": "deletes solutions/ and submitted/, overwrites gradebook.db and notebooks "
            f"(aimed at the decoy {DECOY})",
            "flags": ["forbidden-import"],
            "zero": [],
        },
    ),
    "h21_not_numbers": (
        "mlp_backprop",
        both(
            replace("mse_loss", "def mse_loss(y_hat, y):\n    return float('nan')\n"),
            replace("relative_error", "def relative_error(a, b):\n    return 1e-20 + 0j\n"),
            replace(
                "numerical_gradient",
                "def numerical_gradient(f, theta, eps=1e-6):\n"
                "    return np.array(theta, dtype=object)\n",
            ),
            replace(
                "backward",
                "def backward(X, y, params, g):\n    return 'all gradients are correct'\n",
            ),
        ),
        {
            "what": "returns NaN, a complex number, an object array and a string",
            "flags": [],
            "zero": ["mse_loss", "relative_error", "numerical_gradient", "backward"],
        },
    ),
    "h22_syntax_error": (
        "mlp_backprop",
        replace("mse_loss", "def mse_loss(y_hat, y)\n    return float(np.mean((y_hat - y)**2))\n"),
        {"what": "a syntax error in the mse_loss cell", "flags": [], "zero": ["mse_loss"]},
    ),
    "h23_corrupt_notebook": (
        "mlp_backprop",
        "corrupt",
        {"what": "an mlp_backprop notebook that is not valid JSON", "flags": [], "zero": "all"},
    ),
    "h24_missing_notebook": (
        "mlp_backprop",
        "missing",
        {"what": "no mlp_backprop notebook at all", "flags": [], "zero": "all"},
    ),
    "h25_edited_locked_cells": (
        "mlp_backprop",
        both(
            edit_locked(
                "setup_imports",
                "np.allclose = lambda *a, **k: True\n"
                "np.testing.assert_allclose = lambda *a, **k: None\n",
            ),
            edit_locked("setup_activations", "relu = identity = tanh = None\n"),
            WRONG_MSE,
        ),
        {
            "what": "edits the locked setup cells (patches numpy, breaks the activations), "
            "with a wrong mse_loss",
            "flags": ["tampering"],
            "zero": ["mse_loss"],
        },
    ),
    "h26_network": (
        "mlp_backprop",
        insert_after(
            "setup_imports",
            """
            import socket, urllib.request
            try:
                _s = socket.create_connection(("1.1.1.1", 80), timeout=2)
                _s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
            except OSError as exc:
                print("no network:", exc)
            try:
                urllib.request.urlopen("http://example.com", timeout=2)
            except OSError as exc:
                print("no network:", exc)
            """,
        ),
        {"what": "tries to reach the network", "flags": ["network"], "zero": []},
    ),
    "h27_secrets": (
        "mlp_backprop",
        insert_after(
            "setup_imports",
            """
            import os
            print(sorted(os.environ.items()))
            for _path in ["/etc/shadow", "/root/.ssh/id_rsa", os.path.expanduser("~/.ssh/id_rsa"),
                          "/proc/1/environ", "/proc/self/environ"]:
                try:
                    print(_path, open(_path).read()[:200])
                except OSError as exc:
                    print(_path, type(exc).__name__)
            """,
        ),
        {
            "what": "prints the environment and tries to read keys and other processes' secrets",
            "flags": [],
            "zero": [],
        },
    ),
    "h28_autodiff": (
        "mlp_backprop",
        insert_after(
            "setup_imports",
            """
            try:
                import torch
            except ImportError:
                torch = None
            try:
                import jax
            except ImportError:
                jax = None
            import autograd.numpy as anp
            from autograd import grad
            """,
        ),
        {
            "what": "imports automatic differentiation libraries",
            "flags": ["autodiff-import"],
            "zero": [],
        },
    ),
    "h29_patch_linalg": (
        "logistic_hessian",
        insert_after(
            "setup_imports",
            "np.linalg.solve = lambda A, b: np.zeros_like(b)\nnp.allclose = lambda *a, **k: True\n",
        ),
        {
            "what": "replaces np.linalg.solve (its own Newton steps then do nothing)",
            "flags": ["tampering"],
            "zero": ["newton_step", "fit_newton"],
        },
    ),
}


def _load(assignment: str):
    path = BASE / assignment / f"{NOTEBOOKS[assignment]}.ipynb"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run samples/make_samples.py first")
    return nbformat.read(path, as_version=4)


def main(out: Path = OUT, expected_path: Path = HERE / "expected.json") -> None:
    """Write the corpus into ``out`` and what each case must do into ``expected_path``."""
    if out.exists():
        shutil.rmtree(out)
    expected = {"decoy": DECOY, "daemon_mark": DAEMON_MARK, "cases": {}}
    for student, (assignment, edit, outcome) in CASES.items():
        for other in ASSIGNMENTS:
            folder = out / student / other
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{NOTEBOOKS[other]}.ipynb"
            nb = copy.deepcopy(_load(other))
            if other != assignment:
                nbformat.write(nb, path)
            elif edit == "corrupt":
                text = nbformat.writes(nb)
                path.write_text(text[: len(text) // 2])
            elif edit == "missing":
                folder.rmdir()
            else:
                edit(nb)
                nbformat.write(nb, path)
        zero = PARTS[assignment] if outcome["zero"] == "all" else outcome["zero"]
        keep = {a: [p for p in PARTS[a] if a != assignment or p not in zero] for a in ASSIGNMENTS}
        expected["cases"][student] = {"assignment": assignment, **outcome, "keep": keep}
    expected_path.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"{len(CASES)} cases written to {out}")


if __name__ == "__main__":
    main()
