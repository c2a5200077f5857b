"""Does ``run_submission`` run student code isolated, and bring back only plain numbers?

Most tests run in both isolation modes where that makes sense; tests of what only bubblewrap
provides (no repository in view, no network, contained fork bombs, a clean process table)
skip with a reason when bwrap is not installed. CI installs it (``make system-deps``).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from autograder import sandbox, sandbox_worker
from autograder.protocol import ActivationRef, Call, FunctionRef, Limits, cell_digest
from autograder.sandbox import run_submission
from autograder.worker import loader
from autograder.worker.job import Job

try:
    import import_graph_tools as ig
    from tree_tools import assert_same_tree
except ImportError:  # tests/ imported as a package
    from tests import import_graph_tools as ig
    from tests.tree_tools import assert_same_tree

HAVE_BWRAP = shutil.which("bwrap") is not None
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap (bwrap) is not installed")
MODES = [pytest.param("bwrap", marks=needs_bwrap), "fallback"]

# Honest code needs milliseconds, but the test machine may be busy: the default limits for
# tests where nothing hangs, short ones (still ample) where something does.
OK = Limits()
HANG = Limits(part_seconds=1, load_seconds=1)

DOUBLE = "import numpy as np\n\ndef double(x):\n    return 2 * np.asarray(x)\n"
X = np.arange(3.0)


def _calls(*parts: str) -> list[Call]:
    return [Call(p, (X,)) for p in parts]


def _value(run, part: str, index: int = 0):
    outcome = run.parts[part].outcomes[index]
    assert outcome.error is None, outcome.error
    return outcome.value


def _host_processes(pattern: str) -> list[str]:
    """Command lines on the grading machine containing ``pattern`` (not this test's own)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if pattern in cmd:
            found.append(cmd)
    return found


def _uid_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        count += int(line.split()[1]) == uid
                        break
        except OSError:
            continue
    return count


# -- the protocol's semantics ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_values_come_back_as_trees_of_their_kind(mode):
    """Do tuples, lists and dicts come back as tuples and dicts, floats as float64, ints as
    int64 and bools as bool, parts in order?"""
    cells = [
        "import numpy as np",
        "def tree(x):\n    return (x, [1, 2.5], {'a': np.int32(3), 'b': (True,)})",
        "def scalar(x):\n    return float(x.sum())",
    ]
    run = run_submission(cells, _calls("tree", "scalar"), OK, mode=mode)
    assert run.isolation == mode
    assert list(run.parts) == ["tree", "scalar"]
    value = _value(run, "tree")
    assert isinstance(value, tuple) and len(value) == 3
    np.testing.assert_array_equal(value[0], X)
    assert value[0].dtype == np.float64
    assert isinstance(value[1], tuple) and value[1][1].shape == ()
    assert value[1][0].dtype == np.int64 and value[1][1].dtype == np.float64
    assert value[2]["a"].dtype == np.int64 and value[2]["a"] == 3
    assert value[2]["b"][0].dtype == np.bool_ and value[2]["b"][0]
    scalar = _value(run, "scalar")
    assert scalar.shape == () and scalar.dtype == np.float64 and scalar == 3.0


@pytest.mark.parametrize("mode", MODES)
def test_integer_labels_and_masks_reach_the_student_as_sent(mode):
    """Does a function that indexes with integer labels (``P[np.arange(N), y]``) and a bool
    mask work in the sandbox as in-process, its inputs arriving as int64 and bool?"""
    cells = [
        "import numpy as np\n"
        "def pick(P, y, mask):\n"
        "    return P[np.arange(len(y)), y], P[mask]\n"
        "def dtypes(P, y, mask):\n"
        "    return [y.dtype == np.int64, mask.dtype == np.bool_]\n"
    ]
    P = np.arange(12.0).reshape(4, 3)
    y = np.array([0, 2, 1, 2])
    mask = np.array([True, False, False, True])
    calls = [Call("pick", (P, y, mask)), Call("dtypes", (P, y, mask))]
    run = run_submission(cells, calls, OK, mode=mode)
    rows, masked = _value(run, "pick")
    np.testing.assert_array_equal(rows, P[np.arange(4), y])
    np.testing.assert_array_equal(masked, P[mask])
    assert [bool(v) for v in _value(run, "dtypes")] == [True, True]


# Values returned by a student's function, the same cell run in the sandbox and in-process.
RETURNS_CELL = (
    "import numpy as np\n"
    "VALUES = {\n"
    "    'float': 2.5, 'int': 7, 'bool': True, 'nan': float('nan'),\n"
    "    'labels': np.array([0, 2, 1]), 'mask': np.array([[True, False]]),\n"
    "    'float32': np.ones((2, 2), dtype=np.float32), 'uint8': np.uint8(200),\n"
    "    'tree': ({'W1': np.eye(2), 'b3': 0.5, 'n': np.int32(4)}, [np.zeros(0), (False,)]),\n"
    "    'empty': [], 'complex': np.ones(2) * 1j, 'none': None, 'str': 'Score: 17/17',\n"
    "    'intkey': {1: 2.0}, 'huge': 2**70, 'object': np.array([1, 'a'], dtype=object),\n"
    "}\n"
    "def pick(name):\n    return VALUES[name]\n"
)


@pytest.mark.parametrize("mode", MODES)
def test_the_sandbox_and_the_in_process_converter_agree(mode):
    """Does every value come back from the sandbox exactly as ``plain_tree`` converts it in
    this process (same types, dtypes, shapes and numbers), and is every refusal worded the
    same?"""
    from autograder.worker.convert import NotNumbersError, plain_tree

    namespace: dict = {}
    exec(RETURNS_CELL, namespace)  # noqa: S102 - the test's own code
    names = sorted(namespace["VALUES"])
    run = run_submission([RETURNS_CELL], [Call("pick", (n,)) for n in names], OK, mode=mode)
    outcomes = run.parts["pick"].outcomes
    assert len(outcomes) == len(names)
    refused = 0
    for name, outcome in zip(names, outcomes, strict=True):
        try:
            plain = plain_tree(namespace["VALUES"][name])
        except NotNumbersError as exc:
            assert outcome.value is None and outcome.error == str(exc), name
            refused += 1
            continue
        assert outcome.error is None, (name, outcome.error)
        assert_same_tree(plain, outcome.value)
    assert 0 < refused < len(names)


@pytest.mark.parametrize("mode", MODES)
def test_non_numbers_become_plain_errors(mode):
    """Are complex, object, str, None, functions and rigged objects refused in plain words?"""
    cells = [
        "import numpy as np\n"
        "class Rigged:\n"
        "    def __eq__(self, other): return True\n"
        "    def __array__(self, *a, **k): return np.zeros(3)\n"
        "    def __array_ufunc__(self, *a, **k): return True\n"
        "RESULTS = {'complex': 1j * np.ones(2), 'object': np.array([1, 'a'], dtype=object),\n"
        "           'str': 'Score: 17/17', 'none': None, 'func': len, 'rigged': Rigged(),\n"
        "           'intkey': {1: 2.0}, 'nested_complex': (1.0, [2j])}\n"
        "def pick(name):\n    return RESULTS[name]\n"
    ]
    names = ["complex", "object", "str", "none", "func", "rigged", "intkey", "nested_complex"]
    calls = [Call("pick", (n,)) for n in names]
    run = run_submission(cells, calls, OK, mode=mode)
    errors = dict(zip(names, [o.error for o in run.parts["pick"].outcomes], strict=True))
    assert "complex" in errors["complex"]
    assert "object" in errors["object"]
    assert "str" in errors["str"]
    assert "None" in errors["none"]
    assert "function" in errors["func"]
    assert "Rigged" in errors["rigged"]
    assert "key" in errors["intkey"]
    assert "complex" in errors["nested_complex"]
    assert all(o.value is None for o in run.parts["pick"].outcomes)


# Cells that write a forged outcome frame into every pipe the part's process holds (its answer
# pipe among them), then return honestly.
FORGE = (
    "import json, os, stat, struct\n"
    "def forge(node, blob):\n"
    "    header = json.dumps({'k': 'outcome', 'value': node, 'error': None}).encode()\n"
    "    frame = b'GBH1' + struct.pack('<IQ', len(header), len(blob)) + header + blob\n"
    "    for fd in range(3, 256):\n"
    "        try:\n"
    "            if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
    "                os.write(fd, frame)\n"
    "        except OSError:\n"
    "            pass\n"
)
FORGED = {
    "unknown_dtype": ("{'a': ['f4', 0, [1]]}", "bytes(8)"),
    "misaligned": ("{'a': ['f8', 4, [1]]}", "bytes(16)"),
    "overflowing": ("{'a': ['i8', 0, [2**62, 2**62]]}", "bytes(8)"),
    "bool_byte": ("{'a': ['b1', 0, [1]]}", "bytes([2]) + bytes(7)"),
    "reread": ("{'t': [{'a': ['f8', 0, [1]]}] * 2}", "bytes(8)"),
    "old_layout": ("{'a': [0, [1]]}", "bytes(8)"),
}


@pytest.mark.parametrize("mode", MODES)
def test_forged_answers_with_hostile_arrays_are_refused(mode):
    """Is an answer frame a part forges with an unknown dtype, a misaligned offset, an
    overflowing shape, a bool byte of 2, bytes read twice or the old layout refused as broken
    and flagged, while the honest parts keep their numbers?"""
    cells = [DOUBLE, FORGE] + [
        f"def {name}(x):\n    forge({node}, {blob})\n    return x\n"
        for name, (node, blob) in FORGED.items()
    ]
    run = run_submission(cells, _calls(*FORGED, "double"), OK, mode=mode)
    for name in FORGED:
        outcomes = run.parts[name].outcomes
        assert len(outcomes) == 1 and outcomes[0].value is None, name
        assert outcomes[0].error == "sent back an answer in a broken format", name
    assert "tampering" in run.flags
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


@pytest.mark.parametrize("mode", MODES)
def test_nan_results_are_numbers(mode):
    """Is a NaN answer passed on as a number (for the grader to judge), not as an error?"""
    run = run_submission(["def f(x):\n    return x * float('nan')"], _calls("f"), OK, mode=mode)
    assert np.isnan(_value(run, "f")).all()


@pytest.mark.parametrize("mode", MODES)
def test_a_broken_cell_loses_only_its_own_definitions(mode):
    """Do a syntax error and an exception cost only their cells, with the cell named?"""
    cells = [
        "def broken(x:\n    return x",
        DOUBLE,
        "raise ValueError('boom')\ndef lost(x):\n    return x",
        "%matplotlib inline\n!pip install torch\ndef magic(x):\n    return x + 1",
    ]
    run = run_submission(cells, _calls("double", "lost", "magic", "broken"), OK, mode=mode)
    assert run.cell_errors[0].startswith("cell 0: SyntaxError")
    assert run.cell_errors[1] == "cell 2: ValueError: boom"
    assert len(run.cell_errors) == 2
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    np.testing.assert_array_equal(_value(run, "magic"), X + 1)
    assert run.parts["lost"].error == "not defined" and "missing" in run.parts["lost"].flags
    assert run.parts["broken"].error == "not defined"


@pytest.mark.parametrize("mode", MODES)
def test_function_and_activation_references_are_built_in_the_sandbox(mode):
    """Does a part receive real activations and test functions, and report mutated inputs?"""
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -1.0])
    cells = [
        "import numpy as np\n"
        "def act(Z, g):\n    return g.f(Z), g.df(Z)\n"
        "def numgrad(f, theta, eps=1e-6):\n"
        "    theta[0] += 0.0\n"
        "    out = np.zeros_like(theta)\n"
        "    for i in range(theta.size):\n"
        "        e = np.zeros_like(theta); e[i] = eps\n"
        "        out[i] = (f(theta + e) - f(theta - e)) / (2 * eps)\n"
        "    theta[1] = 99.0\n"
        "    return out\n"
    ]
    theta = np.array([0.3, -0.2])
    calls = [
        Call("act", (np.array([-1.0, 2.0]), ActivationRef("relu"))),
        Call(
            "numgrad",
            (FunctionRef("quadratic", {"A": A, "b": b}), theta),
            {"eps": 1e-6},
            return_args=True,
        ),
    ]
    run = run_submission(cells, calls, OK, mode=mode)
    f, df = _value(run, "act")
    np.testing.assert_array_equal(f, [0.0, 2.0])
    np.testing.assert_array_equal(df, [0.0, 1.0])
    outcome = run.parts["numgrad"].outcomes[0]
    np.testing.assert_allclose(outcome.value, A @ theta + b, rtol=1e-6)
    assert outcome.args_after[0] is None
    assert outcome.args_after[1][1] == 99.0
    assert theta[1] == -0.2  # the grader's own array is never touched


# -- what the sandbox ships ----------------------------------------------------------------------

PACKAGE = Path(sandbox.__file__).resolve().parent
# What the worker may import from the grader's package: nothing that knows an answer.
WORKER_MAY_IMPORT = {"autograder.activations", "autograder.protocol", "autograder.test_functions"}


def test_the_worker_imports_nothing_that_knows_an_answer():
    """Does every module of the worker import only the worker itself, the activations, the
    protocol and the test functions, never the reference, the checks or the grader?"""
    for path in sorted((PACKAGE / "worker").glob("*.py")):
        # ("from .. import protocol" names the package; its modules are checked one by one.)
        for module in ig.imports(path) - {"autograder"}:
            allowed = module in WORKER_MAY_IMPORT or module.startswith("autograder.worker")
            assert allowed, f"{path.name} imports {module}"


def test_the_sandbox_modules_import_no_cycle():
    """Do the sandbox's modules, on both sides, import each other without a cycle?"""
    paths = [*PACKAGE.glob("sandbox*.py"), PACKAGE / "protocol.py", *PACKAGE.glob("worker/*.py")]
    # (An arrow to a package itself, as "from . import loader" draws, says "part of".)
    graph = {m: ts - {"autograder", "autograder.worker"} for m, ts in ig.graph(paths).items()}
    assert ig.cycles(graph) == []
    assert "autograder.worker.attempt" in graph["autograder.worker.supervisor"]


def test_the_shipped_package_holds_exactly_the_workers_code():
    """Does the copy the sandbox sees hold the worker package and the three shared modules,
    compiled, and nothing else of the grader (no reference, checks, sandbox or CLI)?"""
    lib = Path(sandbox_worker.shipped_package())
    files = {str(p.relative_to(lib)) for p in lib.rglob("*.py") if "__pycache__" not in p.parts}
    worker = {f"autograder/worker/{p.name}" for p in (PACKAGE / "worker").glob("*.py")}
    shared = {f"autograder/{name}" for name in sandbox_worker.SHIPPED_MODULES}
    assert files == worker | shared | {"autograder/__init__.py"}
    assert "autograder/worker/attempt.py" in files and "autograder/worker/tree.py" in files
    assert not (lib / "autograder" / "reference").exists()
    assert not (lib / "autograder" / "checks").exists()
    assert any((lib / "autograder" / "worker" / "__pycache__").glob("supervisor*.pyc"))


# -- hangs, crashes, exits ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_an_endless_cell_costs_that_cell_only(mode):
    """Is a top-level infinite loop stopped, flagged, and the cells after it still run?"""
    run = run_submission(["while True:\n    pass", DOUBLE], _calls("double"), HANG, mode=mode)
    assert "timeout" in run.flags
    assert run.cell_errors[0].startswith("cell 0: did not finish")
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


@pytest.mark.parametrize("mode", MODES)
def test_a_cell_that_ignores_signals_is_killed_and_skipped(mode):
    """Is a loop that ignores SIGALRM and SIGTERM killed, and the notebook loaded without it?"""
    hang = (
        "import signal\n"
        "for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "while True:\n    pass\n"
    )
    run = run_submission([DOUBLE, hang], _calls("double"), HANG, mode=mode)
    assert "timeout" in run.flags
    assert any(e.startswith("cell 1:") and "killed" in e for e in run.cell_errors)
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


@pytest.mark.parametrize("mode", MODES)
def test_an_endless_part_costs_that_part_only(mode):
    """Does a part that never returns time out while the parts around it keep their results?"""
    cells = [DOUBLE, "def spin(x):\n    while True:\n        pass"]
    run = run_submission(cells, _calls("double", "spin", "double2"), HANG, mode=mode)
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    assert run.parts["spin"].error.startswith("timed out")
    assert "timeout" in run.parts["spin"].flags and "timeout" in run.flags
    assert run.parts["double2"].error == "not defined"  # ran, after reloading the notebook


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("import sys\n    sys.exit(0)", "sys.exit"),
        ("import os\n    os._exit(3)", "exited"),
        ("import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)", "signal 9"),
        ("import ctypes\n    return ctypes.string_at(0)", "signal 11"),
    ],
)
def test_a_part_that_exits_or_crashes_costs_that_part_only(mode, body, words):
    """Do sys.exit, os._exit, killing itself and a segfault in a part cost that part only?"""
    cells = [DOUBLE, f"def bad(x):\n    {body}"]
    run = run_submission(cells, [*_calls("bad"), *_calls("double")], OK, mode=mode)
    part = run.parts["bad"]
    text = part.error or part.outcomes[0].error
    assert words in text
    assert "crash" in run.flags
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


TRIPLE = "def triple(x):\n    return 3 * np.asarray(x)\n"


@pytest.mark.parametrize("mode", MODES)
def test_honest_parts_share_one_process(mode):
    """Do the parts of an honest notebook run one after another in a single process?"""
    cells = [
        "import os\n"
        "def pid_a(x):\n    return os.getpid()\n"
        "def pid_b(x):\n    return os.getpid()\n"
        "def pid_c(x):\n    return os.getpid()\n"
    ]
    run = run_submission(cells, _calls("pid_a", "pid_b", "pid_c"), OK, mode=mode)
    pids = {float(_value(run, p)) for p in ("pid_a", "pid_b", "pid_c")}
    assert len(pids) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "body",
    [
        # numpy patched: flagged as tampering
        "np.asarray = lambda *a, **k: np.zeros(3)",
        # a name of the notebook rebound: not tampering, but state the next part would see
        "global triple\n    triple = lambda x: x",
        # a timer whose handler would interrupt whatever runs next
        "import signal\n"
        "    signal.signal(signal.SIGALRM, lambda *a: 1 / 0)\n"
        "    signal.setitimer(signal.ITIMER_REAL, 0.05)",
        # a thread that would patch numpy in the middle of the next part
        "import threading, time\n"
        "    def later():\n"
        "        time.sleep(0.1)\n"
        "        np.asarray = lambda *a, **k: np.zeros(3)\n"
        "    threading.Thread(target=later, daemon=True).start()",
    ],
    ids=["numpy-patch", "rebound-name", "timer", "thread"],
)
def test_a_part_that_leaves_state_behind_costs_the_next_part_nothing(mode, body):
    """Does an honest part after one that patched numpy, rebound a name, set a timer or
    started a thread still get the right numbers, from a fresh process?"""
    cells = [
        DOUBLE,
        TRIPLE.replace("return", "import time\n    time.sleep(0.2)\n    return"),
        f"import os\ndef meddle(x):\n    {body}\n    return os.getpid()\n",
        "def pid(x):\n    return os.getpid()\n",
    ]
    run = run_submission(cells, _calls("double", "meddle", "triple", "pid"), OK, mode=mode)
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    np.testing.assert_array_equal(_value(run, "triple"), 3 * X)
    assert run.parts["meddle"].error is None
    assert float(_value(run, "pid")) != float(_value(run, "meddle"))
    if body.startswith("np.asarray"):
        assert "tampering" in run.flags


@pytest.mark.parametrize("mode", MODES)
def test_a_part_that_hangs_after_others_costs_only_itself(mode):
    """Does a part that hangs in the process its earlier parts ran in time out, and do the
    parts before and after it keep their results?"""
    cells = [DOUBLE, TRIPLE, "def spin(x):\n    while True:\n        pass"]
    run = run_submission(cells, _calls("double", "spin", "triple"), HANG, mode=mode)
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    np.testing.assert_array_equal(_value(run, "triple"), 3 * X)
    assert run.parts["spin"].error == f"timed out after {HANG.part_seconds:g} s"
    assert run.parts["spin"].flags == {"timeout"}


@pytest.mark.parametrize("mode", MODES)
def test_a_part_that_kills_its_process_after_others_costs_only_itself(mode):
    """Does a part that kills the process shared with earlier parts cost only itself?"""
    cells = [
        DOUBLE,
        TRIPLE,
        "import os, signal\ndef die(x):\n    os.kill(os.getpid(), signal.SIGKILL)\n",
    ]
    run = run_submission(cells, _calls("double", "die", "triple"), OK, mode=mode)
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    np.testing.assert_array_equal(_value(run, "triple"), 3 * X)
    assert "signal 9" in run.parts["die"].error
    assert run.parts["die"].flags == {"crash"}
    assert "crash" in run.flags


@pytest.mark.parametrize("mode", MODES)
def test_a_part_that_fails_only_after_another_is_run_again_fresh(mode):
    """Is a part that dies only because of what an earlier part did in the shared process
    run again, first in a fresh process, and judged by that run?"""
    cells = [
        "import os\nSEEN = []\n"
        "def first(x):\n    SEEN.append(1)\n    return x\n"
        "def fragile(x):\n    if SEEN:\n        os._exit(1)\n    return 2 * x\n"
    ]
    run = run_submission(cells, _calls("first", "fragile"), OK, mode=mode)
    np.testing.assert_array_equal(_value(run, "first"), X)
    np.testing.assert_array_equal(_value(run, "fragile"), 2 * X)
    assert "crash" not in run.flags


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "cell",
    [
        "import os\nos._exit(0)",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "import ctypes\nctypes.string_at(0)",
    ],
)
def test_a_cell_that_kills_the_process_is_skipped(mode, cell):
    """Is a cell that ends the notebook's process skipped on a reload, with its reason?"""
    run = run_submission([cell, DOUBLE], _calls("double"), OK, mode=mode)
    assert "crash" in run.flags
    assert run.cell_errors[0].startswith("cell 0: ended the notebook's process")
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


@pytest.mark.parametrize("mode", MODES)
def test_a_memory_bomb_is_stopped_and_flagged(mode):
    """Does allocating far past the memory limit fail inside the submission, flagged memory?"""
    cells = [
        DOUBLE,
        "hog = bytearray(8 * 1024**3)",
        "def bomb(x):\n    return np.ones(10**10)",
    ]
    run = run_submission(cells, _calls("bomb", "double"), OK, mode=mode)
    assert "memory" in run.flags
    assert run.cell_errors == ["cell 1: ran out of memory"]
    assert run.parts["bomb"].outcomes[0].error == "ran out of memory"
    assert "memory" in run.parts["bomb"].flags
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


@pytest.mark.parametrize("mode", MODES)
def test_huge_output_is_truncated_and_kept_apart(mode):
    """Is 100 MB of printing cut to the limit, flagged, and never mistaken for an answer?"""
    cells = [
        "import sys\nfor _ in range(100):\n    sys.stdout.write('Score: 17/17\\n' * 80000)\n",
        DOUBLE,
        "def noisy(x):\n    print('GBH1' * 1000)\n    import os\n    os.write(1, b'GBH1' * 1000)\n"
        "    return 2 * x",
    ]
    limits = Limits(part_seconds=10, load_seconds=10, max_output_bytes=4096)
    run = run_submission(cells, _calls("double", "noisy"), limits, mode=mode)
    assert "output-truncated" in run.flags
    assert len(run.output.encode()) <= 4096
    assert run.output.startswith("Score: 17/17")
    np.testing.assert_array_equal(_value(run, "noisy"), 2 * X)


# -- isolation: files, processes, network, secrets ------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_started_processes_are_gone_afterwards(mode):
    """Are sleep daemons started at top level and inside a part gone when the run is over?"""
    tag = f"{uuid.uuid4().int % 10**6}.25"
    cells = [
        DOUBLE,
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '{tag}'], start_new_session=True)\n"
        f"subprocess.Popen(['sh', '-c', 'sleep {tag} &'])\n",
        "def spawn(x):\n"
        "    import subprocess, os\n"
        f"    subprocess.Popen(['sleep', '{tag}'], start_new_session=True)\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        f"        os.execvp('sleep', ['sleep', '{tag}'])\n"
        "    return x",
    ]
    run = run_submission(cells, _calls("spawn", "double"), OK, mode=mode)
    np.testing.assert_array_equal(_value(run, "spawn"), X)
    assert _host_processes(f"sleep {tag}") == []


@needs_bwrap
def test_the_course_repository_is_not_in_view():
    """Can a submission neither see the repository nor read solutions, and is it flagged?"""
    root = str(sandbox.REPO_ROOT)
    cells = [
        "import os\n"
        f"SEEN = [os.path.exists({root!r}), os.path.exists({root + '/solutions'!r}),\n"
        f"        os.path.exists({root + '/autograder/reference'!r})]\n"
        "def seen(x):\n    return SEEN\n",
        f"open({root + '/solutions/mlp_backprop/mlp_backprop.ipynb'!r}).read()",
        "from autograder.reference import backward",
        "import autograder, os\n"
        "PKG = sorted(os.listdir(os.path.dirname(autograder.__file__)))\n"
        "def pkg(x):\n    return [len(PKG), 'reference' in PKG, 'checks' in PKG]",
    ]
    run = run_submission(cells, _calls("seen", "pkg"), OK, mode="bwrap")
    assert list(_value(run, "seen")) == [0.0, 0.0, 0.0]
    assert "FileNotFoundError" in run.cell_errors[0]
    assert "ModuleNotFoundError" in run.cell_errors[1]
    n, has_reference, has_checks = _value(run, "pkg")
    assert n > 0 and has_reference == 0.0 and has_checks == 0.0
    assert "forbidden-import" in run.flags


@needs_bwrap
def test_files_outside_the_sandbox_are_untouched(tmp_path):
    """Do deleting the repository and overwriting a file by its host path leave both intact?"""
    victim = tmp_path / "other_student.ipynb"
    victim.write_text("theirs")
    root = str(sandbox.REPO_ROOT)
    cells = [
        "import shutil, os\n"
        f"shutil.rmtree({root!r}, ignore_errors=True)\n"
        f"shutil.rmtree({str(tmp_path)!r}, ignore_errors=True)\n"
        "for p in ['/usr/bin/python3', '/opt/gbh/lib/autograder/activations.py']:\n"
        "    try:\n        os.remove(p)\n    except OSError:\n        pass\n",
        f"open({str(victim)!r}, 'w').write('mine')",
        f"open({root + '/gradebook.db'!r}, 'w').write('x')",
    ]
    run = run_submission(cells, [], OK, mode="bwrap")
    assert victim.read_text() == "theirs"
    assert (sandbox.REPO_ROOT / "autograder" / "activations.py").exists()
    assert not (sandbox.REPO_ROOT / "gradebook.db").exists() or (
        (sandbox.REPO_ROOT / "gradebook.db").read_bytes() != b"x"
    )
    assert len(run.cell_errors) == 2


@needs_bwrap
def test_nothing_carries_over_to_the_next_submission():
    """Are /tmp, /dev/shm and leftover processes of one submission gone for the next?"""
    plant = (
        "import os, subprocess\n"
        "open('/tmp/planted', 'w').write('x')\n"
        "open('/dev/shm/planted', 'w').write('x')\n"
        "subprocess.Popen(['sleep', '1000'])\n"
    )
    run_submission([plant], [], OK, mode="bwrap")
    probe = (
        "import os\n"
        "FOUND = [os.path.exists('/tmp/planted'), os.path.exists('/dev/shm/planted'),\n"
        "         len(os.listdir('/proc'))]\n"
        "def found(x):\n    return FOUND\n"
    )
    run = run_submission([probe], _calls("found"), OK, mode="bwrap")
    assert list(_value(run, "found")) == [0.0, 0.0, 0.0]


@needs_bwrap
def test_a_fork_bomb_is_contained():
    """Is a fork bomb stopped by the process limit, and do the honest parts still run?"""
    bomb = (
        "import os, time\n"
        "for i in range(10000):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        while True:\n"
        "            time.sleep(1)\n"
        "FORKED = i\n"
    )
    limits = Limits(part_seconds=5, load_seconds=5, max_processes=32)
    run = run_submission([bomb, DOUBLE], _calls("double"), limits, mode="bwrap")
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    worker = sandbox._get_worker("bwrap")
    # Only the warm supervisor is left under the sandbox's uid.
    assert _uid_processes(worker.slot.uid) == 1


@needs_bwrap
def test_no_network_and_no_secrets(monkeypatch):
    """Is there no network, and are the grader's environment variables out of sight?"""
    monkeypatch.setenv("GBH_TEST_SECRET", "hunter2")
    cells = [
        "import os, socket\n"
        "ENV = dict(os.environ)\n"
        "def secret(x):\n    return [len([v for v in ENV.values() if 'hunter2' in v])]\n"
        "def net(x):\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=1)\n"
        "    return x\n"
    ]
    run = run_submission(cells, _calls("secret", "net"), OK, mode="bwrap")
    assert list(_value(run, "secret")) == [0.0]
    assert run.parts["net"].outcomes[0].error.startswith("raised OSError")
    assert "network" in run.flags


# -- what the instructor is told ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_tampering_is_flagged_and_gains_nothing(mode):
    """Are patched numpy/builtins and planted modules flagged, with the numbers unchanged?"""
    cells = [
        DOUBLE,
        "import builtins, sys, types\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "builtins.isinstance = lambda *a: True\n"
        "sys.modules['autograder.reference'] = types.ModuleType('autograder.reference')\n",
        "def wrong(x):\n    return x + 1000",
    ]
    run = run_submission(cells, _calls("wrong", "double"), OK, mode=mode)
    assert "tampering" in run.flags
    assert any("numpy.allclose" in n for n in run.notes)
    assert any("sys.modules" in n for n in run.notes)
    np.testing.assert_array_equal(_value(run, "wrong"), X + 1000)
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


@pytest.mark.parametrize("mode", MODES)
def test_autodiff_imports_are_flagged(mode):
    """Is importing an automatic differentiation library flagged for the instructor?"""
    cells = [
        "try:\n    import torch\nexcept ImportError:\n    pass",
        "import autograd.numpy as anp",
    ]
    run = run_submission(cells, [], OK, mode=mode)
    assert "autodiff-import" in run.flags
    assert {"torch", "autograd"} <= run.imports


def test_env_var_forces_the_fallback(monkeypatch):
    """Does GBH_SANDBOX=fallback select the fallback, and does it say so?"""
    monkeypatch.setenv(sandbox.ENV_MODE, "fallback")
    assert sandbox.isolation_mode() == "fallback"
    run = run_submission([DOUBLE], _calls("double"), OK)
    assert run.isolation == "fallback"


def test_a_bad_mode_is_refused(monkeypatch):
    """Is a misspelt GBH_SANDBOX refused rather than silently ignored?"""
    monkeypatch.setenv(sandbox.ENV_MODE, "bwarp")
    with pytest.raises(sandbox.SandboxError):
        sandbox.isolation_mode()


@needs_bwrap
def test_the_worker_is_warm_and_survives_hostile_submissions():
    """Is one warm worker reused across submissions, hostile ones included?"""
    run_submission([DOUBLE], _calls("double"), OK, mode="bwrap")
    pid = sandbox._get_worker("bwrap").proc.pid
    for cell in (
        "import os\nos.kill(os.getppid(), 9)",
        "import os\nos.kill(1, 9)",
        "import os\nos.kill(-1, 9)",
    ):
        run = run_submission([cell, DOUBLE], _calls("double"), OK, mode="bwrap")
        np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    assert sandbox._get_worker("bwrap").proc.pid == pid


def test_shutdown_leaves_no_worker_and_no_files():
    """After shutdown, are this process's workers gone, with their directories and the
    shipped code, and does the next submission start a fresh worker?"""
    run_submission([DOUBLE], _calls("double"), OK, mode="fallback")
    workers = [w for w in sandbox._all_workers if w.proc is not None]
    assert workers
    pids = [w.proc.pid for w in workers]
    dirs = [w.workdir for w in workers]
    lib = sandbox_worker.shipped_package()
    assert os.path.isdir(lib) and all(os.path.isdir(d) for d in dirs)
    sandbox.shutdown()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not os.path.exists(lib)
    assert not any(os.path.exists(d) for d in dirs)
    assert sandbox._all_workers == []
    run = run_submission([DOUBLE], _calls("double"), OK, mode="fallback")
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    assert sandbox._get_worker("fallback").proc.pid not in pids


@needs_bwrap
def test_a_forked_grader_does_not_stop_its_parents_worker():
    """Does a process forked from the grader start its own worker and leave the parent's be?"""
    run_submission([DOUBLE], _calls("double"), OK, mode="bwrap")
    parent_worker = sandbox._get_worker("bwrap")
    pid = os.fork()
    if pid == 0:  # the child grades one notebook, shuts its workers down, and leaves
        code = 1
        try:
            run = run_submission([DOUBLE], _calls("double"), OK, mode="bwrap")
            sandbox.shutdown()
            code = 0 if run.parts["double"].outcomes[0].error is None else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sandbox._get_worker("bwrap") is parent_worker and parent_worker.alive()
    run = run_submission([DOUBLE], _calls("double"), OK, mode="bwrap")
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


@pytest.mark.parametrize("mode", MODES)
def test_big_files_are_refused(mode):
    """Does writing past the file size limit fail inside the submission, costing that cell?"""
    cells = ["open('big.bin', 'wb').write(b'x' * (4 * 1024**2))", DOUBLE]
    limits = Limits(max_file_bytes=1024**2)
    run = run_submission(cells, _calls("double"), limits, mode=mode)
    assert run.cell_errors[0].startswith("cell 0: OSError")
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)


@needs_bwrap
def test_the_submission_sees_only_its_own_processes():
    """Can a submission reach no process but its own (not the worker, not the grader)?"""
    cells = [
        "import os\n"
        "def reachable(x):\n"
        "    found = []\n"
        "    for pid in range(1, 5000):\n"
        "        try:\n"
        "            os.kill(pid, 0)\n"
        "            found.append(pid)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return [len(found), max(found)]\n"
    ]
    run = run_submission(cells, _calls("reachable"), OK, mode="bwrap")
    count, highest = _value(run, "reachable")
    # The namespace's init and the loader, which runs a freshly loaded notebook's parts
    # itself: nothing else exists for it.
    assert count == 2 and highest == 2


@needs_bwrap
def test_bubblewrap_works_for_a_grader_that_is_not_root(monkeypatch):
    """Does the bwrap mode for non-root graders (a user namespace, no setpriv) load, run
    parts, contain a crash and end daemons?"""
    sandbox.shutdown()
    monkeypatch.setattr(sandbox_worker, "_privileged", lambda: False)
    try:
        tag = f"{uuid.uuid4().int % 10**6}.5"
        cells = [
            DOUBLE,
            f"import subprocess\nsubprocess.Popen(['sleep', '{tag}'], start_new_session=True)",
            "def crash(x):\n    import ctypes\n    return ctypes.string_at(0)",
        ]
        run = run_submission(cells, _calls("crash", "double"), OK, mode="bwrap")
        assert run.isolation == "bwrap"
        assert sandbox._get_worker("bwrap").slot is None
        assert "signal 11" in run.parts["crash"].error
        np.testing.assert_array_equal(_value(run, "double"), 2 * X)
        assert _host_processes(f"sleep {tag}") == []
    finally:
        sandbox.shutdown()


# -- the hostile corpus, straight through the sandbox ------------------------------------------

CORPUS = Path(__file__).resolve().parent / "files" / "hostile"
CORPUS_CASES = json.loads((CORPUS / "expected.json").read_text())["cases"]
# Ample for the corpus's honest code, short enough for its hanging cases.
CORPUS_LIMITS = Limits(part_seconds=2, load_seconds=2)


def _corpus_calls(assignment: str) -> tuple[list[Call], dict]:
    """One call per part on inputs drawn here, and the trusted answers to compare with."""
    from autograder import finite_differences, reference
    from autograder.activations import tanh
    from autograder.test_functions import TEST_FUNCTIONS

    rng = np.random.default_rng(7)
    g = ActivationRef("tanh")
    if assignment == "mlp_backprop":
        ref = reference.mlp
        params = ref.init_params(4, 5, 3, rng)
        X, y = rng.normal(size=(6, 4)), rng.normal(size=6)
        y_hat, cache = ref.forward(X, params, tanh)
        d3 = ref.grad_output(y_hat, y)
        dW2, db2, d2 = ref.grad_layer2(d3, cache, params, tanh)
        A = np.array([[3.0, 1.0], [1.0, 2.0]])
        b = np.array([0.5, -1.0])
        theta = np.array([0.2, -0.4])
        a1, a2 = rng.normal(size=5), rng.normal(size=5)
        table = {
            "forward": ((X, params, g), (y_hat, cache)),
            "mse_loss": ((y_hat, y), ref.mse_loss(y_hat, y)),
            "grad_output": ((y_hat, y), d3),
            "grad_layer3": ((d3, cache), ref.grad_layer3(d3, cache)),
            "grad_layer2": ((d3, cache, params, g), (dW2, db2, d2)),
            "grad_layer1": ((d2, X, cache, params, g), ref.grad_layer1(d2, X, cache, params, tanh)),
            "backward": ((X, y, params, g), ref.backward(X, y, params, tanh)),
            "numerical_gradient": (
                (FunctionRef("quadratic", {"A": A, "b": b}), theta),
                TEST_FUNCTIONS["quadratic"].grad(theta, A, b),
            ),
            "relative_error": ((a1, a2), finite_differences.relative_error(a1, a2)),
        }
    else:
        ref = reference.logistic
        X = np.column_stack([rng.normal(size=(30, 2)), np.ones(30)])
        y = (rng.random(30) < 1 / (1 + np.exp(-X @ np.array([1.0, -2.0, 0.3])))).astype(float)
        w = rng.normal(size=3) * 0.3
        z = rng.normal(size=7) * 50
        table = {
            "sigmoid": ((z,), ref.sigmoid(z)),
            "logistic_loss": ((w, X, y), ref.logistic_loss(w, X, y)),
            "logistic_grad": ((w, X, y), ref.logistic_grad(w, X, y)),
            "logistic_hessian": ((w, X), ref.logistic_hessian(w, X)),
            "hessian_diagonal": ((w, X), ref.hessian_diagonal(w, X)),
            "newton_step": ((w, X, y), ref.newton_step(w, X, y)),
            "fit_newton": ((X, y), ref.fit_newton(X, y)),
        }
    calls = [Call(part, args) for part, (args, _) in table.items()]
    return calls, {part: answer for part, (_, answer) in table.items()}


def _close(got, want) -> bool:
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(_close(got[k], want[k]) for k in want)
        )
    if isinstance(want, tuple):
        return (
            isinstance(got, tuple)
            and len(got) == len(want)
            and all(_close(a, b) for a, b in zip(got, want, strict=True))
        )
    want = np.asarray(want, dtype=float)
    return (
        isinstance(got, np.ndarray)
        and got.shape == want.shape
        and bool(np.allclose(got, want, rtol=1e-5, atol=1e-8))
    )


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("case", sorted(CORPUS_CASES))
def test_corpus_case_in_the_sandbox(case):
    """Does each hostile notebook, run straight through the sandbox, get its flags, wrong or
    failed answers where expected, and the right numbers everywhere else?"""
    from autograder.submission import SubmissionError, read_code_cells

    expected = CORPUS_CASES[case]
    assignment = expected["assignment"]
    path = CORPUS / "submitted" / case / assignment / f"{assignment}.ipynb"
    try:
        cells = read_code_cells(path)
    except SubmissionError:
        assert expected["zero"] == "all"  # corrupt or missing: the grader's business
        return
    calls, answers = _corpus_calls(assignment)
    run = run_submission(cells, calls, CORPUS_LIMITS, mode="bwrap")
    assert set(expected["flags"]) <= run.flags, (run.flags, run.notes)
    for part, answer in answers.items():
        result = run.parts[part]
        right = (
            result.error is None
            and len(result.outcomes) == 1
            and result.outcomes[0].error is None
            and _close(result.outcomes[0].value, answer)
        )
        if part in expected["zero"]:
            assert not right, f"{case}: {part} came back right"
        else:
            assert right, f"{case}: {part}: {result.error or result.outcomes}"


@pytest.mark.parametrize("mode", MODES)
def test_a_first_part_that_kills_the_loader_costs_only_itself(mode):
    """Does a part that kills the process it runs in, when that is the loader itself (the
    first run of a freshly loaded notebook), cost only itself, the parts after it running in
    a notebook loaded again?"""
    cells = [DOUBLE, TRIPLE, "import os, signal\ndef die(x):\n    os.kill(os.getpid(), 9)\n"]
    run = run_submission(cells, _calls("die", "double", "triple"), OK, mode=mode)
    assert "signal 9" in run.parts["die"].error
    assert run.parts["die"].flags == {"crash"}
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    np.testing.assert_array_equal(_value(run, "triple"), 3 * X)


@pytest.mark.parametrize("mode", MODES)
def test_handout_cells_run_as_the_loader_would_compile_them(mode):
    """Do cells the grader names as the handout's, compiled once by the worker, give what the
    loader's own compilation gives: the same answers, the same errors and line numbers, and a
    changed copy of a handout cell its own code?"""
    handout_cell = "def given(x):\n    return 5 * np.asarray(x)\n"
    broken = "def broken(:\n    pass\n"
    raising = "import numpy as np\n\n\nraise ValueError('on line 4')\n"
    cells = ["import numpy as np", handout_cell, broken, raising]
    handout = frozenset(cell_digest(c) for c in cells)
    plain = run_submission(cells, _calls("given"), OK, mode=mode)
    compiled = run_submission(cells, _calls("given"), OK, mode=mode, handout=handout)
    assert compiled.cell_errors == plain.cell_errors
    assert any("SyntaxError" in e and "line 1" in e for e in compiled.cell_errors)
    np.testing.assert_array_equal(_value(compiled, "given"), 5 * X)
    changed = [cells[0], handout_cell.replace("5 *", "7 *"), "x = 1", "y = 2"]
    run = run_submission(changed, _calls("given"), OK, mode=mode, handout=handout)
    np.testing.assert_array_equal(_value(run, "given"), 7 * X)
    assert run.cell_errors == []


def test_handout_code_is_compiled_once_per_text_and_position():
    """Does the worker keep one code object per handout cell, compile a changed text anew,
    skip a cell that does not compile, and keep no more than its bound?"""
    from autograder.worker.supervisor import HandoutCode

    def job(*cells):
        return Job(cells=list(cells), limits=OK, parts=[], handout=tuple(range(len(cells))))

    code = HandoutCode(size=2)
    first = code.of(job("a = 1", "def f(:"))
    assert list(first) == [0] and first[0].co_filename == "<cell 0>"
    assert code.of(job("a = 1"))[0] is first[0]
    assert code.of(job("a = 2"))[0] is not first[0]
    assert code.of(job("b = 1", "a = 1"))[1] is not first[0]  # another position: another name
    assert len(code.cache) == 2


@pytest.mark.parametrize("mode", MODES)
def test_matplotlib_is_preloaded_only_after_a_submission_imported_it(mode):
    """Does a fresh worker keep matplotlib out of the process every submission is forked
    from until a submission imports it (each fork copies what is loaded), and then keep it?"""
    sandbox.shutdown()  # a fresh worker
    probe = ["import sys\ndef loaded(x):\n    return float('matplotlib' in sys.modules)\n"]
    for _ in range(2):
        assert float(_value(run_submission(probe, _calls("loaded"), OK, mode=mode), "loaded")) == 0
    plotting = [*probe, "import matplotlib.pyplot as plt"]
    run_submission(plotting, _calls("loaded"), OK, mode=mode)
    assert float(_value(run_submission(probe, _calls("loaded"), OK, mode=mode), "loaded")) == 1


@pytest.mark.parametrize("mode", MODES)
def test_answers_larger_than_the_outbox_arrive_whole(mode):
    """Do a part's answers, held back until the part ends, arrive whole and in order when
    together they are larger than what the loader holds back?"""
    n = loader.OUTBOX_BYTES // 8 + 1
    cells = [f"import numpy as np\ndef big(k):\n    return np.full({n}, float(k))\n"]
    calls = [Call("big", (float(k),)) for k in range(3)]
    run = run_submission(cells, calls, OK, mode=mode)
    for k in range(3):
        got = _value(run, "big", k)
        assert got.shape == (n,) and np.all(got == k)


@pytest.mark.parametrize("mode", MODES)
def test_a_notebook_slow_to_load_is_loaded_once_even_if_a_part_leaves_state_behind(mode):
    """Does a notebook whose cells take a while run its parts in forked children from the
    start, so that a part leaving state behind does not cost loading it all again?"""
    meddle = "def meddle(x):\n    global double\n    double = None\n    return 1\n"
    slow = "import time\nprint('loading')\ntime.sleep(0.7)"  # past IN_PLACE_MAX_LOAD_SECONDS
    cells = [slow, DOUBLE, meddle, TRIPLE]
    run = run_submission(cells, _calls("double", "meddle", "triple"), OK, mode=mode)
    np.testing.assert_array_equal(_value(run, "double"), 2 * X)
    np.testing.assert_array_equal(_value(run, "triple"), 3 * X)
    assert run.output.count("loading") == 1
