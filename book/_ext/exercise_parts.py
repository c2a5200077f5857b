"""The ``{exercise-parts}`` directive: the graded parts of a released notebook, as a table.

Usage, in a chapter::

    ```{exercise-parts} ../exercises/mlp_backprop/mlp_backprop.ipynb
    :total: 17
    ```

reads the student release at build time (with the standard library's json, so the chapter
itself has no code cell to download) and writes one row per autograded test cell
``test_<function>`` and per manually graded answer, with its points. ``:total:`` is the
course contract's number of autograded points; a release that disagrees fails the build.
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.util.docutils import SphinxDirective


def graded_parts(notebook):
    """The graded cells of an nbgrader release notebook.

    Parameters
    ----------
    notebook : dict
        The notebook's JSON.

    Returns
    -------
    auto : list of (str, float)
        ``(function, points)`` for each autograded test cell, in notebook order.
    written : list of (str, float)
        ``(grade_id, points)`` for each manually graded markdown answer.
    """
    auto, written = [], []
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        points = float(meta.get("points", 0) or 0)
        if meta.get("grade") and not meta.get("solution") and grade_id.startswith("test_"):
            auto.append((grade_id.removeprefix("test_"), points))
        elif meta.get("grade") and meta.get("solution") and cell.get("cell_type") == "markdown":
            written.append((grade_id, points))
    return auto, written


class ExerciseParts(SphinxDirective):
    """Table of a released notebook's graded parts."""

    required_arguments = 1
    option_spec = {"total": float}

    def run(self):
        path = (Path(self.env.doc2path(self.env.docname)).parent / self.arguments[0]).resolve()
        self.env.note_dependency(str(path))
        notebook = json.loads(path.read_text(encoding="utf-8"))
        auto, written = graded_parts(notebook)
        total = sum(points for _, points in auto)
        expected = self.options.get("total")
        if expected is not None and abs(total - expected) > 1e-9:
            raise self.error(
                f"{path.name}: {total:g} autograded points in the release, the course "
                f"contract says {expected:g}"
            )
        rows = [
            f"**{path.name}** ({total:g} points autograded)",
            "",
            "| part | points |",
            "|---|---|",
        ]
        rows += [f"| `{name}` | {points:g} |" for name, points in auto]
        rows += [f"| {name} (written answer) | {points:g} |" for name, points in written]
        container = self.parse_text_to_nodes("\n".join(rows))
        return container


def setup(app):
    app.add_directive("exercise-parts", ExerciseParts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
