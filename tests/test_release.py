"""``autograder.release``: the committed ``exercises/`` is what nbgrader makes of ``solutions``."""

from __future__ import annotations

import json
import shutil
import sqlite3

import nbformat
import pytest

from autograder import release

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

ROOT = nt.ROOT


def test_committed_release_is_stamped_with_the_current_sources():
    """Was exercises/ regenerated after the last change to solutions/ or the nbgrader config?

    (Fast drift check; the slow test below regenerates with nbgrader for real.)"""
    stamp = json.loads((nt.EXERCISES / release.STAMP_NAME).read_text(encoding="utf-8"))
    assert stamp["sources"] == release.source_digest(ROOT), (
        "solutions/ changed since exercises/ was made: run `make exercises`"
    )
    assert stamp["release"] == release.release_digest(nt.EXERCISES), (
        "exercises/ was edited by hand: run `python -m autograder release --force`"
    )


def test_source_digest_changes_with_any_source_byte(tmp_path):
    """Does editing a source notebook (or the config) make the stamp stale?"""
    (tmp_path / "solutions").mkdir()
    for name in release.ASSIGNMENTS:
        shutil.copytree(ROOT / "solutions" / name, tmp_path / "solutions" / name)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    before = release.source_digest(tmp_path)
    assert before == release.source_digest(ROOT)
    path = tmp_path / "solutions" / "mlp_backprop" / "mlp_backprop.ipynb"
    path.write_text(path.read_text(encoding="utf-8").replace("forward", "forwards", 1))
    assert release.source_digest(tmp_path) != before
    path = tmp_path / "nbgrader_config.py"
    path.write_text(path.read_text() + "\n# changed\n")
    after_config = release.source_digest(tmp_path)
    assert after_config != before


def test_normalization_strips_run_state_and_is_idempotent():
    """Do outputs, execution counts and editor metadata vanish, and does normalizing twice
    change nothing?"""
    nb = nbformat.read(nt.release_path("mlp_backprop"), as_version=4)
    canonical = nbformat.writes(release.normalize_notebook(nb))
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.execution_count = 7
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    cell.metadata["collapsed"] = True
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    nb.metadata["widgets"] = {}
    assert nbformat.writes(release.normalize_notebook(nb)) == canonical
    assert nbformat.writes(release.normalize_notebook(nb)) == canonical


def test_committed_release_is_normalized():
    """Is each committed release notebook already in normalized canonical form?"""
    for name in release.ASSIGNMENTS:
        path = nt.release_path(name)
        text = path.read_text(encoding="utf-8")
        nb = nbformat.read(path, as_version=4)
        assert nbformat.writes(release.normalize_notebook(nb)) + "\n" == text, name


def _fake_gradebook(path, names):
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE assignment (name TEXT)")
        con.executemany("INSERT INTO assignment VALUES (?)", [(n,) for n in names])


def test_release_is_a_no_op_when_nothing_changed(tmp_path, monkeypatch, capsys):
    """Does ``release`` return at once, without nbgrader, when sources, release and gradebook
    are all up to date?"""
    out = tmp_path / "exercises"
    shutil.copytree(nt.EXERCISES, out)
    _fake_gradebook(tmp_path / "gb.db", release.ASSIGNMENTS)

    def no_nbgrader(*args, **kwargs):
        raise AssertionError("nbgrader ran although nothing changed")

    monkeypatch.setattr(release, "generate", no_nbgrader)
    args = ["--root", str(ROOT), "--out", str(out), "--db", f"sqlite:///{tmp_path / 'gb.db'}"]
    assert release.main(args) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize("stale", ["release", "gradebook"])
def test_release_regenerates_when_the_release_or_gradebook_is_stale(tmp_path, monkeypatch, stale):
    """Does ``release`` run nbgrader again when a released file was edited, or when the
    gradebook does not know the assignments?"""
    out = tmp_path / "exercises"
    shutil.copytree(nt.EXERCISES, out)
    names = release.ASSIGNMENTS if stale == "release" else release.ASSIGNMENTS[:1]
    _fake_gradebook(tmp_path / "gb.db", names)
    if stale == "release":
        path = out / "mlp_backprop" / "mlp_backprop.ipynb"
        path.write_text(path.read_text(encoding="utf-8").replace("YOUR CODE HERE", "x", 1))
    calls = []

    def fake_generate(root, tmp_out, assignments=release.ASSIGNMENTS, db_url=None):
        calls.append(db_url)
        shutil.copytree(nt.EXERCISES, tmp_out, dirs_exist_ok=True)

    monkeypatch.setattr(release, "generate", fake_generate)
    args = ["--root", str(ROOT), "--out", str(out), "--db", f"sqlite:///{tmp_path / 'gb.db'}"]
    assert release.main(args) == 0
    assert calls == [f"sqlite:///{tmp_path / 'gb.db'}"]
    assert release.compare_releases(nt.EXERCISES, out) == []


@pytest.mark.slow
def test_fresh_nbgrader_release_equals_the_committed_one(tmp_path):
    """Does regenerating the release with nbgrader, into a temporary folder and gradebook,
    give byte for byte what is committed?"""
    out = tmp_path / "exercises"
    release.generate(ROOT, out, db_url=f"sqlite:///{tmp_path / 'gradebook.db'}")
    assert release.compare_releases(nt.EXERCISES, out) == []


@pytest.mark.slow
def test_drift_between_source_and_release_is_detected(tmp_path):
    """Would the comparison notice a source edited without regenerating the release?"""
    root = tmp_path / "course"
    (root / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    name = "logistic_hessian"
    shutil.copytree(ROOT / "solutions" / name, root / "solutions" / name)
    path = root / "solutions" / name / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nA sentence the committed release does not have."
    nbformat.write(nb, path)
    out = tmp_path / "exercises"
    release.generate(root, out, assignments=(name,), db_url=f"sqlite:///{tmp_path / 'gb.db'}")
    assert release.compare_releases(nt.EXERCISES, out, assignments=(name,)) == [
        f"{name}/{name}.ipynb: differs"
    ]
