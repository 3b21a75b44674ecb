"""``google.colab.output``: only what ``cnnbook.widgets`` calls."""

calls: list[str] = []


def enable_custom_widget_manager() -> None:
    """On Colab, lets ipywidgets 8 render; here it records the call."""
    calls.append("enable_custom_widget_manager")
