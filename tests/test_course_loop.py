"""A whole semester's loop in nbgrader's own tools, with this grader in autograde's place.

A temporary course with its own exchange: the instructor releases ``mlp_backprop``; three
students fetch it, fill it (one right, one with a slip, one right but late) and submit; the
instructor collects, grades with ``python -m autograder grade``, grades a written answer in
formgrader over HTTP, exports (nbgrader's CSV and the Canvas plugin), writes the feedback and
releases it; each student fetches a page that shows the manual score and no hidden test.

Students are told apart as on a JupyterHub: the account is called ``jovyan`` and
``JUPYTERHUB_USER`` names the student, which is how nbgrader's exchange identifies them. Each
student's commands run in bubblewrap with an ``/etc/passwd`` that names this machine's user
``jovyan``; everything else (files, exchange, nbgrader) is real and shared.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

try:
    import notebook_tools as nt
except ImportError:  # tests/ imported as a package
    from tests import notebook_tools as nt

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ASSIGNMENT = "mlp_backprop"
COURSE_ID = "gbh-loop"
STUDENTS = ("ann", "ben", "cat")  # right; a missing 1/N; right but late
#: What ben gets wrong, planted in his copy (the classic slip of the handwritten solution).
SLIP = ("grad_output", "/ y_hat.shape[0]", "")
MANUAL_SCORE = 1.5
COMMENT = "Good: the 1/N comes from the mean."

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) not installed"),
]


def _book_tool(name: str):
    """A module of book/_tools, imported by file as the book's build does (as test_book's
    ``load_extension`` does)."""
    spec = importlib.util.spec_from_file_location(
        f"book_{name}", REPO / "book" / "_tools" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _env(**extra) -> dict[str, str]:
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra)
    env.pop("PYTHONPATH", None)
    return env


def _run(args, cwd, check=True, **env) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


class Semester:
    """The course, the exchange, the students' homes, and how each side runs commands."""

    def __init__(self, base: Path):
        self.base = base
        self.course = base / "course"
        self.exchange = base / "exchange"
        self.homes = {s: base / "home" / s for s in STUDENTS}
        self.passwd = base / "passwd"
        uid, gid = os.getuid(), os.getgid()
        self.passwd.write_text(f"jovyan:x:{uid}:{gid}::/home/jovyan:/bin/sh\n")
        for home in self.homes.values():
            home.mkdir(parents=True)
        self.exchange.mkdir()
        self.exchange.chmod(0o777)  # as an exchange shared by many accounts is
        self.course.mkdir()
        shutil.copytree(REPO / "solutions", self.course / "solutions")
        config = (REPO / "nbgrader_config.py").read_text()
        config += (
            f'\nc.CourseDirectory.course_id = "{COURSE_ID}"\n'
            f'c.Exchange.root = "{self.exchange}"\n'
            'c.LateSubmissionPlugin.penalty_method = "zero"\n'
        )
        (self.course / "nbgrader_config.py").write_text(config)

    def instructor(self, *args, check=True) -> subprocess.CompletedProcess:
        return _run(args, self.course, check)

    def nbgrader(self, *args) -> subprocess.CompletedProcess:
        return self.instructor(VENV_BIN / "nbgrader", *args)

    def student(self, name: str, *args) -> subprocess.CompletedProcess:
        """``nbgrader ARGS`` as student ``name`` (in bubblewrap: the account reads jovyan)."""
        command = [
            "bwrap", "--dev-bind", "/", "/", "--ro-bind", self.passwd, "/etc/passwd",
            "--chdir", self.homes[name], "--", VENV_BIN / "nbgrader", *args,
            f"--Exchange.root={self.exchange}", f"--CourseDirectory.course_id={COURSE_ID}",
        ]  # fmt: skip
        return _run(command, self.homes[name], JUPYTERHUB_USER=name, HOME=str(self.homes[name]))

    def fill(self, name: str, slips=None) -> None:
        """The student's fetched copy with every answer written (from the course's solutions)."""
        path = self.homes[name] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        source = nt.read(self.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        nbformat.write(nt.fill_release(nt.read(path), source, slips=slips), path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Formgrader:
    """A Jupyter server with nbgrader's formgrader, on a loopback port, as the instructor."""

    def __init__(self, course: Path):
        self.port, self.token = _free_port(), "gbh-test-token"
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(course.parent / "formgrader.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [VENV_BIN / "jupyter", "server", "--no-browser", "--allow-root",
             f"--port={self.port}", "--ServerApp.ip=127.0.0.1",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={course}"],
            cwd=course, env=_env(), stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            try:
                self.get("/formgrader/api/status")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise AssertionError((course.parent / "formgrader.log").read_text()) from None
                time.sleep(0.5)

    def request(self, path: str, data: dict | None = None, method: str = "GET"):
        req = urllib.request.Request(
            self.url + path,
            data=None if data is None else json.dumps(data).encode(),
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = resp.read().decode()
            return resp.status, body

    def get(self, path: str):
        status, body = self.request(path)
        return json.loads(body) if path.startswith("/formgrader/api") else body

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def semester(tmp_path_factory):
    """Release, fetch, fill, submit (the third student after the deadline), collect, grade."""
    s = Semester(tmp_path_factory.mktemp("semester"))
    s.instructor(sys.executable, "-m", "autograder", "release")
    s.nbgrader("release_assignment", ASSIGNMENT)
    for name in STUDENTS:
        s.student(name, "fetch_assignment", ASSIGNMENT)
    s.fill("ann")
    s.fill("ben", slips={SLIP[0]: SLIP[1:]})
    s.fill("cat")
    for name in STUDENTS[:2]:
        s.student(name, "submit", ASSIGNMENT)
    # The deadline passes between ben's submission and cat's.
    time.sleep(1.1)
    s.instructor(
        sys.executable, "-c",
        "import datetime; from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///gradebook.db', '{COURSE_ID}') as gb:\n"
        f"    gb.update_or_create_assignment('{ASSIGNMENT}', duedate=datetime.datetime.utcnow())",
    )  # fmt: skip
    time.sleep(1.1)
    s.student("cat", "submit", ASSIGNMENT)
    s.nbgrader("collect", ASSIGNMENT)
    s.graded = s.instructor(sys.executable, "-m", "autograder", "grade", "--quiet")
    return s


@pytest.fixture(scope="module")
def formgrader(semester):
    server = Formgrader(semester.course)
    yield server
    server.close()


def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID)


def _submissions(formgrader) -> dict[str, dict]:
    listed = formgrader.get(f"/formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}")
    return {s["student"]: s for s in listed}


@pytest.fixture(scope="module")
def graded_by_hand(semester, formgrader):
    """ann's first written answer scored and commented in formgrader, over HTTP."""
    ann = _submissions(formgrader)["ann"]
    grades = formgrader.get(f"/formgrader/api/grades?submission_id={ann['id']}")
    answer = next(g for g in grades if g["name"].startswith("answer_"))
    formgrader.request(
        f"/formgrader/api/grade/{answer['id']}", {"manual_score": MANUAL_SCORE}, "PUT"
    )
    comments = formgrader.get(f"/formgrader/api/comments?submission_id={ann['id']}")
    comment = next(c for c in comments if c["name"] == answer["name"])
    formgrader.request(
        f"/formgrader/api/comment/{comment['id']}", {"manual_comment": COMMENT}, "PUT"
    )
    return answer["name"]


@pytest.fixture(scope="module")
def handed_back(semester, graded_by_hand):
    """Feedback written from the gradebook, released, and fetched by every student; the
    grades exported by nbgrader and by the Canvas plugin."""
    semester.instructor(sys.executable, "-m", "autograder", "feedback", ASSIGNMENT)
    semester.nbgrader("release_feedback", ASSIGNMENT)
    pages = {}
    for name in STUDENTS:
        semester.student(name, "fetch_feedback", ASSIGNMENT)
        [page] = (semester.homes[name] / ASSIGNMENT / "feedback").rglob("*.html")
        pages[name] = page.read_text()
    exports = {}
    for label, options in (
        ("nbgrader", ()),
        ("canvas", ("--ExportApp.plugin_class=autograder.lms_export.CanvasCsvExportPlugin",)),
    ):
        out = semester.base / f"{label}.csv"
        semester.nbgrader("export", "--to", out, *options)
        with out.open() as fh:
            exports[label] = list(csv.DictReader(fh))
    return pages, exports


def test_grading_writes_nbgraders_layout(semester):
    """Are there autograded notebooks with timestamp and secret, for every student?"""
    assert "Graded 3 notebooks of 3 students" in semester.graded.stdout
    for name in STUDENTS:
        folder = semester.course / "autograded" / name / ASSIGNMENT
        assert (folder / f"{ASSIGNMENT}.ipynb").is_file()
        assert (folder / "timestamp.txt").read_text() == (
            semester.course / "submitted" / name / ASSIGNMENT / "timestamp.txt"
        ).read_text()
        assert (folder / "submission_secret.txt").is_file()


def test_the_gradebook_has_every_graded_cell(semester):
    """Do test cells carry scores, written answers await a manual grade, lateness show?"""
    with _gradebook(semester.course) as gb:
        ann = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "ann")
        answers = [g for g in ann.grades if g.name.startswith("answer_")]
        tests = [g for g in ann.grades if g.name.startswith("test_")]
        assert answers and all(g.needs_manual_grade for g in answers)
        assert all(g.auto_score is None or g.manual_score is not None for g in answers)
        assert tests and all(g.auto_score == g.max_score for g in tests)
        assert gb.find_grade("test_grad_output", ASSIGNMENT, ASSIGNMENT, "ben").auto_score == 0
        assert gb.find_submission(ASSIGNMENT, "cat").total_seconds_late > 0
        assert gb.find_submission(ASSIGNMENT, "ann").total_seconds_late == 0


def test_formgrader_lists_and_opens_every_submission(semester, formgrader):
    """Over HTTP, does formgrader list every submission and open each with our verdicts?"""
    submissions = _submissions(formgrader)
    assert sorted(submissions) == sorted(STUDENTS)
    for name, submission in submissions.items():
        status, page = formgrader.request(f"/formgrader/submissions/{submission['id']}/")
        assert status == 200, name
        assert "grad_output: " in page, name  # the grader's verdict in the test cell
    status, page = formgrader.request(f"/formgrader/submissions/{submissions['ben']['id']}/")
    assert "missing-1/N" in page or "1/N" in page


def test_formgrader_takes_a_manual_score(semester, graded_by_hand):
    """Is the score and comment given in formgrader stored in the gradebook?"""
    with _gradebook(semester.course) as gb:
        stored = gb.find_grade(graded_by_hand, ASSIGNMENT, ASSIGNMENT, "ann")
        assert stored.manual_score == MANUAL_SCORE and not stored.needs_manual_grade
        comment = gb.find_comment(graded_by_hand, ASSIGNMENT, ASSIGNMENT, "ann")
        assert comment.manual_comment == COMMENT


def test_exports_total_manual_scores_and_late_penalties(semester, handed_back):
    """Do nbgrader's CSV and the Canvas CSV give the totals: manual score in, late penalty off?"""
    _, exports = handed_back
    rows = {r["student_id"]: r for r in exports["nbgrader"]}
    with _gradebook(semester.course) as gb:
        expected = {}
        for name in STUDENTS:
            submission = gb.find_submission(ASSIGNMENT, name)
            expected[name] = (submission.score, submission.late_submission_penalty)
    for name in STUDENTS:
        assert float(rows[name]["raw_score"]) == pytest.approx(expected[name][0])
        assert float(rows[name]["late_submission_penalty"]) == pytest.approx(expected[name][1])
    ann_auto = sum(float(r["score"]) for r in _part_rows(semester, "ann"))
    assert float(rows["ann"]["score"]) == pytest.approx(ann_auto + MANUAL_SCORE)
    assert float(rows["cat"]["late_submission_penalty"]) > 0
    assert float(rows["cat"]["score"]) == 0  # the course's policy: late work scores zero
    canvas = exports["canvas"]
    assert canvas[0]["Student"] == "Points Possible"
    by_login = {r["SIS Login ID"]: r for r in canvas[1:]}
    for name in STUDENTS:
        assert float(by_login[name][ASSIGNMENT]) == pytest.approx(float(rows[name]["score"]))


def _part_rows(semester, student):
    with (semester.course / "grades" / "grades.csv").open() as fh:
        return [r for r in csv.DictReader(fh) if r["student_id"] == student]


def test_the_csv_says_who_was_late(semester):
    """Does the grader's CSV carry the lateness of cat's notebook and none of ann's?"""
    assert all(float(r["seconds_late"]) > 0 for r in _part_rows(semester, "cat"))
    assert all("late" in r["flags"].split() for r in _part_rows(semester, "cat"))
    assert all(float(r["seconds_late"]) == 0 for r in _part_rows(semester, "ann"))
    assert not any("late" in r["flags"].split() for r in _part_rows(semester, "ann"))


def test_students_fetch_their_feedback(semester, handed_back):
    """Does each student fetch a page with their grade and nothing hidden, ann's with the
    manual score and the comment, cat's with the late penalty?"""
    pages, _ = handed_back
    for name, text in pages.items():
        assert "BEGIN HIDDEN" not in text and "hidden_test" not in text, name
        assert "grad_output" in text
    assert f"{MANUAL_SCORE:g} / " in pages["ann"] and COMMENT in pages["ann"]
    assert "taken off" in pages["cat"] and "taken off" not in pages["ann"]


@pytest.mark.browser
def test_the_manual_grading_page_in_chromium(semester, formgrader):
    """In Debian's Chromium, does formgrader's page show the student's code and our verdicts?"""
    playwright = pytest.importorskip("playwright.sync_api")
    print_book = _book_tool("print_book")  # the Chromium and the flags the book prints with
    ben = _submissions(formgrader)["ben"]
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=print_book.CHROMIUM, headless=True, args=print_book.CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{formgrader.url}/formgrader/submissions/{ben['id']}/?token={formgrader.token}")
        page.wait_for_selector("text=grad_output:")
        body = page.inner_text("body")
        assert "def grad_output" in body  # the student's own cell
        assert "1/N" in body  # our verdict names the slip
        verdict = page.get_by_text("grad_output:").first
        verdict.scroll_into_view_if_needed()
        page.mouse.wheel(0, -300)  # the student's code above the verdict, in the same view
        page.screenshot(path=str(artifacts / "formgrader-manual-grading.png"))
        browser.close()
