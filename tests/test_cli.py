"""`python -m autograder grade PATH --out DIR [--db URL] [--jobs N]`, as the Makefile runs it."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from autograder.checks import PARTS, contract
from autograder.cli import main

try:
    from cli_tools import run_grade_cli
except ImportError:  # tests/ imported as a package
    from tests.cli_tools import run_grade_cli

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"


@pytest.mark.slow
def test_grading_the_samples_writes_csv_feedback_gradebook_and_summary(tmp_path):
    """Does the README's command grade the samples and write every output, exit status 0?"""
    out, db = tmp_path / "grades", tmp_path / "gradebook.db"
    start = time.perf_counter()
    proc = run_grade_cli(SAMPLES, "--out", out, "--db", f"sqlite:///{db}", "--jobs", "2", "--quiet")
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    with (out / "grades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    students = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    assert len(rows) == len(students) * len(PARTS)
    pages = list((out / "feedback").rglob("*.html"))
    assert len(pages) == len(contract().assignments) * len(students)
    assert (out / "summary.svg").is_file() and (out / "summary.txt").is_file()
    assert db.is_file()
    assert f"Graded {2 * len(students)} notebooks of {len(students)} students" in proc.stdout
    print(f"graded the samples in {seconds:.1f} s")  # shown with -s; never asserted


def test_a_missing_path_is_a_usage_error(tmp_path, capsys):
    """Does a PATH that does not exist give exit status 2 and say so?"""
    assert main([str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-db"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_unreachable_gradebook_stops_before_grading(tmp_path, capsys):
    """Does a gradebook that cannot be opened give exit status 3, before any grading?"""
    url = f"sqlite:///{tmp_path / 'no' / 'dir' / 'gb.db'}"
    code = main([str(SAMPLES / "ada_full_marks"), "--out", str(tmp_path / "o"), "--db", url])
    assert code == 3
    assert "cannot open the gradebook" in capsys.readouterr().err
    assert not (tmp_path / "o" / "grades.csv").exists()


def test_an_empty_folder_is_reported(tmp_path, capsys):
    """Does a folder without submissions say so instead of writing an empty CSV?"""
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--no-db"]) == 2
    assert "no submissions" in capsys.readouterr().err


def test_bad_jobs_value_is_a_usage_error(tmp_path):
    """Is --jobs 0 refused?"""
    assert main([str(SAMPLES), "--out", str(tmp_path), "--jobs", "0", "--no-db"]) == 2


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "ten"])
@pytest.mark.parametrize("option", ["--part-seconds", "--load-seconds"])
def test_a_time_limit_that_is_not_a_positive_number_is_a_usage_error(
    tmp_path, capsys, option, value
):
    """Is a time limit of zero, below zero, NaN, infinite or not a number refused before grading?"""
    with pytest.raises(SystemExit) as exit_:
        main([str(SAMPLES), "--out", str(tmp_path / "o"), "--no-db", option, value])
    assert exit_.value.code == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_one_notebook_can_be_graded(tmp_path):
    """Can PATH be a single notebook, with its parts in the CSV and a feedback page?"""
    nb = SAMPLES / "hal_bias_not_summed" / "mlp_backprop" / "mlp_backprop.ipynb"
    proc = run_grade_cli(nb, "--out", tmp_path, "--no-db", "--quiet")
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "grades.csv").open() as fh:
        rows = {r["grade_id"]: r for r in csv.DictReader(fh)}
    assert rows["test_grad_layer3"]["score"] == "1"
    assert rows["test_grad_layer3"]["diagnosis"] == "bias-not-summed"
    assert (
        tmp_path / "feedback" / "hal_bias_not_summed" / "mlp_backprop" / "mlp_backprop.html"
    ).is_file()


def _sandbox_that_cannot_start(cells, calls, limits, **mode):
    raise RuntimeError("bwrap: cannot create namespace")


def test_a_sandbox_that_fails_everywhere_is_the_graders_failure(tmp_path, capsys, monkeypatch):
    """When not one notebook can run, is it exit status 3, not a CSV of zeros?"""
    monkeypatch.setattr("autograder.sandbox.run_submission", _sandbox_that_cannot_start)
    code = main(
        [
            str(SAMPLES / "ada_full_marks"),
            "--out",
            str(tmp_path),
            "--no-db",
            "--jobs",
            "1",
            "--quiet",
        ]
    )
    assert code == 3
    assert "cannot create namespace" in capsys.readouterr().err
    assert not (tmp_path / "grades.csv").exists()
