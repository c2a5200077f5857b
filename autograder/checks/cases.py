"""A part's cases: what the grader calls a student's function with, and what it expects."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..protocol import Call

__all__ = ["Case", "part_rng"]


def part_rng(seed: int, part: str) -> np.random.Generator:
    """Generator for one part's cases, reproducible from the run's seed and the part's name.

    Parameters
    ----------
    seed : int
        The run's seed (recorded in the CSV and the feedback).
    part : str

    Returns
    -------
    numpy.random.Generator
        Independent of the other parts, so adding a case to one part never changes another's.
    """
    return np.random.default_rng([seed, zlib.crc32(part.encode())])


@dataclass
class Case:
    """One call of the student's function, with everything the grader needs to judge it.

    Attributes
    ----------
    call : Call
        What the student's function receives (plain data only).
    expected : dict of str to ndarray
        The reference's answer, one entry per leaf.
    label : str
        Shapes and activation, shown in feedback (never the input values).
    context : dict
        Grader-side data for slips and witnesses (inputs, ``N``, the activation object).
    witnesses : dict of str to (callable, ndarray) or ndarray
        Per leaf, the finite-difference witness: a scalar function ``f(theta) -> float`` and
        the point ``theta`` whose gradient the leaf must be, or an array already computed by
        finite differences (shaped like the leaf).
    sandbox_only : bool
        Run only where the sandbox's memory limit protects the machine (a case built to
        exhaust memory if the code does what the contract forbids); nbgrader's kernel and the
        in-process paths skip it.
    """

    call: Call
    expected: dict[str, np.ndarray]
    label: str
    context: dict[str, Any] = field(default_factory=dict)
    witnesses: dict[str, Any] = field(default_factory=dict)
    sandbox_only: bool = False
