"""Glue for the book: numbers and figures computed in a lab, shown in a chapter.

``glue`` stores a value in the notebook so the chapters can paste it with
``{glue:text}`../notebooks/NAME.ipynb::key``` and never type a number by hand.
When myst-nb is not installed (on Colab, say) it simply displays the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnbook.config import mode_banner

if TYPE_CHECKING:
    from IPython.display import HTML

MODE_BANNER_KEY = "quick_mode_banner"


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


def figure_html(fig, caption: str, alt: str, dpi: int = 110) -> "HTML":
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


def glue_figure(name: str, fig, caption: str, alt: str) -> None:
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
