"""The built book as a reader sees it, in headless Chromium."""

from __future__ import annotations

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
