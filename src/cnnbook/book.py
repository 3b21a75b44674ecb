"""Glue for the book: numbers and figures computed in a lab, shown in a chapter.

``glue`` stores a value in the notebook so the chapters can paste it with
``{glue:text}`../notebooks/NAME.ipynb::key``` and never type a number by hand.
When myst-nb is not installed (on Colab, say) it simply displays the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnbook.config import quick_mode

if TYPE_CHECKING:
    from IPython.display import HTML
    from matplotlib.figure import Figure

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
    """Show the quick-mode banner on this page and glue it for the chapter.

    Every lab's setup cell calls this. In quick mode the notebook shows the banner,
    and its chapter pastes it (key ``quick_mode_banner``) so that a chapter whose
    numbers came from a quick-mode run says so too. In full mode both are empty.
    """
    from IPython.display import HTML, display

    banner = mode_banner()
    if banner is not None:
        display(banner)
    glue(MODE_BANNER_KEY, banner or HTML("<span></span>"), display=False)


def figure_html(fig: Figure, caption: str, alt: str, dpi: int = 110) -> HTML:
    """A matplotlib figure as a self-contained HTML ``<figure>`` with alt text and caption."""
    import base64
    import html
    import io

    from IPython.display import HTML

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return HTML(
        '<figure class="cnnbook-figure">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        'style="max-width:100%">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def glue_figure(name: str, fig: Figure, caption: str, alt: str) -> None:
    """Show ``fig`` in the lab and glue it, with caption and alt text, for the chapter.

    A chapter pastes it with::

        ```{glue:} name
        :doc: ../notebooks/LAB.ipynb
        ```
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    glue(name, figure_html(fig, caption, alt), display=False)
    plt.close(fig)


def html_table(rows: list[dict]) -> "HTML":
    """Dicts that share their keys as an HTML table (whole numbers with thousands commas)."""
    import html

    from IPython.display import HTML

    if not rows:
        raise ValueError("html_table needs at least one row")

    def cell(value) -> str:
        is_whole = isinstance(value, int) and not isinstance(value, bool)
        text = f"{value:,}" if is_whole else str(value)
        return f"<td>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(str(key))}</th>" for key in rows[0])
    body = "".join("<tr>" + "".join(map(cell, row.values())) + "</tr>" for row in rows)
    return HTML(f'<table class="cnnbook-table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")


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


def last_run(when=None) -> str:
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
