"""The speed benchmark (`benchmarks/grading_speed.py`) keeps working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "grading_speed.py"


@pytest.mark.slow
def test_the_quick_benchmark_times_both_graders_and_reports_every_number(tmp_path):
    """Does `--quick` time nbgrader and this grader side by side, the phases of a regrade and
    a batch with everything written, and print the targets?

    Only that the numbers exist is checked: timings are printed, never asserted.
    """
    out = tmp_path / "results.json"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "== targets" in proc.stdout and "where the grader's time goes" in proc.stdout
    results = json.loads(out.read_text())
    assert results["class"]["nbgrader_s"] > 0 and results["class"]["ours_s"] > 0
    assert results["regrade"]["feedback_page"] is True
    assert "start-up and imports" in results["regrade"]["ours_phases"]
    scale = results["scale"]
    assert scale["written"]["autograded notebooks"] == scale["notebooks"]
    assert scale["written"]["feedback pages"] == scale["notebooks"]
    assert scale["memory_mib"]["grader_rss"] > 0
