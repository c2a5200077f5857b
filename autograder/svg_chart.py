"""A horizontal bar chart as inline SVG, written by hand.

The feedback pages (one per notebook, thousands per deadline) and the instructor's summary
draw their charts with this instead of matplotlib: a page costs well under a millisecond
instead of about a hundred, the grader does not import matplotlib at all, the chart stays
sharp when zoomed, and the page works alone, offline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["Bar", "bar_chart"]

GOOD, MIDDLING, BAD = "#2e7d32", "#f9a825", "#c62828"
#: Pixels kept left of the plot for the labels: room for the feedback's longest
#: ``part: output`` label at font-size 10.
LABEL_WIDTH = 190


@dataclass(frozen=True)
class Bar:
    """One row of the chart.

    Attributes
    ----------
    label : str
    position : float
        Length of the bar as a fraction of the plot's width, clipped to [0, 1].
    color : str
    """

    label: str
    position: float
    color: str


def bar_chart(
    bars: list[Bar],
    ticks: list[tuple[float, str]],
    caption: str,
    marker: float | None = None,
    title: str = "",
) -> str:
    """An ``<svg>`` element with one horizontal bar per row.

    Parameters
    ----------
    bars : list of Bar
    ticks : list of (float, str)
        Axis ticks: position as a fraction of the width, and the text under it.
    caption : str
        Written under the axis.
    marker : float, optional
        A dashed vertical line at this fraction of the width (a tolerance, a target).
    title : str
        For screen readers (``<title>``); defaults to the caption.

    Returns
    -------
    str
    """
    plot_w, row_h, top, bottom = 380, 16, 8, 38
    axis_y = top + row_h * len(bars)
    left = LABEL_WIDTH
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + plot_w + 20}" '
        f'height="{axis_y + bottom}" role="img" font-family="sans-serif" font-size="10">',
        f"<title>{html.escape(title or caption)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = top + i * row_h
        width = max(min(bar.position, 1.0), 0.0) * plot_w
        out.append(
            f'<text x="{left - 6}" y="{y + 11}" text-anchor="end">{html.escape(bar.label)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{max(width, 1):.1f}" '
            f'height="{row_h - 4}" fill="{bar.color}"/>'
        )
    out.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>'
    )
    for position, text in ticks:
        x = left + position * plot_w
        out.append(
            f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" stroke="#333"/>'
            f'<text x="{x:.1f}" y="{axis_y + 15}" text-anchor="middle">{html.escape(text)}</text>'
        )
    if marker is not None:
        x = left + marker * plot_w
        out.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#555" '
            'stroke-dasharray="4 3"/>'
        )
    out.append(
        f'<text x="{left + plot_w / 2}" y="{axis_y + 31}" text-anchor="middle">'
        f"{html.escape(caption)}</text></svg>"
    )
    return "".join(out)
