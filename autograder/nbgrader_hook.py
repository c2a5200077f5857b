"""nbgrader's in-kernel path: the hidden test block of each graded part.

A source notebook's hidden test block ends with, for example::

    ### BEGIN HIDDEN TESTS
    from autograder.nbgrader_hook import hidden_test
    hidden_test("grad_layer2", grad_layer2)
    ### END HIDDEN TESTS

The call runs the same cases and judges as the batch grader, prints the plain-text feedback
to stdout and evaluates to the score. nbgrader reads a test cell's numeric ``execute_result``
as partial credit (``nbgrader.utils.get_partial_grade`` in 0.9.6: ``float(text/plain)``,
between 0 and the cell's points), and gives 0 to a cell that writes to stderr or raises, so
this function never raises, never writes to stderr, and returns a plain Python ``float``
(numpy 2 would print a ``np.float64`` as ``np.float64(2.0)``, which nbgrader cannot parse and
would count as full credit).

Difference from nbgrader's own convention: the visible asserts earlier in a test cell still
give the whole cell 0 when they fail; partial credit inside a part (e.g. one of ``dW2``,
``db2``, ``delta2`` right) is only given when the visible checks pass.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

import numpy as np

__all__ = ["HOOK_SEED", "hidden_test"]

#: Seed of the cases in nbgrader's kernel. Fixed, so that ``nbgrader autograde`` gives the
#: same points on every run; the batch grader draws a seed per student instead.
HOOK_SEED = 2705


def hidden_test(part: str, fn, seed: int | None = None) -> float:
    """Grade one part in the current kernel, print the feedback and return the score.

    Parameters
    ----------
    part : str
        Contract function name, e.g. ``"grad_layer2"``.
    fn : callable
        The student's function (the notebook's global of that name).
    seed : int, optional
        Seed of the cases; :data:`HOOK_SEED` when omitted.

    Returns
    -------
    float
        Points earned, between 0 and the part's points (rounded to 1e-4).
    """
    seed = HOOK_SEED if seed is None else int(seed)
    with (
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
        contextlib.redirect_stderr(sys.stdout),
    ):
        warnings.simplefilter("ignore")
        try:
            from .checks import PARTS, check_function, format_part_text

            if part not in PARTS:
                print(f"hidden_test: unknown part {part!r}")
                return 0.0
            result = check_function(part, fn, seed)
            text = format_part_text(result)
            score = float(result.score)
        except Exception as exc:  # the grader's own failure must not crash the cell
            print(f"hidden_test: the check of {part!r} could not run ({type(exc).__name__}: {exc})")
            return 0.0
    print(text)
    return score
