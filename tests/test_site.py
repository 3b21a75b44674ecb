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

    # maths rendered by the book's own MathJax
    if article.locator(".math").count():
        chromium_page.wait_for_selector("mjx-container", timeout=15000)

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
    assert len(links) >= len(PAGES) - 1, "the drawer does not show the book's pages"
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
        "() => !document.querySelector('#pst-primary-sidebar').checkVisibility()"
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
    plain = chromium_page.locator("article .cell_output img").evaluate_all(
        "els => els.filter(e => !e.closest('.cnnbook-figure')).map(e => e.alt)"
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


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("page", PAGES)
def test_axe_finds_no_serious_violation(page, mode, site_url, chromium_page):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (axe-core is pinned in package.json)")
    chromium_page.add_init_script(f"localStorage.setItem('mode', '{mode}')")
    open_page(chromium_page, site_url(page + ".html"))
    assert chromium_page.evaluate("document.documentElement.dataset.theme") == mode
    load_lazy_images(chromium_page)
    chromium_page.add_script_tag(path=str(AXE))
    violations = chromium_page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => ({rule: v.id, impact: v.impact, help: v.help,
                        where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    assert not violations, f"{page} ({mode}): " + json.dumps(violations, indent=1)
