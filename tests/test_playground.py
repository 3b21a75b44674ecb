"""The kernel playground in headless Chromium: live, and equal to cnnbook.ops.conv2d.

The first tests load the playground snippet on a blank page (fast, no book needed); the
ones marked slow open the built book, where the playground is glued into the chapter and
shown in the lab, and check it still runs there with nothing fetched from outside.
"""

from __future__ import annotations

from urllib.parse import urlparse

import numpy as np
import pytest

from cnnbook import kernels, widgets
from cnnbook.data import load_kittens
from cnnbook.ops import conv2d

PLAYGROUND = ".cnnbook-playground"
READY = '.cnnbook-playground[data-cnnbook-ready="yes"]'
CHAPTER = "chapters/edge_filters.html"
LAB = "notebooks/02_edge_filters.html"

READ_OUTPUT = """(root) => {
  const canvas = root.querySelector("canvas.cnnbook-playground-output");
  const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const grey = new Array(canvas.width * canvas.height);
  for (let p = 0; p < grey.length; p++) grey[p] = rgba[4 * p];
  return {width: canvas.width, height: canvas.height, grey: grey};
}"""


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_kittens()


def output_pixels(root) -> np.ndarray:
    """The grey levels (0..255) of the playground's output canvas, as a 2-D array."""
    shown = root.evaluate(READ_OUTPUT)
    return np.array(shown["grey"], dtype=np.int32).reshape(shown["height"], shown["width"])


def python_pixels(photo, kernel) -> np.ndarray:
    """What the playground must show: conv2d with "same" padding, |.| clipped, as bytes.

    In float64 from the photo's bytes, as JavaScript computes: blurs often land exactly
    half-way between two grey levels (a sum of k/16 of whole levels), where float32
    rounding may tip the other way.
    """
    kernel = np.asarray(kernel, dtype=np.float32).astype(np.float64)  # the same weights
    image = np.round(np.asarray(photo, dtype=np.float64) * 255) / 255  # byte / 255, as JS
    return widgets.to_display_bytes(conv2d(image, kernel, padding="same")).astype(np.int32)


def assert_same_picture(shown, expected):
    """Equal up to float rounding: a grey level or so, at a rare pixel."""
    assert shown.shape == expected.shape
    difference = np.abs(shown - expected)
    assert difference.max() <= 1, f"browser and conv2d differ by up to {difference.max()} levels"
    assert (difference > 0).mean() < 1e-3, f"{(difference > 0).mean():.2%} of pixels differ"


def redraws(root) -> int:
    return int(root.get_attribute("data-redraws"))


def press_preset(root, name: str) -> None:
    before = redraws(root)
    root.locator(f'button[data-preset="{name}"]').click()
    assert redraws(root) == before + 1
    assert root.get_attribute("data-preset") == name


def type_weight(root, row: int, col: int, value: str) -> None:
    before = redraws(root)
    root.locator(f'input[data-row="{row}"][data-col="{col}"]').fill(value)
    assert redraws(root) == before + 1


def open_snippet(page, *snippets: str) -> list:
    page.set_content("<!doctype html><html><body>" + "".join(snippets) + "</body></html>")
    roots = page.locator(PLAYGROUND).all()
    assert len(roots) == len(snippets)
    for root in roots:
        bring_into_view(page, root)
    return roots


def bring_into_view(page, root) -> None:
    """Scroll to a playground and wait until it is ready: its photo loads lazily, when the
    reader comes near, and the playground filters it then."""
    root.scroll_into_view_if_needed()
    page.wait_for_selector(f'#{root.get_attribute("id")}[data-cnnbook-ready="yes"]')


def exercise_playground(root, photo) -> None:
    """Start, presets, a typed weight: each picture equal to conv2d's."""
    start = output_pixels(root)
    assert_same_picture(start, python_pixels(photo, kernels.VERTICAL_EDGE))
    press_preset(root, "identity")  # the photo itself, exactly: the PNG decodes losslessly
    np.testing.assert_array_equal(output_pixels(root), np.round(photo * 255).astype(np.int32))
    for name in ("Sobel x", "Gaussian blur", "sharpen"):
        press_preset(root, name)
        assert_same_picture(output_pixels(root), python_pixels(photo, kernels.PRESETS[name]))
    press_preset(root, "vertical edges")
    type_weight(root, 1, 1, "2")  # the centre weight: flat areas light up
    typed = kernels.get_kernel("vertical edges")
    typed[1, 1] = 2
    shown = output_pixels(root)
    assert np.abs(shown - start).mean() > 20, "typing a weight did not change the picture"
    assert_same_picture(shown, python_pixels(photo, typed))
    assert root.get_attribute("data-preset") is None  # no preset button is pressed now
    sum_line = root.locator(".cnnbook-playground-sum")
    assert "Sum of the weights: 2" in sum_line.inner_text()
    assert sum_line.get_attribute("aria-live") == "polite"  # a screen reader reads it out


# --------------------------------------------------------------------------- the snippet
def test_playground_is_live_and_agrees_with_conv2d(chromium_page, photo):
    (root,) = open_snippet(chromium_page, widgets.kernel_playground(photo).data)
    assert root.locator(".cnnbook-playground-nojs").count() == 0  # the script ran
    assert root.locator("button[data-preset]").all_inner_texts() == list(kernels.PRESETS)
    exercise_playground(root, photo)


def test_a_half_typed_weight_waits_for_a_number(chromium_page, photo):
    (root,) = open_snippet(chromium_page, widgets.kernel_playground(photo).data)
    before = output_pixels(root)
    box = root.locator('input[data-row="0"][data-col="0"]')
    box.fill("")  # the reader deleted the weight and has not typed the new one yet
    assert "cnnbook-playground-invalid" in box.get_attribute("class")
    np.testing.assert_array_equal(output_pixels(root), before)
    box.fill("-1")
    assert "cnnbook-playground-invalid" not in box.get_attribute("class")
    kernel = kernels.get_kernel("vertical edges")
    kernel[0, 0] = -1
    assert_same_picture(output_pixels(root), python_pixels(photo, kernel))


def test_two_playgrounds_on_one_page_work_independently(chromium_page, photo):
    small = photo[:60, :90]
    first, second = open_snippet(
        chromium_page,
        widgets.kernel_playground(photo, preset="Sobel y").data,
        widgets.kernel_playground(small, preset="box blur").data,
    )
    assert_same_picture(output_pixels(first), python_pixels(photo, kernels.SOBEL_Y))
    assert_same_picture(output_pixels(second), python_pixels(small, kernels.BOX_BLUR))
    press_preset(second, "horizontal edges")
    assert_same_picture(output_pixels(second), python_pixels(small, kernels.HORIZONTAL_EDGE))
    assert_same_picture(output_pixels(first), python_pixels(photo, kernels.SOBEL_Y))
    assert first.get_attribute("data-preset") == "Sobel y"


# How notebook front ends put an HTML output on the page. A script set with innerHTML never
# runs, so JupyterLab (and Notebook 7, VS Code) re-create each <script> node; older
# front ends (jQuery's .html()) evaluate the script text before the output is attached.
INSERT_LIKE_JUPYTERLAB = """(html) => {
  const host = document.createElement("div");
  host.innerHTML = html;
  document.body.appendChild(host);
  for (const old of Array.from(host.getElementsByTagName("script"))) {
    const fresh = document.createElement("script");
    for (const attribute of Array.from(old.attributes)) {
      fresh.setAttribute(attribute.name, attribute.value);
    }
    fresh.textContent = old.textContent;
    old.parentNode.replaceChild(fresh, old);
  }
}"""
INSERT_DETACHED_THEN_ATTACH = """(html) => {
  const host = document.createElement("div");
  host.innerHTML = html;
  for (const script of Array.from(host.querySelectorAll("script:not([type])"))) {
    (0, eval)(script.textContent);  // runs while the output is not on the page yet
  }
  setTimeout(() => document.body.appendChild(host), 300);
}"""


@pytest.mark.parametrize(
    "insert", [INSERT_LIKE_JUPYTERLAB, INSERT_DETACHED_THEN_ATTACH], ids=["jupyterlab", "detached"]
)
def test_playground_starts_as_a_notebook_output(chromium_page, photo, insert):
    chromium_page.set_content("<!doctype html><html><body><p>notebook</p></body></html>")
    chromium_page.evaluate(insert, widgets.kernel_playground(photo, preset="sharpen").data)
    chromium_page.wait_for_selector(READY, timeout=10_000)
    (root,) = chromium_page.locator(PLAYGROUND).all()
    assert_same_picture(output_pixels(root), python_pixels(photo, kernels.SHARPEN))
    press_preset(root, "horizontal edges")
    assert_same_picture(output_pixels(root), python_pixels(photo, kernels.HORIZONTAL_EDGE))


# --------------------------------------------------------------------------- the built book
def open_built_page(page, url: str):
    """Open a page of the built book; fail if it asks any host but the book's for anything."""
    book_host = urlparse(url).netloc
    foreign: list[str] = []

    def note(request):
        parsed = urlparse(request.url)
        if parsed.scheme not in ("data", "blob") and parsed.netloc != book_host:
            foreign.append(request.url)

    page.on("request", note)
    page.goto(url)
    bring_into_view(page, page.locator(PLAYGROUND).first)
    page.wait_for_load_state("networkidle")
    assert not foreign, f"the page fetched from outside the book: {foreign}"
    return page.locator(READY)


@pytest.mark.slow
def test_chapter_playground_is_live_in_the_built_book(chromium_page, site_url, photo):
    root = open_built_page(chromium_page, site_url(CHAPTER))
    assert root.count() == 1, "the chapter should paste exactly one playground"
    exercise_playground(root, photo)
    # In the theme's dark mode the input photo is not dimmed unlike the output canvas.
    chromium_page.evaluate("document.documentElement.dataset.theme = 'dark'")
    photo_filter = root.locator("img.cnnbook-playground-photo").evaluate(
        "(img) => getComputedStyle(img).filter"
    )
    assert photo_filter == "none"


@pytest.mark.slow
def test_lab_page_shows_the_playground_but_no_dead_sliders(chromium_page, site_url, photo):
    root = open_built_page(chromium_page, site_url(LAB))
    assert root.count() == 1
    press_preset(root, "Sobel x")
    assert_same_picture(output_pixels(root), python_pixels(photo, kernels.SOBEL_X))
    # The ipywidgets cell keeps its code but not its output: no Python runs behind a page.
    article = chromium_page.locator("article").inner_text()
    assert "widgets.kernel_sliders(photo" in article
    assert "FloatSlider" not in article and "VBox(" not in article
    assert "application/vnd.jupyter.widget-view+json" not in chromium_page.content()
