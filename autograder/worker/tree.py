"""Values inside a frame: tree nodes in the JSON header, array bytes in the blob.

A *tree* is how a value travels. Each node is a one-key JSON object:

==========  ===========================================  =====================================
key         value                                        stands for
==========  ===========================================  =====================================
``"a"``     ``[dtype, offset, [n0, n1, ...]]``           an array read from the blob
``"t"``     list of nodes                                a tuple (lists travel as tuples)
``"d"``     list of ``[str, node]`` pairs                a dict with str keys
``"f"``     ``float.hex`` string                         a Python float (requests only)
``"i"``     int                                          a Python int (requests only)
``"b"``     bool                                         a Python bool (requests only)
``"s"``     str                                          a Python str (requests only)
``"g"``     str                                          an activation by name (requests only)
``"fn"``    ``[name, node]``                             a scalar test function (requests only)
==========  ===========================================  =====================================

plus JSON ``null`` for ``None`` (requests only). Results coming back from student code may use
only ``"a"``, ``"t"`` and ``"d"``.

An array node names its dtype by one of the codes of :data:`WIRE_DTYPES` (``"f8"``: float64,
``"i8"``: int64, both little-endian; ``"b1"``: bool, one byte that is 0 or 1), gives its
``offset`` in bytes from the start of the blob (a multiple of :data:`ALIGNMENT`) and its shape.
The encoder keeps the *kind* of every array: bools stay bool, integers of any width become
int64, real floats of any width float64; nothing else can be encoded. The decoder accepts
only those three codes, aligned offsets and arrays inside the blob, and never reads more bytes
in all than the blob holds, so a hostile writer can neither make it allocate without bound nor
smuggle in any other type.
"""

from __future__ import annotations

import builtins as _builtins_module
from typing import Any

import numpy as np

from ..protocol import ActivationRef, FunctionRef
from .wire import MAX_BLOB_BYTES, FrameError

# A private snapshot of the builtins for this module's functions: a submission that replaces
# ``builtins.isinstance`` (or any other) in its process must not break the worker's own code.
__builtins__ = dict(vars(_builtins_module))

# Deeper than any value the contract returns (a dict of arrays inside a tuple is depth 3).
MAX_DEPTH = 32
# Nodes per frame: more than a notebook's worth of parts and outcomes, fewer than would hurt.
MAX_NODES = 200_000
MAX_NDIM = 32
# Every array starts at a multiple of this many bytes, so each is read from an address aligned
# for its dtype (8 is the largest itemsize on the wire).
ALIGNMENT = 8

RESULT_KINDS = frozenset({"a", "t", "d"})
REQUEST_KINDS = frozenset({"a", "t", "d", "f", "i", "b", "s", "g", "fn", None})

FLOAT64 = np.dtype("<f8")
INT64 = np.dtype("<i8")
BOOL = np.dtype("?")
#: The dtypes an array may have on the wire, by their code in an array node.
WIRE_DTYPES = {"f8": FLOAT64, "i8": INT64, "b1": BOOL}
_CODES = {dtype: code for code, dtype in WIRE_DTYPES.items()}
_INT64_MAX = int(np.iinfo(np.int64).max)
_INT64_MIN = int(np.iinfo(np.int64).min)

# Captured at import, before any student code, for the same reason as the builtins above.
_np_array = np.array
_frombuffer = np.frombuffer
_generic = np.generic
_asarray = np.asarray
_greater = np.greater
_any = np.any
_UINT8 = np.dtype("u1")


def wire_dtype(dtype: np.dtype) -> np.dtype | None:
    """The dtype an array of ``dtype`` travels as, or None if it cannot travel.

    Parameters
    ----------
    dtype : numpy.dtype

    Returns
    -------
    numpy.dtype or None
        ``bool`` for bools, int64 for signed and unsigned integers, float64 for real floats;
        None for complex numbers, objects, strings, dates and records.
    """
    kind = dtype.kind
    if kind == "b":
        return BOOL
    if kind in "iu":
        return INT64
    if kind == "f":
        return FLOAT64
    return None


def fits_int64(values: np.ndarray) -> bool:
    """Whether every number of an integer array (any shape) fits in an int64.

    Only uint64 can hold integers beyond the int64 range; they are refused rather than
    wrapped around to negative numbers.
    """
    if values.dtype.kind != "u" or values.dtype.itemsize < 8 or values.size == 0:
        return True
    return not bool(_any(_greater(values, _INT64_MAX)))


def int64_range(number: int) -> bool:
    """Whether a Python int fits in an int64."""
    return _INT64_MIN <= number <= _INT64_MAX


class TreeEncoder:
    """Builds tree nodes and the blob their arrays live in."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0  # in bytes, always a multiple of ALIGNMENT

    def array(self, value: np.ndarray | np.generic) -> dict:
        """Node for an array (or numpy scalar) of a real or bool dtype, cast to its wire dtype.

        Parameters
        ----------
        value : ndarray or numpy scalar, any shape
            Read through the base class's buffer, never through a subclass's methods.

        Raises
        ------
        TypeError
            The dtype cannot travel (complex, object, str, ...) or an unsigned integer does
            not fit in an int64.
        """
        source = _asarray(value) if isinstance(value, _generic) else value
        target = wire_dtype(source.dtype)
        if target is None:
            raise TypeError(f"cannot send an array of {source.dtype}")
        if target is INT64 and not fits_int64(source):
            raise TypeError("cannot send integers beyond the int64 range")
        # (np.ascontiguousarray would turn a 0-d array into shape (1,).)
        arr = _np_array(source, dtype=target, order="C", copy=True)
        data = arr.tobytes()
        node = {"a": [_CODES[target], self._size, list(arr.shape)]}
        padding = -len(data) % ALIGNMENT
        self._parts.append(data + b"\0" * padding)
        self._size += len(data) + padding
        return node

    def tree(self, value: Any) -> Any:
        """Node for a request value: arrays, numbers, tuples/lists, dicts, references."""
        if value is None:
            return None
        if isinstance(value, bool):
            return {"b": value}
        if isinstance(value, int):
            return {"i": value}
        if isinstance(value, float):
            return {"f": value.hex()}
        if isinstance(value, str):
            return {"s": value}
        if isinstance(value, np.ndarray | np.generic):
            return self.array(value)
        if isinstance(value, tuple | list):
            return {"t": [self.tree(v) for v in value]}
        if isinstance(value, dict):
            return {"d": [[str(k), self.tree(v)] for k, v in value.items()]}
        if isinstance(value, ActivationRef):
            return {"g": value.name}
        if isinstance(value, FunctionRef):
            return {"fn": [value.name, self.tree(dict(value.data))]}
        raise TypeError(f"cannot send a {type(value).__name__} to the sandbox")

    def blob(self) -> bytes:
        """All arrays, concatenated (each padded to :data:`ALIGNMENT`) in the order made."""
        return b"".join(self._parts)


class TreeDecoder:
    """Rebuilds values from nodes, checking every node against the blob and the limits.

    Parameters
    ----------
    blob : bytes
    kinds : frozenset of str
        Node kinds allowed (:data:`RESULT_KINDS` for anything student code produced).
    activation, function : callable, optional
        Build the objects behind ``"g"`` and ``"fn"`` nodes (sandbox side only).
    """

    def __init__(self, blob: bytes, kinds=RESULT_KINDS, activation=None, function=None):
        self._blob = blob
        self._kinds = kinds
        self._activation = activation
        self._function = function
        self._nodes = 0
        # Bytes of array data rebuilt so far: never more than the blob holds, so nodes that
        # point at the same bytes again and again cannot multiply the memory a frame costs.
        self._budget = len(blob)

    def tree(self, node: Any, depth: int = 0) -> Any:
        """The value a node stands for; raises :class:`FrameError` if the node is malformed."""
        self._nodes += 1
        if self._nodes > MAX_NODES or depth > MAX_DEPTH:
            raise FrameError("value too large or too deeply nested")
        if node is None:
            if None not in self._kinds:
                raise FrameError("null where a value was expected")
            return None
        if not isinstance(node, dict) or len(node) != 1:
            raise FrameError("malformed node")
        ((kind, body),) = node.items()
        if kind not in self._kinds:
            raise FrameError(f"node kind {kind!r} not allowed here")
        if kind == "a":
            return self._array(body)
        if kind == "t":
            if not isinstance(body, list):
                raise FrameError("malformed tuple node")
            return tuple(self.tree(v, depth + 1) for v in body)
        if kind == "d":
            if not isinstance(body, list):
                raise FrameError("malformed dict node")
            out = {}
            for pair in body:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise FrameError("malformed dict entry")
                out[pair[0]] = self.tree(pair[1], depth + 1)
            return out
        if kind == "f":
            if not isinstance(body, str):
                raise FrameError("malformed float node")
            try:
                return float.fromhex(body)
            except (ValueError, OverflowError):
                raise FrameError("malformed float node") from None
        if kind == "i":
            if not isinstance(body, int) or isinstance(body, bool):
                raise FrameError("malformed int node")
            return body
        if kind == "b":
            if not isinstance(body, bool):
                raise FrameError("malformed bool node")
            return body
        if kind == "s":
            if not isinstance(body, str):
                raise FrameError("malformed str node")
            return body
        if kind == "g":
            if not isinstance(body, str) or self._activation is None:
                raise FrameError("malformed activation node")
            return self._activation(body)
        # kind == "fn"
        if not (isinstance(body, list) and len(body) == 2 and isinstance(body[0], str)):
            raise FrameError("malformed function node")
        if self._function is None:
            raise FrameError("function nodes not allowed here")
        data = self.tree(body[1], depth + 1)
        if not isinstance(data, dict):
            raise FrameError("function data must be a dict")
        return self._function(body[0], data)

    def _array(self, body: Any) -> np.ndarray:
        if not (isinstance(body, list) and len(body) == 3 and isinstance(body[2], list)):
            raise FrameError("malformed array node")
        code, offset, shape = body
        if not isinstance(code, str) or code not in WIRE_DTYPES:
            raise FrameError("unknown array dtype")
        dtype = WIRE_DTYPES[code]
        ints = [offset, *shape]
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in ints):
            raise FrameError("array offset and shape must be non-negative ints")
        if len(shape) > MAX_NDIM:
            raise FrameError("array has too many dimensions")
        # No real array has a dimension longer than a frame's bytes, even an empty one; the
        # bound keeps every product below numpy's index range.
        if any(n > MAX_BLOB_BYTES for n in shape):
            raise FrameError("array dimension too large")
        if offset % ALIGNMENT:
            raise FrameError("array offset is not aligned")
        count = 1
        for n in shape:
            count *= n
        n_bytes = count * dtype.itemsize
        if offset + n_bytes > len(self._blob) or offset > len(self._blob):
            raise FrameError("array runs past the data sent")
        if n_bytes > self._budget:
            raise FrameError("arrays read more bytes than were sent")
        self._budget -= n_bytes
        if dtype is BOOL:
            raw = _frombuffer(self._blob, dtype=_UINT8, count=count, offset=offset)
            if bool(_any(_greater(raw, 1))):
                raise FrameError("bool array holds bytes other than 0 and 1")
        flat = _frombuffer(self._blob, dtype=dtype, count=count, offset=offset)
        # A private, writable, native-endian copy: callers may modify it freely.
        return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)
