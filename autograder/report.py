"""The instructor's outputs of a batch: the CSV, the summary in words and as a chart.

The CSV has one row per student and graded part; its first six columns are the contract's
(``student_id, assignment, notebook, grade_id, score, max_score``), the rest explain the
score (``part, seed, flags, diagnosis, message``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from .checks import contract
from .protocol import Flag
from .results import NotebookGrade
from .svg_chart import BAD, GOOD, MIDDLING, Bar, bar_chart

__all__ = [
    "CSV_COLUMNS",
    "csv_rows",
    "summarize",
    "summary_svg",
    "write_csv",
]

#: The CSV's columns: the contract's six first, then what explains the score.
CSV_COLUMNS = [
    "student_id",
    "assignment",
    "notebook",
    "grade_id",
    "score",
    "max_score",
    "part",
    "seed",
    "flags",
    "diagnosis",
    "message",
    "seconds_late",
    "notebook_late_penalty",
]
#: Mean fractions at or above these are drawn green, then amber; below, red.
GOOD_FRACTION, MIDDLING_FRACTION = 0.8, 0.5


def format_points(x: float) -> str:
    """``2`` for whole points, ``0.6667`` otherwise."""
    return f"{x:.4g}" if x != int(x) else str(int(x))


def csv_rows(grades: list[NotebookGrade], records=None) -> list[dict[str, str]]:
    """One row per student and part, with the columns of :data:`CSV_COLUMNS`.

    Parameters
    ----------
    grades : list of NotebookGrade
    records : dict, optional
        The gradebook's :class:`~autograder.gradebook_read.SubmissionRecord` per
        ``(student, assignment, notebook)``: the lateness columns come from there (the
        penalty is the notebook's, repeated on each of its rows; it is not a per-part score).
    """
    rows = []
    records = records or {}
    for g in grades:
        record = records.get((g.student, g.assignment, g.notebook))
        late = {
            "seconds_late": f"{record.seconds_late:g}" if record else "",
            "notebook_late_penalty": format_points(record.late_penalty) if record else "",
        }
        notebook_flags = set(g.flags)
        if record and record.seconds_late > 0:
            notebook_flags.add(Flag.LATE)
        for r in g.results:
            rows.append(
                {
                    "student_id": g.student,
                    "assignment": g.assignment,
                    "notebook": g.notebook,
                    "grade_id": r.grade_id,
                    "score": format_points(r.score),
                    "max_score": format_points(r.max_score),
                    "part": r.part,
                    "seed": str(g.seed),
                    "flags": " ".join(sorted(r.flags | notebook_flags)),
                    "diagnosis": " ".join(d.name for d in r.diagnoses),
                    "message": r.message,
                    **late,
                }
            )
    return rows


def write_csv(grades: list[NotebookGrade], path: str | Path, records=None) -> Path:
    """Write :func:`csv_rows` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(grades, records))
    return path


def _per_part(grades: list[NotebookGrade]) -> tuple[dict[str, list[float]], dict[str, float]]:
    parts: dict[str, list[float]] = {}
    maxima: dict[str, float] = {}
    for g in grades:
        for r in g.results:
            parts.setdefault(r.part, []).append(r.score)
            maxima[r.part] = r.max_score
    return parts, maxima


def summarize(grades: list[NotebookGrade], seconds: float | None = None) -> str:
    """The instructor's closing summary: counts, problems, mean score per part.

    Parameters
    ----------
    grades : list of NotebookGrade
    seconds : float, optional
        Wall-clock time of the batch.

    Returns
    -------
    str
    """
    students = sorted({g.student for g in grades})
    lines = [
        f"Graded {len(grades)} notebooks of {len(students)} students"
        + (f" in {seconds:.1f} s" if seconds is not None else "")
        + "."
    ]
    problems: dict[str, int] = {}
    for g in grades:
        for flag in g.flags:
            problems[flag] = problems.get(flag, 0) + 1
    if problems:
        lines.append(
            "Notebook flags: " + ", ".join(f"{k} {v}" for k, v in sorted(problems.items()))
        )
    modes = sorted({g.isolation for g in grades if g.isolation})
    if modes:
        lines.append("Isolation: " + ", ".join(modes))
    for g in grades:
        if g.notes or g.flags - {"missing-notebook"}:
            what = "; ".join(g.notes[:3]) or g.problem or ""
            lines.append(
                f"  {g.student}/{g.assignment}: {' '.join(sorted(g.flags))}"
                + (f" ({what})" if what else "")
            )
    parts, maxima = _per_part(grades)
    lines.append(f"{'part':<22}{'mean':>8}{'max':>6}{'full marks':>12}")
    for part, scores in parts.items():
        full = sum(s >= maxima[part] for s in scores)
        mean = sum(scores) / len(scores)
        lines.append(f"{part:<22}{mean:>8.2f}{maxima[part]:>6g}{full:>8}/{len(scores)}")
    totals: dict[str, list[float]] = {}
    for g in grades:
        totals.setdefault(g.assignment, []).append(g.score)
    for assignment, scores in totals.items():
        lines.append(
            f"{assignment}: mean {sum(scores) / len(scores):.2f} / "
            f"{contract().points(assignment):g} over {len(scores)} notebooks"
        )
    return "\n".join(lines)


def summary_svg(grades: list[NotebookGrade]) -> str:
    """A bar chart of the mean score per part, as a fraction of its points (an SVG document).

    Parameters
    ----------
    grades : list of NotebookGrade

    Returns
    -------
    str
    """
    parts, maxima = _per_part(grades)
    bars = []
    for part, scores in parts.items():
        fraction = sum(scores) / (len(scores) * maxima[part])
        color = (
            GOOD
            if fraction >= GOOD_FRACTION
            else MIDDLING
            if fraction >= MIDDLING_FRACTION
            else BAD
        )
        bars.append(Bar(part, fraction, color))
    students = len({g.student for g in grades})
    ticks = [(x / 4, f"{x / 4:g}") for x in range(5)]
    caption = f"mean score / points per part ({students} students)"
    return '<?xml version="1.0" encoding="utf-8"?>\n' + bar_chart(bars, ticks, caption) + "\n"
