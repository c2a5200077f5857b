"""Every chapter with code, downloadable as a notebook that runs with numpy and matplotlib only.

The chapters are MyST markdown notebooks executed at build time. A student who wants to run
one needs it as an ``.ipynb`` that works in a plain Jupyter: no myst-nb, no Sphinx roles, no
course package. After the HTML build this extension writes, for every chapter of the toc
that has code cells, ``notebooks/<docname>.ipynb`` into the site:

- ``{code-cell}`` with ``:load: file.py`` gets the file's text, so the notebook is whole;
- ``from myst_nb import glue`` becomes a two-line stand-in (the book's ``claim`` calls still
  check their numbers, they just have no page to paste them into);
- cells hidden in the book (``remove-input``, ``hide-input``) stay, collapsed;
- MyST markup becomes plain Jupyter markdown: glued numbers are replaced by the values the
  build computed, cross-references by their titles (and links, when ``html_baseurl`` names
  the published book), exercises, solutions and dropdowns by ``<details>`` blocks;
- outputs are left out: a student runs the notebook, after predicting what it prints.

Each chapter page gets a "download" button in its header and a one-line note under its
title. Launch buttons (a JupyterHub with nbgitpuller, Binder, Colab), configured in
``_config.yml`` under ``launch_buttons`` and ``repository``, open these same notebooks from
the branch where the built site is published (``chapter_notebooks_branch``, by default
``gh-pages``): the theme's own launch buttons would open the MyST sources, which need the
build's tools.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import quote, urlencode

#: Where the notebooks go, inside the built site.
NOTEBOOK_DIR = "notebooks"

#: What replaces ``from myst_nb import glue`` in a downloaded notebook.
GLUE_STANDIN = (
    "def glue(name, value, display=True):  # the book pastes this value into its text\n"
    '    """Outside the book\'s build there is no page to paste numbers into."""'
)

_FENCE_OPEN = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:.-]+)\}[ \t]*(?P<arg>.*)$"
)
_ROLE = re.compile(r"\{(?P<role>[\w:.-]+)\}`(?P<body>[^`]*)`")
_TARGET = re.compile(r"^\((?P<label>[\w:.-]+)\)=\s*$")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)


# --------------------------------------------------------------------------------------------
# MyST markdown to Jupyter markdown
# --------------------------------------------------------------------------------------------


class Resolver:
    """What the converter needs to know about the book to replace roles by text and links.

    Parameters
    ----------
    glue : dict
        Glue key to its already formatted text, for the chapter being converted.
    titles : dict
        Document name (``book/backprop``) to its title.
    labels : dict
        Label to ``(docname, anchor, title)``.
    citations : dict
        Bibliography key to a short citation, ``Bishop (2006)``.
    baseurl : str
        Address of the published book; empty for no links.
    docname : str
        The chapter being converted (relative references are resolved from it).
    """

    def __init__(self, glue, titles, labels, citations, baseurl, docname):
        self.glue = glue
        self.titles = titles
        self.labels = labels
        self.citations = citations
        self.baseurl = baseurl.rstrip("/")
        self.docname = docname

    def link(self, text, docname, anchor=""):
        """``[text](url)`` to a page of the published book, or ``text`` with no address."""
        if not self.baseurl or docname is None:
            return text
        url = f"{self.baseurl}/{docname}.html" + (f"#{anchor}" if anchor else "")
        return f"[{text}]({url})"

    def doc(self, target):
        """The document name of a ``{doc}`` target, relative to the current chapter."""
        if target.startswith("/"):
            return target.lstrip("/")
        folder = self.docname.rsplit("/", 1)[0] if "/" in self.docname else ""
        return f"{folder}/{target}" if folder else target


def _split_explicit(body):
    match = _EXPLICIT.match(body)
    if match:
        return match.group("text"), match.group("target")
    return None, body


def _format_glue(text, spec):
    try:
        from myst_nb.core.variables import format_plain_text
    except ImportError:  # only the build calls this, where myst-nb is installed
        return text
    return format_plain_text(text, spec)


def convert_roles(text, resolver):
    """Replace MyST roles by plain markdown.

    Parameters
    ----------
    text : str
    resolver : Resolver

    Returns
    -------
    str
    """

    def replace(match):
        role, body = match.group("role"), match.group("body")
        explicit, target = _split_explicit(body)
        if role.startswith("glue"):
            key, _, spec = target.partition(":")
            if key not in resolver.glue:
                # The chapter failed to compute it; myst-nb has already reported that.
                return f"[{key}: not computed]"
            return _format_glue(resolver.glue[key], spec)
        if role == "doc":
            docname = resolver.doc(target)
            title = explicit or resolver.titles.get(docname, target)
            return resolver.link(f"*{title}*" if not explicit else title, docname)
        if role in {"ref", "numref", "prf:ref", "eq"}:
            docname, anchor, title = resolver.labels.get(target, (None, "", target))
            return resolver.link(explicit or title, docname, anchor)
        if role.startswith("cite"):
            cites = [resolver.citations.get(k.strip(), k.strip()) for k in target.split(",")]
            return "(" + "; ".join(cites) + ")"
        if role == "download":
            return explicit or target
        # Anything else ({math}, {sub}, ...) keeps its text.
        return explicit or target

    return _ROLE.sub(replace, text)


def _directive_body(lines):
    """Split a directive's lines into its options and its content."""
    options, i = {}, 0
    if lines and lines[0].strip() == "---":
        end = next((j for j in range(1, len(lines)) if lines[j].strip() == "---"), None)
        if end is not None:
            for line in lines[1:end]:
                key, _, value = line.partition(":")
                options[key.strip()] = value.strip()
            i = end + 1
    while i < len(lines) and re.match(r"^\s*:[\w-]+:", lines[i]):
        key, _, value = lines[i].strip()[1:].partition(":")
        options[key.strip()] = value.strip()
        i += 1
    return options, lines[i:]


def _details(summary, body):
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


def _quote(title, body):
    inner = f"**{title}**\n\n{body.strip()}" if title else body.strip()
    return "\n".join("> " + line if line else ">" for line in inner.splitlines())


def render_directive(name, arg, options, body, resolver):
    """Plain markdown for one MyST directive (its body already converted).

    Parameters
    ----------
    name, arg : str
        The directive's name and argument line.
    options : dict
    body : str
    resolver : Resolver

    Returns
    -------
    str
    """
    arg = convert_roles(arg, resolver)
    classes = options.get("class", "").split()
    if name in {"glue:figure", "glue", "glue:any", "glue:md", "figure", "bibliography"}:
        return ""  # figures appear when the notebook runs
    if name in {"math", "glue:math"}:
        return f"$$\n{body.strip()}\n$$"
    if name == "exercise":
        return f"**Exercise.** {arg}\n\n{body.strip()}".strip()
    if name == "solution":
        return _details("Solution", body)
    if name == "dropdown":
        return _details(arg or "More", body)
    if name.startswith("prf:"):
        kind = name.split(":", 1)[1]
        if kind == "proof":
            return f"*Proof.* {body.strip()} ∎"
        title = f"{kind.capitalize()} ({arg})" if arg else kind.capitalize()
        return f"**{title}.** {body.strip()}"
    if name == "admonition":
        if "dropdown" in classes:
            return _details(arg or "More", body)
        return _quote(arg, body)
    if name in {"note", "tip", "hint", "important", "warning", "caution", "attention", "seealso"}:
        if "dropdown" in classes:
            return _details(name.capitalize(), body)
        return _quote(name.capitalize(), body)
    if name == "code-block" or name == "code":
        return f"```{arg}\n{body.rstrip()}\n```"
    return body


def convert_markdown(text, resolver):
    """Turn one MyST markdown cell into Jupyter markdown.

    Parameters
    ----------
    text : str
    resolver : Resolver

    Returns
    -------
    str
    """
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        target = _TARGET.match(line)
        if target:
            out.append(f'<a id="{target.group("label")}"></a>')
            i += 1
            continue
        opening = _FENCE_OPEN.match(line)
        if not opening:
            # Plain code fences are copied untouched, roles and all.
            plain = re.match(r"^\s*(`{3,}|~{3,})", line)
            if plain:
                fence = plain.group(1)
                j = i + 1
                while j < len(lines) and not lines[j].strip().startswith(fence):
                    j += 1
                out.extend(lines[i : j + 1])
                i = j + 1
                continue
            out.append(convert_roles(line, resolver))
            i += 1
            continue
        fence = opening.group("fence")
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        options, body = _directive_body(lines[i + 1 : j])
        inner = convert_markdown("\n".join(body), resolver)
        rendered = render_directive(
            opening.group("name"), opening.group("arg").strip(), options, inner, resolver
        )
        if opening.group("name") == "math":
            out.append(rendered)
        else:
            out.append(rendered)
        i = j + 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


# --------------------------------------------------------------------------------------------
# the notebook
# --------------------------------------------------------------------------------------------


def chapter_notebook(source, resolver, book_title="the book"):
    """The downloadable notebook of one chapter.

    Parameters
    ----------
    source : Path
        The chapter's MyST markdown file.
    resolver : Resolver
    book_title : str

    Returns
    -------
    nbformat.NotebookNode
        Version 4, no outputs, Python 3 kernel.
    """
    import jupytext
    import nbformat

    nb = jupytext.read(source, fmt="md:myst")
    cells = []
    for cell in nb.cells:
        meta = dict(cell.metadata)
        if cell.cell_type == "code":
            source_text = cell.source
            load = meta.pop("load", None)
            if load:
                source_text = (Path(source).parent / load).read_text(encoding="utf-8")
            source_text = source_text.replace("from myst_nb import glue", GLUE_STANDIN)
            tags = list(meta.get("tags", []))
            new = nbformat.v4.new_code_cell(source_text.rstrip("\n"))
            if tags:
                new.metadata["tags"] = tags
            if {"remove-input", "hide-input", "remove-cell", "hide-cell"} & set(tags):
                new.metadata["jupyter"] = {"source_hidden": True}
            cells.append(new)
        elif cell.cell_type == "markdown":
            text = convert_markdown(cell.source, resolver)
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text))
    book = resolver.link(f"*{book_title}*", "book/intro") if resolver.baseurl else book_title
    note = (
        f"*A chapter of {book}, as a notebook. It needs only Python 3 with `numpy` and "
        "`matplotlib`. The collapsed cells set things up or draw figures; run every cell "
        "in order, and try to predict each result before you run it.*"
    )
    cells.insert(
        1 if cells and cells[0].cell_type == "markdown" else 0, nbformat.v4.new_markdown_cell(note)
    )
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(out)
    return out


def parse_citations(bib_text):
    """Short citations ``Bishop (2006)`` from a BibTeX file's text.

    Parameters
    ----------
    bib_text : str

    Returns
    -------
    dict
        Key to citation.
    """
    out = {}
    for entry in re.split(r"(?=^@)", bib_text, flags=re.M):
        key = re.match(r"@\w+\{([^,]+),", entry)
        if not key:
            continue
        authors = re.search(r"author\s*=\s*\{(.+?)\},?\s*$", entry, re.M)
        year = re.search(r"year\s*=\s*\{?(\d{4})", entry)
        names = [
            a.split(",")[0].strip() for a in (authors.group(1) if authors else "").split(" and ")
        ]
        names = [re.sub(r"[{}\\']", "", n) for n in names if n]
        who = names[0] + (
            " et al." if len(names) > 2 else f" and {names[1]}" if len(names) == 2 else ""
        )
        out[key.group(1).strip()] = f"{who} {year.group(1) if year else ''}".strip()
    return out


# --------------------------------------------------------------------------------------------
# launch buttons
# --------------------------------------------------------------------------------------------


def launch_urls(docname, launch, repository_url, branch):
    """Addresses that open the chapter's notebook on the configured services.

    Parameters
    ----------
    docname : str
        ``book/backprop``.
    launch : dict
        ``jupyterhub_url``, ``binderhub_url``, ``colab_url`` (empty strings switch a service
        off) and ``notebook_interface`` (``classic`` or ``jupyterlab``).
    repository_url : str
        ``https://github.com/<org>/<repo>`` of the published site.
    branch : str
        The branch that holds the built site, where ``notebooks/`` lives.

    Returns
    -------
    list of (str, str)
        ``(service, url)`` for each configured service.
    """
    if not repository_url:
        return []
    path = f"{NOTEBOOK_DIR}/{docname}.ipynb"
    ui = "lab/tree" if launch.get("notebook_interface") == "jupyterlab" else "tree"
    repo_url = repository_url.rstrip("/")
    repo_name = repo_url.rsplit("/", 1)[-1]
    github = re.match(r"^https?://github\.com/([^/]+)/([^/]+?)(?:\.git)?$", repo_url)
    out = []
    hub = (launch.get("jupyterhub_url") or "").rstrip("/")
    if hub:
        query = urlencode(
            {"repo": repo_url, "branch": branch, "urlpath": f"{ui}/{repo_name}/{path}"}, safe="/"
        )
        out.append(("JupyterHub", f"{hub}/hub/user-redirect/git-pull?{query}"))
    binder = (launch.get("binderhub_url") or "").rstrip("/")
    if binder:
        if github:
            spec = f"gh/{github.group(1)}/{github.group(2)}/{quote(branch, safe='')}"
        else:
            spec = f"git/{quote(repo_url, safe='')}/{quote(branch, safe='')}"
        out.append(("Binder", f"{binder}/v2/{spec}?urlpath={ui}/{path}"))
    colab = (launch.get("colab_url") or "").rstrip("/")
    if colab and github:
        out.append(
            ("Colab", f"{colab}/github/{github.group(1)}/{github.group(2)}/blob/{branch}/{path}")
        )
    return out


# --------------------------------------------------------------------------------------------
# Sphinx
# --------------------------------------------------------------------------------------------


def _has_code(app, docname):
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".md":
        return False
    return bool(re.search(r"^```\{code-cell\}", path.read_text(encoding="utf-8"), re.M))


def _take_launch_config(app, config):
    # Keep the launch settings for ourselves and give the theme none, so that it adds no
    # buttons that open the MyST sources.
    options = dict(config.html_theme_options or {})
    app.chapter_launch = dict(options.get("launch_buttons") or {})
    options["launch_buttons"] = {}
    config.html_theme_options = options


def _page_context(app, pagename, templatename, context, doctree):
    if doctree is None or not _has_code(app, pagename):
        return
    pathto = context["pathto"]
    notebook = pathto(f"{NOTEBOOK_DIR}/{pagename}.ipynb", 1)
    buttons = context.setdefault("header_buttons", [])
    buttons.append(
        {
            "type": "group",
            "tooltip": "Download this chapter",
            "icon": "fas fa-download",
            "label": "download-buttons",
            "buttons": [
                {
                    "type": "link",
                    "url": notebook,
                    "text": ".ipynb",
                    "icon": "fas fa-code",
                    "tooltip": "This chapter as a notebook (numpy and matplotlib only)",
                    "label": "download-notebook-button",
                }
            ],
        }
    )
    options = app.config.html_theme_options or {}
    urls = launch_urls(
        pagename,
        app.chapter_launch,
        options.get("repository_url", ""),
        app.config.chapter_notebooks_branch,
    )
    if urls:
        buttons.append(
            {
                "type": "group",
                "tooltip": "Run this chapter",
                "icon": "fas fa-rocket",
                "label": "launch-buttons",
                "buttons": [
                    {"type": "link", "url": url, "text": name, "tooltip": f"Open on {name}"}
                    for name, url in urls
                ],
            }
        )
    href = html.escape(notebook)
    note = (
        f'<p class="chapter-notebook"><a href="{href}" download>Download this chapter as a '
        "notebook</a> to run it yourself: it needs only numpy and matplotlib.</p>"
    )
    body = context.get("body", "")
    context["body"] = re.sub(r"(</h1>)", r"\1" + note, body, count=1)


def _labels(app):
    std = app.env.get_domain("std")
    out = {}
    for label, (docname, anchor, title) in std.labels.items():
        out[label] = (docname, anchor, title)
    return out


def _write_notebooks(app, exception):
    if exception is not None or app.builder.name != "html":
        return
    import nbformat

    outdir = Path(app.outdir)
    executed = outdir.parent / "jupyter_execute"
    titles = {d: t.astext() for d, t in app.env.titles.items()}
    bib = Path(app.srcdir) / "book" / "references.bib"
    citations = parse_citations(bib.read_text(encoding="utf-8")) if bib.exists() else {}
    labels = _labels(app)
    for docname in sorted(app.env.found_docs):
        if not _has_code(app, docname):
            continue
        glue_file = executed / f"{docname}.glue.json"
        glue = {}
        if glue_file.exists():
            for key, output in json.loads(glue_file.read_text(encoding="utf-8")).items():
                glue[key] = output.get("data", {}).get("text/plain", "")
        resolver = Resolver(glue, titles, labels, citations, app.config.html_baseurl, docname)
        nb = chapter_notebook(Path(app.env.doc2path(docname)), resolver, app.config.html_title)
        target = outdir / NOTEBOOK_DIR / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    if app.chapter_launch.get("binderhub_url"):
        # Binder builds the published branch: tell it what the notebooks need.
        (outdir / "requirements.txt").write_text("numpy\nmatplotlib\n", encoding="utf-8")


def setup(app):
    app.add_config_value("chapter_notebooks_branch", "gh-pages", "html")
    app.chapter_launch = {}
    app.connect("config-inited", _take_launch_config)
    # After the theme has made its header buttons (priority 501).
    app.connect("html-page-context", _page_context, priority=600)
    app.connect("build-finished", _write_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
