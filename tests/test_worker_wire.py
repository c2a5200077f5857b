"""Does the sandbox's wire format carry plain numbers exactly, with their dtype, and refuse
everything else?

The grader decodes whatever the sandbox sends with :mod:`autograder.worker.wire` (frames) and
:mod:`autograder.worker.tree` (values); a hostile submission controls those bytes, so the
decoder must reject malformed input without allocating without bound, and never rebuild
anything but bool, int64 and float64 arrays, tuples and dicts. The one converter of returned
values, :mod:`autograder.worker.convert`, must give in-process callers exactly what the
sandbox gives the grader.
"""

from __future__ import annotations

import json
import math
import struct
from collections import OrderedDict
from dataclasses import asdict

import numpy as np
import pytest

from autograder.protocol import (
    SANDBOX_FLAGS,
    ActivationRef,
    Call,
    Flag,
    FunctionRef,
    Limits,
    cell_digest,
)
from autograder.sandbox_messages import build_request, parse_answer
from autograder.worker import convert, loader, tree, wire
from autograder.worker.job import Job
from autograder.worker.report import Evidence, PartDone, Report

try:
    from tree_tools import assert_same_tree
except ImportError:  # tests/ imported as a package
    from tests.tree_tools import assert_same_tree


def _roundtrip(value, kinds=tree.REQUEST_KINDS, **callbacks):
    encoder = tree.TreeEncoder()
    node = encoder.tree(value)
    frame = wire.pack({"v": node}, encoder.blob())
    ((header, blob),) = wire.FrameReader().feed(frame)
    return tree.TreeDecoder(blob, kinds, **callbacks).tree(header["v"])


# Two float64 zeros: the blob the hostile nodes below point into.
TWO_ZEROS = np.zeros(2).tobytes()


def _decode(node, blob=TWO_ZEROS, kinds=tree.RESULT_KINDS):
    return tree.TreeDecoder(blob, kinds).tree(node)


# -- requests ------------------------------------------------------------------------------------


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
    assert out[8] == 2.5 and type(out[8]) is float  # np.float64 is a float: it travels as one
    assert out[9].shape == (0, 4)
    np.testing.assert_array_equal(out[10]["W1"], np.eye(2))
    assert out[11] == (1.0, (2.0,))
    nan = _roundtrip(float("nan"))
    assert math.isnan(nan)


@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.array([0, 2, 1, 2]), np.int64),  # integer labels, as in P[np.arange(N), y]
        (np.array([0, 2, 1], dtype=np.int32), np.int64),
        (np.array([7], dtype=np.uint8), np.int64),
        (np.array([True, False, True]), np.bool_),
        (np.array(True), np.bool_),
        (np.array(-3), np.int64),
        (np.int16(-3), np.int64),
        (np.bool_(False), np.bool_),
        (np.arange(6.0, dtype=np.float32).reshape(2, 3), np.float64),
        (np.arange(12.0).reshape(3, 4).T, np.float64),  # not contiguous
        (np.zeros((0, 3), dtype=np.int64), np.int64),
        (np.array([2**63 - 1, -(2**63)]), np.int64),
    ],
)
def test_request_arrays_keep_their_kind(array, dtype):
    """Does an int, bool or float array sent to the sandbox arrive with its values, its shape
    and the dtype of its kind (int64, bool, float64)?"""
    out = _roundtrip((array,))[0]
    assert isinstance(out, np.ndarray) and out.dtype == dtype
    assert out.shape == np.shape(array)
    np.testing.assert_array_equal(out, array)


def test_arrays_of_mixed_dtypes_are_aligned():
    """After a bool array of odd length, does every later array start at an aligned offset,
    and do all of them come back intact?"""
    value = (np.array([True, False, True]), np.arange(3.0), np.array([5]), np.array(False))
    encoder = tree.TreeEncoder()
    node = encoder.tree(value)
    offsets = [leaf["a"][1] for leaf in node["t"]]
    assert all(o % tree.ALIGNMENT == 0 for o in offsets)
    assert len(encoder.blob()) % tree.ALIGNMENT == 0
    out = tree.TreeDecoder(encoder.blob(), tree.REQUEST_KINDS).tree(node)
    for got, want in zip(out, value, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "array",
    [
        np.ones(2, dtype=complex),
        np.array(["a"]),
        np.array([None]),
        np.array([2**63], dtype=np.uint64),
        np.array(["2024-01-01"], dtype="datetime64[D]"),
    ],
)
def test_requests_refuse_dtypes_that_cannot_travel(array):
    """Is an array the wire cannot carry (complex, str, object, uint64 past int64, dates)
    refused when the grader builds the request, rather than silently changed?"""
    with pytest.raises(TypeError):
        tree.TreeEncoder().tree((array,))


def test_references_are_built_by_the_receiver():
    """Are activations and test functions rebuilt by the sandbox's own callbacks?"""
    out = _roundtrip(
        (ActivationRef("tanh"), FunctionRef("quadratic", {"A": np.eye(2)})),
        activation=lambda name: ("act", name),
        function=lambda name, data: ("fn", name, data["A"].shape),
    )
    assert out == (("act", "tanh"), ("fn", "quadratic", (2, 2)))


def test_the_supervisor_decodes_the_request_the_grader_builds():
    """Does a call with int labels and a bool mask reach the student's function with those
    dtypes, through the request the grader builds and the job the supervisor reads?"""
    y = np.array([0, 2, 1])
    mask = np.array([True, False, True])
    call = Call("f", (np.eye(3), y), {"mask": mask, "k": 2}, return_args=True)
    limits = Limits(part_seconds=3.5, max_processes=9)
    request = build_request(["x = 1"], [call], limits)
    frame = wire.pack(request.header, request.blob)
    ((header, blob),) = wire.FrameReader().feed(frame)
    job = Job.from_frame(header, blob)
    assert job.limits == limits and job.cells == ["x = 1"]
    assert [p.name for p in job.parts] == ["f"]
    args, kwargs, return_args = job.decode_call(0, 0)
    assert return_args is True and kwargs["k"] == 2
    assert args[1].dtype == np.int64 and kwargs["mask"].dtype == np.bool_
    np.testing.assert_array_equal(args[1], y)
    np.testing.assert_array_equal(kwargs["mask"], mask)


def test_the_request_names_the_handout_cells_it_holds():
    """Does the request name exactly the cells whose text is one of the handout's, so that
    only those are compiled once for the class?"""
    handout_cell, student_cell = "def given():\n    return 1\n", "x = 2"
    handout = frozenset({cell_digest(handout_cell)})
    cells = [student_cell, handout_cell, handout_cell + " "]
    request = build_request(cells, [], Limits(), handout)
    assert request.header["handout"] == [1]
    assert build_request(cells, [], Limits()).header["handout"] == []
    job = Job.from_frame(request.header, request.blob)
    assert job.handout == (1,) and job.compiled == {}


@pytest.mark.parametrize("handout", ["0", [True], [-1], [1], [0.0], None])
def test_malformed_handout_cells_are_refused(handout):
    """Is a request naming handout cells that are not indices of its cells refused?"""
    header = {"k": "run", "cells": ["x = 1"], "limits": asdict(Limits()), "parts": []}
    header["handout"] = handout
    with pytest.raises(wire.FrameError):
        Job.from_frame(header, b"")


@pytest.mark.parametrize(
    "limits",
    [
        None,
        {"part_seconds": 1},
        {**Limits().__dict__, "memory_bytes": True},
        {**Limits().__dict__, "part_seconds": -1},
        {**Limits().__dict__, "load_seconds": "30"},
        {**Limits().__dict__, "max_processes": float("inf")},
    ],
)
def test_malformed_limits_are_refused(limits):
    """Is a request whose limits are missing, negative or not numbers refused outright?"""
    header = {"k": "run", "cells": [], "limits": limits, "parts": []}
    with pytest.raises(wire.FrameError):
        Job.from_frame(header, b"")
    quiet = {**Limits().__dict__, "max_output_bytes": 0}
    assert Job.from_frame({**header, "limits": quiet}, b"").limits.max_output_bytes == 0


# -- hostile encodings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "node",
    [
        # kinds only requests may use
        {"f": "0x1p0"},
        {"i": 3},
        {"g": "relu"},
        {"s": "text"},
        None,
        # array nodes that do not fit the blob or the format
        {"a": ["f8", 0, [5]]},
        {"a": ["f8", 0, [-1]]},
        {"a": ["f8", -8, [1]]},
        {"a": ["f8", 0, [True]]},
        {"a": ["f8", True, [1]]},
        {"a": ["f8", 0, [1] * 40]},
        {"a": ["f8", 0, "3"]},
        {"a": ["f8", 16, []]},
        {"a": ["f8", 24, [0]]},
        {"a": ["f8", 8.0, [1]]},
        {"a": [0, [2]]},  # the old, dtype-less layout
        # unknown dtype codes
        {"a": ["f4", 0, [1]]},
        {"a": ["c16", 0, [1]]},
        {"a": ["O", 0, [1]]},
        {"a": ["<f8", 0, [1]]},
        {"a": [8, 0, [1]]},
        {"a": [None, 0, [1]]},
        # misaligned offsets
        {"a": ["f8", 4, [1]]},
        {"a": ["i8", 1, [1]]},
        {"a": ["b1", 3, [1]]},
        # sizes that overflow: in elements, in bytes, or past numpy's index range
        {"a": ["f8", 0, [10**12, 10**12]]},
        {"a": ["i8", 0, [2**62, 2**62, 2**62]]},
        {"a": ["b1", 0, [2**64 + 1]]},
        {"a": ["f8", 0, [2**63, 0]]},
        {"a": ["f8", 0, [0, 10**30]]},
        {"a": ["f8", 0, [2**31] * 4]},
        # structure
        {"t": {"a": ["f8", 0, []]}},
        {"d": [[1, {"a": ["f8", 0, []]}]]},
        {"d": [["k"]]},
        {"a": ["f8", 0, []], "t": []},
        [1, 2],
        3.0,
    ],
)
def test_results_refuse_malformed_or_foreign_nodes(node):
    """Does the result decoder refuse every node that is not a well-formed tree of arrays
    inside the blob (unknown dtypes, misaligned or negative offsets, overflowing sizes)?"""
    with pytest.raises(wire.FrameError):
        _decode(node)


def test_bool_arrays_hold_only_zero_and_one():
    """Is a bool array whose bytes are not 0 or 1 refused rather than read as odd bools?"""
    blob = bytes([0, 1, 2, 0, 0, 0, 0, 0])
    assert _decode({"a": ["b1", 0, [2]]}, blob).tolist() == [False, True]
    with pytest.raises(wire.FrameError):
        _decode({"a": ["b1", 0, [3]]}, blob)


def test_nodes_cannot_read_the_same_bytes_over_and_over():
    """Can many nodes pointing at the same bytes make the decoder build more than was sent?"""
    blob = np.zeros(1000).tobytes()
    node = {"t": [{"a": ["f8", 0, [1000]]}] * 2}
    with pytest.raises(wire.FrameError):
        _decode(node, blob)
    # Disjoint arrays that together fill the blob are fine.
    node = {"t": [{"a": ["f8", 0, [500]]}, {"a": ["f8", 4000, [500]]}]}
    assert [a.shape for a in _decode(node, blob)] == [(500,), (500,)]


def test_decoded_arrays_are_private_writable_copies():
    """Is each decoded array a writable, native-endian copy that does not share the blob?"""
    blob = np.arange(3, dtype="<i8").tobytes()
    arr = _decode({"a": ["i8", 0, [3]]}, blob)
    assert arr.flags.writeable and arr.dtype.isnative
    arr[0] = 99
    assert _decode({"a": ["i8", 0, [3]]}, blob)[0] == 0


def test_results_refuse_deep_nesting():
    """Is a tree nested deeper than the limit refused instead of recursing without end?"""
    node = {"a": ["f8", 0, []]}
    for _ in range(tree.MAX_DEPTH + 5):
        node = {"t": [node]}
    with pytest.raises(wire.FrameError):
        _decode(node, np.zeros(1).tobytes())


def test_bad_float_text_is_a_frame_error():
    """Is a request float node that is not float.hex text refused as a malformed frame?"""
    with pytest.raises(wire.FrameError):
        _decode({"f": "not a float"}, b"", tree.REQUEST_KINDS)


# -- frames --------------------------------------------------------------------------------------


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


def test_unknown_flags_and_odd_module_names_are_dropped():
    """Are flags the sandbox may not raise, and imports that are not names, dropped?"""
    flags = wire.check_flags(["timeout", "late", "sandbox-error", "made-up"], SANDBOX_FLAGS)
    assert flags == {Flag.TIMEOUT} and all(type(f) is Flag for f in flags)
    names = wire.check_module_names(["numpy", "os.path", "x\n", "", "_ok", "é"])
    assert names == {"numpy", "_ok"}
    with pytest.raises(wire.FrameError):
        wire.check_flags("timeout", SANDBOX_FLAGS)


# -- returned values: the one converter ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "dtype", "plain"),
    [
        (True, np.bool_, True),
        (np.bool_(False), np.bool_, False),
        (np.array([True, False]), np.bool_, [True, False]),
        (3, np.int64, 3),
        (-(2**63), np.int64, -(2**63)),
        (np.int8(-3), np.int64, -3),
        (np.uint64(2**63 - 1), np.int64, 2**63 - 1),
        (np.arange(3, dtype=np.int32), np.int64, [0, 1, 2]),
        (2.5, np.float64, 2.5),
        (np.float32(0.5), np.float64, 0.5),
        (np.arange(2, dtype=np.float16), np.float64, [0.0, 1.0]),
        (np.array(7.0), np.float64, 7.0),
    ],
)
def test_results_keep_their_kind(value, dtype, plain):
    """Does a returned bool stay bool, any int become int64 and any real float float64,
    with the same value, as a 0-d array for a scalar?"""
    out = convert.plain_tree(value)
    assert isinstance(out, np.ndarray) and out.dtype == dtype
    assert out.shape == np.shape(value)
    assert out.tolist() == plain


def test_containers_become_tuples_and_dicts():
    """Do lists and tuples become tuples and dict subclasses plain dicts, leaves converted?"""
    out = convert.plain_tree([1, True, np.int8(3), OrderedDict(a=np.arange(3.0)), ()])
    assert isinstance(out, tuple) and len(out) == 5
    assert [v.dtype for v in out[:3]] == [np.int64, np.bool_, np.int64]
    assert type(out[3]) is dict and out[3]["a"].dtype == np.float64
    assert out[4] == ()


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
        (2**63, "too large"),
        (np.array([2**63], dtype=np.uint64), "too large"),
        (np.array(["a"]), "strings"),
        (np.datetime64("2024-01-01"), "dates"),
        (object(), "object"),
    ],
)
def test_non_numbers_are_refused_in_plain_words(value, words):
    """Is each kind of non-number refused with words a student understands?"""
    with pytest.raises(convert.NotNumbersError, match=words):
        convert.plain_tree(value)


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

    class Counted(int):
        def __index__(self):
            return 0

    assert float(convert.plain_tree(Rigged(5.0))) == 5.0
    assert int(convert.plain_tree(Counted(5))) == 5
    np.testing.assert_array_equal(convert.plain_tree(np.ones(3).view(Agreeable)), np.ones(3))


def test_a_value_that_raises_while_read_is_refused_in_words():
    """Is an object whose ``__class__`` raises refused as unreadable, not crashing the reader?"""

    class Sneaky:
        @property
        def __class__(self):
            raise RuntimeError("gotcha")

    with pytest.raises(convert.NotNumbersError, match="could not be read.*gotcha"):
        convert.plain_tree([Sneaky()])


def test_huge_and_self_referencing_results_are_refused():
    """Are results past the size limits and a list containing itself refused, not sent?"""
    loop = []
    loop.append(loop)
    with pytest.raises(convert.NotNumbersError, match="nested"):
        convert.plain_tree(loop)
    with pytest.raises(convert.NotNumbersError, match="numbers"):
        convert.plain_tree(np.zeros(convert.MAX_RESULT_ELEMENTS + 1))
    with pytest.raises(convert.NotNumbersError, match="arrays, lists and dicts"):
        convert.plain_tree([()] * (convert.MAX_RESULT_NODES + 1))
    with pytest.raises(convert.NotNumbersError, match="keys"):
        convert.plain_tree({"k" * (convert.MAX_KEY_CHARS + 1): 1.0})


class _QuietWatcher:
    """What the loader's call needs of a watcher, outside a sandbox."""

    def restore_builtins(self) -> None:
        pass

    def note(self, flag, text) -> None:
        pass


# Values as a student's function might return them: right, slightly odd, and refused.
RETURNED = {
    "float": 2.5,
    "int": 7,
    "bool": True,
    "nan": float("nan"),
    "labels": np.array([0, 2, 1]),
    "mask": np.array([[True, False]]),
    "float32": np.ones((2, 2), dtype=np.float32),
    "tree": ({"W1": np.eye(2), "b3": 0.5, "n": np.int32(4)}, [np.zeros(0), (False,)]),
    "empty": [],
    "complex": np.ones(2) * 1j,
    "none": None,
    "str": "Score: 17/17",
    "intkey": {1: 2.0},
    "huge": 2**70,
}


def _sandbox_path(value, args=(), return_args=False):
    """``value`` as the grader receives it from the sandbox, without starting one: the
    loader's call, the supervisor's re-encoding, the grader's strict parsing, all in-process."""
    header, blob = loader._call_outcome(lambda *a: value, args, {}, return_args, _QuietWatcher())
    request = build_request([], [Call("part", args, return_args=return_args)], Limits())
    job = Job.from_frame(request.header, request.blob)
    report = Report(job)
    report.part_done(0, [(header, blob)], PartDone(None, Evidence()))
    frame = wire.pack(report.header(), report.encoder.blob())
    ((answer, answer_blob),) = wire.FrameReader().feed(frame)
    return parse_answer(answer, answer_blob, request).parts["part"].outcomes[0]


@pytest.mark.parametrize("name", sorted(RETURNED))
def test_the_in_process_converter_gives_what_the_sandbox_path_gives(name):
    """Does ``plain_tree`` give the same tree (types, dtypes, shapes, numbers), or the same
    refusal in the same words, as the sandbox's loader, supervisor and grader together?"""
    value = RETURNED[name]
    outcome = _sandbox_path(value)
    try:
        plain = convert.plain_tree(value)
    except convert.NotNumbersError as exc:
        assert outcome.value is None and outcome.error == str(exc)
        return
    assert outcome.error is None
    assert_same_tree(plain, outcome.value)


def test_arguments_after_the_call_keep_their_dtype():
    """Are the array arguments sent back after a call with their dtype, others as None, and
    does ``plain_args_after`` give the same in-process?"""
    args = (np.array([1, 2]), 3.0, np.array([True]), np.arange(2.0))
    after = _sandbox_path(0.0, args, return_args=True).args_after
    assert after[1] is None
    assert [a.dtype for a in (after[0], after[2], after[3])] == [np.int64, np.bool_, np.float64]
    assert after[0].tolist() == [1, 2] and after[2].tolist() == [True]
    plain = convert.plain_args_after(args)
    assert len(plain) == len(after)
    for got, want in zip(plain, after, strict=True):
        if want is None:
            assert got is None
        else:
            assert_same_tree(got, want)
    # An argument the function turned into something that cannot travel comes back as None.
    assert convert.plain_args_after((np.ones(1, dtype=complex), np.ones(1)))[0] is None
