"""nbgrader's gradebook, read and written with SQLite directly.

The gradebook is nbgrader's own SQLite database: ``nbgrader generate_assignment`` (run by
``python -m autograder release``) records each assignment's cells in it, and ``nbgrader
export``, formgrader and the exchange read what the grader writes there exactly as they read
``nbgrader autograde``'s work. nbgrader creates the file (:func:`create_gradebook` asks its
``Gradebook`` API); the grader then reads and writes it with the standard library's
``sqlite3``, in the schema nbgrader's migrations define, because importing nbgrader's
SQLAlchemy models costs about a second, most of a one-student regrade. A gradebook at another
schema revision than :data:`SCHEMA_REVISION` is refused with the command that upgrades it, and
the tests read everything written here back through nbgrader's own API.

Writing grades is :mod:`autograder.gradebook_write`; reading them back for feedback,
:mod:`autograder.gradebook_read`.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import sqlite3
import uuid
from pathlib import Path

from .autograded import SourceCell
from .checks import contract
from .course import default_db_url  # re-exported: the gradebook's default place

__all__ = [
    "SCHEMA_REVISION",
    "Gradebook",
    "GradebookError",
    "alembic_head",
    "default_db_url",
]

#: The revision of nbgrader's gradebook schema (its alembic head, nbgrader 0.9) whose tables
#: this module reads and writes; a test checks that it is nbgrader's current head.
SCHEMA_REVISION = "e43177bfe90b"
#: How long a write waits for another process's transaction on the same file (formgrader
#: saving a manual grade, say) before giving up.
BUSY_SECONDS = 30.0
_SQLITE = "sqlite:///"
#: SQLAlchemy stores an interval (nbgrader's extension) in SQLite as this datetime plus it.
EPOCH = datetime.datetime(1970, 1, 1)


class GradebookError(Exception):
    """The gradebook cannot be opened or written (the grader itself cannot finish)."""


def new_id() -> str:
    """A row id as nbgrader makes them (a UUID's 32 hex digits)."""
    return uuid.uuid4().hex


def to_db_time(value: datetime.datetime | None) -> str | None:
    """A naive UTC datetime as SQLAlchemy stores it in SQLite."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def from_db_time(text: str | None) -> datetime.datetime | None:
    return None if text is None else datetime.datetime.fromisoformat(text)


def lateness(
    timestamp: datetime.datetime | None,
    duedate: datetime.datetime | None,
    extension: datetime.datetime | None,
) -> tuple[datetime.datetime | None, float]:
    """A submission's due date with the student's extension, and how late it was.

    Parameters
    ----------
    timestamp, duedate : datetime.datetime or None
        When it was submitted, and the assignment's due date (UTC), as :func:`from_db_time`
        reads them.
    extension : datetime.datetime or None
        The student's extension, as it is stored (:data:`EPOCH` plus the interval).

    Returns
    -------
    (datetime.datetime or None, float)
        The due date including the extension (``None`` when there is no due date), and the
        seconds past it (0 when on time, or without a submission time or a due date).
    """
    if duedate is not None and extension is not None:
        duedate = duedate + (extension - EPOCH)
    if timestamp is None or duedate is None:
        return duedate, 0.0
    return duedate, max(0.0, (timestamp - duedate).total_seconds())


@functools.cache
def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, read from its migration scripts.

    nbgrader stamps a new gradebook with it, and asks for it by running its ``alembic``
    command in a subprocess (a second or more, and a failure when the virtual environment's
    ``bin/`` is not on ``PATH``); alembic reads it here, in this process.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def create_gradebook(path: Path, course_id: str = "") -> None:
    """A new, empty gradebook at ``path``, made by nbgrader's own ``Gradebook`` API."""
    from nbgrader import api

    api.get_alembic_version = alembic_head  # see alembic_head
    try:
        api.Gradebook(f"{_SQLITE}{path}", course_id=course_id).close()
    except Exception as exc:
        raise GradebookError(f"cannot create the gradebook {path}: {exc}") from exc


class Gradebook:
    """An open gradebook: one SQLite connection, one course.

    Use :meth:`open`; every change happens inside :meth:`transaction`.
    """

    def __init__(self, connection: sqlite3.Connection, course_id: str, url: str) -> None:
        self.db = connection
        self.course_id = course_id
        self.url = url

    @classmethod
    def open(cls, db_url: str, course_id: str = "") -> Gradebook:
        """The gradebook at ``db_url`` (``sqlite:///PATH``), created by nbgrader if missing.

        Raises
        ------
        GradebookError
            When it cannot be opened, is not SQLite, or has another schema revision.
        """
        if not db_url.startswith(_SQLITE):
            raise GradebookError(
                f"cannot open the gradebook {db_url}: this grader reads SQLite gradebooks "
                "(nbgrader's default, sqlite:///PATH)"
            )
        path = Path(db_url[len(_SQLITE) :])
        if not path.parent.is_dir():
            missing = f"{path.parent} does not exist"
            raise GradebookError(f"cannot open the gradebook {db_url}: {missing}")
        if not path.exists():
            create_gradebook(path, course_id)
        try:
            db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
            [(revision,)] = db.execute("SELECT version_num FROM alembic_version").fetchall()
        except (sqlite3.Error, ValueError) as exc:
            raise GradebookError(f"cannot open the gradebook {db_url}: {exc}") from exc
        if revision != SCHEMA_REVISION:
            db.close()
            raise GradebookError(
                f"the gradebook {db_url} has schema revision {revision}; this grader knows "
                f"{SCHEMA_REVISION} (run `nbgrader db upgrade` with the nbgrader installed here)"
            )
        gb = cls(db, course_id, db_url)
        with gb.transaction():
            db.execute("INSERT OR IGNORE INTO course (id) VALUES (?)", (course_id,))
        return gb

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self):
        """Everything inside is written together, or not at all."""
        self.db.execute("BEGIN IMMEDIATE")  # take the write lock now: no half-way conflict
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- the course's structure ------------------------------------------------------------

    def _id(self, sql: str, *args) -> str | None:
        row = self.db.execute(sql, args).fetchone()
        return row[0] if row else None

    def notebook_id(self, assignment: str, notebook: str) -> str | None:
        return self._id(
            "SELECT n.id FROM notebook n JOIN assignment a ON n.assignment_id = a.id "
            "WHERE a.name = ? AND n.name = ?",
            assignment,
            notebook,
        )

    def ensure_structure(self, assignment: str) -> None:
        """The assignment, its notebook, each part's test cell and solution cell, added where
        the release has not made them (inside the caller's transaction); the contract's
        points win over stale ones. Cells nbgrader created (written answers) are kept."""
        a_id = self._id("SELECT id FROM assignment WHERE name = ?", assignment)
        if a_id is None:
            a_id = new_id()
            self.db.execute(
                "INSERT INTO assignment (id, name, course_id) VALUES (?, ?, ?)",
                (a_id, assignment, self.course_id),
            )
        name = contract().assignment(assignment).notebook
        nb_id = self.notebook_id(assignment, name)
        if nb_id is None:
            nb_id = new_id()
            self.db.execute(
                "INSERT INTO notebook (id, name, assignment_id) VALUES (?, ?, ?)",
                (nb_id, name, a_id),
            )
        for part in contract().parts_of(assignment):
            cell = self._cell(nb_id, part.grade_id, "GradeCell")
            if cell is None:
                cell = self._add_cell(nb_id, part.grade_id, "GradeCell")
                self.db.execute(
                    "INSERT INTO grade_cells (id, max_score, cell_type) VALUES (?, ?, 'code')",
                    (cell, float(part.points)),
                )
            else:
                self.db.execute(
                    "UPDATE grade_cells SET max_score = ? WHERE id = ?", (float(part.points), cell)
                )
            # A solution cell per part, so that formgrader can comment on the student's code.
            if self._cell(nb_id, part.name, "SolutionCell") is None:
                cell = self._add_cell(nb_id, part.name, "SolutionCell")
                self.db.execute("INSERT INTO solution_cells (id) VALUES (?)", (cell,))

    def _cell(self, notebook_id: str, name: str, kind: str) -> str | None:
        return self._id(
            "SELECT id FROM base_cell WHERE notebook_id = ? AND name = ? AND type = ?",
            notebook_id,
            name,
            kind,
        )

    def _add_cell(self, notebook_id: str, name: str, kind: str) -> str:
        cell = new_id()
        self.db.execute(
            "INSERT INTO base_cell (id, name, notebook_id, type) VALUES (?, ?, ?, ?)",
            (cell, name, notebook_id, kind),
        )
        return cell

    def source_cells(self, assignment: str, notebook: str) -> dict[str, SourceCell]:
        """The cells ``generate_assignment`` recorded for a notebook, in notebook order.

        Returns
        -------
        dict of str to SourceCell
            Empty when the notebook was never released into this gradebook.
        """
        nb_id = self.notebook_id(assignment, notebook)
        if nb_id is None:
            return {}
        points = dict(
            self.db.execute(
                "SELECT b.name, g.max_score FROM base_cell b JOIN grade_cells g ON g.id = b.id "
                "WHERE b.notebook_id = ?",
                (nb_id,),
            ).fetchall()
        )
        rows = self.db.execute(
            "SELECT name, cell_type, locked, source, checksum FROM source_cell "
            "WHERE notebook_id = ? ORDER BY rowid",
            (nb_id,),
        ).fetchall()
        return {
            name: SourceCell(name, kind, bool(locked), source or "", checksum, points.get(name))
            for name, kind, locked, source, checksum in rows
        }
