"""Helpers of the sandbox tests: comparing the plain trees of numbers a submission returns.

Not a test module.
"""

from __future__ import annotations

import numpy as np


def assert_same_tree(a, b) -> None:
    """Same structure, same types, same dtypes and shapes, same numbers (NaN equal to NaN)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same_tree(a[key], b[key])
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_tree(x, y)
    else:
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
