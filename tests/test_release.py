"""``python -m autograder release``: the committed ``exercises/`` is what nbgrader makes of the
text sources in ``solutions/``, and nothing else reaches students."""

from __future__ import annotations

import json
import re
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
ASSIGNMENTS = nt.assignments()


def course_copy(tmp_path):
    """A copy of the course's release inputs and its release, to run ``release`` on."""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    for name in ("nbgrader_config.py", "_config.yml"):
        shutil.copy(ROOT / name, course / name)
    for name in ASSIGNMENTS:
        shutil.copytree(nt.SOLUTIONS / name, course / "solutions" / name)
    shutil.copytree(nt.EXERCISES, course / "exercises")
    return course


def test_committed_release_is_stamped_with_the_current_sources():
    """Was exercises/ regenerated after the last change to the sources, the contract, the
    self-checks or the nbgrader config?

    (Fast drift check; the slow test below regenerates with nbgrader for real.)"""
    stamp = json.loads((nt.EXERCISES / release.STAMP_NAME).read_text(encoding="utf-8"))
    assert stamp["sources"] == release.source_digest(ROOT), (
        "what the release is made from changed since exercises/ was made: run `make exercises`"
    )
    assert stamp["release"] == release.release_digest(nt.EXERCISES), (
        "exercises/ was edited by hand: run `python -m autograder release --force`"
    )
    assert stamp["assignments"] == ASSIGNMENTS


def test_source_digest_changes_with_any_source_byte(tmp_path):
    """Does editing a text source, its notebook or the nbgrader config make the stamp stale?"""
    course = course_copy(tmp_path)
    before = release.source_digest(course)
    assert before == release.source_digest(ROOT)
    text = nt.text_path("mlp_backprop")
    path = course / "solutions" / "mlp_backprop" / text.name
    path.write_text(path.read_text(encoding="utf-8").replace("forward", "forwards", 1))
    assert release.source_digest(course) != before
    shutil.copy(text, path)
    path = course / "nbgrader_config.py"
    path.write_text(path.read_text() + "\n# changed\n")
    assert release.source_digest(course) != before


def test_source_digest_changes_with_the_books_address(tmp_path):
    """Does publishing the book at an address make the release (whose links use it) stale?"""
    course = course_copy(tmp_path)
    before = release.source_digest(course)
    config = course / "_config.yml"
    config.write_text(config.read_text() + "\n")
    assert release.source_digest(course) == before
    text, n = re.subn(
        r"^  baseurl: .*$", "  baseurl: https://x.org", config.read_text(), flags=re.M
    )
    assert n == 1
    config.write_text(text)
    assert release.source_digest(course) != before


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
    for name in ASSIGNMENTS:
        path = nt.release_path(name)
        text = path.read_text(encoding="utf-8")
        nb = nbformat.read(path, as_version=4)
        assert nbformat.writes(release.normalize_notebook(nb)) + "\n" == text, name


def test_committed_release_holds_only_the_notebooks():
    """Does each assignment's release hold its notebook and nothing a student must not see
    (no text source, no solution region, no hidden test, no import of the course package)?"""
    for name in ASSIGNMENTS:
        folder = nt.EXERCISES / name
        assert [p.name for p in folder.iterdir()] == [nt.release_path(name).name]
        assert release.release_problems(folder, nt.notebook_name(name)) == []


def test_release_problems_are_found(tmp_path):
    """Would a text source, a solution region or an import of the package in a release be
    reported?"""
    nb = nbformat.read(nt.release_path("mlp_backprop"), as_version=4)
    nb.cells[0].source += "\n### BEGIN SOLUTION"
    nb.cells.append(nbformat.v4.new_code_cell("from autograder.selfcheck.mlp import check"))
    nbformat.write(nb, tmp_path / "mlp_backprop.ipynb")
    shutil.copy(nt.text_path("mlp_backprop"), tmp_path)
    problems = "\n".join(release.release_problems(tmp_path, "mlp_backprop"))
    assert "mlp_backprop.py: a text source" in problems
    assert "contains '### BEGIN SOLUTION'" in problems
    assert "imports the course's package" in problems


def _fake_gradebook(path, names):
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE assignment (name TEXT)")
        con.executemany("INSERT INTO assignment VALUES (?)", [(n,) for n in names])


def test_release_is_a_no_op_when_nothing_changed(tmp_path, monkeypatch, capsys):
    """Does ``release`` return at once, without nbgrader, when sources, release and gradebook
    are all up to date?"""
    course = course_copy(tmp_path)
    _fake_gradebook(tmp_path / "gb.db", ASSIGNMENTS)

    def no_nbgrader(*args, **kwargs):
        raise AssertionError("nbgrader ran although nothing changed")

    monkeypatch.setattr(release, "generate", no_nbgrader)
    args = ["--root", str(course), "--db", f"sqlite:///{tmp_path / 'gb.db'}"]
    assert release.main(args) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize("stale", ["release", "gradebook", "text"])
def test_release_regenerates_when_something_is_stale(tmp_path, monkeypatch, stale):
    """Does ``release`` run nbgrader again when a released file was edited, when the
    gradebook does not know the assignments, or when a text source changed (whose .ipynb it
    then derives first)?"""
    course = course_copy(tmp_path)
    names = ASSIGNMENTS if stale != "gradebook" else ASSIGNMENTS[:1]
    _fake_gradebook(tmp_path / "gb.db", names)
    if stale == "release":
        path = course / "exercises" / "mlp_backprop" / "mlp_backprop.ipynb"
        path.write_text(path.read_text(encoding="utf-8").replace("YOUR CODE HERE", "x", 1))
    text = course / "solutions" / "mlp_backprop" / nt.text_path("mlp_backprop").name
    if stale == "text":
        text.write_text(text.read_text().replace("by hand", "by hand, step by step", 1))
    calls = []

    def fake_generate(root, tmp_out, names=None, db_url=None):
        calls.append(db_url)
        shutil.copytree(nt.EXERCISES, tmp_out, dirs_exist_ok=True)

    monkeypatch.setattr(release, "generate", fake_generate)
    args = ["--root", str(course), "--db", f"sqlite:///{tmp_path / 'gb.db'}"]
    assert release.main(args) == 0
    assert calls == [f"sqlite:///{tmp_path / 'gb.db'}"]
    assert release.compare_releases(nt.EXERCISES, course / "exercises") == []
    ipynb = text.with_suffix(".ipynb").read_text()
    assert ("step by step" in ipynb) == (stale == "text")


def test_release_refuses_to_lose_an_edit_made_in_jupyter(tmp_path, monkeypatch, capsys):
    """When a source .ipynb was edited without jupytext, does ``release`` stop before
    nbgrader, leave the notebook alone and say what to run?"""
    course = course_copy(tmp_path)
    ipynb = course / "solutions" / "logistic_hessian" / "logistic_hessian.ipynb"
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[0].source += "\n\nAdded in Jupyter."
    nbformat.write(nb, ipynb)
    before = ipynb.read_text()
    monkeypatch.setattr(release, "generate", lambda *a, **k: pytest.fail("nbgrader ran"))
    assert release.main(["--root", str(course), "--force"]) == 1
    assert ipynb.read_text() == before
    err = capsys.readouterr().err
    assert "jupytext --to py:percent" in err and "logistic_hessian.ipynb" in err


def test_release_refuses_a_source_that_departs_from_the_contract(tmp_path, monkeypatch, capsys):
    """Is a text source whose function no longer has the contract's signature refused, with
    the problem named, before nbgrader runs?"""
    course = course_copy(tmp_path)
    text = course / "solutions" / "logistic_hessian" / "logistic_hessian.py"
    text.write_text(text.read_text().replace("def newton_step(w, X, y):", "def newton_step(w, X):"))
    monkeypatch.setattr(release, "generate", lambda *a, **k: pytest.fail("nbgrader ran"))
    assert release.main(["--root", str(course)]) == 1
    assert "newton_step: the solution cell must define `def newton_step(w, X, y):`" in (
        capsys.readouterr().err
    )


@pytest.mark.slow
def test_release_check_finds_no_drift(capsys):
    """Does ``release --check`` (text sources vs their notebooks, a fresh nbgrader release vs
    the committed one, the stamp) find the repository in step?"""
    assert release.main(["--check"]) == 0, capsys.readouterr().out
    assert "matches a fresh nbgrader release" in capsys.readouterr().out


@pytest.mark.slow
def test_release_check_reports_a_text_edited_but_not_released(tmp_path, capsys):
    """Would ``--check`` notice a text source edited without releasing again: its notebook
    stale, the release different, the stamp out of date?"""
    course = course_copy(tmp_path)
    text = course / "solutions" / "logistic_hessian" / "logistic_hessian.py"
    text.write_text(text.read_text().replace("by hand", "by hand (edited)", 1))
    assert release.main(["--root", str(course), "--check"]) == 1
    out = capsys.readouterr().out
    assert "logistic_hessian.ipynb: not what logistic_hessian.py derives" in out
    assert "logistic_hessian/logistic_hessian.ipynb: differs" in out
    assert f"{release.STAMP_NAME}: made from other sources" in out


@pytest.mark.slow
def test_nbgrader_alone_refuses_a_notebook_its_text_no_longer_derives(tmp_path):
    """Run directly (as formgrader runs it), does nbgrader generate_assignment refuse a
    source .ipynb whose text file changed since, instead of releasing the old notebook?"""
    import subprocess
    import sys

    course = course_copy(tmp_path)
    text = course / "solutions" / "logistic_hessian" / "logistic_hessian.py"
    text.write_text(text.read_text().replace("by hand", "by hand (edited)", 1))
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "logistic_hessian", "--force"],
        cwd=course,
        env=nt.nbgrader_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "python -m autograder release" in proc.stdout + proc.stderr
    released = course / "exercises" / "logistic_hessian" / "logistic_hessian.ipynb"
    assert not released.exists() or "(edited)" not in released.read_text()


def test_the_configuration_lists_nbgraders_own_release_steps():
    """After the course's own step, are the release's preprocessors still nbgrader's defaults
    (named as strings in nbgrader_config.py so that reading it stays cheap)?"""
    from nbgrader.converters import GenerateAssignment
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", str(ROOT)).load_config()
    configured = config.GenerateAssignment.preprocessors
    assert configured[0] == "autograder.release_build.CourseRelease"
    defaults = GenerateAssignment.class_traits()["preprocessors"].default()
    assert configured[1:] == [f"nbgrader.preprocessors.{p.__name__}" for p in defaults]
