"""The Jupyter Book: it builds with warnings as errors, it is made only of the chapters, it needs
no network, every number its prose cites is computed and checked, every chapter runs as a
plain notebook, every figure has a caption and fits its column, and the whole book prints to
one PDF offline.

The book is built once per session by the ``built_book`` fixture (``tests/conftest.py``) into a
temporary folder; ``plain_venv`` is the student's environment (numpy, matplotlib, ipykernel).
The browser tests drive Debian's Chromium (``/usr/bin/chromium``) through playwright; one writes
a screenshot of the backpropagation chapter to ``test-artifacts/book-backprop.png`` at the
repository root.
"""

from __future__ import annotations

import ast
import functools
import html
import http.server
import importlib.util
import json
import re
import shutil
import struct
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import yaml

from autograder.checks import PARTS

# The plain environment installs in the background while the book builds.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("plain_venv_started")]

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOK = REPO_ROOT / "book"

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "book-backprop.png"

#: Chapters the issues require, by source file (without the .md suffix).
REQUIRED_CHAPTERS = {
    "book/intro",
    "book/homework",
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
    "book/publishing",
}
#: Chapters whose derivations come with computed figures (and predict-then-run checkpoints).
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
#: Every slip the mistakes chapter labels: the twelve of the first version, and the four seed
#: slips issue 12 added (ids as tests/test_slips.py plants them into the exercise notebooks).
SLIP_LABELS = {
    "slip-second-layer-takes-x",
    "slip-output-takes-x",
    "slip-recap-w1-for-w2",
    "slip-mixed-index",
    "slip-missing-1-over-n",
    "slip-wrong-factor-z2-h1",
    "slip-log-of-linear",
    "slip-gradient-not-summed",
    "slip-hessian-of-total-loss",
    "slip-hessian-lost-index",
    "slip-one-sample-for-X",
    "slip-missing-factor-2",
    "slip-flipped-sign",
    "slip-transposed-gradient",
    "slip-g-for-dg",
    "slip-bias-not-summed",
}
#: Pages Sphinx and its extensions generate on their own, besides the chapters.
GENERATED_PAGES = {"index", "genindex", "search", "prf-prf"}
#: Directories of the site that hold assets, not pages.
ASSET_DIRS = {"_static", "_images", "_downloads", "_sources", "_sphinx_design_static"}
#: Raw TeX that must not survive typesetting in a page's visible text (outside code blocks).
RAW_TEX = re.compile(r"\\(frac|partial|top|sum|hat|delta|nabla|mathbb|odot|lVert|sigma)\b")
#: Raw TeX that must not appear in the printed book's text.
PDF_RAW_TEX = re.compile(r"\\(frac|partial|mathbb|lVert|begin|hat)\b")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: The text column takes 80 characters of code or output.
COLUMNS = 80
#: The smallest text in a figure, in pixels on screen at 1280 px (11 px is a small label).
MIN_LABEL_PX = 10.5


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


def chapters_with_code() -> list[str]:
    """The toc's chapters that have code cells."""
    out = []
    for name in toc_files():
        source = REPO_ROOT / f"{name}.md"
        if source.exists() and re.search(r"^```\{code-cell\}", source.read_text(), re.M):
            out.append(name)
    return out


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


def page_text(page: Path) -> str:
    """A page's text with tags removed and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))


def article(page: Path) -> str:
    """The HTML of a page's article (the chapter itself, without the theme's chrome); empty
    for pages without one (the index's redirect)."""
    text = page.read_text(encoding="utf-8")
    match = re.search(r'<article class="bd-article">(.*?)</article>', text, re.S)
    return match.group(1) if match else ""


def require_build(built_book):
    assert built_book.returncode == 0, (
        f"the book did not build (exit {built_book.returncode}); last lines of the log:\n"
        + "\n".join(built_book.log.splitlines()[-60:])
    )
    return built_book.html


def notebook_code(path: Path) -> list[str]:
    """The source of every code cell of a notebook, hidden cells included."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def chapter_notebooks(site: Path) -> dict[str, Path]:
    """The downloadable notebook of every chapter with code, by chapter."""
    return {name: site / "notebooks" / f"{name}.ipynb" for name in chapters_with_code()}


def load_extension(name: str):
    """Import a module of book/_ext (or book/_tools) by file, as Sphinx does."""
    for folder in ("_ext", "_tools"):
        path = BOOK / folder / f"{name}.py"
        if path.exists():
            spec = importlib.util.spec_from_file_location(f"book_{name}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses look their module up there
            spec.loader.exec_module(module)
            return module
    raise FileNotFoundError(name)


def png_dpi(path: Path) -> float:
    """The resolution a PNG declares (its pHYs chunk), in dots per inch; 72 if it has none."""
    data = path.read_bytes()
    i = data.find(b"pHYs")
    if i < 0:
        return 72.0
    x, _, unit = struct.unpack(">IIB", data[i + 4 : i + 13])
    return x * 0.0254 if unit == 1 else 72.0


def smallest_figure_font_pt() -> float:
    """The smallest font size, in points, that the chapters' figure code asks for: the shared
    rcParams of book/_code/common.py and every explicit ``fontsize=``."""
    sizes = []
    common = (BOOK / "_code" / "common.py").read_text()
    sizes += [float(v) for v in re.findall(r'"(?:[\w.]*(?:size|fontsize))":\s*([\d.]+)', common)]
    for source in BOOK.glob("*.md"):
        sizes += [float(v) for v in re.findall(r"fontsize=([\d.]+)", source.read_text())]
        assert not re.search(r"fontsize=['\"]", source.read_text()), (
            f"{source.name}: a named font size; use points so legibility can be checked"
        )
    return min(sizes)


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
    """Is every chapter the issues ask for in the table of contents, and did each become a page
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


def test_exercise_tables_list_every_graded_part(built_book):
    """Does the exercises chapter list every graded function of the contract, read from the
    released notebooks, with the contract's totals (17 and 14 points)?"""
    site = require_build(built_book)
    text = page_text(site / "book" / "exercises.html")
    assert "(17 points autograded)" in text and "(14 points autograded)" in text
    for function in GRADED_FUNCTIONS:
        assert function in text, f"{function} is missing from the exercise tables"


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
# figures and layout
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


def test_every_figure_has_a_caption_and_alt_text(built_book):
    """Is every image in every chapter inside a numbered figure with a caption, and does its
    alt text describe it (rather than being empty or a file name)?"""
    site = require_build(built_book)
    problems, figures = [], 0
    for page in html_pages(site):
        body = article(page)
        for match in re.finditer(r"<img\b[^>]*>", body):
            figures += 1
            tag = match.group(0)
            alt = html.unescape((re.search(r'alt="([^"]*)"', tag) or [None, ""])[1])
            before = body[: match.start()]
            figure_open = before.rfind("<figure")
            figure_close = before.rfind("</figure>")
            where = f"{page.relative_to(site)}: {tag[:80]}"
            if figure_open <= figure_close:
                problems.append(f"{where}: not inside a <figure>")
                continue
            after = body[match.end() :]
            caption = re.search(r"<figcaption>(.*?)</figcaption>", after, re.S)
            end = after.find("</figure>")
            if not caption or caption.start() > end:
                problems.append(f"{where}: no caption")
            elif len(re.sub(r"<[^>]+>", "", caption.group(1)).strip()) < 40:
                problems.append(f"{where}: caption too short to explain the figure")
            if len(alt) < 20 or re.search(r"\.(png|svg|jpe?g)$|_images/", alt):
                problems.append(f"{where}: alt text {alt!r} does not describe the figure")
    assert figures >= 8, f"only {figures} figures"
    assert not problems, "\n".join(problems)


def test_code_and_outputs_fit_the_80_column_text(built_book):
    """Does every line of visible code, and every line of text output, of every executed chapter
    fit in 80 characters, the width of the text column?"""
    require_build(built_book)
    executed = built_book.output / "_build" / "jupyter_execute"
    too_wide = []
    for path in sorted(executed.rglob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            hidden = {"remove-input", "remove-cell"} & set(cell["metadata"].get("tags", []))
            lines = [] if hidden else "".join(cell["source"]).splitlines()
            for output in cell.get("outputs", []):
                if output["output_type"] == "stream":
                    lines += "".join(output["text"]).splitlines()
                elif "text/plain" in output.get("data", {}) and "image/png" not in output["data"]:
                    lines += "".join(output["data"]["text/plain"]).splitlines()
            too_wide += [
                f"{path.name}: {len(line)}: {line}" for line in lines if len(line) > COLUMNS
            ]
    assert not too_wide, "\n".join(too_wide)


def test_figure_labels_are_set_in_legible_sizes(built_book):
    """Do the figures use fonts of at least 9.5 points, drawn at 100 dots per inch and at most
    7.5 inches wide, so that the browser test can check the size on screen?"""
    site = require_build(built_book)
    assert smallest_figure_font_pt() >= 9.5, smallest_figure_font_pt()
    for image in (site / "_images").glob("*.png"):
        dpi = png_dpi(image)
        width = struct.unpack(">I", image.read_bytes()[16:20])[0]
        assert 95 <= dpi <= 105, f"{image.name}: {dpi:.0f} dpi"
        assert width / dpi <= 7.7, f"{image.name}: {width / dpi:.1f} in wide"


# --------------------------------------------------------------------------------------------
# content
# --------------------------------------------------------------------------------------------


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


def test_every_derivation_chapter_has_predict_then_run_checkpoints(built_book):
    """Does every derivation chapter ask the reader to predict a result before a cell runs, and
    fold the answer in a dropdown that follows the cell?"""
    site = require_build(built_book)
    for name in FIGURE_CHAPTERS:
        body = article(site / f"{name}.html")
        assert body, f"{name} has no article"
        questions = [m.end() for m in re.finditer(r'class="checkpoint admonition"', body)]
        assert questions, f"{name} has no checkpoint"
        answers = [m.start() for m in re.finditer(r'class="dropdown admonition"', body)]
        for q in questions:
            later = [a for a in answers if a > q]
            assert later, f"{name}: a checkpoint with no folded answer after it"
            between = body[q : later[0]]
            assert "cell_output" in between or "cell_input" in between, (
                f"{name}: a checkpoint's answer does not follow a code cell"
            )


def test_every_seed_slip_is_taught(built_book):
    """Does the common-mistakes chapter cover each slip of the seed listed in COURSE.md,
    including the four that issue 12 found missing?"""
    site = require_build(built_book)
    text = page_text(site / "book" / "mistakes.html")
    for needle in [
        "second layer reads x instead of h1",
        "therefore ŷ = W3ᵀX + b3",
        "recap’s h2 = g(W1ᵀh1 + b2)",
        "2(ŷ − yᵢ)",
        "1/N of the mean is dropped",
        "wrong factor between z2 and h1",
        "log(wᵀx)",
        "sum sign dropped",
        "second derivatives of the total loss",
        "index lost in the Hessian",
        "xᵀRx: one sample instead of the data matrix",
    ]:
        assert needle in text, f"the slip '{needle}' is not in the common-mistakes chapter"


def test_every_slip_label_says_which_graded_function_it_lands_in():
    """Does the mistakes chapter label exactly the sixteen slips (the original twelve ids and
    the four new ones) with `(slip-<id>)=` before a heading, and does each slip's section say,
    under "In code", which graded function would compute what?"""
    source = (BOOK / "mistakes.md").read_text(encoding="utf-8")
    labels = re.findall(r"^\((slip-[\w-]+)\)=\n(#+ .+)$", source, re.M)
    assert {label for label, _ in labels} == SLIP_LABELS
    assert len(labels) == len(SLIP_LABELS), "a slip label is used twice"
    sections = re.split(r"^\(slip-[\w-]+\)=\n", source, flags=re.M)[1:]
    for (label, _), section in zip(labels, sections, strict=True):
        section = re.split(r"^## ", section, flags=re.M)[0]
        in_code = re.search(r"\*\*In code:\*\*(.+?)(?:\n\n|\Z)", section, re.S)
        assert in_code, f"{label}: no 'In code' paragraph"
        named = set(re.findall(r"`(\w+)`", in_code.group(1))) & set(GRADED_FUNCTIONS)
        assert named, f"{label}: the 'In code' paragraph names no graded function"


def test_the_homework_page_annotates_every_seed_slip(built_book):
    """Is the handwritten homework a page of its own that marks each of the eleven seed slips
    in place and links each to its section of the mistakes chapter?"""
    site = require_build(built_book)
    page = (site / "book" / "homework.html").read_text(encoding="utf-8")
    seed = re.split(r"^## Classic slips in code", (BOOK / "mistakes.md").read_text(), flags=re.M)[0]
    seed_labels = re.findall(r"^\((slip-[\w-]+)\)=", seed, re.M)
    assert len(seed_labels) == 11, seed_labels
    for label in seed_labels:
        # Sphinx lower-cases the anchors it makes from labels.
        anchor = label.lower()
        assert f'href="mistakes.html#{anchor}"' in page, f"homework.html does not link {label}"
    boxes = re.findall(r'class="admonition error" id="hw-slip-(\d+)"', page)
    boxes += re.findall(r'id="hw-slip-(\d+)"', page)
    assert {str(i) for i in range(1, 12)} <= set(boxes), sorted(set(boxes))


def test_book_code_never_hands_out_a_graded_solution(built_book):
    """Does any code of the book, on its pages or in its downloadable notebooks (hidden cells
    included), define a function the exercises grade, or contain a line of a graded solution
    cell verbatim? (Neither may happen: the exercises are the students' to write.)"""
    site = require_build(built_book)
    names = "|".join(GRADED_FUNCTIONS)
    pattern = re.compile(rf"(?:def\s+(?:{names})\s*\(|\b(?:{names})\s*=\s*lambda\b)")
    code = {str(p.relative_to(site)): visible_code(p) for p in html_pages(site)}
    for name, path in chapter_notebooks(site).items():
        code[f"{name}.ipynb"] = "\n".join(notebook_code(path))
    solution_lines = set()
    for nb_path in (REPO_ROOT / "solutions").rglob("*.ipynb"):
        for cell in json.loads(nb_path.read_text())["cells"]:
            source = "".join(cell["source"])
            for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", source, re.S):
                for line in block.splitlines():
                    line = line.split("#")[0].strip()
                    if len(line) >= 25:
                        solution_lines.add(line)
    assert solution_lines, "no solution cells found to compare with"
    offenders = []
    for where, text in code.items():
        offenders += [f"{where}: {m.group(0)}" for m in pattern.finditer(text)]
        lines = {line.split("#")[0].strip() for line in text.splitlines()}
        offenders += [f"{where}: solution line {line!r}" for line in lines & solution_lines]
    assert not offenders, "\n".join(offenders)


# --------------------------------------------------------------------------------------------
# claims true by construction
# --------------------------------------------------------------------------------------------


def _load_claim():
    """`claim` from book/_code/common.py, with glue replaced by a recorder."""
    glued = {}
    namespace = {}
    source = (BOOK / "_code" / "common.py").read_text()
    source = source.replace("from myst_nb import glue", "")
    namespace["glue"] = lambda name, value, display=True: glued.__setitem__(name, value)
    exec(compile(source, "common.py", "exec"), namespace)
    return namespace["claim"], namespace["sci"], glued


def test_a_claim_outside_its_range_stops_the_chapter():
    """Does `claim` glue the formatted number when it lies in the range the prose needs, and
    raise, naming the claim, when it does not?"""
    claim, sci, glued = _load_claim()
    claim("ok", 0.257, 0.01, 1.0)
    claim("tiny", 3.2e-11, high=1e-8, fmt="sci")
    claim("word", "identity")
    assert glued == {"ok": "0.26", "tiny": "3 × 10⁻¹¹", "word": "identity"}
    assert sci(1e-8) == "10⁻⁸" and sci(2.04e-9, 2) == "2.0 × 10⁻⁹"
    with pytest.raises(AssertionError, match="'drifted'.*outside"):
        claim("drifted", 5.12, 1.0, 5.0)
    assert "drifted" not in glued


def test_every_glued_number_is_computed_in_its_chapter(built_book):
    """Does every number the prose pastes ({glue:text}`...`) come from a `claim` (or glue)
    call in the same chapter, so that no prose number is typed by hand next to the role?"""
    require_build(built_book)
    executed = built_book.output / "_build" / "jupyter_execute"
    cited_total = 0
    for name in chapters_with_code():
        source = (REPO_ROOT / f"{name}.md").read_text(encoding="utf-8")
        cited = set(re.findall(r"\{glue(?::\w+)?\}`([\w]+)", source))
        cited_total += len(cited)
        glue_file = executed / f"{name}.glue.json"
        computed = set(json.loads(glue_file.read_text())) if glue_file.exists() else set()
        assert cited <= computed, f"{name}: cited but not computed: {sorted(cited - computed)}"
    assert cited_total >= 60, f"only {cited_total} glued numbers"


def test_a_drifted_number_fails_the_build(built_book, tmp_path):
    """Does the build fail when a computation behind a claim of the prose changes? A copy of
    the book is built with one number of the worked backpropagation example changed (the
    target y = -1.5 instead of 0.5), which makes its checkpoint's "the prediction is below
    the target" and its answer ("the loss goes up") false; the build must stop, and the
    chapter's report must name the claim."""
    require_build(built_book)
    copy = tmp_path / "book-copy"
    copy.mkdir()
    for name in ["_config.yml", "_toc.yml"]:
        shutil.copy2(REPO_ROOT / name, copy / name)
    shutil.copytree(BOOK, copy / "book", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "exercises", copy / "exercises")
    backprop = copy / "book" / "backprop.md"
    source = backprop.read_text(encoding="utf-8")
    original = "x, y = 1.5, 0.5"
    assert original in source
    backprop.write_text(source.replace(original, "x, y = 1.5, -1.5"), "utf-8")
    output = tmp_path / "out"
    # The other chapters come from the session build's execution cache, unchanged.
    shutil.copytree(
        built_book.output / "_build" / ".jupyter_cache", output / "_build" / ".jupyter_cache"
    )
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "jupyter-book"),
            "build",
            str(copy),
            "-W",
            "-n",
            "--keep-going",
            "--path-output",
            str(output),
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode != 0, "the build succeeded with a drifted number"
    report = output / "_build" / "html" / "reports" / "book" / "backprop.err.log"
    assert report.is_file(), proc.stdout[-3000:]
    assert "claim 'wx_below'" in report.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# chapters as notebooks students can run
# --------------------------------------------------------------------------------------------


def test_every_chapter_with_code_has_a_downloadable_notebook(built_book):
    """Does every chapter with code link, from its page, to its own notebook in the site, a
    valid notebook with no outputs, no MyST roles left in its text, and the book's helpers
    included?"""
    site = require_build(built_book)
    notebooks = chapter_notebooks(site)
    assert set(FIGURE_CHAPTERS) <= set(notebooks)
    for name, path in notebooks.items():
        assert path.is_file(), f"{name}: no notebook at {path.relative_to(site)}"
        page = (site / f"{name}.html").read_text(encoding="utf-8")
        assert f'href="../notebooks/{name}.ipynb"' in page, f"{name} does not link its notebook"
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert nb["nbformat"] == 4
        markdown = "\n".join(
            "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
        )
        leftovers = re.findall(r"\{(?:glue|doc|ref|cite|prf)[:\w]*\}`", markdown)
        assert not leftovers, f"{name}: MyST roles left: {leftovers[:3]}"
        assert not re.search(r"^```\{|^:::\{", markdown, re.M), f"{name}: MyST directives left"
        code = notebook_code(path)
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
        assert not any(":load:" in c or "myst_nb" in c for c in code), name


def test_chapter_notebooks_import_only_numpy_matplotlib_and_the_standard_library(built_book):
    """Does every chapter notebook import nothing but numpy, matplotlib and the standard
    library (no autograder, no scikit-learn, no myst-nb)?"""
    site = require_build(built_book)
    allowed = {"numpy", "matplotlib"} | set(sys.stdlib_module_names)
    for name, path in chapter_notebooks(site).items():
        imported = set()
        for source in notebook_code(path):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom):
                    imported.add((node.module or "").split(".")[0])
        assert imported <= allowed, f"{name} imports {sorted(imported - allowed)}"


def test_chapter_notebooks_run_in_a_plain_environment(built_book, plain_venv, tmp_path):
    """Does every chapter's downloaded notebook run from top to bottom, alone in an empty folder,
    in a virtual environment that has only numpy, matplotlib and ipykernel?"""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    site = require_build(built_book)
    for absent in ["autograder", "myst_nb", "sklearn"]:
        probe = subprocess.run(
            [str(plain_venv.python), "-c", f"import {absent}"], cwd=tmp_path, capture_output=True
        )
        assert probe.returncode != 0, f"the plain environment can import {absent}"
    failures = []
    for name, path in chapter_notebooks(site).items():
        workdir = tmp_path / name.replace("/", "_")
        workdir.mkdir()
        shutil.copy2(path, workdir / path.name)
        nb = nbformat.read(workdir / path.name, as_version=4)
        specs = KernelSpecManager(kernel_dirs=[str(plain_venv.kernels)])
        km = KernelManager(kernel_name="plain", kernel_spec_manager=specs)
        client = NotebookClient(
            nb, km=km, timeout=300, resources={"metadata": {"path": str(workdir)}}
        )
        try:
            client.execute()
        except Exception as exc:  # noqa: BLE001 (report every chapter, not just the first)
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[-1500:]}")
            continue
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{name}: {errors[0]}"
        figures = sum(
            "image/png" in o.get("data", {})
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
        )
        if name in FIGURE_CHAPTERS:
            assert figures >= 1, f"{name} drew no figure in the plain environment"
    assert not failures, "\n\n".join(failures)


# --------------------------------------------------------------------------------------------
# publishing: the address, the launch buttons
# --------------------------------------------------------------------------------------------


def test_the_published_address_and_launch_buttons_are_configurable_and_off_by_default(
    built_book,
):
    """Does _config.yml carry html.baseurl (empty by default) and launch-button addresses (all
    empty), and does no built page offer a launch button or link to a launch service?"""
    site = require_build(built_book)
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    assert config["html"]["baseurl"] == ""
    launch = config["launch_buttons"]
    for key in ["jupyterhub_url", "binderhub_url", "colab_url"]:
        assert launch[key] == "", key
    for page in html_pages(site):
        text = page.read_text(encoding="utf-8")
        assert "dropdown-launch-buttons" not in text, f"{page.relative_to(site)}: launch buttons"
        service = re.search(r'href="[^"]*(?:mybinder|colab\.research|git-pull\?)', text)
        assert not service, f"{page.relative_to(site)} links to a launch service"


def test_launch_buttons_open_the_chapter_notebooks_from_the_published_branch():
    """When an instructor sets the services and the repository, do the launch links open the
    chapter's plain notebook from the branch that holds the published site, on each service?"""
    ext = load_extension("chapter_notebooks")
    launch = {
        "jupyterhub_url": "https://hub.example.edu/",
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    }
    urls = dict(
        ext.launch_urls("book/backprop", launch, "https://github.com/org/course", "gh-pages")
    )
    assert set(urls) == {"JupyterHub", "Binder", "Colab"}
    hub = urlparse(urls["JupyterHub"])
    assert hub.netloc == "hub.example.edu" and hub.path == "/hub/user-redirect/git-pull"
    query = parse_qs(hub.query)
    assert query["repo"] == ["https://github.com/org/course"]
    assert query["branch"] == ["gh-pages"]
    assert query["urlpath"] == ["lab/tree/course/notebooks/book/backprop.ipynb"]
    assert urls["Binder"] == (
        "https://mybinder.org/v2/gh/org/course/gh-pages"
        "?urlpath=lab/tree/notebooks/book/backprop.ipynb"
    )
    assert urls["Colab"] == (
        "https://colab.research.google.com/github/org/course/blob/gh-pages/"
        "notebooks/book/backprop.ipynb"
    )
    assert ext.launch_urls("book/backprop", launch, "", "gh-pages") == []
    assert ext.launch_urls("book/backprop", {}, "https://github.com/org/course", "x") == []


def test_myst_markup_becomes_plain_jupyter_markdown():
    """Does the chapter-notebook converter replace glued numbers by their values, references by
    titles (and links when the book has an address), and MyST directives by plain Markdown?"""
    ext = load_extension("chapter_notebooks")
    resolver = ext.Resolver(
        glue={"err": "'2.0 × 10⁻⁹'", "ratio": "0.7370427643602215"},
        titles={"book/mistakes": "Common mistakes"},
        labels={"slip-mixed-index": ("book/mistakes", "slip-mixed-index", "4. Mixed")},
        citations={"bishop2006prml": "Bishop 2006"},
        baseurl="https://example.org/course",
        docname="book/backprop",
    )
    source = "\n".join(
        [
            "(here)=",
            "The error is {glue:text}`err`, the ratio {glue:text}`ratio:.2f`; see {doc}`mistakes`,",
            "{ref}`the slip <slip-mixed-index>` and {cite:p}`bishop2006prml`.",
            "",
            ":::{admonition} Answer",
            ":class: dropdown",
            "Folded.",
            ":::",
            "",
            "```{exercise}",
            ":label: ex-1",
            "",
            "Do it.",
            "```",
            "",
            "```{solution} ex-1",
            ":class: dropdown",
            "",
            "Done.",
            "```",
        ]
    )
    out = ext.convert_markdown(source, resolver)
    assert '<a id="here"></a>' in out
    assert "The error is 2.0 × 10⁻⁹, the ratio 0.74" in out
    assert "[*Common mistakes*](https://example.org/course/book/mistakes.html)" in out
    assert "[the slip](https://example.org/course/book/mistakes.html#slip-mixed-index)" in out
    assert "(Bishop 2006)" in out
    assert "<details>\n<summary>Answer</summary>\n\nFolded.\n\n</details>" in out
    assert "**Exercise.**" in out and "Do it." in out
    assert "<summary>Solution</summary>\n\nDone." in out
    assert not re.search(r"\{\w[\w:]*\}`|:::|```\{", out), out


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

#: Runs in the page: which elements of the article are wider than the room they have (code,
#: outputs, tables, figures: anything that would need a scroll bar or be cut off), and how
#: large is each figure drawn compared with its natural size?
LAYOUT_JS = """
() => {
  const article = document.querySelector('article.bd-article');
  if (!article) return {overflow: [], figures: [], articleWidth: 0};
  const overflow = [];
  for (const el of article.querySelectorAll('*')) {
    // MathJax's own boxes are checked by MATH_STATE_JS; its hidden MathML copy is clipped.
    if (el.tagName.toLowerCase().startsWith('mjx-') || el.closest('mjx-container')) continue;
    const style = getComputedStyle(el);
    const scrolls = ['auto', 'scroll'].includes(style.overflowX);
    if (scrolls && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      overflow.push(`${el.tagName.toLowerCase()}.${el.className}: ` +
                    `${el.scrollWidth} > ${el.clientWidth} px: ` +
                    (el.textContent || '').trim().slice(0, 50));
    }
  }
  for (const el of article.querySelectorAll('pre, img, table, figure')) {
    if (el.getBoundingClientRect().right > article.getBoundingClientRect().right + 1) {
      overflow.push(`${el.tagName.toLowerCase()} sticks out of the column`);
    }
  }
  const figures = Array.from(article.querySelectorAll('figure img')).map(img => ({
    src: img.getAttribute('src'), natural: img.naturalWidth, shown: img.clientWidth}));
  return {overflow, figures, articleWidth: article.clientWidth};
}
"""


@pytest.mark.browser
def test_every_page_loads_offline_with_math_typeset_and_fits_its_column(book_server, tmp_path):
    """In Chromium at 1280 px, does every page load with no request leaving the machine and no
    console error; is every formula typeset by MathJax, with no raw TeX left in the text and no
    formula cut off; does no code, output, table or figure overflow the text column; and is
    every figure drawn large enough that its smallest label is legible? (A screenshot of the
    backpropagation chapter is written to test-artifacts/book-backprop.png.)"""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    base, site = book_server
    pages = [p.relative_to(site).as_posix() for p in html_pages(site)]
    assert "book/backprop.html" in pages
    requests, blocked, console_errors, problems = [], [], [], []
    smallest_font = smallest_figure_font_pt()
    figures_seen = 0

    def route(r):
        url = r.request.url
        requests.append(url)
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
                page.wait_for_function(
                    "() => Array.from(document.images).every(i => i.complete)", timeout=30_000
                )
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
                layout = page.evaluate(LAYOUT_JS)
                problems += [f"{rel}: overflow: {o}" for o in layout["overflow"]]
                for figure in layout["figures"]:
                    figures_seen += 1
                    image = (site / rel).parent / unquote(figure["src"])
                    scale = figure["shown"] / figure["natural"]
                    label_px = smallest_font * png_dpi(image.resolve()) / 72 * scale
                    if label_px < MIN_LABEL_PX:
                        problems.append(
                            f"{rel}: {figure['src']} is shown at {scale:.0%} of its size; its "
                            f"smallest label is {label_px:.1f} px"
                        )
                if rel == "book/backprop.html":
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            context.close()

    assert requests, "no request was recorded"
    assert not blocked, "requests that tried to leave the machine:\n" + "\n".join(blocked)
    assert not console_errors, "console errors:\n" + "\n".join(console_errors)
    assert not problems, "\n".join(problems)
    assert math_pages >= 8, f"only {math_pages} pages have math"
    assert figures_seen >= 8, f"only {figures_seen} figures were measured"
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 50_000
    print(f"screenshot of the backpropagation chapter: {SCREENSHOT}")


# --------------------------------------------------------------------------------------------
# the printable book
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def printed_book(built_book, tmp_path_factory):
    """The session's book printed to one PDF by book/_tools/print_book.py (what `make pdf`
    runs), with the text of every page extracted by pypdf."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (make system-deps)")
    from pypdf import PdfReader

    site = require_build(built_book)
    printer = load_extension("print_book")
    out = tmp_path_factory.mktemp("pdf") / "book.pdf"
    result = printer.print_book(site, out, REPO_ROOT / "_toc.yml")
    reader = PdfReader(str(out))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return result, reader, text


@pytest.mark.browser
def test_the_book_prints_offline_to_one_pdf_with_every_chapter(printed_book):
    """Does the whole book print to one PDF with no request leaving the machine and every formula
    typeset, with every chapter of the toc in it, in order and bookmarked, and no raw TeX in
    its text?"""
    result, reader, text = printed_book
    assert not result.blocked, "requests that tried to leave the machine:\n" + "\n".join(
        result.blocked
    )
    assert result.untypeset == 0, f"{result.untypeset} formulas were not typeset"
    assert result.chapters == toc_files()
    assert len(reader.pages) >= 40, f"only {len(reader.pages)} pages"
    flat = re.sub(r"\s+", " ", text)
    positions = []
    for title in result.titles:
        assert title, "a chapter without a title"
        where = flat.find(re.sub(r"\s+", " ", title), positions[-1] if positions else 0)
        assert where >= 0, f"the chapter '{title}' is not in the PDF (or out of order)"
        positions.append(where)
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert outline == result.titles, f"the PDF's bookmarks are {outline}"
    raw = sorted(set(PDF_RAW_TEX.findall(text)))
    assert not raw, f"raw TeX in the PDF's text: {raw}"
    assert r"\frac" not in text and r"\partial" not in text


def test_make_has_a_pdf_target():
    """Does the Makefile have a `pdf` target that prints the built book with the script the
    tests use?"""
    makefile = (REPO_ROOT / "Makefile").read_text()
    target = re.search(r"^pdf:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert target, "no pdf target"
    assert "book/_tools/print_book.py" in target.group(1)
    assert re.search(r"^\.PHONY:.*\bpdf\b", makefile, re.M)
