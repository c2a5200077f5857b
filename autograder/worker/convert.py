"""A student's return value as a tree of plain numbers, or the reason it is not one.

This is the one converter of returned values: the sandbox's loader encodes every answer with
:func:`encode_result`, and the in-process paths (nbgrader's kernel, the tests) call
:func:`plain_tree`, which encodes with the same rules and decodes as the grader decodes the
sandbox's answer, so both give the judges the same tree and the same words.

Only real numbers leave: bools and bool arrays stay bool, integers of any width become int64,
real floats of any width float64 (numpy scalars and Python numbers become 0-d arrays); tuples
and lists become tuples; dicts with str keys stay dicts. Anything else (complex or object
arrays, strings, ``None``, functions, objects with a clever ``__eq__`` or ``__array__``) is
refused here, and the grader, which judges the numbers outside the sandbox, never sees the
object itself.
"""

from __future__ import annotations

import builtins as _builtins_module
from typing import Any

import numpy as np

from .tree import (
    MAX_DEPTH,
    MAX_NODES,
    RESULT_KINDS,
    TreeDecoder,
    TreeEncoder,
    fits_int64,
    int64_range,
    wire_dtype,
)
from .wire import FrameReader, pack

# A private snapshot of the builtins for this module's functions: a submission that replaces
# ``builtins.isinstance`` (or any other) in its process must not break the worker's own code.
__builtins__ = dict(vars(_builtins_module))

# More numbers than any part's answer on the grader's inputs (the largest is an (m, m) Hessian
# or a params-sized gradient): an answer beyond this is a bug or an attempt to flood the pipe.
MAX_RESULT_ELEMENTS = 4_000_000
# Arrays, tuples and dicts in one answer. The contract's answers have a few dozen; the bound
# keeps every answer decodable on the other side (well under the decoder's MAX_NODES, with
# room for the arguments sent back beside it).
MAX_RESULT_NODES = MAX_NODES // 4
# Characters of all dict keys of one answer together: the keys travel in the frame's JSON
# header, which must stay far below its size limit even when every character needs escaping.
MAX_KEY_CHARS = 200_000
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
_np_array = np.array
_int_index = int.__index__
_float_value = float.__float__
_BOOL = np.dtype(bool)
_INT64 = np.dtype(np.int64)
_FLOAT64 = np.dtype(np.float64)

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


class _Budget:
    """What one answer may still hold: numbers, nodes and key characters."""

    def __init__(self) -> None:
        self.elements = 0
        self.nodes = 0
        self.key_chars = 0

    def add(self, elements: int = 0) -> None:
        """Count one node (an array, a tuple or a dict) holding ``elements`` numbers."""
        self.elements += elements
        self.nodes += 1
        if self.elements > MAX_RESULT_ELEMENTS:
            raise NotNumbersError(
                f"returned more than {MAX_RESULT_ELEMENTS:,} numbers, more than any answer needs"
            )
        if self.nodes > MAX_RESULT_NODES:
            raise NotNumbersError(
                f"returned more than {MAX_RESULT_NODES:,} arrays, lists and dicts, "
                "more than any answer needs"
            )

    def key(self, key: str) -> None:
        """Count one dict key's characters."""
        self.key_chars += _len(key)
        if self.key_chars > MAX_KEY_CHARS:
            raise NotNumbersError("returned dict keys far longer than any answer needs")


def encode_result(value: Any, encoder: TreeEncoder) -> Any:
    """The tree node for a value student code returned.

    Parameters
    ----------
    value : object
        Whatever the student's function returned.
    encoder : TreeEncoder
        Receives the arrays' bytes.

    Returns
    -------
    dict
        A tree node of kinds ``"a"``, ``"t"`` and ``"d"`` only.

    Raises
    ------
    NotNumbersError
        With the reason in plain words (``"returned an array of complex numbers, not real
        numbers"``), also when reading the value raised (a rigged object).
    """
    try:
        return _node(value, encoder, _Budget(), 0)
    except NotNumbersError:
        raise
    except Exception as exc:  # a rigged object whose methods raise while being read
        words = f"returned a value that could not be read ({describe_error(exc)})"
        raise NotNumbersError(words) from None


def encode_args_after(args: tuple, encoder: TreeEncoder) -> list:
    """Nodes for the array arguments of a call as they are after it (``None`` for the rest).

    Only exact ndarrays are sent back (the grader passed those); one that cannot be read or
    would exceed the limits of one answer, all arguments together, is sent as ``None``.
    """
    budget = _Budget()
    after = []
    for arg in args:
        node = None
        if _type(arg) is _ndarray:
            try:
                node = _node(arg, encoder, budget, 0)
            except Exception:
                node = None
        after.append(node)
    return after


def plain_tree(value: Any) -> Any:
    """A returned value as the grader receives it from the sandbox, for in-process callers.

    Encodes ``value`` with :func:`encode_result`, packs it into a frame and decodes that frame
    as the grader decodes the sandbox's answer: the same tree, dtypes and refusals as a run
    in the sandbox.

    Parameters
    ----------
    value : object
        Whatever the student's function returned.

    Returns
    -------
    object
        Leaves are ndarrays of dtype bool, int64 or float64 (0-d for scalars: ``True`` gives a
        0-d bool array, ``3`` a 0-d int64 array, ``2.5`` a 0-d float64 array); tuples for
        tuples and lists; dicts with the same str keys. Every array is a fresh copy.

    Raises
    ------
    NotNumbersError
        The value is not made of real numbers (same words as in the sandbox).
    """
    encoder = TreeEncoder()
    node = encode_result(value, encoder)
    ((header, blob),) = FrameReader().feed(pack({"value": node}, encoder.blob()))
    return TreeDecoder(blob, RESULT_KINDS).tree(header["value"])


def plain_args_after(args: tuple) -> tuple:
    """A call's arguments after the call, as the grader receives them from the sandbox.

    Parameters
    ----------
    args : tuple
        The arguments the student's function received (and may have modified).

    Returns
    -------
    tuple
        One entry per argument: for an exact ndarray, a copy of dtype bool, int64 or float64
        with its shape; ``None`` for anything else, and for an array that cannot be sent.
    """
    encoder = TreeEncoder()
    nodes = encode_args_after(args, encoder)
    ((header, blob),) = FrameReader().feed(pack({"args_after": nodes}, encoder.blob()))
    decoder = TreeDecoder(blob, RESULT_KINDS)
    return tuple(None if node is None else decoder.tree(node) for node in header["args_after"])


def _number(value: Any) -> np.ndarray:
    """A Python bool, int or float (or a subclass) as a 0-d array of its own kind."""
    if _isinstance(value, bool):
        # int.__index__ reads the stored number; an impostor claiming to be a bool raises.
        return _np_array(_int_index(value) != 0, dtype=_BOOL)
    if _isinstance(value, int):
        number = _int_index(value)
        if not int64_range(number):
            raise NotNumbersError("returned an int too large for 64 bits")
        return _np_array(number, dtype=_INT64)
    # float.__float__ reads the stored number, not an overridden __float__.
    return _np_array(_float_value(value), dtype=_FLOAT64)


def _node(value: Any, encoder: TreeEncoder, budget: _Budget, depth: int) -> Any:
    if depth > MAX_DEPTH - 2:
        raise NotNumbersError("returned a value nested too deeply")
    kind = _type(value)
    if value is None:
        raise NotNumbersError("returned None, not numbers (is a `return` missing?)")
    if _isinstance(value, _generic) or _isinstance(value, _ndarray):
        # Subclasses of ndarray are read through their buffer, never through their methods.
        arr = _asarray(value) if _isinstance(value, _generic) else value.view(_ndarray)
        if wire_dtype(arr.dtype) is None:
            letter = arr.dtype.kind
            what = _KIND_WORDS.get(letter, f"dtype {arr.dtype}")
            noun = "a number" if arr.ndim == 0 else "an array"
            raise NotNumbersError(f"returned {noun} of {what}, not real numbers")
        if not fits_int64(arr):
            raise NotNumbersError("returned integers too large for 64 bits")
        budget.add(elements=arr.size)
        return encoder.array(arr)
    if _isinstance(value, bool | int | float):
        budget.add(elements=1)
        return encoder.array(_number(value))
    if _isinstance(value, tuple | list):
        budget.add()
        # The base class's iterator, so a subclass cannot present other items here.
        items = tuple.__iter__(value) if _isinstance(value, tuple) else list.__iter__(value)
        return {"t": [_node(v, encoder, budget, depth + 1) for v in items]}
    if _isinstance(value, dict):
        budget.add()
        items = []
        for key, item in dict.items(value):
            if _type(key) is not str:
                raise NotNumbersError(f"returned a dict with a {type_name(key)} key, not a str")
            budget.key(key)
            items.append([key, _node(item, encoder, budget, depth + 1)])
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
