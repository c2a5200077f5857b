"""An ``nbgrader export`` plugin writing a CSV that Canvas's gradebook import accepts.

Select it in the course's ``nbgrader_config.py``::

    c.ExportApp.plugin_class = "autograder.lms_export.CanvasCsvExportPlugin"

then ``nbgrader export --to canvas.csv``. The file has Canvas's identifying columns
(``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``), a ``Points Possible``
row, and one column per assignment holding the student's total after the late penalty, manual
grades included (as ``nbgrader export``'s own ``score`` column). nbgrader's student id goes
into ``SIS Login ID``, Canvas's usual key for matching a row to a student; a course whose
nbgrader ids are Canvas's numeric user ids can say so with
``c.CanvasCsvExportPlugin.id_column = "ID"``. A student with no submission gets 0, as in
nbgrader's own export.
"""

from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Enum, Unicode

__all__ = ["CANVAS_COLUMNS", "CanvasCsvExportPlugin"]

#: The columns Canvas's gradebook import reads to identify a student, in its own order.
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


class CanvasCsvExportPlugin(ExportPlugin):
    """``nbgrader export`` to a CSV for Canvas's gradebook import."""

    id_column = Enum(
        ["SIS Login ID", "SIS User ID", "ID"],
        default_value="SIS Login ID",
        help="The Canvas column that holds nbgrader's student id.",
    ).tag(config=True)
    section = Unicode(
        "", help="The section to write on every row (Canvas may leave it empty)."
    ).tag(config=True)

    def export(self, gradebook) -> None:
        dest = self.to or "canvas.csv"
        wanted_assignments = [str(a) for a in self.assignment]
        wanted_students = [str(s) for s in self.student]
        assignments = [
            a
            for a in gradebook.assignments
            if not wanted_assignments or a.name in wanted_assignments
        ]
        students = [s for s in gradebook.students if not wanted_students or s.id in wanted_students]
        self.log.info("Exporting %d students' grades for Canvas to %s", len(students), dest)
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CANVAS_COLUMNS + [a.name for a in assignments])
            # Canvas reads a row whose first cell is "Points Possible" as the columns' maxima.
            writer.writerow(
                ["Points Possible", "", "", "", ""] + [_points(a.max_score) for a in assignments]
            )
            for student in students:
                name = ", ".join(x for x in (student.last_name, student.first_name) if x)
                ids = dict.fromkeys(CANVAS_COLUMNS[1:4], "")
                ids[self.id_column] = student.id
                row = [name or student.id, *ids.values(), self.section]
                row += [_points(_total(gradebook, a.name, student.id)) for a in assignments]
                writer.writerow(row)


def _total(gradebook, assignment: str, student: str) -> float:
    """The student's score after the late penalty, as ``nbgrader export``'s ``score``."""
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return 0.0
    return max(0.0, float(submission.score) - float(submission.late_submission_penalty or 0.0))


def _points(x: float) -> str:
    return f"{float(x):g}"
