"""``python -m autograder contract``: the graded parts as a table, and CONTRACT.md kept in step.

The parts and their points are data (each check's :class:`~autograder.contract.PartSpec`);
``CONTRACT.md`` shows them as a Markdown table between two marker lines. This command prints
the table, rewrites it in place (``--write``, also done by ``release``), or fails when the
document has drifted from the code (``--check``, run by the tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .contract import Contract

__all__ = [
    "BEGIN",
    "END",
    "MissingMarkersError",
    "main",
    "parts_table",
    "update_document",
    "write_document",
]

BEGIN = "<!-- parts: made by `python -m autograder contract --write`; do not edit by hand -->"
END = "<!-- end of parts -->"
DOCUMENT = Path(__file__).resolve().parents[1] / "CONTRACT.md"


def _points(x: float) -> str:
    return f"{x:g}"


def parts_table(contract: Contract) -> str:
    """One Markdown table per assignment: function, what it returns, points.

    Parameters
    ----------
    contract : Contract

    Returns
    -------
    str
    """
    out = []
    for a in contract.assignments:
        parts = contract.parts_of(a.name)
        out += [
            f"`{a.notebook}.ipynb`, assignment `{a.name}` "
            f"({_points(contract.points(a.name))} points autograded)",
            "",
            "| function | returns | points |",
            "|---|---|---|",
        ]
        # A pipe inside a cell would end it (`|z|` in a returns text).
        out += [
            f"| `{p.signature}` | {p.returns.replace('|', chr(92) + '|')} | {_points(p.points)} |"
            for p in parts
        ]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


class MissingMarkersError(ValueError):
    """The document has no table for the grader to keep: the course's own document."""


def update_document(text: str, contract: Contract) -> str:
    """``text`` with the table between the markers replaced by :func:`parts_table`.

    Raises
    ------
    MissingMarkersError
        When the markers are missing.
    """
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise MissingMarkersError(f"the document lacks the marker lines {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n\n{parts_table(contract)}\n{END}{tail}"


def write_document(path: Path, contract: Contract) -> bool:
    """Rewrite the table of the document at ``path`` when it has drifted from ``contract``.

    Parameters
    ----------
    path : Path
    contract : Contract

    Returns
    -------
    bool
        Whether the document was rewritten (a line says so on standard output).

    Raises
    ------
    OSError
        When the document cannot be read or written.
    MissingMarkersError
        When it lacks the marker lines.
    """
    text = path.read_text(encoding="utf-8")
    fresh = update_document(text, contract)
    if fresh == text:
        return False
    path.write_text(fresh, encoding="utf-8")
    print(f"updated the parts table of {path}")
    return True


def main(argv=None) -> int:
    """Entry point; returns the exit status."""
    p = argparse.ArgumentParser(
        prog="python -m autograder contract",
        description="Print the graded parts, or keep CONTRACT.md's table in step with them.",
    )
    p.add_argument("--document", type=Path, default=DOCUMENT, help="default: CONTRACT.md")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the document's table")
    mode.add_argument("--check", action="store_true", help="exit 1 if the table is stale")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    from .checks import contract

    if not (args.write or args.check):
        print(parts_table(contract()), end="")
        return 0
    try:
        if args.write:
            write_document(args.document, contract())
            return 0
        text = args.document.read_text(encoding="utf-8")
        stale = update_document(text, contract()) != text
    except (OSError, ValueError) as exc:
        print(f"autograder contract: error: {exc}", file=sys.stderr)
        return 2
    if stale:
        print(f"{args.document} is out of date: run `python -m autograder contract --write`")
        return 1
    return 0
