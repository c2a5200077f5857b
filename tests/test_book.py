"""The Jupyter Book: it builds with warnings as errors, it is made only of the chapters, it needs
no network, and in a real browser every page loads offline with its mathematics typeset.

The book is built once per session by the ``built_book`` fixture (``tests/conftest.py``) into a
temporary folder. The browser test drives Debian's Chromium (``/usr/bin/chromium``) through
playwright; it writes a screenshot of the backpropagation chapter to
``test-artifacts/book-backprop.png`` at the repository root.
"""

from __future__ import annotations

import functools
import html
import http.server
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from autograder.checks import PARTS

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "book-backprop.png"

#: Chapters the issue requires, by source file (without the .md suffix).
REQUIRED_CHAPTERS = {
    "book/intro",
    "book/mlp",
    "book/backprop",
    "book/gradient_check",
    "book/lipschitz",
    "book/logistic",
    "book/hessian",
    "book/diagonal",
    "book/mistakes",
    "book/exercises",
    "book/instructors",
    "book/threat_model",
}
#: Chapters whose derivations come with computed figures.
FIGURE_CHAPTERS = [
    "book/mlp",
    "book/backprop",
    "book/gradient_check",
    "book/lipschitz",
    "book/logistic",
    "book/hessian",
    "book/diagonal",
]
#: The functions students write for points: their code must never appear in the book.
GRADED_FUNCTIONS = list(PARTS)
#: Pages Sphinx and its extensions generate on their own, besides the chapters.
GENERATED_PAGES = {"index", "genindex", "search", "prf-prf"}
#: Directories of the site that hold assets, not pages.
ASSET_DIRS = {"_static", "_images", "_downloads", "_sources", "_sphinx_design_static"}
#: Raw TeX that must not survive typesetting in a page's visible text (outside code blocks).
RAW_TEX = re.compile(r"\\(frac|partial|top|sum|hat|delta|nabla|mathbb|odot|lVert|sigma)\b")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def toc_files() -> list[str]:
    """Every file named in _toc.yml (root, chapters, sections), without suffix."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files


def html_pages(site: Path) -> list[Path]:
    """The HTML pages of the site, assets excluded."""
    return sorted(
        p for p in site.rglob("*.html") if not (set(p.relative_to(site).parts) & ASSET_DIRS)
    )


class _Resources(HTMLParser):
    """Collects the URLs a page would load (scripts, styles, images, frames) and inline scripts."""

    LOADING = {
        ("script", "src"),
        ("link", "href"),
        ("img", "src"),
        ("iframe", "src"),
        ("source", "src"),
        ("video", "src"),
        ("audio", "src"),
        ("embed", "src"),
        ("object", "data"),
    }

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if (tag, name) in self.LOADING and value:
                self.urls.append((tag, value))
            if tag == "img" and name == "srcset" and value:
                self.urls.extend(("img", part.split()[0]) for part in value.split(","))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def parse_resources(page: Path) -> _Resources:
    parser = _Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def is_remote(url: str) -> bool:
    return bool(re.match(r"^\s*(https?:)?//", url, re.IGNORECASE))


def visible_code(page: Path) -> str:
    """The text of every code block on a page (code cells and their outputs)."""
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"<pre[^>]*>(.*?)</pre>", text, flags=re.S)
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", b)) for b in blocks)


def require_build(built_book):
    assert built_book.returncode == 0, (
        f"the book did not build (exit {built_book.returncode}); last lines of the log:\n"
        + "\n".join(built_book.log.splitlines()[-60:])
    )
    return built_book.html


# --------------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------------


def test_book_builds_with_warnings_as_errors(built_book):
    """Does `jupyter-book build . -W -n --keep-going` succeed, executing every chapter, with no
    warning and within the time budget?"""
    require_build(built_book)
    assert "build succeeded" in built_book.log
    warnings = [line for line in built_book.log.splitlines() if re.search(r"\bWARNING\b", line)]
    # The only WARNING-level lines allowed are jupyter_client's notes about the kernel's local
    # TCP transport, which are not Sphinx warnings.
    warnings = [w for w in warnings if "Kernel is running over TCP" not in w]
    assert not warnings, "\n".join(warnings)
    assert built_book.seconds < 300, f"the build took {built_book.seconds:.0f} s (budget 300 s)"


def test_every_chapter_of_the_toc_is_a_page(built_book):
    """Is every chapter the issue asks for in the table of contents, and did each become a page
    with executed code cells where it has code?"""
    site = require_build(built_book)
    files = toc_files()
    missing_from_toc = REQUIRED_CHAPTERS - set(files)
    assert not missing_from_toc, f"chapters missing from _toc.yml: {sorted(missing_from_toc)}"
    for name in files:
        page = site / f"{name}.html"
        assert page.is_file(), f"{name} is in the toc but {page} was not built"
    executed = built_book.output / "_build" / "jupyter_execute"
    for name in FIGURE_CHAPTERS:
        assert (executed / f"{name}.ipynb").is_file(), f"{name} was not executed at build time"


def test_no_page_comes_from_outside_the_toc(built_book):
    """Is every built page a chapter of the toc (or a page Sphinx generates), so that nothing
    from solutions/, exercises/, autograder/, tests/ or .venv/ was turned into a page or
    executed?"""
    site = require_build(built_book)
    allowed = set(toc_files()) | GENERATED_PAGES
    pages = {p.relative_to(site).with_suffix("").as_posix() for p in html_pages(site)}
    strays = sorted(pages - allowed)
    assert not strays, f"pages that are not chapters: {strays}"
    for forbidden in ["solutions", "autograder", "exercises", "tests", ".venv", "samples"]:
        assert not (site / forbidden).exists(), f"{forbidden}/ was copied into the site"
    executed = built_book.output / "_build" / "jupyter_execute"
    ran = sorted(p.relative_to(executed).as_posix() for p in executed.rglob("*.ipynb"))
    assert ran, "no notebook was executed"
    assert all(r.startswith("book/") for r in ran), f"notebooks executed outside book/: {ran}"
    assert not (site / "_sources").exists(), "the chapters' sources were published"


def test_downloads_are_exactly_the_student_release(built_book):
    """Does the exercises chapter link both student notebooks, and is every downloadable file a
    byte-for-byte copy of a file in exercises/ (never a solution)?"""
    site = require_build(built_book)
    page = (site / "book" / "exercises.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]*_downloads/[^"]+)"', page)
    names = sorted(Path(unquote(link)).name for link in links)
    assert names == ["logistic_hessian.ipynb", "mlp_backprop.ipynb"], names
    released = {p.read_bytes() for p in (REPO_ROOT / "exercises").rglob("*.ipynb")}
    solutions = {p.read_bytes() for p in (REPO_ROOT / "solutions").rglob("*.ipynb")}
    downloads = list((site / "_downloads").rglob("*"))
    files = [p for p in downloads if p.is_file()]
    assert len(files) == 2, files
    for f in files:
        data = f.read_bytes()
        assert data in released, f"{f.name} is not a file of exercises/"
        assert data not in solutions, f"{f.name} is a solution notebook"


# --------------------------------------------------------------------------------------------
# offline by construction
# --------------------------------------------------------------------------------------------


def test_no_page_references_a_cdn(built_book):
    """Does any built page load a script, style sheet, font, image or frame from the web, or
    name a remote URL in an inline script? (It must not: the book works offline.)"""
    site = require_build(built_book)
    offenders = []
    for page in html_pages(site):
        resources = parse_resources(page)
        for tag, url in resources.urls:
            if is_remote(url):
                offenders.append(f"{page.relative_to(site)}: <{tag}> {url}")
        for script in resources.inline_scripts:
            for url in re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", script):
                offenders.append(f"{page.relative_to(site)}: inline script names {url}")
    for css in site.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text("utf-8")):
            offenders.append(f"{css.relative_to(site)}: url({url})")
    assert not offenders, "remote resources:\n" + "\n".join(offenders)


def test_every_local_link_resolves(built_book):
    """Does every link, script, style sheet and image of every page point to a file that
    exists in the site (so nothing is broken when the book is opened offline)?"""
    site = require_build(built_book)
    broken = []
    for page in html_pages(site):
        hrefs = re.findall(r'(?:href|src)="([^"]+)"', page.read_text(encoding="utf-8"))
        for url in hrefs:
            parsed = urlparse(html.unescape(url))
            if parsed.scheme or parsed.netloc or not parsed.path:
                continue  # external links (checked by the CDN test), mailto:, #anchors
            target = (page.parent / unquote(parsed.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {url}")
    assert not broken, "broken local links:\n" + "\n".join(sorted(set(broken)))


def test_math_pages_load_the_local_mathjax(built_book):
    """Does every page with math load MathJax from the site's own _static/ folder?"""
    site = require_build(built_book)
    math_pages = 0
    for page in html_pages(site):
        text = page.read_text(encoding="utf-8")
        if 'class="math' not in text:
            continue
        math_pages += 1
        scripts = [url for tag, url in parse_resources(page).urls if tag == "script"]
        mathjax = [url for url in scripts if "mathjax" in url.lower()]
        assert mathjax, f"{page.relative_to(site)} has math but loads no MathJax"
        for url in mathjax:
            assert not is_remote(url), f"{page.relative_to(site)} loads MathJax from {url}"
            local = (page.parent / url.split("?")[0]).resolve()
            assert local.is_file(), f"{page.relative_to(site)}: {url} does not exist in the site"
    assert math_pages >= 8, f"only {math_pages} pages have math"


# --------------------------------------------------------------------------------------------
# content
# --------------------------------------------------------------------------------------------


def test_derivation_chapters_have_computed_figures(built_book):
    """Does every derivation chapter show at least one figure computed at build time?"""
    site = require_build(built_book)
    for name in FIGURE_CHAPTERS:
        page = site / f"{name}.html"
        images = [u for t, u in parse_resources(page).urls if t == "img" and "_images/" in u]
        assert images, f"{name} has no computed figure"
        for url in images:
            image = (page.parent / unquote(url)).resolve()
            assert image.is_file() and image.stat().st_size > 5_000, f"{name}: {url}"


def test_book_code_never_defines_a_graded_function(built_book):
    """Does any code visible in the book define a function the exercises grade? (It must not:
    the book calls the reference implementation but never shows its code.)"""
    site = require_build(built_book)
    names = "|".join(GRADED_FUNCTIONS)
    pattern = re.compile(rf"(?:def\s+(?:{names})\s*\(|\b(?:{names})\s*=\s*lambda\b)")
    offenders = []
    for page in html_pages(site):
        for match in pattern.finditer(visible_code(page)):
            offenders.append(f"{page.relative_to(site)}: {match.group(0)}")
    assert not offenders, "\n".join(offenders)


def test_psd_proof_and_practice_exercises_use_the_directives(built_book):
    """Is the positive semi-definiteness of XᵀRX stated and proved with sphinx-proof, and do the
    practice exercises come with folded solutions (sphinx-exercise dropdowns)?"""
    site = require_build(built_book)
    hessian = (site / "book" / "hessian.html").read_text(encoding="utf-8")
    assert re.search(r'class="[^"]*\btheorem\b', hessian), "no prf:theorem on the Hessian page"
    assert re.search(r'class="[^"]*\bproof\b', hessian), "no prf:proof on the Hessian page"
    with_exercises = 0
    for page in html_pages(site):
        text = page.read_text(encoding="utf-8")
        if re.search(r'class="[^"]*\bexercise\b', text):
            with_exercises += 1
            assert re.search(r'<details class="[^"]*\bsolution\b', text) or re.search(
                r'class="[^"]*\bsolution\b[^"]*\bdropdown\b', text
            ), f"{page.relative_to(site)} has exercises without folded solutions"
    assert with_exercises >= 7, f"only {with_exercises} pages have practice exercises"


def test_every_seed_slip_is_taught(built_book):
    """Does the common-mistakes chapter cover each slip of the seed listed in COURSE.md?"""
    site = require_build(built_book)
    text = html.unescape(
        re.sub(r"<[^>]+>", " ", (site / "book" / "mistakes.html").read_text(encoding="utf-8"))
    )
    for needle in [
        "second layer reads x instead of h1",
        "therefore ŷ = W3ᵀX + b3",
        "1/N of the mean is dropped",
        "wrong factor between z2 and h1",
        "log(wᵀx)",
        "sum sign dropped",
        "index lost in the Hessian",
    ]:
        assert needle in text, f"the slip '{needle}' is not in the common-mistakes chapter"


# --------------------------------------------------------------------------------------------
# in a real browser, offline
# --------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass


@pytest.fixture(scope="module")
def book_server(built_book):
    """The built site served over HTTP on the loopback interface only."""
    site = require_build(built_book)
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", site
    finally:
        server.shutdown()
        server.server_close()


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Runs in the page: is every math element typeset, is raw TeX left in the visible text, and
#: is any displayed formula wider than its column (cut off at a 1280-pixel-wide window)?
MATH_STATE_JS = """
() => {
  const math = Array.from(document.querySelectorAll('.math'));
  const untypeset = math.filter(el => !el.querySelector('mjx-container')).length;
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight')
       .forEach(el => el.remove());
  const overflowing = Array.from(document.querySelectorAll('div.math')).filter(el => {
    const inner = el.querySelector('mjx-math');
    return inner && inner.getBoundingClientRect().width > el.clientWidth + 2;
  }).map(el => el.textContent.trim().slice(0, 60));
  return {count: math.length, untypeset: untypeset, text: clone.innerText,
          typeset: document.querySelectorAll('mjx-container').length,
          overflowing: overflowing};
}
"""


@pytest.mark.browser
def test_every_page_loads_offline_with_math_typeset(book_server, tmp_path):
    """In Chromium, does every page load with no request leaving the machine and no console
    error, and is every formula typeset by MathJax, with no raw TeX left in the text and no
    displayed formula cut off? (A screenshot of the backpropagation chapter is written to
    test-artifacts/book-backprop.png.)"""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    base, site = book_server
    pages = [p.relative_to(site).as_posix() for p in html_pages(site)]
    assert "book/backprop.html" in pages
    blocked, console_errors, problems = [], [], []

    def route(r):
        url = r.request.url
        parsed = urlparse(url)
        if parsed.scheme in {"data", "blob", "about"} or parsed.hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile for every run
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            context.route("**/*", route)
            page = context.new_page()
            current = {"url": ""}
            page.on(
                "console",
                lambda msg: (
                    console_errors.append(f"{current['url']}: {msg.text}")
                    if msg.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda exc: console_errors.append(f"{current['url']}: {exc}"))
            math_pages = 0
            for rel in pages:
                current["url"] = rel
                response = page.goto(f"{base}/{rel}", wait_until="load")
                assert response is not None and response.ok, f"{rel}: HTTP error"
                if rel == "index.html":
                    # A redirect to the first chapter, which is checked on its own.
                    page.wait_for_url("**/book/intro.html", timeout=10_000)
                    page.wait_for_load_state("load")
                    continue
                has_math = page.evaluate("() => document.querySelectorAll('.math').length > 0")
                if has_math:
                    math_pages += 1
                    page.wait_for_function(
                        "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                        timeout=30_000,
                    )
                    page.evaluate("() => MathJax.startup.promise.then(() => true)")
                state = page.evaluate(MATH_STATE_JS)
                if state["untypeset"]:
                    problems.append(f"{rel}: {state['untypeset']} of {state['count']} untypeset")
                if has_math and not state["typeset"]:
                    problems.append(f"{rel}: MathJax produced no output")
                if state["overflowing"]:
                    problems.append(f"{rel}: formulas wider than the page: {state['overflowing']}")
                raw = sorted(set(RAW_TEX.findall(state["text"])))
                if raw:
                    problems.append(f"{rel}: raw TeX left in the text: {raw}")
                if rel == "book/backprop.html":
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            context.close()

    assert not blocked, "requests that tried to leave the machine:\n" + "\n".join(blocked)
    assert not console_errors, "console errors:\n" + "\n".join(console_errors)
    assert not problems, "\n".join(problems)
    assert math_pages >= 8, f"only {math_pages} pages have math"
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 50_000
    print(f"screenshot of the backpropagation chapter: {SCREENSHOT}")
