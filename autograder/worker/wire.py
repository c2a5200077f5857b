"""Length-prefixed frames: a small JSON header plus a blob of raw bytes.

Every message between the grader, the sandbox's supervisor and the processes that run student
code is one frame::

    b"GBH1" | header length (uint32, LE) | blob length (uint64, LE) | header | blob

Nothing is pickled: the reader parses JSON of bounded size, without NaN or infinities, and
hands the blob on untouched. Values travel as trees inside the header whose arrays point into
the blob (see :mod:`.tree`), so a hostile writer can at worst send numbers.
"""

from __future__ import annotations

import builtins as _builtins_module
import json
import os
import struct
from typing import Any

from ..protocol import Flag

# A private snapshot of the builtins for this module's functions: a submission that replaces
# ``builtins.isinstance`` (or any other) in its process must not break the worker's own code.
__builtins__ = dict(vars(_builtins_module))

MAGIC = b"GBH1"
_PREFIX = struct.Struct("<4sIQ")  # magic, header length, blob length

# A submission's answers are a few small arrays; these bounds only stop a hostile writer from
# making the reader allocate without limit. 256 MiB of numbers is far beyond any honest answer.
MAX_HEADER_BYTES = 8 * 1024**2
MAX_BLOB_BYTES = 256 * 1024**2

# Captured at import, before any student code, for the same reason as the builtins above.
_dumps = json.dumps
_loads = json.loads
_write = os.write
_read = os.read


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


def check_flags(value: Any, allowed: frozenset[Flag], max_items: int = 50) -> set[Flag]:
    """The flags of an untrusted header that are in ``allowed``; unknown words are dropped.

    Raises
    ------
    FrameError
        ``value`` is not a list of str.
    """
    words = check_str_list(value, max_items, 40)
    return {Flag(word) for word in words if word in allowed}


def check_module_names(value: Any, max_items: int = 200) -> set[str]:
    """The top-level module names of an untrusted header; anything but an identifier is dropped.

    Raises
    ------
    FrameError
        ``value`` is not a list of str.
    """
    names = check_str_list(value, max_items, 100)
    return {name for name in names if name.isascii() and name.isidentifier()}
