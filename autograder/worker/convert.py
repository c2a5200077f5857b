"""A student's return value as a float64 tree, or the reason it is not one, in plain words.

Only real numbers leave the sandbox: bools, ints, floats, numpy scalars and arrays of a real
numeric dtype become float64 arrays (0-d for scalars); tuples and lists become tuples; dicts
with str keys stay dicts. Anything else (complex or object arrays, strings, ``None``, functions,
objects with a clever ``__eq__`` or ``__array__``) is refused here, and the grader, which judges
the numbers outside the sandbox, never sees the object itself.
"""

from __future__ import annotations

import builtins as _builtins_module
from typing import Any

import numpy as np

from .wire import MAX_DEPTH, TreeEncoder

# A private snapshot of the builtins for this module's functions: a submission that replaces
# ``builtins.isinstance`` (or any other) in its process must not break the worker's own code.
__builtins__ = dict(vars(_builtins_module))

# More numbers than any part's answer on the grader's inputs (the largest is an (m, m) Hessian
# or a params-sized gradient): an answer beyond this is a bug or an attempt to flood the pipe.
MAX_RESULT_ELEMENTS = 4_000_000
# Student-chosen text (exception messages, type names) is cut so feedback stays readable.
MAX_MESSAGE_CHARS = 300

# Captured when the worker starts, before any student code, so a submission that replaces the
# builtins in its own process cannot change how this module classifies values.
_isinstance = isinstance
_type = type
_len = len
_ndarray = np.ndarray
_generic = np.generic
_asarray = np.asarray
_float64 = np.float64

_REAL_KINDS = "biuf"
_KIND_WORDS = {
    "c": "complex numbers",
    "O": "Python objects (dtype object)",
    "U": "strings",
    "S": "bytes",
    "M": "dates",
    "m": "time spans",
    "V": "raw records",
}


class NotNumbersError(Exception):
    """The value cannot be sent as numbers; ``str(exc)`` says why, for the student."""


def short(text: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Student-chosen text, on one line and cut to ``limit`` characters."""
    try:
        text = str(text)
    except Exception:  # a rigged __str__ may raise anything
        text = "<unprintable>"
    text = text.replace("\n", " ").replace("\r", " ")
    return text if _len(text) <= limit else text[: limit - 3] + "..."


def type_name(value: Any) -> str:
    """The name of a value's type, safe to show."""
    return short(getattr(_type(value), "__name__", "object"), 60)


def describe_error(exc: BaseException) -> str:
    """``"raised ValueError: shapes do not match"``."""
    message = short(exc)
    name = type_name(exc)
    return f"raised {name}: {message}" if message else f"raised {name}"


class _Counter:
    def __init__(self) -> None:
        self.elements = 0

    def add(self, n: int) -> None:
        self.elements += n
        if self.elements > MAX_RESULT_ELEMENTS:
            raise NotNumbersError(
                f"returned more than {MAX_RESULT_ELEMENTS:,} numbers, more than any answer needs"
            )


def encode_result(value: Any, encoder: TreeEncoder) -> Any:
    """The tree node for ``value``.

    Raises
    ------
    NotNumbersError
        With the reason in plain words (``"returned a complex array"``).
    """
    return _node(value, encoder, _Counter(), 0)


def _node(value: Any, encoder: TreeEncoder, counter: _Counter, depth: int) -> Any:
    if depth > MAX_DEPTH - 2:
        raise NotNumbersError("returned a value nested too deeply")
    kind = _type(value)
    if value is None:
        raise NotNumbersError("returned None, not numbers (is a `return` missing?)")
    if _isinstance(value, _generic) or _isinstance(value, _ndarray):
        # Subclasses of ndarray are read through their buffer, never through their methods.
        arr = _asarray(value) if _isinstance(value, _generic) else value.view(_ndarray)
        letter = arr.dtype.kind
        if letter not in _REAL_KINDS:
            what = _KIND_WORDS.get(letter, f"dtype {arr.dtype}")
            noun = "a number" if arr.ndim == 0 else "an array"
            raise NotNumbersError(f"returned {noun} of {what}, not real numbers")
        counter.add(arr.size)
        return encoder.array(arr)
    if _isinstance(value, bool | int | float):
        try:
            # float.__float__ etc. read the stored number, not an overridden __float__.
            number = (
                float(int.__index__(value)) if _isinstance(value, int) else float.__float__(value)
            )
            return encoder.array(_float64(number))
        except OverflowError:
            raise NotNumbersError("returned an int too large for a float") from None
    if _isinstance(value, tuple | list):
        counter.add(1)
        # The base class's iterator, so a subclass cannot present other items here.
        items = tuple.__iter__(value) if _isinstance(value, tuple) else list.__iter__(value)
        return {"t": [_node(v, encoder, counter, depth + 1) for v in items]}
    if _isinstance(value, dict):
        counter.add(1)
        items = []
        for key, item in dict.items(value):
            if _type(key) is not str:
                raise NotNumbersError(f"returned a dict with a {type_name(key)} key, not a str")
            items.append([key, _node(item, encoder, counter, depth + 1)])
        return {"d": items}
    if kind is str:
        raise NotNumbersError("returned a str, not numbers")
    if kind is bytes:
        raise NotNumbersError("returned bytes, not numbers")
    if kind is complex:
        raise NotNumbersError("returned a complex number, not a real one")
    if callable(value):
        raise NotNumbersError("returned a function, not numbers (is a call `()` missing?)")
    raise NotNumbersError(f"returned a {type_name(value)} object, not numbers")
