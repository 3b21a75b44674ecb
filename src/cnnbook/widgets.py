"""Move a kernel, watch the photo change; open a trained network in the page.

- :func:`kernel_sliders`: ipywidgets sliders for the nine weights of a 3x3 kernel and a
  button per preset, redrawing the filtered photo with the book's own
  :func:`cnnbook.ops.conv2d`. It needs a running Python kernel (Jupyter, Colab).
- :func:`kernel_playground`: the same controls as a self-contained HTML snippet whose
  convolution runs in the browser, in plain JavaScript (``playground/playground.js``,
  shipped in this package). It stays live in a notebook *and* in the static book page,
  where no Python runs.
- :func:`model_explorer`: a trained Keras model carried into the page (layers and
  weights), whose forward pass runs in the browser (``explorer/explorer.js``): draw a
  digit or drop in a photo and see the scores and every layer's feature maps.

The two kernel widgets use the conventions of ``conv2d(image, kernel, padding="same")``
on the grey photo with values in [0, 1], take their presets from
:data:`cnnbook.kernels.PRESETS`, and show the output through one display mapping,
:func:`to_display`: the absolute value, clipped to [0, 1] (black is 0, white is 1 or
more). An edge of either sign shows up white; a flat area under an edge kernel goes
black; blur and identity show the photo as it is.
"""

from __future__ import annotations

import base64
import html
import io
import json
import sys
import uuid
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from cnnbook.kernels import KERNEL_SHAPE, PRESETS, presets_as_lists
from cnnbook.ops import conv2d

if TYPE_CHECKING:
    from collections.abc import Sequence

    import keras
    from IPython.display import HTML

__all__ = [
    "DISPLAY_MAPPING",
    "KernelSliders",
    "WEIGHT_RANGE",
    "filtered_view",
    "fit_for_sliders",
    "kernel_playground",
    "kernel_sliders",
    "model_explorer",
    "png_bytes",
    "to_display",
    "to_display_bytes",
    "with_shared_script",
]

DISPLAY_MAPPING = (
    "shown as the absolute value of the output, clipped to [0, 1]: black is 0, white is 1 or more"
)
WEIGHT_RANGE = (-5.0, 5.0)
DEFAULT_PRESET = "vertical edges"
#: The sliders show a photo at most this many pixels on its longer side; a larger one is
#: downscaled first, so that each slider move sends a bounded PNG (about 0.4 MB at most).
MAX_SLIDER_SIDE = 640
#: Values a hair past 0 or 1 (float rounding, 1 + 1e-7) still count as inside [0, 1].
RANGE_TOLERANCE = 1e-6
OWN_PHOTO_HELP = (
    "For a photo of your own: np.asarray(PIL.Image.open(path).convert('L'), "
    "dtype=np.float32) / 255 gives a grey (height, width) array in [0, 1]"
)
#: A photo in the playground, given in Python or dropped into the page, is shrunk to at
#: most this many pixels a side (a 12 MP phone photo to 800x600), so the page stays small
#: and each weight change filters a bounded number of pixels.
MAX_UPLOAD_SIDE = 800
PLAYGROUND_FILES = ("playground.js", "playground.css")


# --------------------------------------------------------------------------- checks
def _check_photo(image: ArrayLike) -> np.ndarray:
    """A 2-D grey float image with values in [0, 1], at least 3x3; else ValueError."""
    array = np.asarray(image)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"image must hold numbers, not {array.dtype} values")
    if array.ndim != 2:
        hint = ""
        if array.ndim == 3 and array.shape[-1] == 1:
            hint = " A single grey channel: pass image[..., 0]."
        elif array.ndim == 3:
            hint = " A colour photo: make it grey first, e.g. image.mean(axis=-1)."
        raise ValueError(
            f"image must be a 2-D grey array (height, width), got shape {array.shape}.{hint} "
            f"{OWN_PHOTO_HELP}; the kittens are cnnbook.data.load_kittens()."
        )
    if array.shape[0] < KERNEL_SHAPE[0] or array.shape[1] < KERNEL_SHAPE[1]:
        raise ValueError(f"image must be at least 3x3 pixels, got shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError("image holds NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise ValueError(
            f"image values must lie in [0, 1], got values from {low:g} to {high:g}; "
            "divide 8-bit pixels by 255 first"
        )
    return np.clip(array, 0.0, 1.0)


def fit_for_sliders(image: np.ndarray, max_side: int = MAX_SLIDER_SIDE) -> np.ndarray:
    """``image`` downscaled (area average) so that its longer side is at most ``max_side``.

    A photo that already fits is returned as it is. Averaging keeps values in [0, 1].
    """
    from PIL import Image

    height, width = image.shape
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(3, round(width * scale)), max(3, round(height * scale)))
    small = Image.fromarray(image.astype(np.float32)).resize(size, Image.Resampling.BOX)
    return np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)


def _check_kernel(kernel: ArrayLike) -> np.ndarray:
    """A (3, 3) float32 kernel of finite weights inside :data:`WEIGHT_RANGE`."""
    array = np.asarray(kernel)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"kernel must hold numbers, not {array.dtype} values")
    if array.shape != KERNEL_SHAPE:
        raise ValueError(f"kernel must have shape {KERNEL_SHAPE}, got shape {array.shape}")
    array = array.astype(np.float32)
    low, high = WEIGHT_RANGE
    if not np.all(np.isfinite(array)) or array.min() < low or array.max() > high:
        raise ValueError(
            f"kernel weights must be finite and within [{low:g}, {high:g}] (the sliders' "
            f"range), got {array.tolist()}"
        )
    return array


def _check_preset(name: str) -> str:
    if name not in PRESETS:
        raise ValueError(f"no preset called {name!r}; the presets are {list(PRESETS)}")
    return name


# --------------------------------------------------------------------------- display
def to_display(values: ArrayLike) -> np.ndarray:
    """The display mapping of both widgets: ``|values|`` clipped to [0, 1] (float64)."""
    return np.minimum(np.abs(np.asarray(values, dtype=np.float64)), 1.0)


def to_display_bytes(values: ArrayLike) -> np.ndarray:
    """:func:`to_display` as 8-bit grey levels, rounded half up like the browser does."""
    return np.floor(to_display(values) * 255 + 0.5).astype(np.uint8)


def filtered_view(image: ArrayLike, kernel: ArrayLike) -> np.ndarray:
    """What the widgets show for ``kernel`` on ``image``: ``to_display(conv2d(..., "same"))``."""
    return to_display(conv2d(_check_photo(image), _check_kernel(kernel), padding="same"))


def png_bytes(values: ArrayLike) -> bytes:
    """A grey PNG of ``values`` under the display mapping (an image in [0, 1] as it is)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_display_bytes(values)).save(buffer, format="PNG")
    return buffer.getvalue()


# --------------------------------------------------------------------------- sliders
def load_default_photo() -> np.ndarray:
    """The grey kittens photo, the default input of both widgets."""
    from cnnbook.data import load_kittens

    return load_kittens()


class KernelSliders:
    """Nine weight sliders and preset buttons that redraw ``conv2d(image, kernel)``.

    ``sliders`` are the nine ``FloatSlider`` in row-major order, ``buttons`` map a preset
    name to its ``Button``, ``output`` is the last filtered view (an array in [0, 1] under
    :func:`to_display`), and ``box`` is the widget to display (a notebook shows the object
    itself). Setting :attr:`kernel` or calling :meth:`use_preset` moves the sliders and
    redraws once.
    """

    def __init__(
        self, image: ArrayLike | None = None, preset: str = DEFAULT_PRESET, scale: float = 1.0
    ) -> None:
        import ipywidgets as widgets

        photo = _check_photo(load_default_photo() if image is None else image)
        #: the photo the sliders filter: the one given, downscaled if larger than
        #: MAX_SLIDER_SIDE (``original_shape`` keeps its size)
        self.original_shape = photo.shape
        self.image = fit_for_sliders(photo)
        _check_preset(preset)
        height, width = self.image.shape
        size = {"width": f"{round(width * scale)}px", "height": f"{round(height * scale)}px"}
        low, high = WEIGHT_RANGE
        self.sliders = [
            widgets.FloatSlider(
                value=0.0,
                min=low,
                max=high,
                step=0.01,
                readout_format=".3f",
                continuous_update=False,
                description=f"w[{row},{col}]",
                layout=widgets.Layout(width="260px"),
            )
            for row in range(KERNEL_SHAPE[0])
            for col in range(KERNEL_SHAPE[1])
        ]
        self.buttons = {
            name: widgets.Button(description=name, layout=widgets.Layout(width="auto"))
            for name in PRESETS
        }
        for name, button in self.buttons.items():
            button.on_click(lambda _button, name=name: self.use_preset(name))
        self.original = widgets.Image(value=png_bytes(self.image), format="png", layout=size)
        self.filtered = widgets.Image(format="png", layout=size)
        self.summary = widgets.HTML()
        self.output: np.ndarray | None = None
        self.redraws = 0
        self._quiet = False
        for slider in self.sliders:
            slider.observe(self._on_slider, names="value")
        caption = widgets.HTML(
            f"<small>Left: the photo. Right: <code>conv2d(photo, kernel, "
            f'padding="same")</code>, {DISPLAY_MAPPING}.</small>'
        )
        self.box = widgets.VBox(
            [
                widgets.HBox(
                    list(self.buttons.values()), layout=widgets.Layout(flex_flow="row wrap")
                ),
                widgets.GridBox(
                    self.sliders, layout=widgets.Layout(grid_template_columns="repeat(3, 270px)")
                ),
                self.summary,
                widgets.HBox([self.original, self.filtered]),
                caption,
            ]
        )
        self.use_preset(preset)

    @property
    def kernel(self) -> np.ndarray:
        """The 3x3 kernel the sliders show now (float32)."""
        values = [slider.value for slider in self.sliders]
        return np.array(values, dtype=np.float32).reshape(KERNEL_SHAPE)

    @kernel.setter
    def kernel(self, kernel: ArrayLike) -> None:
        kernel = _check_kernel(kernel)
        self._quiet = True  # one redraw for nine slider moves
        try:
            for slider, weight in zip(self.sliders, kernel.ravel(), strict=True):
                slider.value = float(weight)
        finally:
            self._quiet = False
        self.redraw()

    def use_preset(self, name: str) -> None:
        """Move the sliders to the preset ``name`` (a key of ``cnnbook.kernels.PRESETS``)."""
        self.kernel = PRESETS[_check_preset(name)]

    def _on_slider(self, _change: object) -> None:
        if not self._quiet:
            self.redraw()

    def redraw(self) -> None:
        """Filter the photo with the sliders' kernel and show it."""
        kernel = self.kernel
        self.output = filtered_view(self.image, kernel)
        self.filtered.value = png_bytes(self.output)
        self.redraws += 1
        total = float(kernel.sum(dtype=np.float64))
        self.summary.value = f"Sum of the weights: {total:.3f}" + self._downscale_note()

    def _downscale_note(self) -> str:
        if self.image.shape == self.original_shape:
            return ""
        (height, width), (small_h, small_w) = self.original_shape, self.image.shape
        return f" (the {width}x{height} photo is shown downscaled to {small_w}x{small_h})"

    def _ipython_display_(self) -> None:
        """Show the widget (works with ipywidgets 7, Colab's long-time default, and 8)."""
        from IPython.display import display

        _colab_widgets()
        display(self.box)


def _colab_widgets() -> None:
    """On Colab, opt in to its widget manager for ipywidgets 8; elsewhere do nothing."""
    if "google.colab" not in sys.modules:
        return
    try:
        from google.colab import output

        output.enable_custom_widget_manager()
    except (ImportError, AttributeError):  # an older Colab renders ipywidgets itself
        pass


def kernel_sliders(
    image: ArrayLike | None = None, preset: str = DEFAULT_PRESET, scale: float = 1.0
) -> KernelSliders:
    """ipywidgets sliders for a 3x3 kernel on ``image`` (default: the grey kittens photo).

    Display the result in a notebook; moving a slider or pressing a preset button filters
    the photo again with :func:`cnnbook.ops.conv2d`. Needs a live Python kernel: in a
    static page the sliders would move but nothing would be computed, so the book shows
    :func:`kernel_playground` there.
    """
    return KernelSliders(image, preset=preset, scale=scale)


# --------------------------------------------------------------------------- playground
def _package_text(name: str) -> str:
    return (resources.files("cnnbook") / "playground" / name).read_text(encoding="utf-8")


def with_shared_script(script: str) -> str:
    """``script`` after ``web/shared.js``, what both widgets' scripts share (reading a
    photo, making elements, setting up every widget on the page), as one script: the
    widget's script still finds the element it sits in."""
    shared = (resources.files("cnnbook") / "web" / "shared.js").read_text(encoding="utf-8")
    return shared + "\n" + script


def _script_safe(text: str) -> str:
    """Text that cannot close the ``<script>`` element it is placed in."""
    return text.replace("</", "<\\/")


def kernel_playground(
    image: ArrayLike | None = None,
    preset: str = DEFAULT_PRESET,
    alt: str = "The kittens photo in grey, the input of the playground.",
    title: str = "Kernel playground",
) -> HTML:
    """A live kernel playground as one self-contained HTML snippet (an IPython ``HTML``).

    It holds the photo as a grey PNG ``data:`` URI, the presets of
    :data:`cnnbook.kernels.PRESETS` as JSON, and the package's ``playground.js`` and
    ``playground.css`` inline: nothing is fetched when it is shown. The reader presses a
    preset or types weights, and the browser computes the same cross-correlation with
    "same" zero padding as ``conv2d`` and shows it under :func:`to_display`. Shown in a
    notebook it runs in the output; glued into a book page it runs there too. A photo
    larger than :data:`MAX_UPLOAD_SIDE` a side is downscaled (area average, proportions
    kept) and the input's caption says so; ``data-original-size`` keeps its size.
    """
    from IPython.display import HTML

    given = _check_photo(load_default_photo() if image is None else image)
    _check_preset(preset)
    photo = fit_for_sliders(given, MAX_UPLOAD_SIDE)
    height, width = photo.shape
    downscaled = ""
    if photo.shape != given.shape:
        downscaled = (
            f" The {given.shape[1]}x{given.shape[0]} photo is shown downscaled to {width}x{height}."
        )
    source = "data:image/png;base64," + base64.b64encode(png_bytes(photo)).decode("ascii")
    data = json.dumps(
        {"presets": presets_as_lists(), "initial": preset, "maxUploadSide": MAX_UPLOAD_SIDE}
    )
    script, style = (_package_text(name) for name in PLAYGROUND_FILES)
    script = with_shared_script(script)
    ident = f"cnnbook-playground-{uuid.uuid4().hex[:12]}"
    return HTML(
        f'<div class="cnnbook-playground" id="{ident}" '
        f'data-original-size="{given.shape[1]}x{given.shape[0]}">'
        f"<style>{style}</style>"
        f'<p class="cnnbook-playground-title">{html.escape(title)}</p>'
        '<div class="cnnbook-playground-row">'
        f'<figure><img class="cnnbook-playground-photo" src="{source}" width="{width}" '
        f'height="{height}" alt="{html.escape(alt, quote=True)}" loading="lazy">'
        f"<figcaption>Input: the photo, grey, values in [0, 1].{downscaled}</figcaption></figure>"
        f'<figure><canvas class="cnnbook-playground-output" width="{width}" '
        f'height="{height}" role="img" aria-label="The photo filtered with the kernel below, '
        f'{DISPLAY_MAPPING}."></canvas>'
        f"<figcaption>Output: the photo filtered with the kernel, {DISPLAY_MAPPING}."
        "</figcaption></figure></div>"
        '<div class="cnnbook-playground-upload">'
        '<label>Your own photo: <input type="file" accept="image/*" '
        'class="cnnbook-playground-file"></label> '
        "<span>or drop or paste one here. It stays in your browser: nothing is uploaded; a "
        f"large photo is shrunk to {MAX_UPLOAD_SIDE} pixels a side.</span>"
        '<p class="cnnbook-playground-upload-status" role="status"></p></div>'
        '<div class="cnnbook-playground-controls"></div>'
        '<p class="cnnbook-playground-note">Press a preset or type a weight: your browser '
        'filters the photo again (a cross-correlation with zero "same" padding, like '
        "<code>cnnbook.ops.conv2d</code>).</p>"
        '<p class="cnnbook-playground-nojs">This playground needs JavaScript; if you see '
        "this line, it did not run here (in Jupyter, run the cell; the notebook must be "
        "trusted).</p>"
        f'<script type="application/json" class="cnnbook-playground-data">'
        f"{_script_safe(data)}</script>"
        f"<script>{_script_safe(script)}</script>"
        "</div>"
    )


# --------------------------------------------------------------------------- model explorer
EXPLORER_FILES = ("explorer.js", "explorer.css")
#: Largest packed weights a page may carry (bytes, before base64).
MAX_EXPLORER_WEIGHT_BYTES = 1_500_000
MAX_EXPLORER_EXAMPLES = 100
DIGIT_NAMES = tuple(str(digit) for digit in range(10))


def _explorer_examples(
    examples: object, input_shape: list[int], class_names: list[str], input_kind: str
) -> dict | None:
    """The examples as bytes (0..255) for the page, with a title for the picker each."""
    if examples is None:
        return None
    labels = None
    if isinstance(examples, tuple) and len(examples) == 2:
        examples, labels = examples
    images = np.asarray(examples)
    height, width, channels = input_shape
    if images.ndim == 3 and channels == 1:
        images = images[..., None]
    if images.ndim != 4 or tuple(images.shape[1:]) != (height, width, channels):
        raise ValueError(
            f"examples must be a stack of images of shape (N, {height}, {width}"
            f"{', ' + str(channels) if channels != 1 else ''}), the model's input; "
            f"got shape {images.shape}"
        )
    if not 1 <= len(images) <= MAX_EXPLORER_EXAMPLES:
        raise ValueError(f"give between 1 and {MAX_EXPLORER_EXAMPLES} examples, not {len(images)}")
    if images.dtype == np.uint8:
        pixels = images
    elif images.dtype.kind in "biuf":
        values = images.astype(np.float64)
        if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
            raise ValueError(
                "examples must be uint8 images or floats in [0, 1] (divide 8-bit pixels by 255)"
            )
        pixels = np.rint(values * 255).astype(np.uint8)
    else:
        raise ValueError(f"examples must hold numbers, not {images.dtype} values")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} examples but {len(labels)} labels")
    noun = "digit" if input_kind == "drawing" else "photo"
    titles = []
    for index in range(len(images)):
        title = f"{noun} {index + 1}"
        if labels is not None:
            label = labels[index]
            named = (
                class_names[int(label)]
                if np.issubdtype(type(label), np.integer) and 0 <= label < len(class_names)
                else str(label)
            )
            title += f" (a {named})"
        titles.append(title)
    from cnnbook.explorer import encode_85

    return {
        "pixels": encode_85(pixels.tobytes()),
        "length": int(pixels.size),
        "titles": titles,
        "prompt": f"Or pick a test {noun}:" if input_kind == "drawing" else f"Or pick a {noun}:",
    }


def model_explorer(
    model: keras.Model,
    examples: object = None,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    input_kind: str = "auto",
    input_scale: float = 1 / 255,
    maps_per_layer: int = 8,
    score_name: str | None = None,
    encoding: str = "auto",
) -> HTML:
    """A trained Keras model, live in the page: its forward pass runs in the browser.

    Like :func:`kernel_playground`, the result is one self-contained HTML snippet (an
    IPython ``HTML``): the model's layers as JSON and its weights as text (see
    :mod:`cnnbook.explorer` for the encoding and the layers it can compute), and the
    package's ``explorer.js`` and ``explorer.css`` inline. Nothing is fetched and no
    Python runs behind it, so it works in Jupyter, on Colab and glued into a book page.

    - ``input_kind``: "drawing" (a canvas to draw a digit on, the drawing centred and
      scaled like MNIST's digits), "photo" (a file picker, drag-and-drop and paste; the
      photo is resized to the model's input size like ``cnnbook.photos`` does and never
      leaves the browser), or "auto": drawing for one channel, photo for three.
    - ``examples``: images the reader can pick from a list (keyboard users cannot draw),
      as a stack like the model's input (uint8, or floats in [0, 1]), or a tuple
      ``(images, labels)``; at most :data:`MAX_EXPLORER_EXAMPLES`.
    - ``class_names``: a name per output; for one sigmoid unit, the names of 0 and 1
      (default: the digits for ten outputs).
    - ``input_scale``: what a pixel byte (0..255) is multiplied by before the model:
      1/255 for a model trained on values in [0, 1] (the book's), 1 for a model that
      rescales inside itself.
    - ``maps_per_layer``: how many feature maps of each convolution and pooling layer
      to show (the first ones).
    - ``encoding``: "auto", "float32", "int16" or "int8" (see
      :func:`cnnbook.explorer.describe_model`).

    Raises ``ValueError`` naming any layer it cannot compute.
    """
    from IPython.display import HTML

    from cnnbook import explorer

    description, blob = explorer.describe_model(model, encoding=encoding)
    if len(blob) > MAX_EXPLORER_WEIGHT_BYTES:
        raise ValueError(
            f"model {model.name!r} needs {len(blob):,} bytes of weights "
            f"({description['encoding']}); a page carries at most "
            f"{MAX_EXPLORER_WEIGHT_BYTES:,}: use fewer kernels or smaller dense layers"
        )
    channels = description["inputShape"][2]
    if input_kind == "auto":
        input_kind = "drawing" if channels == 1 else "photo"
    if input_kind not in ("drawing", "photo"):
        raise ValueError(f"input_kind must be 'auto', 'drawing' or 'photo', not {input_kind!r}")
    if channels not in (1, 3):
        raise ValueError(
            f"the explorer feeds grey or RGB images; the model wants {channels} channels"
        )
    if input_kind == "drawing" and channels != 1:
        raise ValueError("input_kind='drawing' needs a model with one (grey) input channel")
    if not (isinstance(input_scale, (int, float)) and 0 < input_scale <= 1):
        raise ValueError(f"input_scale must be a number in (0, 1], not {input_scale!r}")
    if not isinstance(maps_per_layer, (int, np.integer)) or not 0 <= maps_per_layer <= 256:
        raise ValueError(f"maps_per_layer must be an integer from 0 to 256, not {maps_per_layer!r}")
    units = description["layers"][-1]["outputShape"][0]
    activation = description["layers"][-1].get("activation", "linear")
    output_kind = (
        "binary"
        if units == 1 and activation == "sigmoid"
        else "probabilities"
        if activation in ("softmax", "sigmoid")
        else "other"
    )
    if class_names is None:
        class_names = (
            DIGIT_NAMES
            if units == 10
            else ("0", "1")
            if output_kind == "binary"
            else tuple(f"output {k}" for k in range(units))
        )
    class_names = [str(name) for name in class_names]
    wanted = 2 if output_kind == "binary" else units
    if len(class_names) != wanted:
        raise ValueError(f"class_names must name {wanted} classes, got {class_names}")
    score_name = score_name or f"{class_names[-1].capitalize()} score"
    captions = {
        "binary": f"The probability of each class ({class_names[1]}: the network's score).",
        "probabilities": "The probability the network gives each class (bars and numbers).",
        "other": "The network's outputs (bars scaled to the largest).",
    }
    data = {
        "model": description,
        "weights": explorer.encode_85(blob),
        "alphabet": explorer.ALPHABET_85,
        "inputKind": input_kind,
        "inputScale": float(input_scale),
        "classNames": class_names,
        "outputKind": output_kind,
        "outputCaption": captions[output_kind],
        "scoreName": score_name,
        "mapsPerLayer": int(maps_per_layer),
        "mapsCaption": (
            "Feature maps of every convolution and pooling layer, each scaled to "
            "its own largest value: red positive, blue negative, white zero."
        ),
        "examples": _explorer_examples(
            examples, description["inputShape"], class_names, input_kind
        ),
    }
    script, style = (explorer.package_text(name) for name in EXPLORER_FILES)
    script = with_shared_script(script)
    title = title or f"Explore the trained network ({model.name})"
    ident = f"cnnbook-explorer-{uuid.uuid4().hex[:12]}"
    return HTML(
        f'<div class="cnnbook-explorer" id="{ident}" data-input-kind="{input_kind}">'
        f"<style>{style}</style>"
        f'<p class="cnnbook-explorer-title">{html.escape(title)}</p>'
        '<div class="cnnbook-explorer-app"></div>'
        '<p class="cnnbook-explorer-nojs">This explorer needs JavaScript; if you see this '
        "line, it did not run here (in Jupyter, run the cell; the notebook must be "
        "trusted).</p>"
        f'<script type="application/json" class="cnnbook-explorer-data">'
        f"{_script_safe(json.dumps(data))}</script>"
        f"<script>{_script_safe(script)}</script>"
        "</div>"
    )
