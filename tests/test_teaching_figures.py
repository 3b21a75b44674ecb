"""The presentation helpers the labs call instead of carrying them: panels, the by-hand
figures, a filter drawn as a block, and the HTML table."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnbook import book, plots


def test_show_panels_shares_one_scale_for_signed_maps_and_rejects_unknown_styles():
    rng = np.random.default_rng(0)
    panels = [
        (rng.random((8, 8)), "grey", "grey"),
        (rng.normal(size=(8, 8)), "a", "signed"),
        (10 * rng.normal(size=(8, 8)), "b", "signed"),
        (rng.random((8, 8)), "c", "size"),
    ]
    fig = plots.show_panels(panels, cols=2)
    limits = [ax.images[0].get_clim() for ax in fig.axes[1:3]]
    assert limits[0] == limits[1] and limits[0][0] == -limits[0][1]
    assert len(fig.axes) == 4
    plt.close(fig)
    with pytest.raises(ValueError, match="style"):
        plots.show_panels([(np.zeros((2, 2)), "x", "colour")])
    with pytest.raises(ValueError, match="at least one"):
        plots.show_panels([])


def test_draw_convolution_step_fills_the_output_in_reading_order():
    image = np.arange(25).reshape(5, 5)
    kernel = np.ones((3, 3), int)
    fig, axes = plt.subplots(1, 4)
    plots.draw_convolution_step(axes, image, kernel, 0, 1)
    written = [text.get_text() for text in axes[3].texts]
    sums = [str(int(image[0:3, c : c + 3].sum())) for c in (0, 1)]
    assert [t for t in written if t] == sums  # (0, 0) and (0, 1) so far, nothing else
    plt.close(fig)


def test_draw_window_positions_marks_one_dot_per_output():
    fig, ax = plt.subplots()
    plots.draw_window_positions(ax, np.zeros((6, 6)), 3, 2, "same", "t")
    xs = ax.lines[-1].get_xdata()
    assert len(xs) == 9  # ceil(6 / 2) squared
    plt.close(fig)


def test_draw_filter_block_draws_one_cube_per_weight():
    weights = np.random.default_rng(1).normal(size=(3, 3, 3, 4))
    fig = plots.draw_filter_block(weights, filter_index=2, title="filter 2")
    ax = fig.axes[0]
    assert ax.name == "3d"
    assert ax.get_title() == "filter 2"
    plt.close(fig)
    with pytest.raises(ValueError, match="height, width, depth, filters"):
        plots.draw_filter_block(weights[..., 0])


def test_styled_table_takes_rows_escapes_text_and_formats_numbers():
    table = book.styled_table(
        [
            {"layer": "<conv>", "parameters": 18496, "ok": True, "<b>": (3, 3)},
            {"layer": "dense", "parameters": 11530, "ok": False, "<b>": 0.1234},
        ]
    )
    html = table.to_html()
    assert "&lt;conv&gt;" in html and "<conv>" not in html
    assert "&lt;b&gt;" in html and "<b>" not in html  # column names are escaped too
    assert "18,496" in html and "11,530" in html and "0.123" in html
    assert re.search(r">True</td>", html)  # a bool is not a number
    assert "row_heading" not in html  # no row numbers
    with pytest.raises(ValueError, match="at least one row"):
        book.styled_table([])
