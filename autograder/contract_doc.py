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

__all__ = ["BEGIN", "END", "main", "parts_table", "update_document"]

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


def update_document(text: str, contract: Contract) -> str:
    """``text`` with the table between the markers replaced by :func:`parts_table`.

    Raises
    ------
    ValueError
        When the markers are missing.
    """
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the document lacks the marker lines {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n\n{parts_table(contract)}\n{END}{tail}"


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
        text = args.document.read_text(encoding="utf-8")
        fresh = update_document(text, contract())
    except (OSError, ValueError) as exc:
        print(f"autograder contract: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if fresh != text:
            print(f"{args.document} is out of date: run `python -m autograder contract --write`")
            return 1
        return 0
    if fresh != text:
        args.document.write_text(fresh, encoding="utf-8")
        print(f"updated the parts table of {args.document}")
    return 0
