"""Shared fixtures: quick mode, the data folder, the built book and a headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import serve_book  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
BUILD_COMMAND = ["jupyter-book", "build", ".", "-W", "--keep-going"]

# The tests run the book in quick mode unless told otherwise; the variable reaches the
# notebook kernels that nbval and the build start.
os.environ.setdefault("CNNBOOK_QUICK", "1")
# Kernels start in the notebook's folder: hand them CNNBOOK_DATA as an absolute path.
if os.environ.get("CNNBOOK_DATA"):
    os.environ["CNNBOOK_DATA"] = str(Path(os.environ["CNNBOOK_DATA"]).resolve())


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The offline data folder named by CNNBOOK_DATA (skips if unset)."""
    value = os.environ.get("CNNBOOK_DATA")
    if not value:
        pytest.skip("CNNBOOK_DATA is not set: point it at a folder laid out like shared/data")
    return Path(value).resolve()


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The built HTML book: CNNBOOK_BUILT_HTML if set, else built here once, as the README says."""
    given = os.environ.get("CNNBOOK_BUILT_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").exists():
            pytest.fail(f"CNNBOOK_BUILT_HTML={given} holds no index.html")
        return html
    result = subprocess.run(BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail("The book does not build:\n" + (result.stdout + result.stderr)[-6000:])
    return ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def site_url(built_book: Path):
    """Map a path inside the built book ('chapters/intro.html') to a loopback URL, served
    as a static host serves it (tools/serve_book.py: text compressed)."""
    server, base = serve_book.start(built_book)
    yield lambda path="index.html": base + path.lstrip("/")
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # a common phone's CSS pixels


def _watched_page(chromium, viewport: dict, **options):
    """A fresh page in its own context, and the list its JavaScript and console errors
    (a failed request, an exception, a theme complaining) are collected in."""
    context = chromium.new_context(viewport=viewport, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    return context, page, errors


@pytest.fixture
def chromium_page(chromium):
    """A fresh desktop-sized page; fails the test on any JavaScript or console error."""
    context, page, errors = _watched_page(chromium, DESKTOP)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def phone_page(chromium):
    """A fresh phone-sized page (touch, 390 CSS px wide); fails on any JavaScript error."""
    context, page, errors = _watched_page(
        chromium, PHONE, is_mobile=True, has_touch=True, device_scale_factor=3
    )
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
