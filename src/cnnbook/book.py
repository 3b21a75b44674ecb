"""Glue for the book: numbers and figures computed in a lab, shown in a chapter.

``glue`` stores a value in the notebook so the chapters can paste it with
``{glue:text}`../notebooks/NAME.ipynb::key``` and never type a number by hand.
When myst-nb is not installed (on Colab, say) it simply displays the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cnnbook.config import quick_mode

if TYPE_CHECKING:
    import datetime

    import pandas as pd
    from IPython.display import HTML
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend
    from matplotlib.text import Text
    from pandas.io.formats.style import Styler

MODE_BANNER_KEY = "quick_mode_banner"
QUICK_MODE_TEXT = (
    "This page ran in <b>quick mode</b> (<code>CNNBOOK_QUICK=1</code>): epochs and "
    "sample sizes were shrunk so that it runs in seconds. Its numbers and plots show "
    "that the code works, not what the models can do. Run it without "
    "<code>CNNBOOK_QUICK</code> for the real results."
)


def mode_banner() -> HTML | None:
    """An HTML note saying the page ran in quick mode, or ``None`` in full mode.

    Notebooks display it in their setup cell; chapters glue it, so a reader never
    mistakes quick-mode numbers for real ones.
    """
    from IPython.display import HTML

    if not quick_mode():
        return None
    return HTML(
        '<div class="admonition warning cnnbook-quick-mode">'
        '<p class="admonition-title">Quick mode</p>'
        f"<p>{QUICK_MODE_TEXT}</p></div>"
    )


def glue(name: str, value: Any, display: bool = True) -> None:
    """``myst_nb.glue`` where myst-nb is installed; a plain display elsewhere."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def announce_mode() -> None:
    """Set the page up: the book's figure style, and the quick-mode banner.

    Every lab's setup cell calls this. In quick mode the notebook shows the banner,
    and its chapter pastes it (key ``quick_mode_banner``) so that a chapter whose
    numbers came from a quick-mode run says so too. In full mode both are empty.
    """
    from IPython.display import HTML, display

    from cnnbook.plots import use_book_style

    use_book_style()
    banner = mode_banner()
    if banner is not None:
        display(banner)
    glue(MODE_BANNER_KEY, banner or HTML("<span></span>"), display=False)


# How figures reach the page. Text in a figure must read at MIN_TEXT_PX or more where the
# page shows it: at most CONTENT_WIDTH_PX wide (in a 1280 px window the column is 672 px
# in a chapter, 656 px in a lab's output), and on a phone the figure keeps the width at
# which its text stays that large and scrolls sideways.
FIGURE_DPI = 110
MIN_TEXT_PX = 10
CONTENT_WIDTH_PX = 640
# Line art is mostly flat: most pixels equal their right-hand neighbour. A figure with
# fewer such pixels than this is photo-like (photos, feature maps of photos): lossy WebP.
LINE_ART_FLAT_SHARE = 0.7
WEBP_QUALITY = 80


def visible_texts(fig: Figure) -> list[Text]:
    """Every text ``fig`` draws: titles, labels, tick labels, legends, annotations.

    Texts of hidden axes, and the tick labels of axes drawn without axes
    (``set_axis_off``), are left out: they exist but never show."""
    fig.draw_without_rendering()  # tick labels are settled at draw time
    texts: list[Text | None] = list(fig.texts)
    texts += [getattr(fig, name, None) for name in ("_suptitle", "_supxlabel", "_supylabel")]
    legends: list[Legend | None] = list(fig.legends)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, *ax.texts]
        texts += [getattr(ax, name, None) for name in ("_left_title", "_right_title")]
        legends.append(ax.get_legend())
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                if axis.get_visible():
                    texts += [axis.label, axis.get_offset_text()]
                    texts += axis.get_ticklabels(which="both")
    for legend in legends:
        if legend is not None and legend.get_visible():
            texts += [*legend.get_texts(), legend.get_title()]
    return [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]


def font_size_pt(text: Text) -> float:
    """The size of ``text`` in points (``Text.get_fontsize``, typed as the number it is)."""
    return text.get_fontproperties().get_size_in_points()


def smallest_text_pt(fig: Figure) -> float | None:
    """The smallest font size (points) of any visible text in ``fig``; None if it has none."""
    sizes = [font_size_pt(t) for t in visible_texts(fig)]
    return min(sizes) if sizes else None


def saved_width_px(fig: Figure, dpi: int = FIGURE_DPI) -> float:
    """The width of ``fig`` saved with ``bbox_inches="tight"``: its drawn contents plus the
    padding, which may be wider or narrower than its ``figsize``."""
    import matplotlib as mpl

    fig.draw_without_rendering()
    return (fig.get_tightbbox().width + 2 * mpl.rcParams["savefig.pad_inches"]) * dpi


def legible_size_pt(fig: Figure, dpi: int = FIGURE_DPI) -> float:
    """The smallest font size (points) that shows at MIN_TEXT_PX with ``fig`` at most
    CONTENT_WIDTH_PX wide (a figure wider than that is scaled down on the page)."""
    shrink = min(1.0, CONTENT_WIDTH_PX / saved_width_px(fig, dpi))
    return MIN_TEXT_PX * 72 / (dpi * shrink)


def make_legible(fig: Figure, dpi: int = FIGURE_DPI) -> int:
    """Enlarge any text of ``fig`` too small to read on the page; return how many.

    The figure is laid out again (``tight_layout``) when something changed and it has
    no layout engine of its own; larger text can widen it, so this repeats until every
    text is large enough."""
    import warnings

    enlarged = 0
    for _ in range(5):
        least = legible_size_pt(fig, dpi)
        small = [t for t in visible_texts(fig) if font_size_pt(t) < least - 1e-6]
        if not small:
            break
        for text in small:
            text.set_fontsize(least * 1.01)
        enlarged += len(small)
        if fig.get_layout_engine() is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "not applied" for odd layouts: keep theirs
                fig.tight_layout()
    return enlarged


def encode_figure(
    fig: Figure, dpi: int = FIGURE_DPI, kind: str | None = None
) -> tuple[str, bytes, int, int]:
    """``fig`` as image bytes: ``(format, data, width, height)``.

    PNG for line art (exact, small for flat colours), lossy WebP for photo-like figures
    (few flat areas), unless ``kind`` says "photo" or "line"."""
    import io

    import numpy as np
    from PIL import Image

    if kind not in (None, "photo", "line"):
        raise ValueError(f'kind must be "photo", "line" or None (decide), not {kind!r}')
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    if kind is None:
        pixels = np.asarray(image, dtype=np.int16)
        flat_share = float((np.diff(pixels, axis=1) == 0).all(axis=-1).mean())
        kind = "line" if flat_share >= LINE_ART_FLAT_SHARE else "photo"
    out = io.BytesIO()
    if kind == "photo":
        image.save(out, format="webp", quality=WEBP_QUALITY, method=6)
        fmt = "webp"
    else:
        colours = image.getcolors(maxcolors=256)
        if colours is not None:  # few colours: a palette image, still exact
            image = image.quantize(colors=len(colours), method=Image.Quantize.FASTOCTREE)
        image.save(out, format="png", optimize=True)
        fmt = "png"
    return fmt, out.getvalue(), image.width, image.height


def figure_html(
    fig: Figure, caption: str, alt: str, dpi: int = FIGURE_DPI, kind: str | None = None
) -> HTML:
    """A matplotlib figure as a self-contained HTML ``<figure>`` with alt text and caption.

    Text too small to read on the page is enlarged first (``make_legible``). The image is
    inline (base64), so that it shows on Colab too; the book's Sphinx extension writes it
    out as a file. ``data-min-text-px`` records the smallest text's height in the image's
    own pixels, for the site's tests; the image never shrinks below the width at which
    that text is MIN_TEXT_PX high (a phone scrolls it sideways)."""
    import base64
    import html
    import math

    from IPython.display import HTML

    if not alt or not alt.strip():
        raise ValueError(
            "a figure needs alt text: say what it shows, for readers who cannot see it"
        )
    make_legible(fig, dpi)
    fmt, data, width, height = encode_figure(fig, dpi, kind)
    smallest = smallest_text_pt(fig)
    text_px = smallest * dpi / 72 if smallest else None
    min_width = min(width, math.ceil(width * MIN_TEXT_PX / text_px)) if text_px else 0
    encoded = base64.b64encode(data).decode("ascii")
    text_attribute = f' data-min-text-px="{text_px:.2f}"' if text_px else ""
    return HTML(
        '<figure class="cnnbook-figure">'
        '<div class="cnnbook-figure-scroll" style="overflow-x:auto">'
        f'<img src="data:image/{fmt};base64,{encoded}" alt="{html.escape(alt, quote=True)}" '
        f'width="{width}" height="{height}" loading="lazy" decoding="async"{text_attribute} '
        f'style="width:100%;max-width:{width}px;min-width:{min_width}px;height:auto">'
        "</div>"
        + (f"<figcaption>{html.escape(caption)}</figcaption>" if caption else "")
        + "</figure>"
    )


def glue_figure(name: str, fig: Figure, caption: str, alt: str, kind: str | None = None) -> None:
    """Show ``fig`` in the lab and glue it, with caption and alt text, for the chapter.

    The lab shows the same ``<figure>`` as the chapter (alt text and caption included).
    A chapter pastes it with::

        ```{glue:} name
        :doc: ../notebooks/LAB.ipynb
        ```
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    figure = figure_html(fig, caption, alt, kind=kind)
    plt.close(fig)
    display(figure)
    glue(name, figure, display=False)


def show_figure(fig: Figure, alt: str, caption: str = "", kind: str | None = None) -> None:
    """Show ``fig`` in a lab with alt text (and a caption, if given), without gluing it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    figure = figure_html(fig, caption, alt, kind=kind)
    plt.close(fig)
    display(figure)


def readable_number(value: object) -> str:
    """A number as a table shows it: thousands separated, about three significant digits
    for fractions, no exponent (``6,850,592``, ``13.8``, ``0.531``)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if value != value:  # NaN
        return "–"
    size: float = abs(value)  # type: ignore[arg-type]
    if size >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if size >= 10 else f"{value:.2f}" if size >= 1 else f"{value:.3g}"


def styled_table(
    table: pd.DataFrame | Sequence[Mapping[str, Any]], formats: dict[str, str] | None = None
) -> Styler:
    """A table as the labs show it: a pandas frame, or rows (dicts that share their keys).

    Numbers are readable (``readable_number``, or the format strings in ``formats`` by
    column), text is escaped, and there are no row numbers (an unnamed index of integers
    is hidden; an index that names the rows stays)."""
    import html

    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        rows = list(table)
        if not rows:
            raise ValueError("styled_table needs a DataFrame or at least one row")
        table = pd.DataFrame(rows)
    styler = table.style.format(lambda value: html.escape(readable_number(value)))
    for column, text_format in (formats or {}).items():
        styler = styler.format(text_format, subset=[column], escape="html")
    styler = styler.format_index(escape="html", axis="columns")
    if table.index.name is None and pd.api.types.is_integer_dtype(table.index):
        styler = styler.hide(axis="index")
    return styler


LAST_RUN_KEY = "last_run"


def compute_device() -> str:
    """``"GPU (name)"`` when TensorFlow sees a GPU, else ``"CPU"``: where Keras trains."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
    count = f"{len(gpus)} x " if len(gpus) > 1 else ""
    return f"GPU ({count}{name})" if name else "GPU"


def last_run(when: datetime.datetime | None = None) -> str:
    """When and where this run happened: date, mode, device, TensorFlow and Keras versions."""
    import datetime

    import keras
    import tensorflow as tf

    from cnnbook.config import quick_mode

    when = when or datetime.datetime.now(datetime.timezone.utc)
    mode = "quick mode" if quick_mode() else "full mode"
    return (
        f"Last run {when:%Y-%m-%d %H:%M} UTC, {mode}, on {compute_device()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


def glue_last_run() -> None:
    """Print the run's date, mode, device and versions, and glue them for the chapter.

    The labs' setup cell calls this; each chapter pastes the line under its title
    (key ``last_run``), so a reader sees when and where the page's numbers were made.
    """
    import html

    from IPython.display import HTML

    line = last_run()
    print(line)
    glue(
        LAST_RUN_KEY,
        HTML(f'<p class="cnnbook-last-run"><small>{html.escape(line)}</small></p>'),
        display=False,
    )


# --------------------------------------------------------------------------- build time
#: ``benchmarks/book_build.py``'s report line naming the page budget the build trained
#: the cats-vs-dogs lab under; the lab quotes a build time only while it still holds.
BUILD_BUDGET_PREFIX = "the lab's page budget: "


def measured_build(report: str, page_budget: str) -> tuple[float, str] | None:
    """The minutes and when and where (``"2026-12-02 03:16 UTC on AMD EPYC, 2 CPUs"``;
    the date alone if the report names no CPU) of a ``benchmarks/book_build.py`` report,
    if it is a successful full-mode build measured under ``page_budget`` (a
    ``Budget.describe()`` text); ``None`` for a quick-mode or failed build, or one under
    another budget."""
    minutes = re.search(r"whole build: ([\d.]+) minutes", report)
    date = re.search(r"measured (\S+ \S+ UTC(?: on .+? \d+ CPUs)?)", report)
    trusted = (
        (
            "full mode" in report.splitlines()[0]
            and ", succeeded" in report
            and f"{BUILD_BUDGET_PREFIX}{page_budget}" in report.splitlines()
        )
        if report
        else False
    )
    if not (trusted and minutes and date):
        return None
    return float(minutes[1]), date[1]
