"""The named 3x3 kernels of the edge-filter chapter, in one place.

Every kernel is a ``(3, 3)`` float32 array used with :func:`cnnbook.ops.conv2d`, which
(like every deep-learning library) computes a *cross-correlation*: the kernel is laid
on the image as printed here, not flipped. So :data:`VERTICAL_EDGE` gives a large
positive value where the image is bright on the left and dark on the right.

- Edges: :data:`VERTICAL_EDGE` and :data:`HORIZONTAL_EDGE`, its transpose.
- Sobel: :data:`SOBEL_X` and :data:`SOBEL_Y` (its transpose), edge kernels that weight
  the centre row (or column) twice; together they give the gradient magnitude.
- :data:`BOX_BLUR` and :data:`GAUSSIAN_BLUR` average a neighbourhood (weights sum to 1).
- :data:`SHARPEN` adds to each pixel its difference from its four neighbours.
- :data:`IDENTITY` leaves the image as it is.

:data:`PRESETS` maps the names a reader picks in the widgets to these arrays. It is
the one source of the preset values: the ipywidgets sliders read it, and the browser
playground receives it serialised as JSON (:func:`presets_as_lists`).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "BOX_BLUR",
    "GAUSSIAN_BLUR",
    "HORIZONTAL_EDGE",
    "IDENTITY",
    "KERNEL_SHAPE",
    "PRESETS",
    "SHARPEN",
    "SOBEL_X",
    "SOBEL_Y",
    "VERTICAL_EDGE",
    "get_kernel",
    "presets_as_lists",
]

KERNEL_SHAPE = (3, 3)


def _frozen(rows: ArrayLike) -> np.ndarray:
    """A read-only float32 kernel, so that nobody changes a preset by accident."""
    kernel = np.array(rows, dtype=np.float32)
    kernel.setflags(write=False)
    return kernel


# Each kernel is laid out as the 3x3 grid it is: not reformatted.
# fmt: off
# Bright on the left, dark on the right -> positive; the reverse -> negative.
VERTICAL_EDGE = _frozen([[1, 0, -1],
                         [1, 0, -1],
                         [1, 0, -1]])
# Bright above, dark below -> positive. The same kernel, turned on its side.
HORIZONTAL_EDGE = _frozen(VERTICAL_EDGE.T)

SOBEL_X = _frozen([[1, 0, -1],
                   [2, 0, -2],
                   [1, 0, -1]])
SOBEL_Y = _frozen(SOBEL_X.T)

BOX_BLUR = _frozen(np.full(KERNEL_SHAPE, 1 / 9))
GAUSSIAN_BLUR = _frozen(np.array([[1, 2, 1],
                                  [2, 4, 2],
                                  [1, 2, 1]]) / 16)

SHARPEN = _frozen([[0, -1, 0],
                   [-1, 5, -1],
                   [0, -1, 0]])

IDENTITY = _frozen([[0, 0, 0],
                    [0, 1, 0],
                    [0, 0, 0]])

# The order is the order of the preset menus.
PRESETS = MappingProxyType({
    "vertical edges": VERTICAL_EDGE,
    "horizontal edges": HORIZONTAL_EDGE,
    "Sobel x": SOBEL_X,
    "Sobel y": SOBEL_Y,
    "box blur": BOX_BLUR,
    "Gaussian blur": GAUSSIAN_BLUR,
    "sharpen": SHARPEN,
    "identity": IDENTITY,
})
# fmt: on


def get_kernel(name: str) -> np.ndarray:
    """A writable copy of the preset called ``name`` (see :data:`PRESETS`)."""
    try:
        return np.array(PRESETS[name], dtype=np.float32)
    except (KeyError, TypeError):
        raise ValueError(f"no kernel called {name!r}; the presets are {list(PRESETS)}") from None


def presets_as_lists() -> dict[str, list[list[float]]]:
    """:data:`PRESETS` as plain nested lists of Python floats, ready for ``json.dumps``.

    The float32 values are converted exactly (``float(np.float32(1/9))``), so a browser
    that reads this JSON multiplies by the same weights as :func:`cnnbook.ops.conv2d`.
    """
    return {name: [[float(w) for w in row] for row in kernel] for name, kernel in PRESETS.items()}
