"""From the instructor's source notebook to the notebook nbgrader releases to students.

Two steps, both run inside ``nbgrader generate_assignment`` by the preprocessor
:class:`CourseRelease` (configured in ``nbgrader_config.py``), so that a release made by
nbgrader directly, or from formgrader, is the same as one made by ``python -m autograder
release``:

- :func:`verify` checks the notebook against the course contract
  (:func:`autograder.checks.contract`): every part has its solution cell defining
  ``def <signature>:``, then its locked test cell ``test_<part>`` that runs the part's
  self-check and ends with the hidden block (exactly :func:`expected_test_cell`); nothing else
  is graded except written answers.
- :func:`prepare` writes in what the contract and the course's configuration decide: each
  test cell's points (and the points in the part's heading and in each question), the links to
  the course book at its published address (``html.baseurl`` of ``_config.yml``), and the code
  of the self-checks in place of the setup cells that import it (:mod:`autograder.inline`).

The source notebooks therefore carry no points of their own: the contract is the one place
they are written.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .inline import InlineError, imports_of, inline_cell

__all__ = [
    "BOOK_MARKER",
    "SOURCE_BOOK_PREFIX",
    "CourseRelease",
    "ReleaseError",
    "book_url",
    "hidden_block",
    "prepare",
    "expected_test_cell",
    "verify",
]

#: How a source notebook links a page of the book: relative to ``solutions/<a>/``, where the
#: links work for an instructor whose repository has the book built.
SOURCE_BOOK_PREFIX = "../../_build/html/book/"
#: A markdown line the release replaces with one sentence on where the book is.
BOOK_MARKER = "<!-- book-address -->"
#: The heading of a part's instructions starts with this, then the part's signature.
_HEADING = "### `{signature}`"
#: A written question's lead, before the release adds its points.
_QUESTION = "**Question.**"

_LINK = re.compile(
    r"\[([^\]]+)\]\(" + re.escape(SOURCE_BOOK_PREFIX) + r"([\w-]+\.html)(#[\w-]+)?\)"
)
_POINTS = re.compile(r"\(\d+(\.\d+)? points?\)")


class ReleaseError(RuntimeError):
    """A source notebook that cannot be released; the message lists every problem."""


def hidden_block(part: str) -> str:
    """The hidden block every test cell ends with (the grader's in-kernel hook)."""
    return (
        "### BEGIN HIDDEN TESTS\n"
        "from autograder.nbgrader_hook import hidden_test\n"
        f'hidden_test("{part}", {part})\n'
        "### END HIDDEN TESTS"
    )


def expected_test_cell(part: str) -> str:
    """The whole source of a part's test cell: the self-check, then the hidden block.

    The comment and blank lines in between keep the hidden block out of a failing check's
    traceback: IPython shows three lines of the cell below the failing one, and nbgrader's
    feedback shows the traceback.
    """
    return (
        f'check("{part}", {part})\n'
        "# The grader adds its own checks here, on inputs you do not see.\n"
        "\n"
        "\n" + hidden_block(part)
    )


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _contract():
    from .checks import contract

    return contract()


def _points_text(points: float) -> str:
    return f"({points:g} point{'' if points == 1 else 's'})"


# ------------------------------------------------------------------------------ verification


def verify(nb, assignment: str, contract=None) -> list[str]:
    """Every way ``nb`` departs from the contract, as sentences (empty: none).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A source notebook (solutions, visible checks, hidden blocks).
    assignment : str
    contract : autograder.contract.Contract, optional
        Default: :func:`autograder.checks.contract`.

    Returns
    -------
    list of str
    """
    contract = contract or _contract()
    if assignment not in {a.name for a in contract.assignments}:
        return [f"{assignment!r} is not an assignment of the course contract"]
    parts = contract.parts_of(assignment)
    names = {p.name for p in parts}
    problems = []
    cells = nb.cells
    ids = [_meta(c).get("grade_id") for c in cells if _meta(c).get("grade_id")]
    for gid in sorted({g for g in ids if ids.count(g) > 1}):
        problems.append(f"grade_id {gid!r} is used by more than one cell")
    where = {_meta(c).get("grade_id"): i for i, c in enumerate(cells) if _meta(c)}
    order = []
    for part in parts:
        i = where.get(part.name)
        if i is None:
            problems.append(f"{part.name}: no solution cell (grade_id {part.name!r})")
            continue
        order.append(i)
        problems += _verify_part(cells, i, part)
    if order != sorted(order):
        problems.append("the parts are not in the contract's order")
    for i, cell in enumerate(cells):
        meta = _meta(cell)
        gid = meta.get("grade_id", "")
        if meta and meta.get("schema_version") != 3:
            problems.append(f"{gid}: nbgrader metadata is not schema version 3")
        if gid.startswith("setup_") and not meta.get("locked"):
            problems.append(f"{gid}: setup cells must be locked")
        if gid.startswith("answer_"):
            problems += _verify_answer(cells, i)
        elif meta.get("grade") and gid.removeprefix("test_") not in names:
            problems.append(f"{gid}: a graded cell that is neither a contract part nor answer_*")
        elif meta.get("solution") and cell.cell_type == "code" and gid not in names:
            problems.append(f"{gid}: a solution cell that is not a contract part")
    return problems


def _verify_part(cells, i, part) -> list[str]:
    name, problems = part.name, []
    cell, meta = cells[i], _meta(cells[i])
    if cell.cell_type != "code" or not meta.get("solution") or meta.get("grade"):
        problems.append(f"{name}: the solution cell must be an ungraded nbgrader solution cell")
    if meta.get("locked"):
        problems.append(f"{name}: the solution cell must not be locked")
    for marker in ("### BEGIN SOLUTION", "### END SOLUTION"):
        if cell.source.count(marker) != 1:
            problems.append(f"{name}: the solution cell needs exactly one {marker!r}")
    if not re.search(rf"^def {re.escape(part.signature)}:", cell.source, re.M):
        problems.append(f"{name}: the solution cell must define `def {part.signature}:`")
    heading = cells[i - 1] if i > 0 else None
    if heading is None or heading.cell_type != "markdown":
        problems.append(f"{name}: a markdown cell with its instructions must come first")
    else:
        first = heading.source.split("\n", 1)[0]
        if not first.startswith(_HEADING.format(signature=part.signature)):
            problems.append(
                f"{name}: its instructions must start with "
                f"{_HEADING.format(signature=part.signature)!r}"
            )
        if _POINTS.search(first):
            problems.append(f"{name}: points in the heading come from the contract; remove them")
    test = cells[i + 1] if i + 1 < len(cells) else None
    tmeta = _meta(test) if test is not None else {}
    if tmeta.get("grade_id") != part.grade_id:
        problems.append(f"{name}: its test cell {part.grade_id!r} must come right after it")
        return problems
    if test.cell_type != "code" or not tmeta.get("grade") or tmeta.get("solution"):
        problems.append(f"{part.grade_id}: must be a graded code cell, not a solution")
    if not tmeta.get("locked"):
        problems.append(f"{part.grade_id}: must be locked")
    if "points" in tmeta:
        problems.append(f"{part.grade_id}: points come from the contract; remove them")
    if test.source != expected_test_cell(name):
        problems.append(
            f"{part.grade_id}: must run the self-check, then end with the hidden block, "
            f"exactly:\n{expected_test_cell(name)}"
        )
    return problems


def _verify_answer(cells, i) -> list[str]:
    cell, meta = cells[i], _meta(cells[i])
    gid, problems = meta.get("grade_id"), []
    if cell.cell_type != "markdown" or not (meta.get("solution") and meta.get("grade")):
        problems.append(f"{gid}: a written answer is a graded markdown solution cell")
    if not meta.get("points", 0) > 0:
        problems.append(f"{gid}: a written answer needs its points")
    question = cells[i - 1] if i > 0 else None
    if question is None or _QUESTION not in question.source:
        problems.append(f"{gid}: the markdown cell before it must ask {_QUESTION!r}")
    return problems


# ---------------------------------------------------------------------------- preparation


def book_url(root: Path) -> str:
    """The book's published address: ``html.baseurl`` of ``<root>/_config.yml`` (or "")."""
    path = Path(root) / "_config.yml"
    if not path.is_file():
        return ""
    import yaml

    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return str((config.get("html") or {}).get("baseurl") or "").strip()


def _book_sentence(url: str) -> str:
    if url:
        return f"(The course book is online at <{url}>; the chapter links here open its pages.)"
    return (
        "(This copy of the notebook was released without the course book's web address, so "
        "the chapters named here are not links: find them by title in the course book as "
        "your instructor published it.)"
    )


def _link_book(source: str, url: str) -> str:
    """Point the source's book links at ``url``, or keep only their text when it is empty."""

    def link(m: re.Match) -> str:
        if not url:
            return m.group(1)
        return f"[{m.group(1)}]({url.rstrip('/')}/book/{m.group(2)}{m.group(3) or ''})"

    lines = [_book_sentence(url) if ln.strip() == BOOK_MARKER else ln for ln in source.split("\n")]
    return _LINK.sub(link, "\n".join(lines))


def prepare(nb, assignment: str, book: str = "", contract=None):
    """The notebook nbgrader should release: points, book links and self-checks written in.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A source notebook that :func:`verify` accepts.
    assignment : str
    book : str
        The book's published address; empty keeps the chapter titles without links.
    contract : autograder.contract.Contract, optional

    Returns
    -------
    nbformat.NotebookNode
        A new notebook; ``nb`` is not changed.

    Raises
    ------
    ReleaseError
        If a setup cell's self-check import cannot be pasted.
    """
    contract = contract or _contract()
    points = {p.grade_id: p.points for p in contract.parts_of(assignment)}
    signatures = {p.name: p for p in contract.parts_of(assignment)}
    nb = copy.deepcopy(nb)
    pasted: set[str] = set()
    # What the setup cells above import; pasted code uses it rather than import it again.
    imported: frozenset[str] = frozenset()
    for i, cell in enumerate(nb.cells):
        meta = _meta(cell)
        gid = meta.get("grade_id", "")
        nxt = _meta(nb.cells[i + 1]) if i + 1 < len(nb.cells) else {}
        if gid in points:
            meta["points"] = points[gid]
        if cell.cell_type == "markdown":
            source = _link_book(cell.source, book)
            part = signatures.get(nxt.get("grade_id", ""))
            if part is not None:
                heading = _HEADING.format(signature=part.signature)
                source = source.replace(heading, f"{heading} {_points_text(part.points)}", 1)
            if nxt.get("grade_id", "").startswith("answer_"):
                question = f"**Question {_points_text(nxt['points'])}.**"
                source = source.replace(_QUESTION, question, 1)
            cell.source = source
        elif cell.cell_type == "code" and gid.startswith("setup_"):
            try:
                pasted_cell = inline_cell(cell.source, pasted, imported)
            except InlineError as exc:
                raise ReleaseError(f"{gid}: {exc}") from None
            if pasted_cell is None:
                imported |= imports_of(cell.source)
            else:
                cell.source, modules = pasted_cell
                pasted.update(modules)
                # Folded in JupyterLab: students run it, few need to read it.
                cell.metadata["jupyter"] = {"source_hidden": True}
    return nb


# ---------------------------------------------------------------- nbgrader's preprocessor


def _check_derived(metadata: dict) -> None:
    """Refuse a source ``.ipynb`` that is not what its text file beside it derives.

    ``python -m autograder release`` derives it first; nbgrader run directly (or formgrader)
    would otherwise release a notebook the instructor no longer has in the text.
    """
    from .sources import TEXT_SUFFIX, status

    folder, name = metadata.get("path"), metadata.get("name")
    if not (folder and name):
        return
    text = Path(folder) / f"{name}{TEXT_SUFFIX}"
    if text.is_file() and status(text) != "same":
        raise ReleaseError(
            f"{text.with_suffix('.ipynb')} is not what {text.name} derives: run "
            "`python -m autograder release`, which derives the notebook from the text (or "
            "says how to keep edits made to the notebook) and then runs nbgrader."
        )


class CourseRelease(NbGraderPreprocessor):
    """nbgrader preprocessor: :func:`verify`, then :func:`prepare`, before nbgrader's own.

    Configured in ``nbgrader_config.py`` as the first of ``GenerateAssignment.preprocessors``,
    so that the checksums and the gradebook nbgrader records are those of the prepared cells.
    """

    course_root = Unicode(
        "", help="The course root, whose _config.yml gives the book's address."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        _check_derived(resources.get("metadata", {}))
        problems = verify(nb, assignment)
        if problems:
            raise ReleaseError(
                f"{assignment}: the source notebook does not follow the course contract:\n- "
                + "\n- ".join(problems)
            )
        root = Path(self.course_root or ".")
        return prepare(nb, assignment, book_url(root)), resources
