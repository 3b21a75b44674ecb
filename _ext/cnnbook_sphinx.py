"""The book's own Sphinx extension.

1. Serve MathJax from the pinned npm package (``package.json``), never from a CDN:
   ``npm ci`` installs it; the build copies its single-file SVG bundle into ``_static``.
2. A directive that links a reading chapter to its lab, on the site and on Colab.
3. Keep quick-mode and full-mode builds apart: each mode has its own execution cache,
   and switching mode re-reads every page, so a full build never shows quick results.

    ```{lab} ../notebooks/04_mnist_convnet.ipynb
    ```

Colab opens notebooks only (not the chapter's Markdown), so each chapter points at its
lab. The Colab address is made from the repository named once in ``_config.yml``.
"""

from __future__ import annotations

import posixpath
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

from cnnbook.config import quick_mode  # the one definition of quick mode

MATHJAX_BUNDLE = Path("node_modules/mathjax/es5/tex-svg.js")
MATHJAX_STATIC = "vendor/mathjax/tex-svg.js"

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


def copy_mathjax(app, exception):
    """Copy the pinned MathJax bundle next to the pages (after a successful build)."""
    if exception is not None or app.builder.format != "html":
        return
    source = Path(app.confdir) / MATHJAX_BUNDLE
    if not source.exists():
        raise FileNotFoundError(
            f"{source} is missing: run `npm ci` in {app.confdir} (the book serves MathJax "
            "from the pinned npm package instead of a CDN)."
        )
    target = Path(app.outdir) / "_static" / MATHJAX_STATIC
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


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
    app.connect("config-inited", separate_caches)
    app.connect("env-get-outdated", reread_all_on_mode_change)
    app.add_directive("lab", LabDirective)
    app.connect("build-finished", copy_mathjax)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
