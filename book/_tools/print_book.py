"""Print the built book, every chapter in the order of the table of contents, to one PDF.

Usage (``make pdf`` runs it after building the HTML)::

    python book/_tools/print_book.py _build/html _build/pdf/gradients-by-hand.pdf

The pages of ``_build/html`` are served on the loopback interface and joined into one HTML
document (the chapters' articles, one after another, under the head of a page with
mathematics); Debian's Chromium, driven by playwright, opens it, waits until MathJax has
typeset every formula and every image and font has loaded, opens the folded answers and
solutions, and prints it. Nothing is fetched from the network: any request that is not for
the local server is refused, and reported.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: Where the joined document is served; it is never written into the site.
PRINT_PATH = "/book/__print__.html"

PRINT_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
html, body { background: white; }
body { font-size: 10.5pt; }
main.print-book { max-width: none; margin: 0; padding: 0; }
section.print-chapter { break-before: page; }
section.print-title { text-align: left; padding-top: 30mm; }
section.print-title h1 { font-size: 28pt; }
.chapter-notebook, .headerlink, .toggle-button, button.copybtn, .admonition-title button {
  display: none !important;
}
.toggle-hidden { display: block !important; }
.bd-article pre { white-space: pre-wrap; font-size: 8pt; }
figure, table, pre, .admonition, div.math { break-inside: avoid; }
img { max-width: 100%; height: auto; }
h1, h2, h3 { break-after: avoid; }
"""


@dataclass
class PrintResult:
    """What happened while printing.

    Attributes
    ----------
    pdf : Path
    chapters : list of str
        Document names, in the order printed.
    titles : list of str
        Each chapter's title (its first heading).
    blocked : list of str
        Requests refused because they would have left the machine.
    untypeset : int
        Formulas MathJax did not typeset.
    """

    pdf: Path
    chapters: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    untypeset: int = 0


def toc_documents(toc_path):
    """Every document of a Jupyter Book ``_toc.yml``, in reading order.

    Parameters
    ----------
    toc_path : Path

    Returns
    -------
    list of str
        Document names without suffix (``book/intro``).
    """
    toc = yaml.safe_load(Path(toc_path).read_text(encoding="utf-8"))
    docs = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                docs.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return docs


def _article(page_html):
    match = re.search(r'<article class="bd-article">(.*?)</article>', page_html, re.S)
    if not match:
        raise ValueError('no <article class="bd-article"> in the page')
    # The pilcrow links beside headings are for screens.
    return re.sub(r'<a class="headerlink"[^>]*>.*?</a>', "", match.group(1), flags=re.S)


def _head(page_html):
    head = re.search(r"<head>(.*?)</head>", page_html, re.S).group(1)
    # Keep the style sheets and MathJax; the theme's other scripts drive navigation and
    # folding, which paper does not have.
    kept = []
    for script in re.finditer(r"<script\b[^>]*>.*?</script>", head, re.S):
        if "mathjax" in script.group(0).lower():
            kept.append(script.group(0))
    head = re.sub(r"<script\b[^>]*>.*?</script>", "", head, flags=re.S)
    return head + "\n".join(kept)


def joined_document(site, docs, title):
    """One HTML document holding every chapter, for printing.

    Parameters
    ----------
    site : Path
        The built HTML site.
    docs : list of str
        Document names, in order; all in the same folder (``book/``).
    title : str
        The book's title, for the title page.

    Returns
    -------
    str
    """
    pages = {d: (Path(site) / f"{d}.html").read_text(encoding="utf-8") for d in docs}
    head_source = next((p for p in pages.values() if "mathjax" in p.lower()), pages[docs[0]])
    contents = [f"<li>{html.escape(_title(pages[d]))}</li>" for d in docs]
    sections = [
        '<section class="print-title"><h1>{}</h1><ol>{}</ol></section>'.format(
            html.escape(title), "".join(contents)
        )
    ]
    for d in docs:
        sections.append(
            f'<section class="print-chapter" data-doc="{d}">'
            f'<article class="bd-article">{_article(pages[d])}</article></section>'
        )
    return (
        f"<!DOCTYPE html><html><head>{_head(head_source)}<style>{PRINT_CSS}</style></head>"
        f'<body><main class="print-book">{"".join(sections)}</main></body></html>'
    )


def _title(page_html):
    match = re.search(r"<h1[^>]*>(.*?)</h1>", page_html, re.S)
    text = re.sub(r"<[^>]+>", "", match.group(1)) if match else ""
    return html.unescape(text).replace("#", "").strip()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass


def print_book(site, out, toc, title="Gradients by hand", chromium=CHROMIUM, timeout=120):
    """Print the site's chapters to one PDF.

    Parameters
    ----------
    site : Path
        The built HTML (``_build/html``).
    out : Path
        The PDF to write.
    toc : Path
        The book's ``_toc.yml``.
    title : str
    chromium : str
        The browser executable.
    timeout : float
        Seconds to wait for MathJax.

    Returns
    -------
    PrintResult
    """
    from playwright.sync_api import sync_playwright

    site, out = Path(site), Path(out)
    docs = toc_documents(toc)
    document = joined_document(site, docs, title)
    result = PrintResult(pdf=out, chapters=docs, titles=[])
    result.titles = [_title((site / f"{d}.html").read_text(encoding="utf-8")) for d in docs]

    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def route(r):
        parsed = urlparse(r.request.url)
        if parsed.path == PRINT_PATH and parsed.hostname in LOCAL_HOSTS:
            r.fulfill(status=200, content_type="text/html; charset=utf-8", body=document)
        elif parsed.scheme in {"data", "blob", "about"} or parsed.hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            result.blocked.append(r.request.url)
            r.abort()

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 1400})
                page.route("**/*", route)
                page.goto(base + PRINT_PATH, wait_until="load")
                page.wait_for_function(
                    "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                    timeout=timeout * 1000,
                )
                page.evaluate("() => MathJax.startup.promise")
                page.evaluate("() => document.fonts.ready.then(() => true)")
                page.wait_for_function(
                    "() => Array.from(document.images).every(i => i.complete)",
                    timeout=timeout * 1000,
                )
                page.evaluate(
                    "() => document.querySelectorAll('details')"
                    ".forEach(d => d.setAttribute('open', ''))"
                )
                result.untypeset = page.evaluate(
                    "() => Array.from(document.querySelectorAll('.math'))"
                    ".filter(el => !el.querySelector('mjx-container')).length"
                )
                out.parent.mkdir(parents=True, exist_ok=True)
                page.pdf(
                    path=str(out),
                    format="A4",
                    print_background=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=(
                        '<div style="font-size:8px;width:100%;text-align:center;">'
                        '<span class="pageNumber"></span></div>'
                    ),
                    margin={"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
                )
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    add_chapter_outline(out, result.titles)
    return result


def add_chapter_outline(pdf, titles):
    """Give the PDF one bookmark per chapter, at the first page (after the title page) that
    shows the chapter's title, in order. (Chromium's own outline repeats wrapped headings.)

    Parameters
    ----------
    pdf : Path
        Rewritten in place.
    titles : list of str
        The chapters' titles, in the order printed.
    """
    import logging

    from pypdf import PdfReader, PdfWriter

    # pypdf notes harmless quirks of Chromium's cross-reference table; keep them off the console.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(str(pdf))
    # Compare without white space: extraction breaks lines where the page did.
    texts = [re.sub(r"\s+", "", page.extract_text() or "") for page in reader.pages]
    writer = PdfWriter(clone_from=reader)
    page = 1
    for title in titles:
        wanted = re.sub(r"\s+", "", title)
        # A chapter starts on a new page with its title; a bibliography's labels may come
        # first in the extracted text, so fall back to the top of the page.
        found = next((i for i in range(page, len(texts)) if texts[i].startswith(wanted)), None)
        if found is None:
            found = next((i for i in range(page, len(texts)) if wanted in texts[i][:300]), None)
        if found is None:
            continue  # the test of the PDF reports a missing chapter
        writer.add_outline_item(title, found)
        page = found
    with open(pdf, "wb") as handle:
        writer.write(handle)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built HTML, e.g. _build/html")
    parser.add_argument("out", type=Path, help="the PDF to write")
    parser.add_argument("--toc", type=Path, default=Path("_toc.yml"))
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    result = print_book(args.site, args.out, args.toc, chromium=args.chromium)
    if result.blocked:
        print("requests that tried to leave the machine:", *result.blocked, sep="\n  ")
        return 1
    if result.untypeset:
        print(f"{result.untypeset} formulas were not typeset")
        return 1
    print(f"{args.out}: {len(result.chapters)} chapters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
