"""Shared fixtures and the test tiers: quick mode, the data folder, the built book, Chromium.

Tiers (markers, added here from what a test uses, so no test file has to remember them):

- ``lab``: every cell of every notebook under nbval;
- ``book``: a build of the whole book (``built_book``, ``site_url``);
- ``browser``: headless Chromium (``chromium``, ``chromium_page``);
- ``assignments``: otter-grader builds and grades (tests/test_assignments.py);
- ``colab``: the Colab-parity checks;
- ``slow``: any of these, and other tests that take minutes.

``python -m pytest -m "not slow"`` is the fast tier (the package's unit tests and the
lint checks, about a minute); ``python -m pytest`` runs every tier, as CI does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tools import serve_book  # the static host the site tests use

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ENV = "CNNBOOK_CHROMIUM"
BUILT_HTML_ENV = "CNNBOOK_BUILT_HTML"
# Set by .ci/run after its one book build, which executed every lab top to bottom (a
# failing cell fails that build): nbval then need not execute each lab a second time.
LABS_RAN_ENV = "CNNBOOK_LABS_RAN_IN_BUILD"
BUILD_COMMAND = ["jupyter-book", "build", ".", "-W", "--keep-going"]
SLOW_TIERS = ("lab", "book", "browser", "assignments", "colab", "colab_parity")
TIER_BY_FIXTURE = {
    "built_book": "book",
    "site_url": "book",
    "chromium": "browser",
    "chromium_page": "browser",
    "built": "assignments",  # the assignments built with otter assign
    "graded_class": "assignments",  # tests/test_grading_sandbox.py: a class graded in bwrap
}
TIER_BY_FILE = {"test_assignments.py": "assignments"}
# Tests that execute a whole lab (and then its exercises' solutions) belong to the lab tier.
TIER_BY_TEST = {"test_solutions_run_after_their_lab": "lab"}


def _is_notebook_item(item: pytest.Item) -> bool:
    return item.path.suffix == ".ipynb"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, and every slow tier also ``slow``."""
    labs_ran = os.environ.get(LABS_RAN_ENV, "").strip() == "1"
    kept, skipped = [], []
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        tiers = {TIER_BY_FIXTURE[f] for f in fixtures if f in TIER_BY_FIXTURE}
        if _is_notebook_item(item):
            tiers.add("lab")
        if item.path.name in TIER_BY_FILE:
            tiers.add(TIER_BY_FILE[item.path.name])
        name = getattr(item, "originalname", item.name)
        if name in TIER_BY_TEST:
            tiers.add(TIER_BY_TEST[name])
        for tier in sorted(tiers):
            item.add_marker(tier)
        if tiers or any(item.get_closest_marker(tier) for tier in SLOW_TIERS):
            item.add_marker("slow")
        (skipped if labs_ran and _is_notebook_item(item) else kept).append(item)
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = kept


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
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built HTML book: CNNBOOK_BUILT_HTML if set (.ci/run builds once and sets it),
    else built here once per session, into a temporary folder (never the repo's _build/)."""
    given = os.environ.get(BUILT_HTML_ENV)
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").exists():
            pytest.fail(f"{BUILT_HTML_ENV}={given} holds no index.html")
        return html
    output = tmp_path_factory.mktemp("book")
    command = [*BUILD_COMMAND, "--path-output", str(output)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail("The book does not build:\n" + (result.stdout + result.stderr)[-6000:])
    return output / "_build" / "html"


@pytest.fixture(scope="session")
def site_url(built_book: Path):
    """Map a path inside the built book ('chapters/intro.html') to a loopback URL, served
    as a static host serves it (tools/serve_book.py: text compressed)."""
    server, base = serve_book.start(built_book)
    yield lambda path="index.html": base + path.lstrip("/")
    server.shutdown()
    server.server_close()


def find_chromium() -> Path:
    """The Chromium to drive: $CNNBOOK_CHROMIUM, else the first of CHROMIUM_NAMES on PATH."""
    given = os.environ.get(CHROMIUM_ENV, "").strip()
    if given:
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            pytest.fail(f"{CHROMIUM_ENV}={given} is not an executable file")
        return path
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    pytest.fail(
        f"No Chromium found: none of {', '.join(CHROMIUM_NAMES)} is on PATH. Install one "
        f"(Debian: apt-get install chromium) or set {CHROMIUM_ENV} to its path. Or skip the "
        'browser tier: python -m pytest -m "not browser".'
    )


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium from the PATH, driven by Playwright (no browser download)."""
    executable = find_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable),
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
