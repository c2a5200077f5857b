"""What a submission imported or touched, and whether it tampered with numpy or builtins.

Everything recorded here is evidence for the instructor, never part of the verdict: the grade
is computed outside the sandbox from the numbers that come back, so a submission that hides
its tracks from this module gains nothing. The grader also scans the source itself (outside
the sandbox, see :mod:`autograder.sandbox_audit`), which student code cannot influence.
"""

from __future__ import annotations

import builtins
import builtins as _builtins_module
import os
import sys
import types
from typing import Any

import numpy as np
import numpy.linalg
import numpy.testing

from ..protocol import Flag

# A private snapshot of the builtins for this module's functions: a submission that replaces
# ``builtins.isinstance`` (or any other) in its process must not break the worker's own code.
__builtins__ = dict(vars(_builtins_module))

# Automatic differentiation libraries: using one is an integrity signal in a course that
# teaches deriving gradients by hand.
AUTODIFF_MODULES = frozenset(
    {"torch", "jax", "jaxlib", "autograd", "tensorflow", "keras", "tf_keras", "mxnet", "paddle"}
)
# The only parts of the grader's package that exist in the sandbox; anything else under
# ``autograder`` (the reference, the checks, the finite-difference toolkit) is off limits.
ALLOWED_GRADER_MODULES = frozenset(
    {"autograder", "autograder.activations", "autograder.test_functions"}
)
FORBIDDEN_TOP_MODULES = frozenset({"solutions", "nbgrader"})

# Path components that only a submission looking for answers or other students' work would
# open; the real paths do not exist in the sandbox, so this records the attempt.
FORBIDDEN_PATH_PARTS = frozenset({"solutions", "submitted", "autograded", "feedback"})
FORBIDDEN_FILE_NAMES = frozenset({"gradebook.db"})

_NETWORK_EVENTS = frozenset({"socket.connect", "socket.bind", "socket.getaddrinfo"})
_PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "pty.spawn"}
)

# Functions a grader running in the same process would lean on to judge answers; replacing
# any of them is how in-kernel graders are fooled.
_WATCHED_NUMPY = {
    "numpy": (
        "allclose",
        "isclose",
        "array_equal",
        "array_equiv",
        "asarray",
        "array",
        "abs",
        "absolute",
        "max",
        "amax",
        "min",
        "sum",
        "all",
        "any",
        "isfinite",
        "isnan",
        "shape",
        "ndim",
    ),
    "numpy.testing": (
        "assert_allclose",
        "assert_array_equal",
        "assert_array_almost_equal",
        "assert_almost_equal",
        "assert_equal",
    ),
    "numpy.linalg": ("norm", "solve", "inv"),
}
_WATCHED_BUILTINS = (
    "abs",
    "all",
    "any",
    "float",
    "int",
    "isinstance",
    "issubclass",
    "len",
    "max",
    "min",
    "print",
    "range",
    "round",
    "sum",
    "type",
    "hasattr",
    "getattr",
    "callable",
    "repr",
    "str",
)
# Modules whose entry in sys.modules must stay the object the worker imported.
_KEY_MODULES = (
    "builtins",
    "sys",
    "numpy",
    "numpy.testing",
    "numpy.linalg",
    "math",
    "autograder",
    "autograder.activations",
    "autograder.test_functions",
    "autograder.protocol",
)


# Top-level packages whose stand-ins could matter to a grader in the same process.
_SENSITIVE_TOP_MODULES = frozenset(
    {"numpy", "autograder", "builtins", "sys", "math", "matplotlib", "solutions", "nbgrader"}
    | AUTODIFF_MODULES
)


_MISSING = object()


def _under(path: str, root: str) -> bool:
    return bool(root) and (path == root or path.startswith(root.rstrip("/") + "/"))


def _path_is_forbidden(path: str, repo_root: str, allowed: tuple[str, ...] = ()) -> bool:
    norm = os.path.normpath(path)
    if any(_under(norm, root) for root in allowed):
        return False
    if _under(norm, repo_root):
        return True
    parts = norm.split("/")
    if FORBIDDEN_FILE_NAMES.intersection(parts) or FORBIDDEN_PATH_PARTS.intersection(parts):
        return True
    return "autograder/reference" in norm or "autograder/checks" in norm


def classify_module(name: str) -> Flag | None:
    """``Flag.AUTODIFF_IMPORT``, ``Flag.FORBIDDEN_IMPORT`` or ``None`` for a dotted module name."""
    top = name.split(".", 1)[0]
    if top in AUTODIFF_MODULES:
        return Flag.AUTODIFF_IMPORT
    if top in FORBIDDEN_TOP_MODULES:
        return Flag.FORBIDDEN_IMPORT
    if top == "autograder" and name not in ALLOWED_GRADER_MODULES:
        return Flag.FORBIDDEN_IMPORT
    return None


class Watcher:
    """Records imports, forbidden file access, network and process attempts, and tampering.

    Install it once, just before the first student cell runs (:meth:`install`); forked
    children inherit it. :meth:`report` lists what was seen so far.

    Parameters
    ----------
    student_globals : dict
        The namespace the cells run in: imports made from it are the submission's own.
    repo_root : str
        The course repository's path on the grading machine (absent from the sandbox).
    allowed_roots : tuple of str
        Paths the worker itself reads from, even if inside the repository (the fallback mode
        runs the virtual environment at ``<repo>/.venv``).
    """

    def __init__(
        self, student_globals: dict, repo_root: str = "", allowed_roots: tuple[str, ...] = ()
    ) -> None:
        self.student_globals = student_globals
        self.repo_root = repo_root
        self.allowed_roots = tuple(allowed_roots)
        self.imports: set[str] = set()
        self.flags: set[Flag] = set()
        self.notes: list[str] = []
        self._noted: set[str] = set()
        self._pristine_attrs: dict[str, Any] = {}
        self._pristine_modules: dict[str, Any] = {}
        self._original_import = builtins.__import__
        self._import_hook = None

    # -- evidence ---------------------------------------------------------------------------

    def note(self, flag: Flag | None, text: str) -> None:
        """Record a flag and a sentence for the instructor (each sentence once)."""
        if flag:
            self.flags.add(flag)
        if text not in self._noted and len(self.notes) < 50:
            self._noted.add(text)
            self.notes.append(text)

    def _saw_module(self, name: str, from_student: bool) -> None:
        if not isinstance(name, str) or not name:
            return
        if from_student:
            self.imports.add(name.split(".", 1)[0])
        flag = classify_module(name)
        if flag is Flag.AUTODIFF_IMPORT:
            self.note(flag, f"imported {name.split('.', 1)[0]} (automatic differentiation)")
        elif flag:
            self.note(flag, f"tried to import {name}")

    def _forbidden(self, path: str) -> bool:
        return _path_is_forbidden(path, self.repo_root, self.allowed_roots)

    def _audit(self, event: str, args: tuple) -> None:
        # Runs on every audited event of the process: keep it cheap and never raise.
        try:
            if event == "import":
                self._saw_module(args[0], False)
            elif event == "open":
                path = args[0]
                if isinstance(path, bytes):
                    path = path.decode("utf-8", "replace")
                if isinstance(path, str) and self._forbidden(path):
                    self.note(Flag.FORBIDDEN_IMPORT, f"tried to open {path[:200]}")
            elif event in ("os.listdir", "os.scandir", "os.remove", "os.rename", "os.rmdir"):
                path = args[0]
                if isinstance(path, str) and self._forbidden(path):
                    self.note(Flag.FORBIDDEN_IMPORT, f"tried to reach {path[:200]} ({event})")
            elif event in _NETWORK_EVENTS:
                self.note(Flag.NETWORK, "tried to use the network")
            elif event in _PROCESS_EVENTS:
                self.note(None, f"started a program ({event})")
        except Exception:
            pass

    # -- installation -----------------------------------------------------------------------

    def install(self) -> None:
        """Capture the pristine functions and start recording."""
        for module_name, names in _WATCHED_NUMPY.items():
            module = sys.modules[module_name]
            for name in names:
                if hasattr(module, name):
                    self._pristine_attrs[f"{module_name}.{name}"] = getattr(module, name)
        for name in _WATCHED_BUILTINS:
            self._pristine_attrs[f"builtins.{name}"] = getattr(builtins, name)
        for name in _KEY_MODULES:
            if name in sys.modules:
                self._pristine_modules[name] = sys.modules[name]
        self._pristine_builtins = dict(vars(builtins))
        self._baseline_modules = set(sys.modules)

        original = self._original_import
        student_globals = self.student_globals
        saw = self._saw_module

        def __import__(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A001,N807
            # Cached modules never reach the import system's audit event, so the imports the
            # student's own code makes are recorded here.
            if level == 0 and globals is student_globals:
                saw(name, True)
                for item in fromlist or ():
                    if isinstance(item, str) and name == "autograder":
                        saw(f"autograder.{item}", True)
            return original(name, globals, locals, fromlist, level)

        self._import_hook = __import__
        builtins.__import__ = __import__
        self._pristine_builtins["__import__"] = __import__
        sys.addaudithook(self._audit)

    def restore_builtins(self) -> None:
        """Put back every builtin the submission replaced or deleted, noting each one.

        The standard library the worker relies on after student code ran (``json``,
        ``traceback``) looks names up in the one shared builtins module; with
        ``isinstance`` replaced by ``lambda *a: True`` it would fail, and the submission's
        honest parts with it. Names the submission *added* are left alone.
        """
        current = vars(builtins)
        for name, original in self._pristine_builtins.items():
            if current.get(name, _MISSING) is not original:
                what = "builtins.__import__" if name == "__import__" else f"builtins.{name}"
                self.note(Flag.TAMPERING, f"replaced {what}")
                current[name] = original

    # -- tampering --------------------------------------------------------------------------

    def check_tampering(self) -> None:
        """Compare key functions and modules with those captured before student code ran."""
        for dotted, original in self._pristine_attrs.items():
            module_name, name = dotted.rsplit(".", 1)
            module = self._pristine_modules.get(module_name) or sys.modules.get(module_name)
            if module is None:
                continue
            if module_name == "builtins":
                module = builtins
            current = module.__dict__.get(name, None) if hasattr(module, "__dict__") else None
            if current is not original:
                self.note(Flag.TAMPERING, f"replaced {dotted}")
        if builtins.__import__ is not self._import_hook:
            self.note(Flag.TAMPERING, "replaced builtins.__import__")
        for name, module in self._pristine_modules.items():
            if sys.modules.get(name) is not module:
                self.note(Flag.TAMPERING, f"replaced sys.modules[{name!r}]")
        for name in set(sys.modules) - self._baseline_modules:
            entry = sys.modules.get(name)
            # Compiled extensions register helper modules without a spec (``cython_runtime``):
            # only a spec-less stand-in for a module the grader relies on counts as planted.
            fake = getattr(entry, "__spec__", None) is None and not getattr(entry, "__file__", None)
            sensitive = name.split(".", 1)[0] in _SENSITIVE_TOP_MODULES
            planted = not isinstance(entry, types.ModuleType) or (fake and sensitive)
            if planted and name != "__main__":
                self.note(Flag.TAMPERING, f"planted a fake module {name!r} in sys.modules")
                self._saw_module(name, False)
        for name in np.__dict__:
            # Monkey-patching numpy with a plain Python function is the classic move; numpy's
            # own attributes are C functions, ufuncs, classes or numpy-defined functions.
            value = np.__dict__[name]
            if isinstance(value, types.FunctionType | types.LambdaType):
                module = getattr(value, "__module__", "") or ""
                if not module.startswith("numpy"):
                    self.note(Flag.TAMPERING, f"replaced numpy.{name}")

    def report(self) -> dict:
        """Plain data: imports, flags, notes."""
        return {
            "imports": sorted(self.imports),
            "flags": sorted(self.flags),
            "notes": list(self.notes),
        }
