"""The built book as a reader sees it, in headless Chromium."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import yaml

from _ext.cnnbook_sphinx import colab_url
from cnnbook.config import quick_mode
from tests.test_book import source_of, toc_files

ROOT = Path(__file__).resolve().parents[1]

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPOSITORY = CONFIG["repository"]["url"]
BRANCH = CONFIG["repository"]["branch"]
PAGES = toc_files()
PAGES_WITHOUT_FIGURES = {"chapters/teachers", "chapters/sources"}

pytestmark = pytest.mark.slow


def expected_title(page: str) -> str:
    source = source_of(page)
    if source.suffix == ".ipynb":
        cells = json.loads(source.read_text())["cells"]
        text = "".join(next(c for c in cells if c["cell_type"] == "markdown")["source"])
    else:
        text = source.read_text()
    return re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip()


def lab_of(chapter: str) -> str | None:
    """The lab listed right under a chapter in the toc, if any."""
    index = PAGES.index(chapter)
    following = PAGES[index + 1] if index + 1 < len(PAGES) else ""
    return following if following.startswith("notebooks/") else None


def open_page(page_fixture, url: str) -> list[str]:
    """Load a page, wait for it to settle, and return every URL it requested."""
    requested: list[str] = []
    page_fixture.on("request", lambda request: requested.append(request.url))
    page_fixture.goto(url, wait_until="load")
    page_fixture.wait_for_load_state("networkidle")
    return requested


def load_lazy_images(page_fixture) -> None:
    """Load the images a reader would load by scrolling down (loading="lazy")."""
    page_fixture.evaluate(
        "() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
    )
    page_fixture.wait_for_function("[...document.images].every(i => i.complete)")
    page_fixture.wait_for_load_state("networkidle")


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_title_text_figures_and_links(page, site_url, chromium_page):
    requested = open_page(chromium_page, site_url(page + ".html"))
    article = chromium_page.locator("article.bd-article")

    # title
    heading = article.locator("h1").first.inner_text().replace("#", "").strip()
    assert heading == expected_title(page)

    # text
    words = len(article.inner_text().split())
    assert words >= 80, f"{page}: only {words} words rendered"

    # figures: every image loaded, with alt text
    load_lazy_images(chromium_page)
    images = article.locator("img")
    report = images.evaluate_all(
        "els => els.map(e => ({src: e.src.slice(0, 80), ok: e.complete && e.naturalWidth > 0, alt: e.alt}))"
    )
    broken = [r for r in report if not r["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    assert all(r["alt"].strip() for r in report), f"{page}: an image has no alt text: {report}"
    if page not in PAGES_WITHOUT_FIGURES:
        assert report, f"{page} shows no figure"

    # maths typeset when the book was built: SVG, with MathML a screen reader reads
    untypeset = article.locator(".math").evaluate_all(
        """els => els.filter(e => !e.querySelector('mjx-container > svg')
                             || !e.querySelector('mjx-assistive-mml math'))
                     .map(e => e.textContent.slice(0, 60))"""
    )
    assert not untypeset, f"{page}: maths left as TeX: {untypeset}"
    text = article.inner_text()
    assert "\\(" not in text and "\\[" not in text, f"{page} shows TeX delimiters"

    # nothing fetched from outside the book at view time (no CDN)
    outside = [u for u in requested if not u.startswith(("http://127.0.0.1", "data:", "blob:"))]
    assert not outside, f"{page} fetched from outside the book: {outside}"


@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("notebooks/")])
def test_lab_launch_buttons_open_this_notebook(page, site_url, chromium_page):
    open_page(chromium_page, site_url(page + ".html"))
    hrefs = chromium_page.locator(
        "a[href*='colab.research.google.com'], a[href*='mybinder.org']"
    ).evaluate_all("els => els.map(e => e.href)")
    assert colab_url(REPOSITORY, BRANCH, page + ".ipynb") in hrefs, hrefs
    repo = REPOSITORY.removeprefix("https://github.com/")
    assert f"https://mybinder.org/v2/gh/{repo}/{BRANCH}?urlpath=tree/{page}.ipynb" in hrefs, hrefs
    # Binder builds the repository with the Python that runtime.txt names
    runtime = (ROOT / "runtime.txt").read_text().strip()
    version = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert version and int(version[1]) >= 10, f"runtime.txt should pin python-3.X: {runtime!r}"


@pytest.mark.parametrize("chapter", [p for p in PAGES if p.startswith("chapters/") and lab_of(p)])
def test_chapter_links_to_its_lab_on_colab_and_says_how_it_ran(chapter, site_url, chromium_page):
    open_page(chromium_page, site_url(chapter + ".html"))
    lab = lab_of(chapter)
    link = chromium_page.locator("a.cnnbook-colab-link")
    assert link.count() == 1, f"{chapter} has no {{lab}} directive"
    assert link.get_attribute("href") == colab_url(REPOSITORY, BRANCH, lab + ".ipynb")
    banners = chromium_page.locator(".cnnbook-quick-mode")
    if quick_mode():
        assert banners.count() >= 1 and banners.first.is_visible(), (
            f"{chapter} hides that it ran in quick mode"
        )
    else:
        assert banners.count() == 0


@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("notebooks/")])
def test_lab_says_when_it_ran_in_quick_mode(page, site_url, chromium_page):
    open_page(chromium_page, site_url(page + ".html"))
    banners = chromium_page.locator(".cnnbook-quick-mode")
    assert (banners.count() >= 1) is quick_mode()


# --- the site on a phone and on a desktop ----------------------------------------------

# A page whose menu and contents the navigation tests open: a chapter with sections.
NAVIGATION_PAGE = "chapters/edge_filters"


def visible(page_fixture, selector: str) -> list:
    return [e for e in page_fixture.locator(selector).all() if e.is_visible()]


def test_phone_menu_opens_the_navigation_drawer(site_url, phone_page):
    open_page(phone_page, site_url(NAVIGATION_PAGE + ".html"))
    [menu] = visible(phone_page, ".primary-toggle")
    menu.click()
    drawer = phone_page.locator("#pst-primary-sidebar-modal")
    drawer.wait_for(state="visible", timeout=5000)
    assert drawer.evaluate("d => d.open")
    links = [a for a in drawer.locator("nav a").all() if a.is_visible()]
    chapters = [p for p in PAGES if p.startswith("chapters/")]
    assert len(links) >= len(chapters), "the drawer does not show the book's chapters"
    phone_page.keyboard.press("Escape")
    drawer.wait_for(state="hidden", timeout=5000)

    [contents] = visible(phone_page, ".secondary-toggle")
    contents.click()
    on_this_page = phone_page.locator("#pst-secondary-sidebar-modal")
    on_this_page.wait_for(state="visible", timeout=5000)
    assert on_this_page.locator("a[href^='#']").count() >= 3


def test_desktop_menu_collapses_the_sidebar_and_one_search_box(site_url, chromium_page):
    open_page(chromium_page, site_url(NAVIGATION_PAGE + ".html"))
    sidebar = chromium_page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    searches = visible(chromium_page, ".search-button-field, .search-button__button")
    assert len(searches) == 1, f"{len(searches)} search boxes"
    [menu] = visible(chromium_page, ".primary-toggle")
    menu.click()
    chromium_page.wait_for_function(
        "() => !document.querySelector('#pst-primary-sidebar')"
        ".checkVisibility({visibilityProperty: true})"
    )
    menu.click()
    sidebar.wait_for(state="visible", timeout=5000)


@pytest.mark.parametrize("page", PAGES)
def test_page_fits_a_phone(page, site_url, phone_page):
    """Nothing makes the page scroll sideways: wide tables and figures scroll in their own
    box, long code wraps; table cells are padded."""
    open_page(phone_page, site_url(page + ".html"))
    load_lazy_images(phone_page)
    widths = phone_page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    too_wide = phone_page.evaluate(
        """() => [...document.querySelectorAll('article *')]
            .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
            .filter(e => !e.parentElement.closest('table, pre, .cnnbook-figure-scroll, .cnnbook-explorer'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
    )
    assert widths[0] <= widths[1], f"{page} is {widths[0]} px wide on a phone: {too_wide}"
    paddings = phone_page.locator("article td").evaluate_all(
        "cells => cells.map(c => parseFloat(getComputedStyle(c).paddingLeft))"
    )
    assert all(p >= 4 for p in paddings), f"{page}: table cells padded {min(paddings)} px"


# an image's file name or path, or a hash, read out instead of a description
PATH_LIKE_ALT = re.compile(
    r"(^|/)_images/|\.(png|jpe?g|webp|gif|svg)$|[0-9a-f]{20,}", re.IGNORECASE
)


@pytest.mark.parametrize("page", PAGES)
def test_every_image_says_what_it_shows(page, site_url, chromium_page):
    open_page(chromium_page, site_url(page + ".html"))
    alts = chromium_page.locator("img").evaluate_all("els => els.map(e => e.alt)")
    bad = [alt for alt in alts if not alt.strip() or PATH_LIKE_ALT.search(alt.strip())]
    assert not bad, f"{page}: images whose alt text is empty or a file name: {bad}"


MIN_TEXT_PX = 10


@pytest.mark.parametrize("page", [p for p in PAGES if p not in PAGES_WITHOUT_FIGURES])
def test_figure_text_is_legible_on_desktop_and_phone(page, site_url, chromium_page, phone_page):
    """Every figure's smallest text, as the page shows it, is at least 10 px high: the
    figure records that text's height in its own pixels (cnnbook.book.figure_html)."""
    for browser_page in (chromium_page, phone_page):
        open_page(browser_page, site_url(page + ".html"))
        load_lazy_images(browser_page)
        figures = browser_page.locator("article .cnnbook-figure img").evaluate_all(
            """els => els.map(e => ({alt: e.alt.slice(0, 50), text: e.dataset.minTextPx,
                shown: e.getBoundingClientRect().width, natural: e.naturalWidth}))"""
        )
        small = [
            f
            for f in figures
            if f["text"] and float(f["text"]) * f["shown"] / f["natural"] < MIN_TEXT_PX - 0.05
        ]
        width = browser_page.viewport_size["width"]
        assert not small, f"{page} at {width} px: figure text under {MIN_TEXT_PX} px: {small}"
        # a figure kept wider than the column scrolls in its own box, which a keyboard
        # reaches (tabindex) and a screen reader names
        boxes = browser_page.locator("article .cnnbook-figure-scroll").evaluate_all(
            """els => els.filter(b => b.scrollWidth > b.clientWidth + 1).map(b => ({
                scrolls: ['auto', 'scroll'].includes(getComputedStyle(b).overflowX),
                tabindex: b.getAttribute('tabindex'), label: b.getAttribute('aria-label')}))"""
        )
        stuck = [b for b in boxes if not (b["scrolls"] and b["tabindex"] == "0" and b["label"])]
        assert not stuck, f"{page} at {width} px: wide figures a reader cannot scroll: {stuck}"
    # a plot shown another way (plt.show) has no such record; widgets show photos, not plots
    plain = chromium_page.locator("article .cell_output img").evaluate_all(
        "els => els.filter(e => !e.closest('.cnnbook-figure, .cnnbook-playground, "
        ".cnnbook-explorer')).map(e => e.alt)"
    )
    assert not plain, f"{page}: figures shown without cnnbook.book (no legibility record): {plain}"


# The page budget: every page, with all its images loaded, transfers under 1 MB as a static
# host serves it (text compressed). A model-explorer widget's trained weights have a
# budget of their own.
PAGE_BUDGET = 1_000_000
EXPLORER_BUDGET = 1_100_000


@pytest.mark.parametrize("page", PAGES)
def test_page_weighs_under_a_megabyte(page, site_url, built_book, chromium_page):
    open_page(chromium_page, site_url(page + ".html"))
    load_lazy_images(chromium_page)
    transfers = chromium_page.evaluate(
        """() => performance.getEntriesByType('navigation').concat(
                   performance.getEntriesByType('resource'))
                 .map(e => [e.name, e.transferSize])"""
    )
    explorer = chromium_page.locator(".cnnbook-explorer").evaluate_all(
        "els => els.map(e => e.outerHTML)"
    )
    explorer_urls = [
        url for url, _ in transfers if any(url.rsplit("/", 1)[-1] in h for h in explorer)
    ]
    explorer_bytes = sum(size for url, size in transfers if url in explorer_urls)
    explorer_bytes += sum(len(gzip.compress(h.encode())) for h in explorer)
    total = sum(size for _, size in transfers) - explorer_bytes
    heaviest = sorted(transfers, key=lambda t: -t[1])[:4]
    assert total < PAGE_BUDGET, f"{page}: {total:,} bytes; heaviest {heaviest}"
    assert explorer_bytes < EXPLORER_BUDGET, f"{page}: explorer {explorer_bytes:,} bytes"


# --- accessibility audit ----------------------------------------------------------------

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # pinned in package.json


def axe_violations(browser_page, url: str, mode: str) -> list:
    """The serious and critical violations axe-core finds on ``url`` in colour ``mode``."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (axe-core is pinned in package.json)")
    browser_page.add_init_script(f"localStorage.setItem('mode', '{mode}')")
    open_page(browser_page, url)
    assert browser_page.evaluate("document.documentElement.dataset.theme") == mode
    load_lazy_images(browser_page)
    browser_page.add_script_tag(path=str(AXE))
    return browser_page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => ({rule: v.id, impact: v.impact, help: v.help,
                        where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("page", PAGES)
def test_axe_finds_no_serious_violation(page, mode, site_url, chromium_page):
    violations = axe_violations(chromium_page, site_url(page + ".html"), mode)
    assert not violations, f"{page} ({mode}): " + json.dumps(violations, indent=1)


@pytest.mark.parametrize("page", PAGES)
def test_axe_finds_no_serious_violation_on_a_phone(page, site_url, phone_page):
    """At 390 px wide figures and tables scroll in their own boxes: each must be reachable
    by keyboard and named."""
    violations = axe_violations(phone_page, site_url(page + ".html"), "light")
    assert not violations, f"{page} (phone): " + json.dumps(violations, indent=1)


# --- what each page loads, and small things ----------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_only_what_it_uses(page, site_url, chromium_page):
    """No MathJax (the build typesets the maths), Thebe set-up, icon script or unused
    widget state; exercises numbered from 1 on every page; a favicon."""
    open_page(chromium_page, site_url(page + ".html"))
    scripts = chromium_page.locator("script").evaluate_all(
        "els => els.map(e => (e.src || '') + ' ' + (e.type || '') + ' ' + e.text.slice(0, 200))"
    )
    for unused in ("thebe", "fontawesome.js", "widget-state+json", "mathjax"):
        assert not [s for s in scripts if unused in s.lower()], f"{page} loads {unused}"

    numbers = chromium_page.locator("article .exercise .admonition-title").evaluate_all(
        r"els => els.map(e => (e.textContent.match(/Exercise\s+(\d+)/) || [])[1])"
    )
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)], f"{page}: {numbers}"
    favicon = chromium_page.locator("link[rel='icon']")
    assert favicon.count() == 1


@pytest.mark.parametrize("page", PAGES)
def test_figures_are_image_files_that_load_lazily(page, site_url, chromium_page):
    """A figure is an image file the browser caches, not base64 inside the page; every
    figure but a page's first, and the playground's photo (its filtering runs when the
    photo loads), waits until the reader scrolls near it."""
    open_page(chromium_page, site_url(page + ".html"))
    images = chromium_page.locator("article img").evaluate_all(
        """els => els.map(e => ({src: e.getAttribute('src').slice(0, 40), loading: e.loading,
                    figure: Boolean(e.closest('.cnnbook-figure')),
                    playground: e.classList.contains('cnnbook-playground-photo')}))"""
    )
    inline = [i["src"] for i in images if i["src"].startswith("data:")]
    assert not inline, f"{page}: images inside the HTML: {inline}"
    figures = [i for i in images if i["figure"]]
    eager = [i["src"] for i in figures[1:] if i["loading"] != "lazy"]
    assert not eager, f"{page}: figures below the first that load at once: {eager}"
    assert all(i["loading"] == "lazy" for i in images if i["playground"])


@pytest.mark.parametrize("mode, system", [("light", None), ("dark", None), ("auto", "dark")])
def test_colour_theme_is_settled_before_the_page_draws(mode, system, site_url, phone_page):
    """The page starts in its reader's colour theme: no colour transition of every button,
    frame after frame, while the page loads (a third of a second of a phone's time)."""
    phone_page.add_init_script(f"localStorage.setItem('mode', '{mode}')")
    if system:
        phone_page.emulate_media(color_scheme=system)
    phone_page.goto(site_url(NAVIGATION_PAGE + ".html"), wait_until="domcontentloaded")
    running = phone_page.evaluate(
        """() => document.getAnimations()
            .filter(a => !a.effect.target.closest('.toggle-hidden'))  // a folded solution
            .map(a => `${a.transitionProperty || a.animationName} of ` +
                      `${a.effect.target.tagName}.${a.effect.target.className}`)"""
    )
    assert not running, f"{mode} mode: transitions as the page loads: {running[:5]}"
    assert phone_page.evaluate("document.documentElement.dataset.theme") == (system or mode)


# "a 8", "a 11", "a 18", "a 80": the article before a number read with a vowel sound
A_BEFORE_VOWEL_NUMBER = re.compile(r"\ba (?:8\d*|11|18)(?![\d,])", re.IGNORECASE)
RAW_FLOAT = re.compile(r"\d\.\d{5,}")  # a table cell showing 0.5312874


@pytest.mark.parametrize("page", PAGES)
def test_small_things_of_the_text(page, site_url, chromium_page):
    """The wording points of the site review: "an 8"; sliders said to live in the lab
    (Jupyter, Colab) wherever they are named; the quick-mode box named by its colour; a
    lab links back to its chapter; lab tables without row numbers or raw floats."""
    open_page(chromium_page, site_url(page + ".html"))
    article = chromium_page.locator("article.bd-article")
    text = article.inner_text()
    assert not A_BEFORE_VOWEL_NUMBER.findall(text), A_BEFORE_VOWEL_NUMBER.findall(text)

    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    unplaced = [
        s for s in sentences if "slider" in s.lower() and not re.search(r"\blab\b|Jupyter|Colab", s)
    ]
    if page.startswith("chapters/"):
        assert not unplaced, f"{page} names sliders without saying they live in the lab: {unplaced}"

    banner = chromium_page.locator(".cnnbook-quick-mode").first
    if banner.count() and re.search(r"\b(orange|yellow|red|blue|green) box\b", text):
        named = re.search(r"\b(orange|yellow|red|blue|green) box\b", text)[1]
        red, green, blue = map(
            int, re.findall(r"\d+", banner.evaluate("b => getComputedStyle(b).borderLeftColor"))[:3]
        )
        shown = "orange" if red > 200 and 60 < green < 180 and blue < 80 else "not orange"
        assert named == shown == "orange", f"{page} calls the {shown} quick-mode box {named}"

    if page.startswith("notebooks/"):
        chapter = [p for p in PAGES if lab_of(p) == page]
        links = article.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        for name in chapter:
            assert any(
                (h or "").split("#")[0].endswith(name.split("/")[-1] + ".html") for h in links
            ), f"{page} does not link back to its chapter {name}"
        tables = article.locator(".cell_output table")
        # pandas's own row numbers: an unnamed index 0, 1, 2, ... (an index that names
        # the rows, "shift (pixels)" or "MNIST digit", stays)
        indexes = tables.evaluate_all(
            """ts => ts.filter(t => !t.querySelector('th.index_name'))
                       .map(t => [...t.querySelectorAll('th.row_heading')]
                                 .map(th => th.textContent.trim()))"""
        )
        numbered = [i for i in indexes if i and i == [str(n) for n in range(len(i))]]
        assert not numbered, f"{page}: a table shows the pandas row numbers {numbered}"
        cells = tables.locator("td").evaluate_all("els => els.map(e => e.textContent.trim())")
        raw = [c for c in cells if RAW_FLOAT.fullmatch(c)]
        assert not raw, f"{page}: tables show raw floats {raw[:5]}"


def test_index_page_is_a_page_that_leads_to_the_book(built_book, site_url, chromium_page):
    index = (built_book / "index.html").read_text()
    assert '<html lang="en">' in index and f"<title>{CONFIG['title']}</title>" in index
    assert f'<a href="{PAGES[0]}.html">' in index  # a link, for a browser that does not refresh
    assert '<link rel="icon" href="_static/' in index  # else the browser asks for a 404
    open_page(chromium_page, site_url("index.html"))
    chromium_page.wait_for_url("**/" + PAGES[0] + ".html")


def test_search_finds_a_word_of_the_book(site_url, chromium_page):
    """The search box (Ctrl+K) sends the query to the search page, which finds it."""
    open_page(chromium_page, site_url(NAVIGATION_PAGE + ".html"))
    chromium_page.keyboard.press("Control+k")
    chromium_page.locator("#pst-search-dialog input[name=q]").fill("Sobel")
    chromium_page.keyboard.press("Enter")
    chromium_page.wait_for_url("**/search.html?q=Sobel*")
    chromium_page.wait_for_selector("#search-results li", timeout=15000)
    assert chromium_page.locator("#search-results li").count() >= 1
