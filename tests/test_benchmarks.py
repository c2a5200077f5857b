"""The throughput benchmark (`benchmarks/grading_throughput.py`) keeps working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "grading_throughput.py"


@pytest.mark.slow
def test_the_quick_benchmark_runs_both_graders_and_reports_every_number(tmp_path):
    """Does `--quick` grade with nbgrader and with us, and print the ratio, scaling and breakdown?

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
    assert "ratio" in proc.stdout and "where one notebook's time goes" in proc.stdout
    results = json.loads(out.read_text())
    assert results["nbgrader"]["graded"] == results["nbgrader"]["notebooks"] == 2
    assert results["ours_same_set"]["notebooks"] == 2
    assert results["scaling"][0]["isolation"]  # bwrap, or fallback where it cannot run
    assert results["breakdown"]["notebooks"] >= 1
    assert results["scaling"][0]["memory_mib"]["grader_rss"] > 0
