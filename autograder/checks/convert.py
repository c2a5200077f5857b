"""Returned values as plain trees of numbers, the only form the judges read.

The sandbox converts what student code returns on its side of the process boundary; the
in-process paths (nbgrader's kernel, the tests) convert here, with the same rules, so a judge
cannot tell where a value came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Malformed", "to_plain_tree"]


class Malformed(Exception):  # noqa: N818 (it reads as the verdict: "Malformed: ...")
    """The returned value does not have the contract's structure (message in plain words)."""


def to_plain_tree(value: Any) -> Any:
    """Convert a returned value into the protocol's plain tree of float64 arrays.

    Raises :class:`Malformed` for values that are not numbers.

    Parameters
    ----------
    value : object
        Numbers, arrays, tuples, lists and dicts with str keys, nested.

    Returns
    -------
    object
        Leaves are float64 ndarrays (0-d for scalars); tuples for tuples and lists; dicts keep
        their str keys.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise Malformed(f"returned a dict with a {type(key).__name__} key, not str")
            out[key] = to_plain_tree(item)
        return out
    if isinstance(value, (tuple, list)):
        return tuple(to_plain_tree(item) for item in value)
    if value is None:
        raise Malformed("returned None (a missing `return`?)")
    if isinstance(value, (bool, np.bool_)):
        raise Malformed("returned a bool, not numbers")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return np.array(float(value), dtype=np.float64)
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            raise Malformed("returned a complex array")
        if value.dtype.kind not in "fiu":
            raise Malformed(f"returned an array of {value.dtype}, not numbers")
        return np.array(value, dtype=np.float64, copy=True)
    if isinstance(value, complex):
        raise Malformed("returned a complex number")
    raise Malformed(f"returned a {type(value).__name__}, not numbers")
