"""The checks as pytest tests: `pytest autograder/checks --submission PATH`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.checks import contract

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "submitted"


def _pytest(*args):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_without_a_submission_the_checks_are_skipped():
    """Does `pytest autograder/checks` alone skip, not fail?"""
    proc = _pytest("autograder/checks")
    assert proc.returncode == 0, proc.stdout
    assert "skipped" in proc.stdout


@pytest.mark.slow
def test_full_marks_pass_every_part_in_the_sandbox():
    """Does a correct submission pass one test per contract part, through the sandbox?"""
    proc = _pytest("autograder/checks", "--submission", SAMPLES / "ada_full_marks")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"{len(contract().parts)} passed" in proc.stdout


@pytest.mark.slow
def test_a_slip_fails_its_part_only_with_the_diagnosis():
    """Does a planted slip fail exactly its part's test, with the feedback as the message?"""
    proc = _pytest("autograder/checks", "--submission", SAMPLES / "gus_g_for_dg")
    assert proc.returncode == 1
    assert f"1 failed, {len(contract().parts) - 1} passed" in proc.stdout
    assert "test_part[gus_g_for_dg/mlp_backprop/grad_layer1]" in proc.stdout
    assert "g.df(Z1)" in proc.stdout


def test_in_process_option_for_trusted_notebooks():
    """Does --in-process grade the bundled (trusted) samples without the sandbox?"""
    proc = _pytest(
        "autograder/checks", "--submission", SAMPLES / "fay_transposed_dW2", "--in-process"
    )
    assert f"1 failed, {len(contract().parts) - 1} passed" in proc.stdout
    assert "is transposed" in proc.stdout


def test_pyargs_form_works():
    """Does `pytest --pyargs autograder.checks --submission PATH` work too?"""
    proc = _pytest(
        "--pyargs", "autograder.checks", "--submission", SAMPLES / "ada_full_marks", "--in-process"
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert f"{len(contract().parts)} passed" in proc.stdout
