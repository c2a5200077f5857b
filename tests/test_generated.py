"""Drift of the generated notebooks: the sample submissions and the hostile corpus.

Both are built from the committed release (``samples/make_samples.py``, then
``tests/files/hostile/make_corpus.py`` from the sample ``ada_full_marks``) and committed. After
a release changes, they must be rebuilt; these tests fail until they are.
"""

from __future__ import annotations

import filecmp
import importlib.util
from pathlib import Path

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

SAMPLES = nt.ROOT / "samples"
CORPUS = nt.ROOT / "tests" / "files" / "hostile"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ, are missing or are extra in ``actual`` (relative paths)."""
    mine = {p.relative_to(expected) for p in expected.rglob("*") if p.is_file()}
    theirs = {p.relative_to(actual) for p in actual.rglob("*") if p.is_file()}
    out = [f"{p}: not generated" for p in sorted(mine - theirs)]
    out += [f"{p}: not committed" for p in sorted(theirs - mine)]
    out += [
        f"{p}: differs"
        for p in sorted(mine & theirs)
        if not filecmp.cmp(expected / p, actual / p, shallow=False)
    ]
    return out


def test_committed_samples_are_what_make_samples_writes(tmp_path):
    """Are the sample submissions what make_samples builds from the committed release?"""
    make_samples = _load(SAMPLES / "make_samples.py", "make_samples")
    make_samples.build(tmp_path / "submitted", nt.EXERCISES)
    assert _differences(SAMPLES / "submitted", tmp_path / "submitted") == [], (
        "run .venv/bin/python samples/make_samples.py"
    )


def test_committed_corpus_is_what_make_corpus_writes(tmp_path, capsys):
    """Are the hostile corpus and its expectations what make_corpus builds from the samples?"""
    make_corpus = _load(CORPUS / "make_corpus.py", "make_corpus")
    make_corpus.main(tmp_path / "submitted", tmp_path / "expected.json")
    capsys.readouterr()
    assert _differences(CORPUS / "submitted", tmp_path / "submitted") == [], (
        "run .venv/bin/python tests/files/hostile/make_corpus.py"
    )
    expected = (CORPUS / "expected.json").read_text()
    assert (tmp_path / "expected.json").read_text() == expected
