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
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape

from .autograded import CellOutcomes
from .checks.compare import MATCH_TOL
from .checks.text import format_error, scrub
from .course import copy_submission_files
from .gradebook_read import SubmissionRecord
from .results import NotebookGrade, PartResult
from .svg_chart import BAD, GOOD, Bar, bar_chart

__all__ = [
    "WrittenAnswer",
    "error_figure_svg",
    "render_feedback",
    "write_feedback",
    "written_answers",
]

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


@dataclass(frozen=True)
class WrittenAnswer:
    """A manually graded answer as the page shows it.

    Attributes
    ----------
    name : str
        The answer cell's ``grade_id``.
    text : str
        What the student wrote (shown as plain text).
    score : float or None
        ``None`` until the instructor grades it.
    max_score : float
    comment : str or None
        The instructor's comment.
    """

    name: str
    text: str
    score: float | None
    max_score: float
    comment: str | None = None


def written_answers(cells: CellOutcomes, record: SubmissionRecord | None) -> list[WrittenAnswer]:
    """The written answers of an autograded notebook, with their grades from ``record``."""
    out = []
    for name, text in cells.answers.items():
        scored = record.cells.get(name) if record else None
        comment = record.comments.get(name) if record else None
        # Graded once the instructor scored it, or nbgrader scored it (0 for no answer).
        decided = scored is not None and (
            scored.manual_score is not None or not scored.needs_manual_grade
        )
        out.append(
            WrittenAnswer(
                name,
                text,
                scored.score if decided else None,
                scored.max_score if scored else cells.answer_points[name],
                (comment.manual_comment or comment.auto_comment) if comment else None,
            )
        )
    return out


def _late_text(seconds: float) -> str:
    """``3 days 4 h`` / ``2 h 5 min`` / ``40 s``: lateness at the precision people need."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def render_feedback(
    grade: NotebookGrade,
    record: SubmissionRecord | None = None,
    answers: list[WrittenAnswer] | None = None,
) -> str:
    """The feedback page of one notebook.

    Parameters
    ----------
    grade : NotebookGrade
        The grader's verdicts.
    record : SubmissionRecord, optional
        The gradebook as it is now: manual scores, comments, lateness. Without it the page
        shows the autograded scores only.
    answers : list of WrittenAnswer, optional

    Returns
    -------
    str
        A complete HTML document.
    """
    answers = answers or []

    def part_score(r: PartResult) -> float:
        scored = record.cells.get(r.grade_id) if record else None
        return scored.score if scored is not None else r.score

    def comment_on(name: str) -> str | None:
        comment = record.comments.get(name) if record else None
        return comment.manual_comment if comment else None

    graded = [a for a in answers if a.score is not None]
    name = grade.student
    if record and (record.first_name or record.last_name):
        name = " ".join(x for x in (record.first_name, record.last_name) if x)
    return _template().render(
        grade=grade,
        record=record,
        name=name,
        answers=answers,
        auto_total=sum(part_score(r) for r in grade.results),
        adjusted=any(part_score(r) != r.score for r in grade.results),
        written_total=sum(a.score for a in graded),
        written_max=sum(a.max_score for a in answers),
        pending=len(answers) - len(graded),
        late_text=_late_text(record.seconds_late) if record else "",
        part_score=part_score,
        comment_on=comment_on,
        cell_errors=[scrub(e) for e in grade.cell_errors[:MAX_CELL_ERRORS]],
        chart=None if grade.problem else error_figure_svg(grade.results),
        partial_credit_note=PARTIAL_CREDIT_NOTE,
        points=lambda x: f"{x:.3g}",
        error=lambda x: format_error(x, digits=1),
        code=_code,
        problems_of=_problems,
    )


def write_feedback(
    grade: NotebookGrade,
    out_dir: str | Path,
    record: SubmissionRecord | None = None,
    answers: list[WrittenAnswer] | None = None,
    submission_folder: Path | None = None,
) -> Path:
    """Write ``out_dir/<student>/<assignment>/<notebook>.html`` (nbgrader's feedback layout).

    Parameters
    ----------
    grade : NotebookGrade
    out_dir : str or Path
        The ``feedback`` folder.
    record, answers
        As for :func:`render_feedback`.
    submission_folder : Path, optional
        Where ``timestamp.txt`` and ``submission_secret.txt`` are (the autograded or
        submitted folder): copied beside the page, as ``nbgrader release_feedback`` needs.

    Returns
    -------
    Path
    """
    folder = Path(out_dir) / grade.student / grade.assignment
    folder.mkdir(parents=True, exist_ok=True)
    if submission_folder is not None:
        copy_submission_files(submission_folder, folder)
    path = folder / f"{grade.notebook}.html"
    path.write_text(render_feedback(grade, record, answers), encoding="utf-8")
    return path
