"""Plots more than one lab draws: image grids, kernels and feature maps, training curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The book's figure style, set by every lab's setup cell (``cnnbook.announce_mode``): text
# large enough to read where the page shows the figure (``cnnbook.book`` enlarges any
# text that is still too small, and checks it).
BOOK_STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "figure.titlesize": 12,
    "figure.dpi": 110,
    "savefig.dpi": 110,
}


def use_book_style() -> None:
    """Apply the book's figure style to every figure drawn from now on."""
    import matplotlib.style

    matplotlib.style.use(BOOK_STYLE)


def _figure(num_axes: int, cols: int, cell_size: float) -> tuple[Figure, list[Axes]]:
    import matplotlib.pyplot as plt

    cols = max(1, min(cols, num_axes))
    rows = math.ceil(num_axes / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(cell_size * cols, cell_size * rows), squeeze=False
    )
    for ax in axes.flat[num_axes:]:
        ax.set_axis_off()
    return fig, list(axes.flat[:num_axes])


def show_images(
    images: Sequence[ArrayLike],
    titles: Sequence[str] | None = None,
    cols: int = 8,
    cell_size: float = 1.6,
    cmap: str = "gray",
) -> Figure:
    """A grid of images (grey or RGB), each with an optional title. Returns the figure."""
    fig, axes = _figure(len(images), cols, cell_size)
    for index, (ax, image) in enumerate(zip(axes, images, strict=False)):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap=cmap if image.ndim == 2 else None)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(str(titles[index]), fontsize="medium")
    fig.tight_layout()
    return fig


def show_maps(
    maps: Sequence[ArrayLike],
    titles: Sequence[str] | None = None,
    cols: int = 8,
    cell_size: float = 1.6,
    cmap: str = "RdBu_r",
) -> Figure:
    """Kernels or feature maps in a diverging colour map centred at zero."""
    fig, axes = _figure(len(maps), cols, cell_size)
    for index, (ax, values) in enumerate(zip(axes, maps, strict=False)):
        values = np.asarray(values, dtype=float)
        limit = float(np.abs(values).max()) or 1.0
        ax.imshow(values, cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(str(titles[index]), fontsize="medium")
    fig.tight_layout()
    return fig


def plot_history(
    history: dict[str, Sequence[float]], metric: str = "accuracy", title: str | None = None
) -> Figure:
    """Training and validation curves of one metric per epoch, from ``History.history``."""
    import matplotlib.pyplot as plt

    if metric not in history:
        raise ValueError(f"metric {metric!r} not in the history; it has {sorted(history)}")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    epochs = np.arange(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], "o-", label=f"training {metric}")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], "s--", label=f"validation {metric}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_xticks(epochs)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def draw_number_grid(
    ax: Axes,
    values: ArrayLike,
    title: str | None = None,
    highlights: Sequence[tuple[int, int, int, int]] = (),
    colors: Sequence[str] = ("tab:orange", "tab:blue", "tab:green", "tab:red"),
    shaded: ArrayLike | None = None,
    number_format: str = "{:g}",
    fontsize: float = 11,
) -> Axes:
    """Draw a small 2-D array as a grid of its numbers, for examples worked by hand.

    ``highlights`` are rectangles ``(row, col, height, width)`` outlined and tinted in
    ``colors`` (in turn); ``shaded`` is an optional boolean mask of cells drawn grey
    (padding, say). Cell (row, col) is centred at x=col, y=row, so a caller can draw
    over it. Returns ``ax``.
    """
    from matplotlib.patches import Rectangle

    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"draw_number_grid needs a 2-D array, got shape {values.shape}")
    rows, cols = values.shape
    shaded = np.zeros(values.shape, bool) if shaded is None else np.asarray(shaded, bool)
    if shaded.shape != values.shape:
        raise ValueError(f"shaded has shape {shaded.shape}, values {values.shape}: make them equal")
    for row in range(rows):
        for col in range(cols):
            face = "0.88" if shaded[row, col] else "white"
            ax.add_patch(
                Rectangle(
                    (col - 0.5, row - 0.5), 1, 1, facecolor=face, edgecolor="0.6", linewidth=0.8
                )
            )
            ax.text(
                col,
                row,
                number_format.format(values[row, col]),
                ha="center",
                va="center",
                fontsize=fontsize,
                color="0.45" if shaded[row, col] else "black",
            )
    for index, (row, col, height, width) in enumerate(highlights):
        color = colors[index % len(colors)]
        ax.add_patch(
            Rectangle(
                (col - 0.5, row - 0.5), width, height, facecolor=color, alpha=0.18, edgecolor="none"
            )
        )
        ax.add_patch(
            Rectangle(
                (col - 0.5, row - 0.5),
                width,
                height,
                facecolor="none",
                edgecolor=color,
                linewidth=2.5,
            )
        )
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=fontsize)
    return ax


def plot_confusion_matrix(
    matrix: ArrayLike,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    cell_size: float = 0.5,
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted class) with its counts.

    The colours are on a log scale, so the few mistakes off the diagonal show beside the
    thousands of right answers on it; empty cells stay white. Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix is square; got shape {matrix.shape}")
    if np.any(matrix < 0):
        raise ValueError("a confusion matrix holds counts; it has negative values")
    size = matrix.shape[0]
    names = [str(n) for n in (class_names if class_names is not None else range(size))]
    if len(names) != size:
        raise ValueError(f"{len(names)} class names for a {size}x{size} matrix")
    side = max(3.0, cell_size * size + 1.5)
    fig, ax = plt.subplots(figsize=(side, side))
    shown = np.ma.masked_equal(matrix, 0)
    ax.imshow(shown, cmap="Blues", norm=LogNorm(vmin=1, vmax=max(int(matrix.max()), 2)))
    threshold = np.sqrt(max(int(matrix.max()), 1))  # the middle of the log scale
    for row in range(size):
        for col in range(size):
            if matrix[row, col]:
                colour = "white" if matrix[row, col] > threshold else "black"
                ax.text(
                    col,
                    row,
                    str(matrix[row, col]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=colour,
                )
    ax.set_xticks(range(size), names)
    ax.set_yticks(range(size), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def show_panels(
    panels: Sequence[tuple[ArrayLike, str, str]], cols: int | None = None, cell_size: float = 3.0
) -> Figure:
    """Panels of ``(array, title, style)`` side by side, in rows of ``cols`` (default: one row).

    ``style`` is ``"grey"`` (an image in [0, 1]), ``"signed"`` (a feature map in a diverging
    colour map centred at zero, one scale for all signed panels, saturating at the 99.5th
    percentile of their absolute values, so that a few extreme pixels do not wash out the
    rest) or ``"size"`` (a magnitude: black at 0, white from its 99.5th percentile up).
    Returns the figure.
    """
    import matplotlib.pyplot as plt

    styles = ("grey", "signed", "size")
    for _, _, style in panels:
        if style not in styles:
            raise ValueError(f"style must be one of {styles}, not {style!r}")
    if not panels:
        raise ValueError("show_panels needs at least one (array, title, style) panel")
    cols = cols or len(panels)
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(cell_size * cols, cell_size * 0.75 * rows), squeeze=False
    )
    signed = [np.abs(np.asarray(a, float)).ravel() for a, _, style in panels if style == "signed"]
    limit = float(np.quantile(np.concatenate(signed), 0.995)) if signed else 1.0
    for ax, (values, title, style) in zip(axes.flat, panels, strict=False):  # spare axes
        if style == "grey":
            ax.imshow(values, cmap="gray", vmin=0, vmax=1)
        elif style == "signed":
            ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        else:
            ax.imshow(
                values, cmap="gray", vmin=0, vmax=float(np.quantile(np.asarray(values), 0.995))
            )
        ax.set_title(title, fontsize=13)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def draw_convolution_step(
    axes: Sequence[Axes], image: ArrayLike, kernel: ArrayLike, row: int, col: int
) -> None:
    """One row of the by-hand figure: the tile in the image, the kernel, their products
    and the output filled in up to ``(row, col)``, on four ``axes`` ('valid', stride 1)."""
    image, kernel = np.asarray(image), np.asarray(kernel)
    kh, kw = kernel.shape
    tile = image[row : row + kh, col : col + kw]
    out_h, out_w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    output = np.full((out_h, out_w), "", dtype=object)
    for r in range(out_h):
        for c in range(out_w):
            if (r, c) <= (row, col):  # filled in so far, in reading order
                output[r, c] = str(int(np.sum(image[r : r + kh, c : c + kw] * kernel)))
    draw_number_grid(
        axes[0], image, title=f"image: tile at ({row}, {col})", highlights=[(row, col, kh, kw)]
    )
    draw_number_grid(axes[1], kernel, title="× kernel")
    draw_number_grid(
        axes[2],
        tile * kernel,
        title=f"= products, sum {int(np.sum(tile * kernel))}",
        highlights=[(0, 0, kh, kw)],
    )
    draw_number_grid(
        axes[3],
        output,
        number_format="{}",
        title="→ output (feature map)",
        highlights=[(row, col, 1, 1)],
    )


def draw_window_positions(
    ax: Axes, values: ArrayLike, kernel_size: int, stride: int, padding: str, title: str
) -> None:
    """The (padded) input, its first window, and a dot at the centre of every window."""
    from cnnbook.ops import output_size, same_padding

    values = np.asarray(values)
    n_rows, n_cols = values.shape
    if padding == "same":
        (top, bottom), (left, right) = (
            same_padding(n_rows, kernel_size, stride),
            same_padding(n_cols, kernel_size, stride),
        )
    else:
        top = bottom = left = right = 0
    is_padding = np.pad(
        np.zeros(values.shape, bool), ((top, bottom), (left, right)), constant_values=True
    )
    labels = np.where(is_padding, "0", "")  # write the zeros of the padding, nothing else
    draw_number_grid(
        ax,
        labels,
        shaded=is_padding,
        number_format="{}",
        highlights=[(0, 0, kernel_size, kernel_size)],
        fontsize=9,
    )
    out_rows = output_size(n_rows, kernel_size, stride, padding)
    out_cols = output_size(n_cols, kernel_size, stride, padding)
    centre = (kernel_size - 1) / 2
    ys, xs = np.meshgrid(
        np.arange(out_rows) * stride + centre, np.arange(out_cols) * stride + centre, indexing="ij"
    )
    ax.plot(xs.ravel(), ys.ravel(), "o", color="tab:blue", markersize=7, alpha=0.8)
    ax.set_title(f"{title}\n{n_rows}x{n_cols} in, {out_rows}x{out_cols} out", fontsize=10)


def draw_filter_block(
    kernels: ArrayLike, filter_index: int = 0, title: str | None = None
) -> Figure:
    """One filter of a ``(height, width, depth, filters)`` weight tensor as a 3-D block of
    cubes, one per weight, coloured by sign (red positive, blue negative). Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    kernels = np.asarray(kernels, dtype=float)
    if kernels.ndim != 4:
        raise ValueError(
            f"a weight tensor has shape (height, width, depth, filters); got {kernels.shape}"
        )
    block = kernels[:, :, :, filter_index]
    height, width, depth = block.shape
    limit = float(np.abs(block).max()) or 1.0
    # voxel axes: x = kernel column, y = input channel (depth), z = kernel row (top up)
    filled = np.ones((width, depth, height), bool)
    colours = np.empty(filled.shape + (4,))
    cmap = colormaps["RdBu_r"]
    for row in range(height):
        for col in range(width):
            for channel in range(depth):
                value = block[row, col, channel] / limit
                colours[col, channel, height - 1 - row] = cmap(0.5 + 0.5 * value)
    fig = plt.figure(figsize=(4.6, 4.4))
    ax = fig.add_subplot(projection="3d")
    ax.voxels(filled, facecolors=colours, edgecolor="0.3", linewidth=0.5)
    ax.set_xlabel("kernel width")
    ax.set_ylabel("input channel")
    ax.set_zlabel("kernel height")
    ax.set_xticks(np.arange(width) + 0.5, range(width))
    ax.set_yticks(np.arange(depth) + 0.5, range(depth))
    ax.set_zticks(np.arange(height) + 0.5, range(height)[::-1])
    ax.set_box_aspect((width, depth, height))
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
