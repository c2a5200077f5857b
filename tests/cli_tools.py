"""Run the grading command as an instructor does: a fresh interpreter, from the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_grade_cli(*args, cwd=REPO) -> subprocess.CompletedProcess:
    """``python -m autograder grade ARGS`` with this interpreter; output captured as text."""
    env = dict(os.environ)
    # The installed package must be the one graded with, not a checkout on PYTHONPATH.
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "autograder", "grade", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
