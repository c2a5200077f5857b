"""``python -m autograder release``: regenerate the student notebooks in ``exercises/``.

The instructor's sources are text files, ``solutions/<assignment>/<notebook>.py`` (jupytext's
percent format). A release:

1. derives each source ``.ipynb`` from its text file (:func:`autograder.sources.sync`),
   refusing when the ``.ipynb`` holds edits the text does not, so no edit is silently lost;
2. checks each source notebook against the course contract
   (:func:`autograder.release_build.verify`);
3. runs nbgrader itself, ``nbgrader generate_assignment``, which also records each
   assignment's cells, hidden tests included, in the gradebook so that ``nbgrader autograde``
   can restore them later. nbgrader's first preprocessor, configured in ``nbgrader_config.py``
   (:class:`autograder.release_build.CourseRelease`), writes in the contract's points, the
   book's address and the self-check code;
4. checks what nbgrader wrote: only the notebook (no text source, no solution) per assignment.

Around it:

- **Determinism.** nbgrader writes into a temporary folder; the notebooks are then normalized
  (no execution counts, no outputs, a fixed notebook metadata, nbformat's canonical JSON) and
  copied into ``exercises/`` only where their bytes changed. Regenerating twice gives the same
  files, so the committed release can be compared with a fresh one (``--check``).
- **No needless work.** A stamp ``exercises/.release-stamp.json`` records a digest of what the
  release is made from (the sources, ``nbgrader_config.py``, the book's address, the contract,
  the code that prepares notebooks, nbgrader's version and this normalization) and of the
  released files. When both still match, and the gradebook already knows the assignments,
  ``release`` returns at once without starting nbgrader.

nbgrader runs as ``python -m nbgrader`` with this interpreter, with the interpreter's
``bin/`` first on ``PATH``: nbgrader's gradebook shells out to the ``alembic`` command that
is installed next to it.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = [
    "STAMP_NAME",
    "assignments",
    "compare_releases",
    "generate",
    "main",
    "normalize_notebook",
    "normalize_tree",
    "prepare_sources",
    "release_problems",
    "source_digest",
]

#: The stamp file, at the top of the release directory (outside every assignment folder).
STAMP_NAME = ".release-stamp.json"

#: Bump when :func:`normalize_notebook` changes, so stamps made by the old one go stale.
NORMALIZATION_VERSION = 2

#: Notebook-level metadata kept in a release; everything else is editor or run state.
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

#: Cell metadata a student notebook needs: nbgrader's, the lock flags, the tags, and
#: Jupyter's folding of the pasted self-check code.
_CELL_METADATA_KEPT = ("deletable", "editable", "jupyter", "nbgrader", "tags")

_SKIPPED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}

#: What must never reach a student: solution regions and hidden tests.
_FORBIDDEN_IN_RELEASE = (
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
    "hidden_test",
)
#: The modules whose code decides what a release contains, besides the sources.
_BUILD_MODULES = ("inline.py", "release_build.py", "sources.py")


# --------------------------------------------------------------------------------------------
# where things are


def assignments() -> dict[str, str]:
    """The contract's assignments: name to notebook name, in the order students meet them."""
    from .checks import contract

    return contract().notebooks()


def find_root(start: Path | None = None) -> Path:
    """The course root: ``start`` (default: the working directory) if it holds
    ``nbgrader_config.py``, else the folder above this package (an editable install)."""
    start = Path.cwd() if start is None else Path(start)
    if (start / "nbgrader_config.py").is_file():
        return start.resolve()
    return Path(__file__).resolve().parents[1]


def text_source(root: Path, assignment: str, notebook: str) -> Path:
    """``<root>/solutions/<assignment>/<notebook>.py``, the source an instructor edits."""
    from .sources import TEXT_SUFFIX

    return Path(root) / "solutions" / assignment / f"{notebook}{TEXT_SUFFIX}"


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted, without editor and cache files."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not (_SKIPPED_NAMES & set(p.relative_to(folder).parts))
    )


def _digest_folder(h, folder: Path) -> None:
    for path in _files(folder):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")


def _nbgrader_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nbgrader")
    except PackageNotFoundError:
        return "missing"


def source_digest(root: Path, names=None) -> str:
    """Digest of everything the release is made from.

    Parameters
    ----------
    root : Path
        The course root (holds ``nbgrader_config.py`` and ``solutions/``).
    names : sequence of str, optional
        Assignments (default: the contract's).

    Returns
    -------
    str
        Hex SHA-256 of the source folders, the nbgrader config, the book's address, the
        contract's parts, the code that prepares and pastes notebooks, nbgrader's version and
        :data:`NORMALIZATION_VERSION`.
    """
    from .checks import contract
    from .release_build import book_url

    root, here = Path(root), Path(__file__).resolve().parent
    names = list(assignments()) if names is None else list(names)
    h = hashlib.sha256()
    h.update(f"nbgrader {_nbgrader_version()}; normalization {NORMALIZATION_VERSION}\0".encode())
    config = root / "nbgrader_config.py"
    h.update(config.read_bytes() if config.is_file() else b"")
    h.update(f"\0book {book_url(root)}\0".encode())
    for module in _BUILD_MODULES:
        h.update((here / module).read_bytes() + b"\0")
    _digest_folder(h, here / "selfcheck")
    for name in names:
        h.update(f"\0assignment {name}\0".encode())
        for part in contract().parts_of(name):
            h.update(f"{part.name} {part.signature} {part.points}\0".encode())
        _digest_folder(h, root / "solutions" / name)
    return h.hexdigest()


def release_digest(out: Path, names=None) -> str:
    """Digest of the released files under ``out/<assignment>/``."""
    h = hashlib.sha256()
    for name in list(assignments()) if names is None else names:
        h.update(f"\0assignment {name}\0".encode())
        _digest_folder(h, Path(out) / name)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# normalization


def normalize_notebook(nb):
    """Strip what varies between runs and editors from a notebook, in place.

    Code cells lose their outputs and execution counts; cells keep only the metadata in
    :data:`_CELL_METADATA_KEPT`; the notebook keeps only a fixed Python 3 kernelspec and the
    language name. Cell ids, sources and nbgrader's metadata (checksums included, which depend
    only on the source) are kept as nbgrader wrote them.

    Parameters
    ----------
    nb : nbformat.NotebookNode

    Returns
    -------
    nbformat.NotebookNode
        The same object.
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = {k: cell.metadata[k] for k in _CELL_METADATA_KEPT if k in cell.metadata}
    nb.metadata = {"kernelspec": dict(_KERNELSPEC), "language_info": {"name": "python"}}
    return nb


def normalize_tree(folder: Path) -> None:
    """Rewrite every notebook under ``folder`` in normalized, canonical form."""
    import nbformat

    from .sources import notebook_text

    for path in _files(Path(folder)):
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            path.write_text(notebook_text(normalize_notebook(nb)), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# the sources


def prepare_sources(root: Path, write: bool = True) -> list[str]:
    """Derive each source ``.ipynb`` from its text, and check it against the contract.

    Parameters
    ----------
    root : Path
    write : bool
        False: write nothing, report a ``.ipynb`` that is not what its text derives.

    Returns
    -------
    list of str
        Problems, one sentence each (empty: every source is ready for nbgrader).
    """

    from .release_build import verify
    from .sources import NotebookEditedError, derive, sync

    problems = []
    for name, notebook in assignments().items():
        text = text_source(root, name, notebook)
        if not text.is_file():
            problems.append(f"{text}: missing (the source of {name})")
            continue
        try:
            if sync(text, write=write) and not write:
                problems.append(
                    f"{text.with_suffix('.ipynb')}: not what {text.name} derives "
                    "(run `python -m autograder release`)"
                )
        except NotebookEditedError as exc:
            problems.append(str(exc))
            continue
        problems += [f"{text}: {p}" for p in verify(derive(text), name)]
    return problems


def _stage(root: Path, staging: Path) -> Path:
    """A copy of the course's release inputs whose ``.ipynb`` are derived from the texts."""
    from .sources import derive, notebook_text

    staging.mkdir(parents=True, exist_ok=True)
    for name in ("nbgrader_config.py", "_config.yml"):
        if (root / name).is_file():
            shutil.copy(root / name, staging / name)
    for name, notebook in assignments().items():
        text = text_source(root, name, notebook)
        shutil.copytree(root / "solutions" / name, staging / "solutions" / name)
        ipynb = staging / "solutions" / name / f"{notebook}.ipynb"
        ipynb.write_text(notebook_text(derive(text)), encoding="utf-8")
    return staging


# --------------------------------------------------------------------------------------------
# running nbgrader


def _nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader's Gradebook runs the `alembic` command installed next to this interpreter.
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def generate(root: Path, out: Path, names=None, db_url: str | None = None) -> None:
    """Run ``nbgrader generate_assignment --force`` for each assignment, then normalize.

    Parameters
    ----------
    root : Path
        Course root: nbgrader reads ``nbgrader_config.py`` and ``solutions/`` from there.
    out : Path
        Release directory; ``out/<assignment>/<notebook>.ipynb`` is written.
    names : sequence of str, optional
        Assignments (default: the contract's).
    db_url : str, optional
        Gradebook URL; nbgrader's default (``sqlite:///<root>/gradebook.db``) when omitted.

    Raises
    ------
    RuntimeError
        If nbgrader fails (its log is in the message), or its release holds what must not
        reach students (see :func:`release_problems`).
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    notebooks = assignments()
    for name in list(notebooks) if names is None else names:
        cmd = [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            name,
            "--force",
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.release_directory={out}",
        ]
        if db_url:
            cmd.append(f"--CourseDirectory.db_url={db_url}")
        proc = subprocess.run(
            cmd, cwd=root, env=_nbgrader_env(), capture_output=True, text=True, check=False
        )
        released = out / name / f"{notebooks[name]}.ipynb"
        if proc.returncode != 0 or not released.is_file():
            raise RuntimeError(
                f"nbgrader generate_assignment {name} failed (exit {proc.returncode}):\n"
                + proc.stdout
                + proc.stderr
            )
        problems = release_problems(out / name, notebooks[name])
        if problems:
            raise RuntimeError(
                f"the release of {name} is not fit for students:\n- " + "\n- ".join(problems)
            )
    normalize_tree(out)


def release_problems(folder: Path, notebook: str) -> list[str]:
    """What in one assignment's release must not reach students (empty: nothing).

    A Python file (the source's text form is one; code for students belongs in the notebook),
    the notebook's MyST text form, another notebook than the assignment's, or a file holding
    a solution region, a hidden test or an import of the course's package.
    """
    problems = []
    for path in _files(Path(folder)):
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".py" or (path.suffix == ".md" and path.stem == notebook):
            problems.append(f"{rel}: a text source in the release (see CourseDirectory.ignore)")
        elif path.suffix == ".ipynb" and path.name != f"{notebook}.ipynb":
            problems.append(f"{rel}: a notebook that is not the assignment's")
        text = path.read_bytes().decode("utf-8", errors="replace")
        problems += [f"{rel}: contains {bad!r}" for bad in _FORBIDDEN_IN_RELEASE if bad in text]
        if path.suffix == ".ipynb" and _imports_the_package(path):
            problems.append(f"{rel}: imports the course's package, which students do not have")
    return problems


def _imports_the_package(path: Path) -> bool:
    """Whether a code cell of the notebook at ``path`` imports ``autograder``."""
    import ast

    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                tops = [(node.module or "").split(".")[0]]
            else:
                continue
            if "autograder" in tops:
                return True
    return False


def compare_releases(expected: Path, actual: Path, names=None) -> list[str]:
    """Differences between two release directories, as readable lines (empty: identical)."""
    problems = []
    for name in list(assignments()) if names is None else names:
        a_files = {p.relative_to(expected): p for p in _files(Path(expected) / name)}
        b_files = {p.relative_to(actual): p for p in _files(Path(actual) / name)}
        for rel in sorted(set(a_files) | set(b_files)):
            if rel not in b_files:
                problems.append(f"{rel}: missing")
            elif rel not in a_files:
                problems.append(f"{rel}: unexpected")
            elif not filecmp.cmp(a_files[rel], b_files[rel], shallow=False):
                problems.append(f"{rel}: differs")
    return problems


def _sqlite_path(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix) :]) if db_url.startswith(prefix) else None


def _gradebook_has(db_url: str, names) -> bool:
    """Whether the gradebook already records every assignment (read with sqlite3, quickly)."""
    path = _sqlite_path(db_url)
    if path is None:
        return False  # not a file we can read cheaply: let nbgrader update it
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            known = {row[0] for row in con.execute("SELECT name FROM assignment")}
    except sqlite3.Error:
        return False
    return set(names) <= known


def _read_stamp(out: Path) -> dict:
    try:
        return json.loads((Path(out) / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_stamp(out: Path, sources: str, released: str) -> None:
    stamp = {"sources": sources, "release": released, "assignments": list(assignments())}
    text = json.dumps(stamp, indent=2, sort_keys=True) + "\n"
    path = Path(out) / STAMP_NAME
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _install(tmp_out: Path, out: Path, names) -> list[str]:
    """Copy a fresh release into ``out``, touching only files whose bytes changed."""
    changed = []
    for name in names:
        src_dir, dst_dir = tmp_out / name, out / name
        new = {p.relative_to(src_dir) for p in _files(src_dir)}
        for rel in sorted(new):
            src, dst = src_dir / rel, dst_dir / rel
            if not dst.is_file() or not filecmp.cmp(src, dst, shallow=False):
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                changed.append(f"{name}/{rel.as_posix()}")
        for old in _files(dst_dir):
            if old.relative_to(dst_dir) not in new:
                old.unlink()
                changed.append(f"{name}/{old.relative_to(dst_dir).as_posix()} (removed)")
    return changed


# --------------------------------------------------------------------------------------------
# command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m autograder release",
        description="Regenerate the student release exercises/ from the sources in solutions/.",
    )
    p.add_argument("--root", type=Path, help="course root (default: here, or the repository)")
    p.add_argument("--out", type=Path, help="release directory (default: <root>/exercises)")
    p.add_argument("--db", help="gradebook URL (default: sqlite:///<root>/gradebook.db)")
    p.add_argument("--force", action="store_true", help="regenerate even if nothing changed")
    p.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if a source .ipynb is not what its text derives, or the "
        "release differs from a fresh one",
    )
    return p


def _check(root: Path, out: Path) -> int:
    """``--check``: report every drift between the sources, the release and a fresh release."""
    problems = prepare_sources(root, write=False)
    with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
        tmp = Path(tmp)
        try:
            staged = _stage(root, tmp / "course")
            generate(staged, tmp / "exercises", db_url=f"sqlite:///{tmp / 'gradebook.db'}")
        except RuntimeError as exc:
            problems.append(str(exc))
        else:
            problems += compare_releases(tmp / "exercises", out)
    if _read_stamp(out).get("sources") != source_digest(root):
        problems.append(f"{STAMP_NAME}: made from other sources (run the release)")
    for line in problems:
        print(f"release drift: {line}")
    if not problems:
        print(f"{out} matches a fresh nbgrader release of the sources")
    return 1 if problems else 0


def _update_contract_document(root: Path) -> None:
    """CONTRACT.md's table of graded parts, rewritten from the checks when it has drifted."""
    from .checks import contract
    from .contract_doc import MissingMarkersError, write_document

    document = root / "CONTRACT.md"
    if not document.is_file():
        return  # a course made from this one need not carry the document
    try:
        write_document(document, contract())
    except MissingMarkersError:
        pass  # a document without the table's marker lines is the course's own


def main(argv=None) -> int:
    """Entry point of ``python -m autograder release``; returns the exit status."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    root = find_root(args.root)
    out = (args.out if args.out else root / "exercises").resolve()
    db_url = args.db or f"sqlite:///{root / 'gradebook.db'}"
    if args.check:
        return _check(root, out)

    problems = prepare_sources(root)
    if problems:
        for line in problems:
            print(f"release: {line}", file=sys.stderr)
        return 1
    _update_contract_document(root)
    sources = source_digest(root)
    names = list(assignments())
    stamp = _read_stamp(out)
    if (
        not args.force
        and stamp.get("sources") == sources
        and stamp.get("release") == release_digest(out)
        and _gradebook_has(db_url, names)
    ):
        print(f"{out} is up to date (sources unchanged); use --force to regenerate")
        return 0

    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="release-") as tmp:
            tmp_out = Path(tmp) / "exercises"
            generate(root, tmp_out, db_url=db_url)
            changed = _install(tmp_out, out, names)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    _write_stamp(out, sources, release_digest(out))
    for line in changed:
        print(f"released {line}")
    print(f"{out}: {len(changed)} file(s) changed, made by nbgrader generate_assignment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
