"""Does the sandbox's wire format carry plain numbers exactly, and refuse everything else?

The grader decodes whatever the sandbox sends with :mod:`autograder.worker.wire`; a hostile
submission controls those bytes, so the decoder must reject malformed input without
allocating without bound, and never rebuild anything but floats, tuples and dicts.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from autograder.protocol import ActivationRef, FunctionRef
from autograder.worker import convert, wire


def _roundtrip(value, kinds=wire.REQUEST_KINDS, **callbacks):
    encoder = wire.TreeEncoder()
    node = encoder.tree(value)
    frame = wire.pack({"v": node}, encoder.blob())
    ((header, blob),) = wire.FrameReader().feed(frame)
    return wire.TreeDecoder(blob, kinds, **callbacks).tree(header["v"])


def test_request_values_survive_exactly():
    """Do floats (NaN, inf, subnormal), ints, bools, strings and arrays come back exactly?"""
    value = (
        1e-310,
        float("inf"),
        -0.0,
        7,
        True,
        "relu",
        None,
        np.arange(6.0).reshape(2, 3),
        np.float64(2.5),
        np.zeros((0, 4)),
        {"W1": np.eye(2), "b3": 0.25},
        [1.0, (2.0,)],
    )
    out = _roundtrip(value)
    assert out[0] == 1e-310 and out[1] == math.inf and math.copysign(1, out[2]) == -1
    assert out[3] == 7 and type(out[3]) is int and out[4] is True and out[5] == "relu"
    assert out[6] is None
    np.testing.assert_array_equal(out[7], value[7])
    assert out[8] == 2.5  # np.float64 is a float: it travels as one
    assert out[9].shape == (0, 4)
    np.testing.assert_array_equal(out[10]["W1"], np.eye(2))
    assert out[11] == (1.0, (2.0,))
    nan = _roundtrip(float("nan"))
    assert math.isnan(nan)


def test_references_are_built_by_the_receiver():
    """Are activations and test functions rebuilt by the sandbox's own callbacks?"""
    out = _roundtrip(
        (ActivationRef("tanh"), FunctionRef("quadratic", {"A": np.eye(2)})),
        activation=lambda name: ("act", name),
        function=lambda name, data: ("fn", name, data["A"].shape),
    )
    assert out == (("act", "tanh"), ("fn", "quadratic", (2, 2)))


@pytest.mark.parametrize(
    "node",
    [
        {"f": "0x1p0"},
        {"i": 3},
        {"g": "relu"},
        {"s": "text"},
        None,
        {"a": [0, [5]]},
        {"a": [0, [-1]]},
        {"a": [-1, [1]]},
        {"a": [0, [True]]},
        {"a": [0, [1] * 40]},
        {"a": [0, [10**12, 10**12]]},
        {"a": [0, "3"]},
        {"t": {"a": [0, []]}},
        {"d": [[1, {"a": [0, []]}]]},
        {"d": [["k"]]},
        {"a": [0, []], "t": []},
        [1, 2],
        3.0,
    ],
)
def test_results_refuse_malformed_or_foreign_nodes(node):
    """Does the result decoder refuse every node that is not a well-formed float tree?"""
    blob = np.zeros(2).tobytes()
    with pytest.raises(wire.FrameError):
        wire.TreeDecoder(blob, wire.RESULT_KINDS).tree(node)


def test_results_refuse_deep_nesting():
    """Is a tree nested deeper than the limit refused instead of recursing without end?"""
    node = {"a": [0, []]}
    for _ in range(wire.MAX_DEPTH + 5):
        node = {"t": [node]}
    with pytest.raises(wire.FrameError):
        wire.TreeDecoder(np.zeros(1).tobytes()).tree(node)


def test_frames_arrive_in_pieces():
    """Are frames split across reads reassembled, and two frames in one read both found?"""
    frames = wire.pack({"k": 1}, b"x" * 10) + wire.pack({"k": 2})
    reader = wire.FrameReader()
    got = []
    for i in range(len(frames)):
        got += reader.feed(frames[i : i + 1])
    assert got == [({"k": 1}, b"x" * 10), ({"k": 2}, b"")]


@pytest.mark.parametrize(
    "data",
    [
        b"XXXX" + struct.pack("<IQ", 2, 0) + b"{}",
        struct.pack("<4sIQ", wire.MAGIC, wire.MAX_HEADER_BYTES + 1, 0),
        struct.pack("<4sIQ", wire.MAGIC, 2, 2**62) + b"{}",
        struct.pack("<4sIQ", wire.MAGIC, 3, 0) + b"NaN",
        struct.pack("<4sIQ", wire.MAGIC, 2, 0) + b"[]",
        struct.pack("<4sIQ", wire.MAGIC, 2, 0) + b"\xff\xfe",
        struct.pack("<4sIQ", wire.MAGIC, 12, 0) + b'{"a": Infin}',
    ],
)
def test_bad_frames_are_refused(data):
    """Are wrong magic, oversized announcements and non-standard JSON refused at once?"""
    with pytest.raises(wire.FrameError):
        wire.FrameReader().feed(data)


def test_headers_cannot_hold_nan():
    """Is a header with NaN refused when packing, so floats only travel as bytes?"""
    with pytest.raises(ValueError):
        wire.pack({"x": float("nan")})
    assert json.loads(wire.pack({"x": 1})[16:]) == {"x": 1}


def _result(value):
    encoder = wire.TreeEncoder()
    node = convert.encode_result(value, encoder)
    return wire.TreeDecoder(encoder.blob()).tree(node)


def test_results_become_float64_trees():
    """Do ints, bools, numpy scalars, lists and dict subclasses become float64 trees?"""
    from collections import OrderedDict

    out = _result([1, True, np.int8(3), OrderedDict(a=np.arange(3, dtype=np.int64))])
    assert all(isinstance(v, np.ndarray) for v in out[:3])
    assert [float(v) for v in out[:3]] == [1.0, 1.0, 3.0]
    assert out[3]["a"].dtype == np.float64


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (1j, "complex"),
        (np.ones(2, dtype=complex), "complex"),
        (np.array([None]), "object"),
        ("0.5", "str"),
        (b"0.5", "bytes"),
        (None, "None"),
        (print, "function"),
        ({1: 2.0}, "key"),
        (10**400, "too large"),
        (np.array(["a"]), "strings"),
        (object(), "object"),
    ],
)
def test_non_numbers_are_refused_in_plain_words(value, words):
    """Is each kind of non-number refused with words a student understands?"""
    with pytest.raises(convert.NotNumbersError, match=words):
        _result(value)


def test_rigged_objects_are_read_as_stored_numbers():
    """Does a float subclass or ndarray subclass with rigged methods give its stored numbers?"""

    class Rigged(float):
        def __float__(self):
            return 0.0

        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    class Agreeable(np.ndarray):
        def __array__(self, *a, **k):
            return np.zeros(self.shape)

    assert float(_result(Rigged(5.0))) == 5.0
    np.testing.assert_array_equal(_result(np.ones(3).view(Agreeable)), np.ones(3))


def test_huge_and_self_referencing_results_are_refused():
    """Are a result past the size limit and a list containing itself refused, not sent?"""
    loop = []
    loop.append(loop)
    with pytest.raises(convert.NotNumbersError, match="nested"):
        _result(loop)
    with pytest.raises(convert.NotNumbersError, match="numbers"):
        _result(np.zeros(convert.MAX_RESULT_ELEMENTS + 1))
