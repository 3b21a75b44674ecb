"""Convolution and max pooling by hand, in numpy, matching TensorFlow exactly.

The labs teach each function here in full; later chapters, the widgets and the
assignments import them from this one copy.

- :func:`output_size` and :func:`same_padding`: how big the output is, and how much
  zero padding TensorFlow's ``"SAME"`` adds on each side.
- :func:`conv2d_naive`: a convolution as a loop over output positions: take the
  tile under the kernel, multiply element-wise, sum. Slow, and obviously right.
- :func:`conv2d_windows`: all the tiles at once (``sliding_window_view``), then one
  ``einsum``.
- :func:`conv2d`: the fast one. It loops over the few kernel weights instead of the
  many pixels: the output is a weighted sum of shifted copies of the image.
- :func:`conv2d_nhwc`: the same on a batch of multi-channel images with a bank of
  filters, the shapes of ``tf.nn.conv2d`` (NHWC images, HWIO kernels).
- :func:`max_pool2d` and :func:`max_pool2d_nhwc`: the largest value of each window,
  like ``keras.layers.MaxPooling2D``.

How fast each of them is, next to ``tf.nn.conv2d``, is measured by
:func:`cnnbook.timing.time_conv2d`.

Like every deep-learning library, "convolution" here is *cross-correlation*: the
kernel is not flipped. Flip it (``kernel[::-1, ::-1]``) for the convolution of the
signal-processing books.

Padding follows TensorFlow: ``"valid"`` uses only windows that fit inside the input;
``"same"`` pads with zeros so that the output has ``ceil(n / stride)`` rows, and when
the padding is odd the extra row or column goes at the bottom or right. The padding
adds nothing to a sum, even under an inf weight (as TensorFlow's float32 kernel does).

Dtypes: every function returns floats, float32 when every input is bool, float16,
float32 or an 8- or 16-bit integer, and float64 when an input is float64 or a 32- or
64-bit integer (numpy's promotion with float32). Max pooling ignores NaN and starts
each window from the dtype's lowest finite number, as TensorFlow does.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from cnnbook.checks import check_positive_int

__all__ = [
    "PADDINGS",
    "conv2d",
    "conv2d_naive",
    "conv2d_nhwc",
    "conv2d_windows",
    "max_pool2d",
    "max_pool2d_nhwc",
    "output_size",
    "same_padding",
]

PADDINGS = ("valid", "same")
Pair = tuple[int, int]  # (rows, columns)
IntOrPair = int | tuple[int, int] | list[int]  # one number for both axes, or a pair
_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats


# --------------------------------------------------------------------------- checks
def _check_padding(padding: object) -> str:
    name = padding.lower() if isinstance(padding, str) else padding
    if name not in PADDINGS:
        raise ValueError(
            f"padding must be 'valid' or 'same', not {padding!r}. 'valid' keeps only the "
            "windows that fit inside the input; 'same' pads with zeros so the output has "
            "ceil(n / stride) rows and columns."
        )
    return name


def _pair(value: object, name: str, what: str) -> Pair:
    """An int, or a pair of ints (rows, columns), as a checked pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be one number or a pair (rows, columns), not {value!r}.")
        return (check_positive_int(value[0], name, what), check_positive_int(value[1], name, what))
    number = check_positive_int(value, name, what)
    return number, number


def _as_numeric(array: ArrayLike, name: str, rank: int, layout: str) -> np.ndarray:
    """``array`` as a numpy array of real numbers with ``rank`` axes, or a ValueError."""
    try:
        values = np.asarray(array)
    except (ValueError, TypeError) as error:  # ragged nested lists
        raise ValueError(
            f"{name} must be a rectangular array of numbers {layout}; numpy could not "
            f"make one from it ({error})."
        ) from error
    if values.dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(
            f"{name} must hold real numbers (bool, int or float), not dtype {values.dtype} "
            f"(shape {values.shape}). Convert it first, e.g. np.asarray({name}, dtype=float)."
        )
    if values.ndim != rank:
        raise ValueError(
            f"{name} must have {rank} axes {layout}, but has shape {values.shape} "
            f"({values.ndim} axes)." + _rank_hint(values.ndim, rank)
        )
    if values.size == 0:
        raise ValueError(f"{name} is empty (shape {values.shape}); it needs at least one value.")
    return values


def _rank_hint(ndim: int, rank: int) -> str:
    if rank == 2 and ndim == 3:
        return (
            " For a colour image use conv2d_nhwc, or convert it to grey first, "
            "e.g. image.mean(axis=-1)."
        )
    if rank == 2 and ndim == 4:
        return " For a batch of images (N, H, W, C) use the *_nhwc function."
    if rank == 4 and ndim == 2:
        return " For one grey image, add the batch and channel axes: image[None, :, :, None]."
    if rank == 4 and ndim == 3:
        return " For one (H, W, C) image, add a batch axis: image[None]."
    return ""


def _float_type(*arrays: np.ndarray) -> np.dtype:
    """numpy's promotion with float32: float32 unless an input needs float64.

    bool, float16, float32 and 8- or 16-bit integers give float32; float64 and 32- or
    64-bit integers give float64 (float32 cannot hold every 32-bit integer).
    """
    return np.result_type(*arrays, np.float32)


# --------------------------------------------------------------------------- sizes
def output_size(n: int, k: int, stride: int = 1, padding: str = "valid") -> int:
    """Length of the output along one axis: input length ``n``, window ``k``.

    - ``"valid"``: ``floor((n - k) / stride) + 1`` (the windows that fit);
    - ``"same"``: ``ceil(n / stride)`` (the window size does not matter).

    >>> output_size(5, 3), output_size(5, 3, padding="same"), output_size(6, 3, 2, "same")
    (3, 5, 3)
    """
    n = check_positive_int(n, "n", "the input length")
    k = check_positive_int(k, "k", "the window length")
    stride = check_positive_int(stride, "stride", "the step between windows")
    padding = _check_padding(padding)
    if padding == "same":
        return math.ceil(n / stride)
    if k > n:
        raise ValueError(
            f"A window of {k} does not fit in an input of {n} with padding='valid'. Use a "
            f"window of at most {n}, or padding='same'."
        )
    return (n - k) // stride + 1


def same_padding(n: int, k: int, stride: int = 1) -> tuple[int, int]:
    """Zeros TensorFlow's ``"SAME"`` adds (before, after) along an axis of length ``n``.

    The total is what the ``ceil(n / stride)`` windows need; when it is odd, the extra
    one goes after (bottom or right).

    >>> same_padding(5, 3), same_padding(4, 2, 2), same_padding(6, 3, 2)
    ((1, 1), (0, 0), (0, 1))
    """
    out = output_size(n, k, stride, "same")
    total = max((out - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def _pads(
    height: int, width: int, window: Pair, stride: Pair, padding: str
) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) for a (height, width) input."""
    if padding == "valid":
        return (0, 0), (0, 0)
    return same_padding(height, window[0], stride[0]), same_padding(width, window[1], stride[1])


def _check_fits(
    shape2d: tuple[int, ...],
    window: tuple[int, ...],
    padding: str,
    what: str,
    input_name: str,
    window_name: str,
) -> None:
    if padding == "valid" and (window[0] > shape2d[0] or window[1] > shape2d[1]):
        raise ValueError(
            f"The {what} {window[0]}x{window[1]} is larger than the {input_name} "
            f"{shape2d[0]}x{shape2d[1]}, so no window fits with padding='valid'. Use a "
            f"{window_name} of at most {shape2d[0]}x{shape2d[1]}, or padding='same'."
        )


def _pad_hw(
    x: np.ndarray, top: int, bottom: int, left: int, right: int, value: float
) -> np.ndarray:
    """(N, H, W, C) padded with ``value`` on the H and W axes; no copy when nothing to add."""
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _inside(out_len: int, offset: int, stride: int, pad_before: int, n: int) -> slice:
    """The outputs ``y`` whose input ``y * stride + offset - pad_before`` lies in [0, n)."""
    start = max(0, -((offset - pad_before) // stride))  # ceil((pad_before - offset) / stride)
    stop = min(out_len, (n - 1 + pad_before - offset) // stride + 1)
    return slice(start, max(start, stop))


def _window(x: np.ndarray, row: int, col: int, out_shape: Pair, stride: Pair) -> np.ndarray:
    """The values under kernel position (row, col) for every output pixel: a strided view.

    ``x`` is (N, H, W, C), already padded; the result is (N, out_h, out_w, C).
    """
    out_h, out_w = out_shape
    return x[
        :,
        row : row + stride[0] * (out_h - 1) + 1 : stride[0],
        col : col + stride[1] * (out_w - 1) + 1 : stride[1],
        :,
    ]


# --------------------------------------------------------------------------- 2-D
def _check_conv2d(
    image: ArrayLike, kernel: ArrayLike, stride: IntOrPair, padding: str
) -> tuple[np.ndarray, np.ndarray, Pair, str]:
    image = _as_numeric(image, "image", 2, "(height, width)")
    kernel = _as_numeric(kernel, "kernel", 2, "(height, width)")
    stride = _pair(stride, "stride", "the step between windows")
    padding = _check_padding(padding)
    _check_fits(image.shape, kernel.shape, padding, "kernel", "image", "kernel")
    return image, kernel, stride, padding


def _pad2d(
    image: np.ndarray, kernel_shape: tuple[int, ...], stride: Pair, padding: str
) -> np.ndarray:
    height, width = image.shape
    window = (kernel_shape[0], kernel_shape[1])
    (top, bottom), (left, right) = _pads(height, width, window, stride, padding)
    return np.pad(image, ((top, bottom), (left, right)))


def conv2d_naive(
    image: ArrayLike, kernel: ArrayLike, stride: IntOrPair = 1, padding: str = "valid"
) -> np.ndarray:
    """Convolution (cross-correlation) of a 2-D image, one output pixel at a time.

    For every output position: take the tile of the image under the kernel, multiply
    it element-wise with the kernel, and sum. Same results as :func:`conv2d`, but a
    Python loop over every pixel: use it to read, not to run on large images.
    """
    image, kernel, stride, padding = _check_conv2d(image, kernel, stride, padding)
    dtype = _float_type(image, kernel)
    padded = _pad2d(image.astype(dtype), kernel.shape, stride, padding)
    inside = _pad2d(np.ones(image.shape, dtype=bool), kernel.shape, stride, padding)
    kernel = kernel.astype(dtype)
    kernel_h, kernel_w = kernel.shape
    out_h = output_size(image.shape[0], kernel_h, stride[0], padding)
    out_w = output_size(image.shape[1], kernel_w, stride[1], padding)
    output = np.zeros((out_h, out_w), dtype=dtype)
    for row in range(out_h):
        for col in range(out_w):
            top, left = row * stride[0], col * stride[1]
            tile = padded[top : top + kernel_h, left : left + kernel_w]
            real = inside[top : top + kernel_h, left : left + kernel_w]  # not padding
            output[row, col] = np.sum(tile[real] * kernel[real])
    return output


def conv2d_windows(
    image: ArrayLike, kernel: ArrayLike, stride: IntOrPair = 1, padding: str = "valid"
) -> np.ndarray:
    """Convolution of a 2-D image with all tiles at once: ``sliding_window_view`` + ``einsum``.

    ``sliding_window_view`` gives every tile as a view, shape (out_h, out_w, kh, kw),
    without copying; ``einsum`` multiplies each tile with the kernel and sums. Where
    "same" padding adds zeros, the products with them are left out of the sums (they
    add nothing, even under an inf weight, where 0 * inf would be NaN).
    """
    image, kernel, stride, padding = _check_conv2d(image, kernel, stride, padding)
    dtype = _float_type(image, kernel)
    kernel = kernel.astype(dtype, copy=False)
    padded = _pad2d(image.astype(dtype, copy=False), kernel.shape, stride, padding)
    tiles = sliding_window_view(padded, kernel.shape)[:: stride[0], :: stride[1]]
    if padded.shape == image.shape:
        return np.einsum("yxij,ij->yx", tiles, kernel)
    inside = _pad2d(np.ones(image.shape, dtype=bool), kernel.shape, stride, padding)
    real = sliding_window_view(inside, kernel.shape)[:: stride[0], :: stride[1]]
    products = np.multiply(tiles, kernel, out=np.zeros(tiles.shape, dtype), where=real)
    return products.sum(axis=(2, 3))


def conv2d(
    image: ArrayLike, kernel: ArrayLike, stride: IntOrPair = 1, padding: str = "valid"
) -> np.ndarray:
    """Convolution (cross-correlation, as in deep learning) of a 2-D image with a 2-D kernel.

    Parameters
    ----------
    image : (height, width) array of numbers.
    kernel : (kernel_height, kernel_width) array of numbers; not flipped.
    stride : step between windows, one int or (rows, columns); at least 1.
    padding : ``"valid"`` (only windows inside the image) or ``"same"`` (TensorFlow's
        zero padding: ``ceil(n / stride)`` outputs, any odd extra at the bottom/right).

    Returns a float array equal to
    ``tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], stride,
    padding.upper())[0, :, :, 0]`` (the padding adds nothing to a sum, as in TensorFlow's
    float32 kernel, even under an inf weight). Its dtype is float32 when every input is
    bool, float16, float32 or an 8- or 16-bit integer, and float64 when one is float64 or
    a 32- or 64-bit integer (see "Dtypes" in the module's notes).

    It loops over the kernel's weights, not the image's pixels: the output is the sum,
    over kernel positions (i, j), of ``kernel[i, j]`` times the image shifted by (i, j).
    """
    image, kernel, stride, padding = _check_conv2d(image, kernel, stride, padding)
    return _conv_nhwc(image[None, :, :, None], kernel[:, :, None, None], stride, padding)[
        0, :, :, 0
    ]


# --------------------------------------------------------------------------- NHWC
def _conv_nhwc(images: np.ndarray, kernels: np.ndarray, stride: Pair, padding: str) -> np.ndarray:
    """The shift-and-add convolution on checked (N, H, W, C_in) and (kh, kw, C_in, C_out)."""
    _, height, width, channels = images.shape
    kernel_h, kernel_w, _, filters = kernels.shape
    dtype = _float_type(images, kernels)
    (top, bottom), (left, right) = _pads(height, width, (kernel_h, kernel_w), stride, padding)
    padded = _pad_hw(images.astype(dtype, copy=False), top, bottom, left, right, 0)
    kernels = kernels.astype(dtype, copy=False)
    out_shape = (
        output_size(height, kernel_h, stride[0], padding),
        output_size(width, kernel_w, stride[1], padding),
    )
    output = np.zeros((images.shape[0], *out_shape, filters), dtype=dtype)
    for row in range(kernel_h):
        rows = _inside(out_shape[0], row, stride[0], top, height)
        for col in range(kernel_w):
            # Only the outputs whose pixel under (row, col) is inside the image: the zero
            # padding adds nothing, even under an inf weight (0 * inf would be NaN).
            cols = _inside(out_shape[1], col, stride[1], left, width)
            shifted = _window(padded, row, col, out_shape, stride)[:, rows, cols]
            if channels == 1:  # a broadcast product is much faster than a 1-wide matmul
                output[:, rows, cols] += shifted * kernels[row, col, 0]
            else:
                # With an inf weight, numpy's matmul on some CPUs (seen on an AMD EPYC)
                # flags "invalid value" for an intermediate 0 * inf that its result does
                # not keep: the output is still TensorFlow's (tests/test_ops.py), NaN
                # only where a pixel of 0 meets the inf, and TensorFlow does not warn.
                with np.errstate(invalid="ignore"):
                    output[:, rows, cols] += shifted @ kernels[row, col]
    return output


def conv2d_nhwc(
    images: ArrayLike, kernels: ArrayLike, stride: IntOrPair = 1, padding: str = "valid"
) -> np.ndarray:
    """Batched multi-channel convolution, the shapes and results of ``tf.nn.conv2d``.

    Parameters
    ----------
    images : (N, height, width, C_in) array (NHWC, TensorFlow's default layout).
    kernels : (kernel_height, kernel_width, C_in, C_out) array (HWIO): one
        (kh, kw, C_in) filter per output channel.
    stride, padding : as in :func:`conv2d`.

    Returns (N, out_height, out_width, C_out): output channel ``o`` is the sum over
    input channels of each channel convolved with its slice ``kernels[:, :, c, o]``.
    """
    images = _as_numeric(images, "images", 4, "(batch, height, width, channels)")
    kernels = _as_numeric(
        kernels, "kernels", 4, "(kernel_height, kernel_width, in_channels, out_channels)"
    )
    stride = _pair(stride, "stride", "the step between windows")
    padding = _check_padding(padding)
    if images.shape[3] != kernels.shape[2]:
        raise ValueError(
            f"images have {images.shape[3]} channels (shape {images.shape}) but kernels "
            f"expect {kernels.shape[2]} (shape {kernels.shape}, layout (kh, kw, C_in, C_out)). "
            "Make kernels.shape[2] equal images.shape[3]."
        )
    _check_fits(images.shape[1:3], kernels.shape[:2], padding, "kernel", "images", "kernel")
    return _conv_nhwc(images, kernels, stride, padding)


# --------------------------------------------------------------------------- pooling
def _max_pool_nhwc(x: np.ndarray, size: Pair, stride: Pair, padding: str) -> np.ndarray:
    """Max over windows of checked (N, H, W, C), as TensorFlow computes it.

    NaN is ignored (``np.fmax``), and each maximum starts from the lowest finite number
    of the dtype: a window of NaN or -inf alone gives that number, as in TensorFlow.
    "Same" padding never wins (it is -inf).
    """
    _, height, width, _ = x.shape
    dtype = _float_type(x)
    (top, bottom), (left, right) = _pads(height, width, size, stride, padding)
    padded = _pad_hw(x.astype(dtype, copy=False), top, bottom, left, right, -np.inf)
    out_shape = (
        output_size(height, size[0], stride[0], padding),
        output_size(width, size[1], stride[1], padding),
    )
    lowest = np.finfo(dtype).min
    output = np.full((x.shape[0], *out_shape, x.shape[3]), lowest, dtype=dtype)
    for row in range(size[0]):
        for col in range(size[1]):
            np.fmax(output, _window(padded, row, col, out_shape, stride), out=output)
    return output


def _pool_args(size: IntOrPair, stride: IntOrPair | None, padding: str) -> tuple[Pair, Pair, str]:
    size = _pair(size, "size", "the pooling window")
    stride = size if stride is None else _pair(stride, "stride", "the step between windows")
    return size, stride, _check_padding(padding)


def max_pool2d(
    x: ArrayLike, size: IntOrPair = 2, stride: IntOrPair | None = None, padding: str = "valid"
) -> np.ndarray:
    """Max pooling of a 2-D array: the largest value of each ``size`` x ``size`` window.

    ``stride`` defaults to ``size`` (windows side by side, as in Keras), so the default
    halves each side. Returns a float array; equals ``keras.layers.MaxPooling2D(size,
    stride, padding)`` on ``x[None, :, :, None]``.
    """
    x = _as_numeric(x, "x", 2, "(height, width)")
    size, stride, padding = _pool_args(size, stride, padding)
    _check_fits(x.shape, size, padding, "pooling window", "input", "size")
    return _max_pool_nhwc(x[None, :, :, None], size, stride, padding)[0, :, :, 0]


def max_pool2d_nhwc(
    x: ArrayLike, size: IntOrPair = 2, stride: IntOrPair | None = None, padding: str = "valid"
) -> np.ndarray:
    """Max pooling of a batch (N, H, W, C), each channel on its own, like ``MaxPooling2D``.

    ``keras.layers.MaxPooling2D(pool_size=size, strides=stride, padding=padding)``;
    ``stride`` defaults to ``size``. Returns (N, out_height, out_width, C).
    """
    x = _as_numeric(x, "x", 4, "(batch, height, width, channels)")
    size, stride, padding = _pool_args(size, stride, padding)
    _check_fits(x.shape[1:3], size, padding, "pooling window", "input", "size")
    return _max_pool_nhwc(x, size, stride, padding)
