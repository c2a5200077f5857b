"""The book's own style sheet (``book/_ext/static/book.css``), served from ``_static``.

It makes 80 characters of code or output fit the text column at 1280 pixels, and hides
screen-only notes in print. Registered here rather than through ``html_static_path`` so that
the repository root needs no ``_static`` folder.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _add_static_path(app, config):
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app):
    app.connect("config-inited", _add_static_path)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
