"""Keep every page of the book free of references to the web, and every build a full check.

Jupyter Book 1 always loads sphinx-thebe, which writes the address of its JavaScript bundle on
unpkg.com into an inline script on every page (it would be fetched only if a reader pressed a
"live code" button, which this book does not offer). This extension drops that inline script
and the helper that would use it, so the built HTML names no CDN at all. MathJax itself is
served from ``_static/mathjax`` by the ``sphinx-mathjax-offline`` extension.

It also makes Sphinx re-read every chapter on every build. Sphinx normally re-reads only the
files that changed, so a chapter whose execution failed (a warning, hence an error under
``-W``) would pass unnoticed on the next build. Re-reading is cheap: executed notebooks come
from the jupyter-cache in ``_build/.jupyter_cache`` and only changed chapters run again.
"""

from __future__ import annotations

import re

_REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


def _is_remote_or_thebe(script) -> bool:
    filename = getattr(script, "filename", None) or str(script)
    body = (getattr(script, "attributes", None) or {}).get("body", "") or ""
    if filename and _REMOTE.match(filename):
        return True
    if "sphinx-thebe" in (filename or ""):
        return True
    return "THEBE_JS_URL" in body or bool(re.search(r"https?://", body))


def _drop_remote_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [s for s in scripts if not _is_remote_or_thebe(s)]
    css = context.get("css_files")
    if css:
        context["css_files"] = [
            c for c in css if not _REMOTE.match(getattr(c, "filename", None) or str(c))
        ]


def _reread_everything(app, env, added, changed, removed):
    return sorted(env.found_docs - set(added) - set(changed) - set(removed))


def _no_source_download(app, config):
    # The chapters' sources are not published (html_copy_source is off), so the theme's
    # "download .md / .ipynb" button would link to missing files.
    options = dict(config.html_theme_options or {})
    options["use_download_button"] = False
    config.html_theme_options = options


def setup(app):
    # Low priority number: run before the theme adds its own context.
    app.connect("html-page-context", _drop_remote_scripts, priority=900)
    app.connect("env-get-outdated", _reread_everything)
    app.connect("config-inited", _no_source_download)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
