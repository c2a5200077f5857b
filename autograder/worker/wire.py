"""Length-prefixed frames: a small JSON header plus raw little-endian float64 bytes.

Every message between the grader, the sandbox's supervisor and the processes that run student
code is one frame. Nothing is pickled: the reader parses JSON of bounded size and rebuilds
float64 arrays from bounded byte ranges, so a hostile writer can at worst send numbers.

A *tree* is how values travel inside a header. Each node is a one-key JSON object:

==========  ===========================================  =====================================
key         value                                        stands for
==========  ===========================================  =====================================
``"a"``     ``[offset, [n0, n1, ...]]`` (in elements)    a float64 array read from the blob
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
"""

from __future__ import annotations

import builtins as _builtins_module
import json
import os
import struct
from typing import Any

import numpy as np

# A private snapshot of the builtins for this module's functions: a submission that replaces
# ``builtins.isinstance`` (or any other) in its process must not break the worker's own code.
__builtins__ = dict(vars(_builtins_module))

MAGIC = b"GBH1"
_PREFIX = struct.Struct("<4sIQ")  # magic, header length, blob length

# A submission's answers are a few small arrays; these bounds only stop a hostile writer from
# making the reader allocate without limit. 256 MiB of floats is far beyond any honest answer.
MAX_HEADER_BYTES = 8 * 1024**2
MAX_BLOB_BYTES = 256 * 1024**2
# Deeper than any value the contract returns (a dict of arrays inside a tuple is depth 3).
MAX_DEPTH = 32
# Nodes per frame: more than a notebook's worth of parts and outcomes, fewer than would hurt.
MAX_NODES = 200_000
MAX_NDIM = 32

RESULT_KINDS = frozenset({"a", "t", "d"})
REQUEST_KINDS = frozenset({"a", "t", "d", "f", "i", "b", "s", "g", "fn", None})

FLOAT64 = np.dtype("<f8")

# Captured at import, before any student code, for the same reason as the builtins above.
_dumps = json.dumps
_loads = json.loads
_write = os.write
_read = os.read
_np_array = np.array
_frombuffer = np.frombuffer


class FrameError(ValueError):
    """A frame or tree that does not follow the format (truncated, oversized or malformed)."""


def _reject_constant(name: str):
    # JSON's NaN/Infinity extensions never appear in a header: floats travel in the blob.
    raise FrameError(f"non-standard JSON constant {name}")


def pack(header: dict, blob: bytes = b"") -> bytes:
    """One frame as bytes.

    Parameters
    ----------
    header : dict
        JSON-serialisable, without NaN or infinities.
    blob : bytes
        Raw bytes the header's array nodes point into.
    """
    text = _dumps(header, separators=(",", ":"), allow_nan=False).encode()
    if len(text) > MAX_HEADER_BYTES or len(blob) > MAX_BLOB_BYTES:
        raise FrameError("frame too large")
    return _PREFIX.pack(MAGIC, len(text), len(blob)) + text + blob


class FrameReader:
    """Incremental frame parser for a byte stream (pipes deliver frames in pieces).

    Attributes
    ----------
    max_bytes : int
        Largest header plus blob accepted; a larger announcement is an error at once.
    """

    def __init__(self, max_bytes: int = MAX_HEADER_BYTES + MAX_BLOB_BYTES) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[tuple[dict, bytes]]:
        """Add bytes; return every frame now complete, as ``(header, blob)``."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= _PREFIX.size:
            magic, n_header, n_blob = _PREFIX.unpack_from(self._buffer)
            if magic != MAGIC:
                raise FrameError("bad frame magic")
            if n_header > MAX_HEADER_BYTES or n_header + n_blob > self.max_bytes:
                raise FrameError(f"frame of {n_header + n_blob} bytes is over the limit")
            end = _PREFIX.size + n_header + n_blob
            if len(self._buffer) < end:
                break
            text = bytes(self._buffer[_PREFIX.size : _PREFIX.size + n_header])
            blob = bytes(self._buffer[_PREFIX.size + n_header : end])
            del self._buffer[:end]
            frames.append((parse_header(text), blob))
        return frames


def parse_header(text: bytes) -> dict:
    """Strict JSON header: UTF-8, standard JSON, an object at the top."""
    try:
        header = _loads(text.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FrameError(f"unreadable header: {type(exc).__name__}") from None
    if not isinstance(header, dict):
        raise FrameError("header is not an object")
    return header


def write_frame(fd: int, header: dict, blob: bytes = b"") -> None:
    """Write one frame to a file descriptor, all of it (pipes may take it in pieces)."""
    write_all(fd, pack(header, blob))


def write_all(fd: int, data: bytes) -> None:
    """Write bytes to a blocking file descriptor until all are written."""
    view = memoryview(data)
    while view:
        written = _write(fd, view)
        view = view[written:]


def read_frame(fd: int, max_bytes: int = MAX_HEADER_BYTES + MAX_BLOB_BYTES) -> tuple[dict, bytes]:
    """Block until one whole frame has arrived on ``fd``.

    Raises
    ------
    EOFError
        The writer closed the stream before a whole frame arrived.
    FrameError
        The bytes are not a frame.
    """
    reader = FrameReader(max_bytes)
    while True:
        # Read no further than this frame so that the next one stays in the pipe.
        want = _PREFIX.size - reader.pending
        if want <= 0:
            _, n_header, n_blob = _PREFIX.unpack_from(reader._buffer)
            if n_header > MAX_HEADER_BYTES or n_header + n_blob > max_bytes:
                reader.feed(b"")  # raises the size error
            want = _PREFIX.size + n_header + n_blob - reader.pending
        chunk = _read(fd, min(want, 1 << 20))
        if not chunk:
            raise EOFError("stream closed")
        frames = reader.feed(chunk)
        if frames:
            return frames[0]


class TreeEncoder:
    """Builds tree nodes and the blob their arrays live in."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0  # in float64 elements

    def array(self, value: np.ndarray) -> dict:
        """Node for a float64 array (converted first if needed)."""
        # (np.ascontiguousarray would turn a 0-d array into shape (1,).)
        arr = _np_array(value, dtype=FLOAT64, order="C", copy=True)
        node = {"a": [self._size, list(arr.shape)]}
        self._parts.append(arr.tobytes())
        self._size += arr.size
        return node

    def tree(self, value: Any) -> Any:
        """Node for a request value: arrays, numbers, tuples/lists, dicts, references."""
        # Local import: protocol lives beside this module in the sandbox's minimal package.
        from ..protocol import ActivationRef, FunctionRef

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
        """All arrays, concatenated in the order their nodes were made."""
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
        self._n_elements = len(blob) // FLOAT64.itemsize
        self._kinds = kinds
        self._activation = activation
        self._function = function
        self._nodes = 0

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
            return float.fromhex(body)
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
        if not (isinstance(body, list) and len(body) == 2 and isinstance(body[1], list)):
            raise FrameError("malformed array node")
        offset, shape = body
        ints = [offset, *shape]
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in ints):
            raise FrameError("array offset and shape must be non-negative ints")
        if len(shape) > MAX_NDIM:
            raise FrameError("array has too many dimensions")
        count = 1
        for n in shape:
            count *= n
            if count > self._n_elements:
                raise FrameError("array larger than the data sent")
        if offset + count > self._n_elements:
            raise FrameError("array runs past the data sent")
        flat = _frombuffer(self._blob, dtype=FLOAT64, count=count, offset=offset * FLOAT64.itemsize)
        # A private, writable, native-endian copy: callers may modify it freely.
        return flat.astype(np.float64, copy=True).reshape(shape)


def check_str(value: Any, limit: int = 2000) -> str:
    """A str from an untrusted header, cut to ``limit`` characters; anything else is an error."""
    if not isinstance(value, str):
        raise FrameError("expected a string")
    return value[:limit]


def check_str_list(value: Any, max_items: int = 200, limit: int = 2000) -> list[str]:
    """A list of str from an untrusted header, bounded in length and item size."""
    if not isinstance(value, list):
        raise FrameError("expected a list of strings")
    return [check_str(v, limit) for v in value[:max_items]]
