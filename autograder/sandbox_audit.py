"""What a submission's source says it does, read outside the sandbox.

The sandbox also records imports and file access as they happen, but the submission runs
there and could hide its tracks; this scan of the cells' text, done in the grader's own
process, cannot be influenced by the code it reads. Neither affects the score: it tells the
instructor what a submission tried.
"""

from __future__ import annotations

import ast
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from .protocol import Flag, cell_digest
from .worker.loader import blank_magics
from .worker.watch import FORBIDDEN_FILE_NAMES, FORBIDDEN_PATH_PARTS, classify_module

# Most code cells of a class's notebooks are the handout's own, the same for every student
# (the pasted self-checks are ~45 kB and cost ~30 ms to scan): their scan is remembered, by
# the digest of the cell's text, for this many cells; a scan is a few hundred bytes.
AUDIT_CACHE_CELLS = 4096

# Assigning an attribute of these names patches numpy or the builtins for everyone after.
_PATCH_TARGET_ROOTS = frozenset({"np", "numpy", "builtins", "__builtins__", "testing", "linalg"})


@dataclass
class SourceAudit:
    """Findings from the cells' text.

    Attributes
    ----------
    imports : set of str
        Top-level modules named in import statements (or ``__import__("x")``).
    flags : set of Flag
        ``autodiff-import``, ``forbidden-import``, ``tampering``.
    notes : list of str
        One sentence per finding, for the instructor.
    """

    imports: set[str] = field(default_factory=set)
    flags: set[Flag] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def note(self, flag: Flag | None, text: str) -> None:
        if flag:
            self.flags.add(flag)
        if text not in self.notes:
            self.notes.append(text)


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _module(audit: SourceAudit, name: str) -> None:
    audit.imports.add(name.split(".", 1)[0])
    flag = classify_module(name)
    if flag is Flag.AUTODIFF_IMPORT:
        audit.note(flag, f"imports {name.split('.', 1)[0]} (automatic differentiation)")
    elif flag:
        audit.note(flag, f"imports {name}")


def _path_text(text: str) -> bool:
    parts = text.replace("\\", "/").split("/")
    return bool(
        FORBIDDEN_PATH_PARTS.intersection(parts) or FORBIDDEN_FILE_NAMES.intersection(parts)
    )


def _parse(source: str) -> ast.AST | None:
    """The cell's syntax tree (magics blanked if need be), or None if it does not parse."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    except (ValueError, RecursionError, MemoryError):
        return None
    text, refusal = blank_magics(source)
    if refusal:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def audit_cells(cells: list[str]) -> SourceAudit:
    """Scan every cell that parses; cells that do not are reported by the sandbox instead."""
    audit = SourceAudit()
    for source in cells:
        tree = _parse(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    _module(audit, alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                _module(audit, node.module)
                if node.module == "autograder":
                    for alias in node.names:
                        _module(audit, f"autograder.{alias.name}")
            elif isinstance(node, ast.Call):
                _call(audit, node)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if len(node.value) < 300 and _path_text(node.value):
                    audit.note(Flag.FORBIDDEN_IMPORT, f"mentions the path {node.value!r}")
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    _assignment(audit, target)
    return audit


# Scans shared between submissions: never modified, only read by audit_submission; keyed by
# the cell's digest.
_scans: OrderedDict[bytes, SourceAudit] = OrderedDict()
_scans_lock = threading.Lock()


def _audit_cell(source: str) -> SourceAudit:
    key = cell_digest(source)
    with _scans_lock:
        found = _scans.get(key)
        if found is not None:
            _scans.move_to_end(key)
            return found
    found = audit_cells([source])
    with _scans_lock:
        _scans[key] = found
        if len(_scans) > AUDIT_CACHE_CELLS:
            _scans.popitem(last=False)
    return found


def audit_submission(cells: list[str]) -> SourceAudit:
    """``audit_cells(cells)``, from remembered scans of cells seen before.

    The scan looks at each cell on its own, so merging the cells' findings in order gives
    the same imports, flags and notes (each note once, in order of first appearance).
    """
    merged = SourceAudit()
    for source in cells:
        found = _audit_cell(source)
        merged.imports |= found.imports
        merged.flags |= found.flags
        for note in found.notes:
            merged.note(None, note)
    return merged


def _call(audit: SourceAudit, node: ast.Call) -> None:
    func = _dotted(node.func)
    if not node.args:
        return
    first = node.args[0]
    if func in ("__import__", "importlib.import_module"):
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            _module(audit, first.value)
    elif func == "setattr" and _root_name(first) in _PATCH_TARGET_ROOTS:
        audit.note(Flag.TAMPERING, f"calls setattr on {_dotted(first)}")


def _assignment(audit: SourceAudit, target: ast.AST) -> None:
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            _assignment(audit, element)
        return
    if isinstance(target, ast.Attribute):
        root = _root_name(target)
        # Only attributes of numpy or builtins: ``self.max = 3`` in a class is no patch.
        if root in _PATCH_TARGET_ROOTS:
            audit.note(Flag.TAMPERING, f"assigns {_dotted(target)}")
    elif isinstance(target, ast.Subscript) and _dotted(target.value) == "sys.modules":
        audit.note(Flag.TAMPERING, "assigns an entry of sys.modules")
