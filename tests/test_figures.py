"""How the package puts figures and tables on the page: legible, described, light."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cnnbook import book, plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def attributes(figure) -> dict:
    html = figure.data
    text_px = re.search(r'data-min-text-px="([\d.]+)"', html)  # none in a figure without text
    return {
        "format": re.search(r"data:image/(\w+);base64", html).group(1),
        "width": int(re.search(r' width="(\d+)"', html).group(1)),
        "text_px": float(text_px.group(1)) if text_px else None,
        "min_width": int(re.search(r"min-width:(\d+)px", html).group(1)),
        "alt": re.search(r' alt="([^"]*)"', html).group(1),
        "bytes": len(base64.b64decode(re.search(r"base64,([^\"]+)", html).group(1))),
    }


def wide_figure_with_small_text():
    fig, axes = plt.subplots(1, 4, figsize=(11, 2.5))
    for ax in axes:
        ax.plot([1, 2, 3], [2, 1, 3])
        ax.set_title("a title", fontsize=6)
        ax.tick_params(labelsize=5)
    fig.tight_layout()
    return fig


def test_small_text_is_enlarged_until_it_reads_at_10_px_in_the_column():
    figure = attributes(book.figure_html(wide_figure_with_small_text(), "cap", "four plots"))
    shown = figure["text_px"] * min(1, book.CONTENT_WIDTH_PX / figure["width"])
    assert shown >= book.MIN_TEXT_PX - 0.05
    # on a phone the figure keeps the width at which that text is still 10 px
    assert figure["min_width"] * figure["text_px"] / figure["width"] >= book.MIN_TEXT_PX - 0.05
    assert figure["min_width"] <= figure["width"]


def test_text_already_large_enough_is_left_alone():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_title("big", fontsize=14)
    ax.set_axis_off()  # hidden tick labels do not count
    book.make_legible(fig)
    assert [t.get_fontsize() for t in book.visible_texts(fig)] == [14]


def test_a_figure_needs_alt_text():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="alt text"):
        book.figure_html(fig, "caption", alt=" ")


def test_alt_text_and_caption_are_escaped():
    fig, ax = plt.subplots()
    html = book.figure_html(fig, "a < b", 'say "hi"').data
    assert 'alt="say &quot;hi&quot;"' in html and "<figcaption>a &lt; b</figcaption>" in html


def test_photos_are_webp_and_line_art_is_png():
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.imshow(rng.random((200, 300)), cmap="gray")
    ax.set_axis_off()
    photo = attributes(book.figure_html(fig, "", "noise"))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(10), rng.random(10), "o-")
    line = attributes(book.figure_html(fig, "", "a line"))
    assert (photo["format"], line["format"]) == ("webp", "png")
    with pytest.raises(ValueError, match="kind"):
        book.encode_figure(fig, kind="jpeg")


def test_book_style_sets_readable_sizes():
    plots.use_book_style()
    assert min(matplotlib.rcParams[k] for k in ("xtick.labelsize", "legend.fontsize")) >= 10


def test_book_style_applies_in_a_fresh_interpreter():
    """As in a lab's setup cell: nothing of matplotlib imported before."""
    code = "import cnnbook.plots, matplotlib; cnnbook.plots.use_book_style(); "
    code += "print(matplotlib.rcParams['figure.dpi'])"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert float(shown.stdout) == plots.BOOK_STYLE["figure.dpi"]


def test_tables_drop_row_numbers_and_format_numbers():
    frame = pd.DataFrame({"parameters": [6850592, 320], "time (ms)": [0.5312, 13.83]})
    html = book.styled_table(frame.sort_values("time (ms)")).to_html()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["6,850,592", "0.531", "320", "13.8"]
    assert "row_heading" not in html  # no 0, 1 down the left
    named = pd.DataFrame({"x": [1.0]}, index=pd.Index(["kittens"], name="photo"))
    assert "kittens" in book.styled_table(named, {"x": "{:.0f}"}).to_html()
