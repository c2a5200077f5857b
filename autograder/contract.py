"""The course contract as data: assignments, their notebooks, graded parts, points, arguments.

Everything that must agree across the book, the notebooks and the grader is read from here:
release checks the source notebooks against it, grading draws one set of cases per
:class:`PartSpec`, the CSV, the feedback pages and the gradebook take names and points from it,
and the tests derive their counts from it. The types below hold no behaviour; each check
(:class:`autograder.checks.Part`) carries the :class:`PartSpec` of the function it grades, so
adding a graded function means writing its reference, its check and its notebook cells, and
nothing else (``CONTRACT.md`` walks through it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "ASSIGNMENTS",
    "Arg",
    "ArgKind",
    "Assignment",
    "Contract",
    "PartSpec",
    "grade_id_of_test",
]


class ArgKind(Enum):
    """What a graded function receives in one argument (how the grader builds and ships it)."""

    ARRAY = "array"  # a numpy array of ``Arg.dtype``
    NUMBER = "number"  # a Python float or int
    PARAMS = "params"  # a dict of str to arrays (and ``b3``, a float)
    ACTIVATION = "activation"  # an object with ``.f`` and ``.df``
    FUNCTION = "function"  # a scalar function of one array


@dataclass(frozen=True)
class Arg:
    """One argument of a graded function.

    Attributes
    ----------
    name : str
        The parameter's name in the notebook's ``def``.
    kind : ArgKind
    shape : str
        The shape in the course's notation, ``"(N, m)"``; empty when not an array.
    dtype : str
        numpy dtype name of an ``ARRAY`` argument (``"float64"``, ``"int64"``, ``"bool"``).
    default : str
        The default value as written in the ``def`` (``"1e-6"``), or empty when required.
    """

    name: str
    kind: ArgKind = ArgKind.ARRAY
    shape: str = ""
    dtype: str = "float64"
    default: str = ""

    def declaration(self) -> str:
        """``name`` or ``name=default``, as in the ``def`` line."""
        return f"{self.name}={self.default}" if self.default else self.name


def grade_id_of_test(part: str) -> str:
    """The ``grade_id`` of the test cell of ``part`` (a graded function's name).

    Shared by :class:`PartSpec` and :class:`~autograder.results.PartResult`, so the release
    checks, the CSV, the gradebook and the feedback name the same cell. (Not named ``test_*``:
    pytest would collect it from any test module that imports it.)

    Parameters
    ----------
    part : str

    Returns
    -------
    str
        ``test_<part>``.
    """
    return f"test_{part}"


@dataclass(frozen=True)
class PartSpec:
    """One graded function: one solution cell and one test cell of a notebook.

    Attributes
    ----------
    name : str
        The function's name; also the solution cell's ``grade_id``.
    assignment : str
        The :class:`Assignment` it belongs to.
    points : float
        The test cell's points.
    args : tuple of Arg
    returns : str
        What it returns, in words with shapes (``"(y_hat, cache)"``).
    """

    name: str
    assignment: str
    points: float
    args: tuple[Arg, ...] = ()
    returns: str = ""

    @property
    def grade_id(self) -> str:
        """The ``grade_id`` of the part's test cell."""
        return grade_id_of_test(self.name)

    @property
    def signature(self) -> str:
        """``name(arg, arg=default)`` as the notebook defines it."""
        return f"{self.name}({', '.join(a.declaration() for a in self.args)})"


@dataclass(frozen=True)
class Assignment:
    """An nbgrader assignment: ``solutions/<name>/``, one notebook, graded parts in order.

    Attributes
    ----------
    name : str
        nbgrader's assignment id (the folder under ``solutions/``, ``exercises/``,
        ``submitted/<student>/``).
    notebook : str
        The notebook's name without ``.ipynb``.
    title : str
    """

    name: str
    notebook: str
    title: str


#: The course's assignments, in the order students meet them.
ASSIGNMENTS: tuple[Assignment, ...] = (
    Assignment("mlp_backprop", "mlp_backprop", "Backpropagation through a 3-layer MLP"),
    Assignment("logistic_hessian", "logistic_hessian", "Logistic regression: gradient, Hessian"),
)


@dataclass(frozen=True)
class Contract:
    """The assignments and their parts, checked for consistency when built.

    Attributes
    ----------
    assignments : tuple of Assignment
    parts : tuple of PartSpec
        In notebook order within each assignment.
    """

    assignments: tuple[Assignment, ...]
    parts: tuple[PartSpec, ...]
    _by_name: dict[str, PartSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [a.name for a in self.assignments]
        if len(set(names)) != len(names):
            raise ValueError(f"assignment names repeat: {names}")
        by_name: dict[str, PartSpec] = {}
        for part in self.parts:
            if part.name in by_name:
                raise ValueError(f"two parts are named {part.name!r}")
            if part.assignment not in names:
                raise ValueError(f"part {part.name!r} names an unknown assignment")
            if part.points <= 0:
                raise ValueError(f"part {part.name!r} must be worth some points")
            by_name[part.name] = part
        object.__setattr__(self, "_by_name", by_name)

    def assignment(self, name: str) -> Assignment:
        """The assignment called ``name`` (``KeyError`` if none)."""
        for a in self.assignments:
            if a.name == name:
                return a
        raise KeyError(name)

    def part(self, name: str) -> PartSpec:
        """The part called ``name`` (``KeyError`` if none)."""
        return self._by_name[name]

    def parts_of(self, assignment: str) -> tuple[PartSpec, ...]:
        """The parts of ``assignment``, in notebook order."""
        return tuple(p for p in self.parts if p.assignment == assignment)

    def points(self, assignment: str) -> float:
        """The autograded points of ``assignment``."""
        return float(sum(p.points for p in self.parts_of(assignment)))

    def notebooks(self) -> dict[str, str]:
        """Assignment name to notebook name."""
        return {a.name: a.notebook for a in self.assignments}
