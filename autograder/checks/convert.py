"""Returned values as plain trees of numbers, the only form the judges read.

There is one converter, the sandbox's (:func:`autograder.worker.convert.plain_tree`): the
in-process paths (nbgrader's kernel, the tests) call it too, so a judge sees the same tree,
the same dtypes (bool, int64, float64) and the same refusals wherever the student's code ran.
"""

from __future__ import annotations

from typing import Any

from ..worker.convert import NotNumbersError, plain_tree

__all__ = ["Malformed", "to_plain_tree"]


class Malformed(Exception):  # noqa: N818 (it reads as the verdict: "Malformed: ...")
    """The returned value does not have the contract's structure (message in plain words)."""


def to_plain_tree(value: Any) -> Any:
    """A returned value as the sandbox would send it back.

    Parameters
    ----------
    value : object
        What the student's function returned.

    Returns
    -------
    object
        Leaves are ndarrays of dtype bool, int64 or float64 (0-d for scalars); tuples for
        tuples and lists; dicts keep their str keys.

    Raises
    ------
    Malformed
        When the value is not made of real numbers, with the sandbox's words.
    """
    try:
        return plain_tree(value)
    except NotNumbersError as exc:
        raise Malformed(str(exc)) from None
