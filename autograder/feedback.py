"""Feedback pages: one self-contained HTML file per graded notebook.

Per part: the points, what was checked, expected versus received shapes, the worst relative
error and where it is, the comparison with finite differences, and the likely cause in plain
words when a classic slip fits the numbers. A small figure (inline SVG, so the page works
offline and alone) shows the worst relative error of every output against the
tolerance. The page never shows the grader's inputs or the source of its tests: only shapes,
activation names, errors and indices; every text that comes from a submission is escaped.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from .checks import MATCH_TOL
from .checks.core import PartResult, format_error, scrub
from .grade import NotebookGrade

__all__ = ["error_figure_svg", "render_feedback", "write_feedback"]

#: Errors below this are drawn at this height (a log scale has no zero).
FIGURE_FLOOR = 1e-17
#: The right end of the axis; an output with no comparable answer is drawn at a tenth of it.
FIGURE_CEIL = 10.0

PARTIAL_CREDIT_NOTE = (
    "Each part is graded on its own, with inputs the grader draws (several shapes, every "
    "activation) and, where a part needs values from an earlier step, the correct ones: a "
    "mistake in one part costs that part only. Parts with several outputs earn points for "
    "each correct output. (nbgrader's own autograde gives a test cell no points when a "
    "visible self-check in it fails; this grader can still give partial credit.)"
)

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.92rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
.ok{color:#1b5e20}.bad{color:#b71c1c}.cause{background:#fff8e1;border-left:4px solid #f9a825;
padding:.4rem .8rem}.note{color:#555;font-size:.9rem}code{background:#f4f4f4;padding:0 .2rem}
"""


def _fmt(x) -> str:
    return format_error(x, digits=1)


def _points(x: float) -> str:
    return f"{x:.3g}"


def _code(text: str) -> str:
    """Escape, then show `backticked` words as code."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _log_x(err: float, width: float) -> float:
    """Where ``err`` falls on the figure's log axis, from ``FIGURE_FLOOR`` to ``FIGURE_CEIL``."""
    lo, hi = math.log10(FIGURE_FLOOR), math.log10(FIGURE_CEIL)
    return width * (math.log10(err) - lo) / (hi - lo)


def error_figure_svg(results: list[PartResult]) -> str | None:
    """Bar chart of the worst relative error of each output, log scale, with the tolerance.

    Written as inline SVG by hand rather than with matplotlib: a page is drawn per notebook,
    thousands per deadline, and a matplotlib PNG costs about 100 ms where this costs well
    under 1 ms; SVG also stays sharp when zoomed and needs no base64.

    Parameters
    ----------
    results : list of PartResult

    Returns
    -------
    str or None
        An ``<svg>`` element; ``None`` when nothing was compared.
    """
    rows = []
    for r in results:
        for leaf, err in r.leaf_errors.items():
            shown = FIGURE_CEIL / 10 if not math.isfinite(err) else max(err, FIGURE_FLOOR)
            rows.append((f"{r.part}: {leaf}", min(shown, FIGURE_CEIL), err <= MATCH_TOL))
    if not rows:
        return None
    label_w, plot_w, row_h, top, bottom = 190, 380, 16, 8, 38
    height = top + row_h * len(rows) + bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 20}" '
        f'height="{height}" role="img" font-family="sans-serif" font-size="10">',
        "<title>worst relative error of each output, log scale</title>",
    ]
    for i, (label, value, ok) in enumerate(rows):
        y = top + i * row_h
        color = "#2e7d32" if ok else "#c62828"
        out.append(
            f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{max(_log_x(value, plot_w), 1):.1f}" '
            f'height="{row_h - 4}" fill="{color}"/>'
        )
    axis_y = top + row_h * len(rows)
    out.append(
        f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" stroke="#333"/>'
    )
    for exponent in range(-16, 1, 4):
        x = label_w + _log_x(10.0**exponent, plot_w)
        out.append(
            f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" stroke="#333"/>'
            f'<text x="{x:.1f}" y="{axis_y + 15}" text-anchor="middle">1e{exponent}</text>'
        )
    tol_x = label_w + _log_x(MATCH_TOL, plot_w)
    out.append(
        f'<line x1="{tol_x:.1f}" y1="{top}" x2="{tol_x:.1f}" y2="{axis_y}" stroke="#555" '
        'stroke-dasharray="4 3"/>'
        f'<text x="{label_w + plot_w / 2}" y="{axis_y + 31}" text-anchor="middle">'
        "worst relative error (dashed: tolerance)</text></svg>"
    )
    return "".join(out)


def _part_html(r: PartResult) -> str:
    status = "ok" if r.score >= r.max_score else "bad"
    out = [
        f'<h2 id="{html.escape(r.part)}"><code>{html.escape(r.part)}</code>: '
        f'<span class="{status}">{_points(r.score)} / {_points(r.max_score)} points</span></h2>'
    ]
    if r.error:
        out.append(f'<p class="bad">{_code(r.error)}</p>')
    out.append(
        "<table><tr><th>output</th><th>points</th><th>expected shape</th>"
        "<th>received shape</th><th>worst relative error</th><th>where</th>"
        "<th>against finite differences</th></tr>"
    )
    for c in r.components:
        cls = "ok" if c.passed else "bad"
        out.append(
            f'<tr><td class="{cls}">{html.escape(c.name)}</td>'
            f"<td>{_points(c.score)} / {_points(c.max_score)}</td>"
            f"<td>{html.escape(c.expected_shape or '-')}</td>"
            f"<td>{html.escape(c.received_shape or '-')}</td>"
            f"<td>{_fmt(c.worst_error) if c.expected_shape else '-'}</td>"
            f"<td>{html.escape(c.worst_where if not c.passed else '') or '-'}</td>"
            f"<td>{_fmt(c.fd_error)}</td></tr>"
        )
    out.append("</table>")
    problems = [p for c in r.components for p in c.problems if not r.error or p != r.error]
    if problems:
        out.append("<ul>" + "".join(f"<li>{_code(p)}</li>" for p in dict.fromkeys(problems)))
        out.append("</ul>")
    if r.diagnoses:
        out.append('<div class="cause"><b>Likely cause.</b><ul>')
        out += [f"<li>{_code(msg)}</li>" for _, msg in r.diagnoses]
        out.append("</ul></div>")
    checks = r.components[0].checks if r.components else []
    if checks:
        out.append('<p class="note"><b>Checked:</b> ' + _code(" ".join(checks)) + "</p>")
    return "\n".join(out)


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
    title = f"{grade.assignment}: feedback for {grade.student}"
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(grade.assignment)} / {html.escape(grade.notebook)}.ipynb</h1>",
        f"<p>Student <b>{html.escape(grade.student)}</b>: "
        f"<b>{_points(grade.score)} / {_points(grade.max_score)}</b> points autograded "
        f"(grading seed {grade.seed}; written answers are graded by hand).</p>",
    ]
    if grade.problem:
        head.append(
            f'<p class="bad"><b>This notebook could not be graded:</b> {_code(grade.problem)}</p>'
        )
    if grade.cell_errors:
        head.append("<p>Cells that raised an error while the notebook was run:</p><ul>")
        head += [f"<li>{_code(scrub(e))}</li>" for e in grade.cell_errors[:10]]
        head.append("</ul>")
    head.append(
        "<table><tr><th>part</th><th>points</th><th>likely cause</th></tr>"
        + "".join(
            f'<tr><td><a href="#{html.escape(r.part)}">{html.escape(r.part)}</a></td>'
            f"<td>{_points(r.score)} / {_points(r.max_score)}</td>"
            f"<td>{html.escape(', '.join(n for n, _ in r.diagnoses)) or '-'}</td></tr>"
            for r in grade.results
        )
        + "</table>"
    )
    svg = None if grade.problem else error_figure_svg(grade.results)
    if svg:
        head.append(
            f'<p>{svg}<br><span class="note">Worst relative error of each output against '
            "the expected values (green: within the tolerance; a bar at 1: no comparable "
            "answer, e.g. an error or a wrong shape).</span></p>"
        )
    head.append(f'<p class="note">{html.escape(PARTIAL_CREDIT_NOTE)}</p>')
    body = [_part_html(r) for r in grade.results]
    return "\n".join(head + body + ["</body></html>"])


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
