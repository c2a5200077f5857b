"""``python -m autograder release``: regenerate the student notebooks in ``exercises/``.

The release is made only by nbgrader itself (``nbgrader generate_assignment``, which also
records each assignment's cells, hidden tests included, in the gradebook so that
``nbgrader autograde`` can restore them later). Two things are added around it:

- **Determinism.** nbgrader writes into a temporary folder; the notebooks are then normalized
  (no execution counts, no outputs, a fixed notebook metadata, nbformat's canonical JSON) and
  copied into ``exercises/`` only where their bytes changed. Regenerating twice gives the same
  files, so the committed release can be compared with a fresh one (``--check``).
- **No needless work.** A stamp ``exercises/.release-stamp.json`` records a digest of what the
  release is made from (the source notebooks, ``nbgrader_config.py``, nbgrader's version and
  this normalization) and of the released files. When both still match, and the gradebook
  already knows the assignments, ``release`` returns at once without starting nbgrader.

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
    "ASSIGNMENTS",
    "STAMP_NAME",
    "compare_releases",
    "generate",
    "main",
    "normalize_notebook",
    "normalize_tree",
    "source_digest",
]

#: The course's assignments; each is ``solutions/<name>/<name>.ipynb``.
ASSIGNMENTS = ("mlp_backprop", "logistic_hessian")

#: The stamp file, at the top of the release directory (outside every assignment folder).
STAMP_NAME = ".release-stamp.json"

#: Bump when :func:`normalize_notebook` changes, so stamps made by the old one go stale.
NORMALIZATION_VERSION = 1

#: Notebook-level metadata kept in a release; everything else is editor or run state.
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

#: Cell metadata a student notebook needs: nbgrader's, the lock flags, and the tags.
_CELL_METADATA_KEPT = ("deletable", "editable", "nbgrader", "tags")

_SKIPPED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


# --------------------------------------------------------------------------------------------
# where things are


def find_root(start: Path | None = None) -> Path:
    """The course root: ``start`` (default: the working directory) if it holds
    ``nbgrader_config.py``, else the folder above this package (an editable install)."""
    start = Path.cwd() if start is None else Path(start)
    if (start / "nbgrader_config.py").is_file():
        return start.resolve()
    return Path(__file__).resolve().parents[1]


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


def source_digest(root: Path, assignments=ASSIGNMENTS) -> str:
    """Digest of everything the release is made from.

    Parameters
    ----------
    root : Path
        The course root (holds ``nbgrader_config.py`` and ``solutions/``).
    assignments : sequence of str

    Returns
    -------
    str
        Hex SHA-256 of the source folders, the nbgrader config, nbgrader's version and
        :data:`NORMALIZATION_VERSION`.
    """
    root = Path(root)
    h = hashlib.sha256()
    h.update(f"nbgrader {_nbgrader_version()}; normalization {NORMALIZATION_VERSION}\0".encode())
    config = root / "nbgrader_config.py"
    h.update(config.read_bytes() if config.is_file() else b"")
    for name in assignments:
        h.update(f"\0assignment {name}\0".encode())
        _digest_folder(h, root / "solutions" / name)
    return h.hexdigest()


def release_digest(out: Path, assignments=ASSIGNMENTS) -> str:
    """Digest of the released files under ``out/<assignment>/``."""
    h = hashlib.sha256()
    for name in assignments:
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


def _canonical_text(nb) -> str:
    import nbformat

    return nbformat.writes(nb, version=4) + "\n"


def normalize_tree(folder: Path) -> None:
    """Rewrite every notebook under ``folder`` in normalized, canonical form."""
    import nbformat

    for path in _files(Path(folder)):
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            path.write_text(_canonical_text(normalize_notebook(nb)), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# running nbgrader


def _nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader's Gradebook runs the `alembic` command installed next to this interpreter.
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def generate(root: Path, out: Path, assignments=ASSIGNMENTS, db_url: str | None = None) -> None:
    """Run ``nbgrader generate_assignment --force`` for each assignment, then normalize.

    Parameters
    ----------
    root : Path
        Course root: nbgrader reads ``nbgrader_config.py`` and ``solutions/`` from there.
    out : Path
        Release directory; ``out/<assignment>/<notebook>.ipynb`` is written.
    assignments : sequence of str
    db_url : str, optional
        Gradebook URL; nbgrader's default (``sqlite:///<root>/gradebook.db``) when omitted.

    Raises
    ------
    RuntimeError
        If nbgrader fails; its log is in the message.
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    for name in assignments:
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
        released = out / name / f"{name}.ipynb"
        if proc.returncode != 0 or not released.is_file():
            raise RuntimeError(
                f"nbgrader generate_assignment {name} failed (exit {proc.returncode}):\n"
                + proc.stdout
                + proc.stderr
            )
    normalize_tree(out)


def compare_releases(expected: Path, actual: Path, assignments=ASSIGNMENTS) -> list[str]:
    """Differences between two release directories, as readable lines (empty: identical)."""
    problems = []
    for name in assignments:
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


def _gradebook_has(db_url: str, assignments) -> bool:
    """Whether the gradebook already records every assignment (read with sqlite3, quickly)."""
    path = _sqlite_path(db_url)
    if path is None:
        return False  # not a file we can read cheaply: let nbgrader update it
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            names = {row[0] for row in con.execute("SELECT name FROM assignment")}
    except sqlite3.Error:
        return False
    return set(assignments) <= names


def _read_stamp(out: Path) -> dict:
    try:
        return json.loads((Path(out) / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_stamp(out: Path, sources: str, released: str) -> None:
    stamp = {"sources": sources, "release": released, "assignments": list(ASSIGNMENTS)}
    text = json.dumps(stamp, indent=2, sort_keys=True) + "\n"
    path = Path(out) / STAMP_NAME
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _install(tmp_out: Path, out: Path, assignments) -> list[str]:
    """Copy a fresh release into ``out``, touching only files whose bytes changed."""
    changed = []
    for name in assignments:
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
        description="Regenerate the student release exercises/ from solutions/ with nbgrader.",
    )
    p.add_argument("--root", type=Path, help="course root (default: here, or the repository)")
    p.add_argument("--out", type=Path, help="release directory (default: <root>/exercises)")
    p.add_argument("--db", help="gradebook URL (default: sqlite:///<root>/gradebook.db)")
    p.add_argument("--force", action="store_true", help="regenerate even if nothing changed")
    p.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary folder and exit 1 if it differs from the release",
    )
    return p


def main(argv=None) -> int:
    """Entry point of ``python -m autograder release``; returns the exit status."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    root = find_root(args.root)
    out = (args.out if args.out else root / "exercises").resolve()
    db_url = args.db or f"sqlite:///{root / 'gradebook.db'}"
    sources = source_digest(root)

    if args.check:
        with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
            tmp = Path(tmp)
            generate(root, tmp / "exercises", db_url=f"sqlite:///{tmp / 'gradebook.db'}")
            problems = compare_releases(tmp / "exercises", out)
        stamp = _read_stamp(out)
        if stamp.get("sources") != sources:
            problems.append(f"{STAMP_NAME}: made from other sources (run the release)")
        for line in problems:
            print(f"release drift: {line}")
        if not problems:
            print(f"{out} matches a fresh nbgrader release")
        return 1 if problems else 0

    stamp = _read_stamp(out)
    if (
        not args.force
        and stamp.get("sources") == sources
        and stamp.get("release") == release_digest(out)
        and _gradebook_has(db_url, ASSIGNMENTS)
    ):
        print(f"{out} is up to date (sources unchanged); use --force to regenerate")
        return 0

    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="release-") as tmp:
            tmp_out = Path(tmp) / "exercises"
            generate(root, tmp_out, db_url=db_url)
            changed = _install(tmp_out, out, ASSIGNMENTS)
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
