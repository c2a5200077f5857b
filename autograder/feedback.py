"""Feedback pages: one self-contained HTML file per graded notebook.

Per part: the points, what was checked, expected versus received shapes, the worst relative
error and where it is, the comparison with finite differences, and the likely cause in plain
words when a classic slip fits the numbers. A small inline SVG chart shows the worst relative
error of every output against the tolerance. The page never shows the grader's inputs or the
source of its tests: only shapes, activation names, errors and indices. It is rendered from
``templates/feedback.html.j2`` with autoescape, so text from a submission cannot inject HTML.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape

from .checks.compare import MATCH_TOL
from .checks.text import format_error, scrub
from .results import NotebookGrade, PartResult
from .svg_chart import BAD, GOOD, Bar, bar_chart

__all__ = ["error_figure_svg", "render_feedback", "write_feedback"]

#: Errors below this are drawn at this height (a log scale has no zero).
FIGURE_FLOOR = 1e-17
#: The right end of the axis; an output with no comparable answer is drawn at a tenth of it.
FIGURE_CEIL = 10.0
#: Cells errors listed on a page: the first few say what went wrong, more would bury the rest.
MAX_CELL_ERRORS = 10

PARTIAL_CREDIT_NOTE = (
    "Each part is graded on its own, with inputs the grader draws (several shapes, every "
    "activation) and, where a part needs values from an earlier step, the correct ones: a "
    "mistake in one part costs that part only. Parts with several outputs earn points for "
    "each correct output. (nbgrader's own autograde gives a test cell no points when a "
    "visible self-check in it fails; this grader can still give partial credit.)"
)


def _log_position(err: float) -> float:
    """Where ``err`` falls on the chart's log axis, from FIGURE_FLOOR (0) to FIGURE_CEIL (1)."""
    lo, hi = math.log10(FIGURE_FLOOR), math.log10(FIGURE_CEIL)
    return (math.log10(err) - lo) / (hi - lo)


def error_figure_svg(results: list[PartResult]) -> str | None:
    """Bar chart of the worst relative error of each output, log scale, with the tolerance.

    Parameters
    ----------
    results : list of PartResult

    Returns
    -------
    str or None
        An ``<svg>`` element; ``None`` when nothing was compared.
    """
    bars = []
    for r in results:
        for leaf, err in r.leaf_errors.items():
            shown = FIGURE_CEIL / 10 if not math.isfinite(err) else max(err, FIGURE_FLOOR)
            color = GOOD if err <= MATCH_TOL else BAD
            bars.append(Bar(f"{r.part}: {leaf}", _log_position(min(shown, FIGURE_CEIL)), color))
    if not bars:
        return None
    ticks = [(_log_position(10.0**e), f"1e{e}") for e in range(-16, 1, 4)]
    return bar_chart(
        bars,
        ticks,
        "worst relative error (dashed: tolerance)",
        marker=_log_position(MATCH_TOL),
        title="worst relative error of each output, log scale",
    )


def _code(text: str) -> Markup:
    """Escape, then show `backticked` words as code."""
    parts = str(escape(text)).split("`")
    return Markup("".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)))


def _problems(r: PartResult) -> list[str]:
    """The part's problems, once each, without repeating its error."""
    found = [p for c in r.components for p in c.problems if not r.error or p != r.error]
    return list(dict.fromkeys(found))


@cache
def _template():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("feedback.html.j2")


def render_feedback(grade: NotebookGrade) -> str:
    """The feedback page of one notebook.

    Parameters
    ----------
    grade : NotebookGrade

    Returns
    -------
    str
        A complete HTML document.
    """
    return _template().render(
        grade=grade,
        cell_errors=[scrub(e) for e in grade.cell_errors[:MAX_CELL_ERRORS]],
        chart=None if grade.problem else error_figure_svg(grade.results),
        partial_credit_note=PARTIAL_CREDIT_NOTE,
        points=lambda x: f"{x:.3g}",
        error=lambda x: format_error(x, digits=1),
        code=_code,
        problems_of=_problems,
    )


def write_feedback(grade: NotebookGrade, out_dir: str | Path) -> Path:
    """Write ``out_dir/<student>/<assignment>/<notebook>.html``.

    Parameters
    ----------
    grade : NotebookGrade
    out_dir : str or Path
        The ``feedback`` folder.

    Returns
    -------
    Path
    """
    path = Path(out_dir) / grade.student / grade.assignment / f"{grade.notebook}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_feedback(grade), encoding="utf-8")
    return path
