"""The book's own Sphinx extension.

1. Maths typeset when the book is built, by the pinned MathJax (``package.json``, ``npm
   ci``; ``_ext/render_maths.js``): SVG in the page, with MathML for screen readers, so
   no page loads a maths script or font.
2. A directive that links a reading chapter to its lab, on the site and on Colab.
3. Keep quick-mode and full-mode builds apart: each mode has its own execution cache,
   and switching mode re-reads every page, so a full build never shows quick results.
4. Light pages: figures pasted as base64 ``data:`` images (``cnnbook.book.figure_html``,
   self-contained so that they show on Colab too) are written out as image files that the
   browser caches and loads lazily; no unused widget state, no icon script (the theme's
   CSS draws the same icons), no Thebe set-up; the style sheets keep only the rules the
   book's pages and scripts can use (PurgeCSS, ``_ext/purge_css.js``).
5. Theme fixes: the navigation buttons (``_static/cnnbook.js``), a default colour mode.

    ```{lab} ../notebooks/04_mnist_convnet.ipynb
    ```

Colab opens notebooks only (not the chapter's Markdown), so each chapter points at its
lab. The Colab address is made from the repository named once in ``_config.yml``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import posixpath
import re
import subprocess
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from cnnbook.config import quick_mode  # the one definition of quick mode

# Maths as Sphinx writes it for MathJax: ``<span class="math ...">\(x\)</span>`` inline,
# ``<div class="math ...">[<span class="eqno">...</span>]\[x\]</div>`` displayed.
MATHS = re.compile(
    r'(<(span|div) class="math notranslate nohighlight"[^>]*>)'
    r'(\s*(?:<span class="eqno">.*?</span>)?\s*)'  # a numbered equation's number
    r"(\\[(\[])(.*?)\\[)\]]\s*(</\2>)",
    re.DOTALL,
)
NODE_SCRIPTS = Path(__file__).resolve().parent  # render_maths.js, purge_css.js
# A page's style sheets (the theme writes them two ways), and what a style sheet refers to.
STYLE_LINK = re.compile(r'[ \t]*<link (?=[^>]*rel="stylesheet")[^>]*href="([^"]+)"[^>]*/?>\n?')
CSS_IMPORT = re.compile(r'@import\s+(?:url\()?["\']?([^"\')]+)["\']?\)?\s*;')
CSS_URL = re.compile(r'url\(\s*(["\']?)([^"\')]+)\1\s*\)')
SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/")
# Sphinx's page options: a few lines every page needs before its first inline script
OPTIONS_SCRIPT = re.compile(r'<script src="([^"]*documentation_options\.js)[^"]*"></script>')

# A base64 image inside a page's HTML (the figures glued from the labs).
DATA_IMAGE = re.compile(r'src="data:image/(png|jpeg|webp|gif);base64,([A-Za-z0-9+/=\s]+)"')
# Scripts no page of this book uses (matched against a script's file name or inline body).
UNUSED_SCRIPTS = ("sphinx-thebe.js", "THEBE_JS_URL")
TABS_SCRIPT = "design-tabs.js"  # sphinx-design's tabs: only on a page that has tabs
ICON_FONTS = "vendor/fontawesome/webfonts"
# ".fa-bars:before,.fa-navicon:before{content:"\f0c9"}": the theme's CSS names its icons
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:{1,2}before,?)+)\{content:"([^"]+)"\}')
ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+\b")
# the sidebar's expand buttons: a chapter's link, then its <details><summary>
SECTIONS_TOGGLE = re.compile(
    r'(<a class="[^"]*reference internal[^"]*" href="[^"]*">([^<]+)</a><details[^>]*)><summary>'
)
# The search index and its code: the search page needs them; other pages only send the
# query there (search as you type is off).
SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[^"]*(?:searchtools|language_data|searchindex)\.js"></script>\n?'
)
# Scripts run after the page is parsed, so they do not hold up its first paint; the
# one an inline script of the template uses right away stays as it is.
RUN_AT_ONCE = ("documentation_options.js",)
ICON_SCRIPT = re.compile(r'[ \t]*<script defer src="[^"]*/fontawesome\.js[^"]*"></script>\n?')
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# The theme's first script sets the colour theme to "auto", and its main script, run after
# the page is parsed, turns that into "light" or "dark": every colour of the page changed
# then, and each button's colour transition ran, frame after frame, as the page loaded.
# The book settles the theme at once, in the head, as the theme's script would.
THEME_SCRIPT_END = (
    'document.documentElement.dataset.theme = localStorage.getItem("theme") || "auto";\n  </script>'
)
SETTLE_THEME = """
  <script>(() => {
    const root = document.documentElement;
    if (root.dataset.theme === "auto") {
      const dark = root.dataset.mode === "dark" || (root.dataset.mode !== "light" &&
        matchMedia("(prefers-color-scheme: dark)").matches);
      root.dataset.theme = dark ? "dark" : "light";
    }
  })();</script>"""

logger = logging.getLogger(__name__)

COLAB = "https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"


def colab_url(repository_url: str, branch: str, path_in_repo: str) -> str:
    repo = repository_url.rstrip("/").removeprefix("https://github.com/")
    return COLAB.format(repo=repo, branch=branch, path=path_in_repo)


class LabDirective(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self):
        env = self.env
        options = env.config.html_theme_options
        rel = self.arguments[0]
        docname = posixpath.normpath(posixpath.join(posixpath.dirname(env.docname), rel))
        target = docname.removesuffix(".ipynb")
        book_root = options.get("path_to_docs", "").strip("/")
        path_in_repo = posixpath.join(book_root, docname) if book_root else docname
        url = colab_url(
            options["repository_url"], options.get("repository_branch", "main"), path_in_repo
        )

        para = nodes.paragraph(classes=["cnnbook-lab-links"])
        para += nodes.Text("All the code of this chapter is in its lab: ")
        xref = addnodes.pending_xref(
            "", refdomain="std", reftype="doc", reftarget="/" + target, refexplicit=False
        )
        xref += nodes.inline("", "", classes=["xref", "std", "std-doc"])
        para += xref
        para += nodes.Text(" (")
        para += nodes.reference("", "open it in Colab", refuri=url, classes=["cnnbook-colab-link"])
        para += nodes.Text(").")
        note = nodes.admonition(classes=["tip"])
        note += nodes.title("", "Run it yourself")
        note += para
        return [note]


def run_node(app, script: str, *args: str, data=None):
    """Run one of the book's Node scripts (``_ext/``) on the pinned packages of
    ``package.json``; JSON in on stdin, JSON out on stdout."""
    if not (Path(app.confdir) / "node_modules").is_dir():
        raise FileNotFoundError(
            f"{Path(app.confdir) / 'node_modules'} is missing: run `npm ci` in {app.confdir} "
            "(the build typesets maths and trims style sheets with the pinned packages)."
        )
    result = subprocess.run(
        ["node", str(NODE_SCRIPTS / script), *args],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def typeset_maths(app, exception):
    """Typeset every page's maths once, at build time (``_ext/render_maths.js``): each
    formula becomes SVG with hidden MathML for screen readers, the glyphs drawn once per
    page, and the page loads no MathJax (its script, fonts and work were most of a
    chapter's load on a phone)."""
    if exception is not None or app.builder.format != "html":
        return
    found = {}
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        matches = list(MATHS.finditer(text))
        if matches:
            found[page] = (text, matches)
    if not found:
        return
    formulas = [
        [{"tex": html.unescape(m[5]), "display": m[4] == "\\["} for m in matches]
        for _, matches in found.values()
    ]
    typeset = run_node(app, "render_maths.js", data=formulas)
    style = f'<style id="cnnbook-maths">{typeset["css"]}</style>\n</head>'
    for (page, (text, _)), result in zip(found.items(), typeset["pages"], strict=True):
        page.write_text(with_typeset_maths(text, result, style), encoding="utf-8")


def with_typeset_maths(text: str, typeset: dict, style: str) -> str:
    """A page with its formulas replaced by ``typeset["maths"]`` (in order), the shared
    glyphs right after ``<body>`` and the maths style sheet in the head."""
    maths = iter(typeset["maths"])
    text = MATHS.sub(lambda m: f"{m[1]}{m[3]}{next(maths)}{m[6]}", text)
    text = re.sub(r"(<body[^>]*>)", lambda m: m[1] + typeset["glyphs"], text, count=1)
    return text.replace("</head>", style, 1)


def purge_style_sheets(app, exception):
    """Keep in the book's style sheets only the rules that its pages and scripts can use
    (PurgeCSS, ``_ext/purge_css.js``): the theme's 400 kB of CSS, most of it for
    components the book never shows, held up every page's first paint on a phone."""
    if exception is not None or app.builder.format != "html":
        return
    sizes = run_node(app, "purge_css.js", str(app.outdir))
    before, after = sum(s[0] for s in sizes.values()), sum(s[1] for s in sizes.values())
    logger.info(f"style sheets: {before:,} bytes trimmed to {after:,}")


def css_for_static(path: Path, static: Path) -> str:
    """The style sheet at ``path`` as it reads from ``static``: its ``@import``s inlined
    and its relative ``url()``s rewritten from its own folder to ``static``."""

    def inline(match):
        return css_for_static((path.parent / match[1]).resolve(), static)

    def rebase(match):
        quote, target = match[1], match[2]
        if target.startswith(("data:", "http:", "https:", "/", "#")):
            return match[0]
        moved = posixpath.relpath((path.parent / target).resolve().as_posix(), static.as_posix())
        return f"url({quote}{moved}{quote})"

    text = SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))
    return CSS_URL.sub(rebase, CSS_IMPORT.sub(inline, text))


def bundle_style_sheets(app, exception):
    """One style sheet per page instead of a dozen (the theme's, Sphinx's, each
    extension's), and Sphinx's few lines of page options inline: on a phone each file held
    up the first paint by a round trip. Pages with the same sheets share one bundle,
    named by its contents so a browser may cache it for good."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir).resolve()
    static = outdir / "_static"
    options = static / "documentation_options.js"
    script = f"<script>{options.read_text(encoding='utf-8').strip()}</script>"
    bundles: dict[tuple, str] = {}
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        head, body = text.split("</head>", 1) if "</head>" in text else ("", "")
        links = [m for m in STYLE_LINK.finditer(head) if "://" not in m[1]]
        if static in page.parents or len(links) < 2:
            continue
        sheets = tuple((page.parent / m[1].split("?")[0]).resolve() for m in links)
        if sheets not in bundles:
            css = "\n".join(css_for_static(sheet, static) for sheet in sheets)
            name = f"cnnbook-{hashlib.sha256(css.encode()).hexdigest()[:16]}.css"
            (static / name).write_text(css, encoding="utf-8")
            bundles[sheets] = name
        href = posixpath.relpath((static / bundles[sheets]).as_posix(), page.parent.as_posix())
        start = links[0].start()
        rest = STYLE_LINK.sub(lambda m: m[0] if "://" in m[1] else "", head[start:])
        head = f'{head[:start]}    <link rel="stylesheet" href="{href}" />\n{rest}'
        head = OPTIONS_SCRIPT.sub(lambda m: script, head, count=1)
        page.write_text(f"{head}</head>{body}", encoding="utf-8")


def write_index_page(app, exception):
    """A real index page that sends the reader to the first chapter (with a title, a
    language and a link, where Sphinx's table of contents leaves a bare redirect)."""
    if exception is not None or app.builder.format != "html":
        return
    first = app.config.root_doc + app.builder.out_suffix
    title = html.escape(app.config.html_title or app.config.project)
    # the book's icon, so the browser does not ask the host for /favicon.ico (a 404)
    favicon = app.config.html_favicon
    icon = f'<link rel="icon" href="_static/{Path(favicon).name}">\n' if favicon else ""
    (Path(app.outdir) / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="refresh" content="0; url={first}">\n'
        f'<link rel="canonical" href="{first}">\n{icon}</head>\n<body>\n'
        f'<p><a href="{first}">{title}: start reading</a></p>\n</body>\n</html>\n',
        encoding="utf-8",
    )


def externalise_images(app, pagename, templatename, context, doctree):
    """Write each base64 image of the page to ``_images/`` and link to it; every such
    figure but the page's first loads lazily (the first may be above the fold)."""
    body = context.get("body")
    if not body or "data:image/" not in body:
        return
    folder = Path(app.outdir) / "_images"
    folder.mkdir(parents=True, exist_ok=True)

    def to_file(match):
        extension, data = match.group(1), base64.b64decode(match.group(2))
        name = f"cnnbook-{hashlib.sha256(data).hexdigest()[:20]}.{extension}"
        path = folder / name
        if not path.exists():
            path.write_bytes(data)
        return f'src="{context["pathto"]("_images/" + name, 1)}"'

    body = DATA_IMAGE.sub(to_file, body)
    first_lazy = body.find('loading="lazy"')
    if first_lazy >= 0:
        body = body[:first_lazy] + 'loading="eager"' + body[first_lazy + len('loading="lazy"') :]
    context["body"] = body


def deferred(script):
    """A copy of a script file's entry that runs after the page is parsed (an inline script,
    an async one or one in RUN_AT_ONCE stays as it is)."""
    from sphinx.builders.html._assets import _JavaScript

    filename = str(getattr(script, "filename", "") or "")
    attributes = dict(getattr(script, "attributes", {}))
    if not filename or filename.endswith(RUN_AT_ONCE) or "async" in attributes:
        return script
    attributes.setdefault("defer", "defer")
    return _JavaScript(filename, priority=getattr(script, "priority", 500), **attributes)


def drop_unused_scripts(app, pagename, templatename, context, doctree):
    """Leave off the scripts this page does not use (runs after the handlers that add them).

    MathJax: the maths is typeset when the book is built (``typeset_maths``); the
    ipywidgets state is unused (the page loads no widget manager); sphinx-design's tab
    script on a page without tabs."""

    def unused(script) -> bool:
        filename = str(getattr(script, "filename", script) or "")
        attributes = getattr(script, "attributes", {})
        body = str(attributes.get("body", ""))
        if attributes.get("type") == WIDGET_STATE:
            return True
        if any(name in filename or name in body for name in UNUSED_SCRIPTS):
            return True
        if filename.endswith(TABS_SCRIPT) and "sd-tab" not in context.get("body", ""):
            return True
        return "mathjax" in filename.lower() or body.startswith("window.MathJax")

    context["script_files"][:] = [s for s in context.get("script_files", []) if not unused(s)]
    if pagename != "search":  # the search page's inline script needs doctools.js at once
        context["script_files"][:] = [deferred(s) for s in context["script_files"]]
    context["css_files"][:] = [
        c
        for c in context.get("css_files", [])
        if "sphinx-thebe" not in str(getattr(c, "filename", c))
    ]


def drop_thebe(app):
    """jupyter-book always loads sphinx-thebe; this book does not use it (no live code
    cells: the labs run on Colab), so its set-up, which names a CDN and another
    repository, stays off the pages."""
    for listeners in app.events.listeners.values():
        listeners[:] = [
            listener
            for listener in listeners
            if not getattr(listener.handler, "__module__", "").startswith("sphinx_thebe")
        ]


def number_exercises_per_page(app, env):
    """Exercise 1, 2, ... on every page (Sphinx numbers them across the whole book, so
    the second chapter began at Exercise 5). Solutions take their exercise's number."""
    for numbers in env.toc_fignumbers.values():
        exercises = numbers.get("exercise")
        if exercises:
            in_order = sorted(exercises, key=lambda ident: exercises[ident])
            numbers["exercise"] = {ident: (n,) for n, ident in enumerate(in_order, start=1)}
    return []


def theme_defaults(app, config):
    """Colour mode "auto" when the reader has not chosen one (the theme's default, empty,
    logs an error on a first visit)."""
    config.html_context.setdefault("default_mode", "auto")


def finish_pages(app, exception):
    """Last touches to the written pages, which the theme's templates fix:

    - no fontawesome.js (1.5 MB, loaded on every page to redraw the icons that the
      theme's CSS and web fonts already draw);
    - the sidebar's expand buttons get a name ("Sections of Edge filters");
    - the sidebar's search button is named by its visible text ("Search Ctrl+K");
    - the search index and its code only on the search page;
    - the colour theme settled in the head (SETTLE_THEME);
    - a hidden cell's toggle is named by its visible text ("Show code cell source")."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        done = ICON_SCRIPT.sub("", text)
        if SETTLE_THEME not in done:
            done = done.replace(THEME_SCRIPT_END, THEME_SCRIPT_END + SETTLE_THEME, 1)
        if page.name != "search.html":
            done = SEARCH_SCRIPTS.sub("", done)
        done = SECTIONS_TOGGLE.sub(
            lambda m: f'{m.group(1)}><summary aria-label="Sections of {m.group(2).strip()}">',
            done,
        )
        done = done.replace(
            'class="btn search-button-field search-button__button pst-js-only" title="Search" '
            'aria-label="Search"',
            'class="btn search-button-field search-button__button pst-js-only" title="Search"',
        )
        # a hidden cell's "Show code cell source" button: named by its text, not a label
        done = done.replace('<summary aria-label="Toggle hidden content">', "<summary>")
        if done != text:
            page.write_text(done, encoding="utf-8")


def css_code_points(value: str) -> set[int]:
    """The characters of a CSS string: escapes (``\\f0c9``) and literal characters."""
    return {
        int(m.group(1), 16) if m.group(1) else ord(m.group(2))
        for m in re.finditer(r"\\([0-9a-fA-F]{1,6}) ?|(.)", value, re.DOTALL)
    }


def subset_icon_fonts(app, exception):
    """Keep in the theme's icon fonts only the icons the book shows (fontTools): the
    classes its pages and scripts use, and those the theme's CSS draws by itself
    (admonition titles, external links). 275 kB of fonts become a few kB."""
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset

    static = Path(app.outdir) / "_static"
    css = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in static.rglob("*.css"))
    icons = {}
    for selectors, value in ICON_RULE.findall(css):
        for name in re.findall(r"\.(fa-[a-z0-9-]+)", selectors):
            icons[name] = css_code_points(value)
    sources = [*Path(app.outdir).rglob("*.html"), *static.rglob("*.js")]
    used = set()
    for source in sources:
        if source.name != "fontawesome.js":  # it names every icon
            used.update(ICON_CLASS.findall(source.read_text(encoding="utf-8", errors="ignore")))
    keep = set().union(*(icons[name] for name in used if name in icons))
    rest = ICON_RULE.sub("", css)  # icons the CSS draws without a class
    keep |= {c for c in css_code_points(rest) if 0xE000 <= c <= 0xF8FF}
    options = subset.Options()
    options.flavor = "woff2"
    for font_path in (static / ICON_FONTS).glob("*.woff2"):
        font = subset.load_font(str(font_path), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=keep)
        subsetter.subset(font)
        subset.save_font(font, str(font_path), options)


def mode_name() -> str:
    return "quick" if quick_mode() else "full"


def separate_caches(app, config):
    """One jupyter-cache per mode (the cache keys on notebook content, not on the mode)."""
    base = config.nb_execution_cache_path or str(Path(app.outdir).parent / ".jupyter_cache")
    config.nb_execution_cache_path = str(Path(base) / mode_name())


def reread_all_on_mode_change(app, env, added, changed, removed):
    """Every page is out of date when the mode differs from the last build's."""
    if getattr(env, "cnnbook_mode", None) != mode_name():
        env.cnnbook_mode = mode_name()
        return list(env.found_docs)
    return []


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Keep one copy of each script: sphinx-thebe 0.3.1 adds its inline config twice,
    and the second ``const THEBE_JS_URL`` is a JavaScript error on every page."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", script) or ""  # None and "" both mean inline
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # in place: later handlers (MathJax on pages with maths) append to this same list
    context["script_files"][:] = unique


def setup(app):
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    # late: after Sphinx's MathJax and myst-nb's widget state have been added
    app.connect("html-page-context", drop_unused_scripts, priority=900)
    app.connect("html-page-context", externalise_images, priority=900)
    app.connect("config-inited", separate_caches)
    app.connect("config-inited", theme_defaults)
    app.connect("builder-inited", drop_thebe)
    app.connect("env-get-outdated", reread_all_on_mode_change)
    # after Sphinx has numbered the figures and exercises of the whole book
    app.connect("env-get-updated", number_exercises_per_page, priority=900)
    app.add_directive("lab", LabDirective)
    # _static/cnnbook.js and .css: jupyter-book adds every script and style in _static
    app.connect("build-finished", finish_pages)
    app.connect("build-finished", typeset_maths)
    app.connect("build-finished", subset_icon_fonts)
    # last: every page and script is final, so the rules they use are known
    app.connect("build-finished", purge_style_sheets, priority=900)
    app.connect("build-finished", bundle_style_sheets, priority=950)
    # before sphinx-external-toc's, which writes a bare redirect unless index.html exists
    app.connect("build-finished", write_index_page, priority=400)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
