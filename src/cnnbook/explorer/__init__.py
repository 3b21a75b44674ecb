"""A trained Keras model carried into a web page: its layers as JSON, its weights as bytes.

:func:`cnnbook.widgets.model_explorer` shows a model in the page with ``explorer.js``
(next to this file), which runs the forward pass in plain JavaScript. This module writes
what that script reads:

- :func:`describe_model` walks the model's layers (a straight chain, nested
  ``Sequential`` blocks such as the augmentation of rung 6 included) and returns one
  JSON-ready dict per layer, and the weights packed into one byte string. A layer the
  script cannot compute raises ``ValueError`` naming the layer and what to do.
- :func:`forward` is the same forward pass in numpy, from the same description: the
  reference the tests hold the browser to, and a check that the description is right.

Weights are stored as little-endian float32 when they fit the page budget
(:data:`WEIGHT_BUDGET_BYTES`); else each kernel as int16, or if that is still too big as
int8, with one float32 scale per output channel (a channel's largest weight becomes 32767,
or 127). Rounding errs by at most half a step: 1/65534 of the channel's largest weight for
int16 (float16 errs by up to 1/2048 of each weight itself), 1/254 for int8, which packs a
weight into one byte. Biases and batch-norm vectors stay float32. Batch
normalisation is stored as its inference-time affine map, ``scale * x + shift`` with
``scale = gamma / sqrt(variance + epsilon)``. The packed bytes travel as text, 5
characters for 4 bytes (:func:`encode_85`; base64 would take 5.33).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import keras

__all__ = [
    "ALPHABET_85",
    "IDENTITY_LAYERS",
    "WEIGHT_BUDGET_BYTES",
    "decode_85",
    "describe_model",
    "encode_85",
    "forward",
    "package_text",
]

#: Bytes of packed weights "auto" aims for (937,500 characters once written as text).
WEIGHT_BUDGET_BYTES = 750_000
#: Layers that do nothing at inference: augmentation and dropout.
IDENTITY_LAYERS = (
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomContrast",
    "RandomTranslation",
    "RandomCrop",
    "RandomBrightness",
    "RandomHeight",
    "RandomWidth",
)
_DENSE_ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax")
_CONV_ACTIVATIONS = ("linear", "relu")
_ENCODINGS = ("auto", "float32", "int16", "int8")
#: Each integer encoding: its numpy little-endian type and the largest whole number used.
_INTEGERS = {"int16": ("<i2", 32767), "int8": ("i1", 127)}


def package_text(name: str) -> str:
    """The text of a file shipped next to this module (``explorer.js``, ``explorer.css``)."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- text
#: 85 printable ASCII characters, no double or single quote, backslash, < > or &: safe in
#: a JSON string inside an HTML <script> (no "</script", no "<!--") and in an attribute.
ALPHABET_85 = "".join(c for c in map(chr, range(33, 127)) if c not in "\"\\'<>&")[:85]


def encode_85(data: bytes) -> str:
    """Bytes as text, 5 characters for every 4 bytes (base64 needs 5.33): big-endian
    groups of 4 bytes written in base 85 with :data:`ALPHABET_85`; the last group is
    padded with zero bytes, so the reader must know the length."""
    padded = data + b"\0" * ((-len(data)) % 4)
    values = np.frombuffer(padded, dtype=">u4").astype(np.int64)
    digits = np.empty((values.size, 5), dtype=np.int64)
    for place in range(4, -1, -1):
        digits[:, place] = values % 85
        values //= 85
    table = np.frombuffer(ALPHABET_85.encode("ascii"), dtype=np.uint8)
    return table[digits.ravel()].tobytes().decode("ascii")


def decode_85(text: str, length: int) -> bytes:
    """The ``length`` bytes that :func:`encode_85` wrote as ``text``."""
    lookup = np.full(128, -1, dtype=np.int64)
    lookup[np.frombuffer(ALPHABET_85.encode("ascii"), dtype=np.uint8)] = np.arange(85)
    digits = lookup[np.frombuffer(text.encode("ascii"), dtype=np.uint8)].reshape(-1, 5)
    if (digits < 0).any():
        raise ValueError("text holds characters outside ALPHABET_85")
    values = np.zeros(len(digits), dtype=np.int64)
    for place in range(5):
        values = values * 85 + digits[:, place]
    return values.astype(">u4").tobytes()[:length]


# --------------------------------------------------------------------------- packing
class _Packer:
    """Arrays appended to one byte string, each 4-byte aligned; remembers where."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.chunks: list[bytes] = []
        self.size = 0

    def _add(self, data: bytes) -> int:
        offset = self.size
        padding = (-len(data)) % 4
        self.chunks.append(data + b"\0" * padding)
        self.size += len(data) + padding
        return offset

    def vector(self, values: ArrayLike) -> dict[str, Any]:
        """A float32 array (biases, scales): ``{"offset", "length", "dtype"}``."""
        array = np.ascontiguousarray(values, dtype="<f4").ravel()
        return {"offset": self._add(array.tobytes()), "length": int(array.size), "dtype": "float32"}

    def kernel(self, values: ArrayLike) -> dict[str, Any]:
        """A weight array whose last axis is the output channel, in the chosen encoding."""
        array = np.asarray(values, dtype=np.float32)
        if self.encoding == "float32":
            return self.vector(array)
        dtype, top = _INTEGERS[self.encoding]
        columns = array.reshape(-1, array.shape[-1])
        largest = np.abs(columns).max(axis=0)
        scales = np.where(largest > 0, largest / top, 1.0).astype(np.float32)
        quantised = np.clip(np.rint(columns / scales), -top, top)
        data = np.ascontiguousarray(quantised, dtype=dtype).ravel()
        return {
            "offset": self._add(data.tobytes()),
            "length": int(data.size),
            "dtype": self.encoding,
            "scales": self.vector(scales),
        }

    def bytes(self) -> bytes:
        return b"".join(self.chunks)


def _decode(blob: bytes, entry: dict[str, Any]) -> np.ndarray:
    """The float32 values an entry of the packed weights stands for (as the page sees them)."""
    if entry["dtype"] not in ("float32", *_INTEGERS):
        raise ValueError(f"unknown weight dtype {entry['dtype']!r}")
    dtype = "<f4" if entry["dtype"] == "float32" else _INTEGERS[entry["dtype"]][0]
    values = np.frombuffer(blob, dtype=dtype, count=entry["length"], offset=entry["offset"])
    if entry["dtype"] == "float32":
        return values.astype(np.float32)
    scales = _decode(blob, entry["scales"])
    return (values.reshape(-1, scales.size) * scales).astype(np.float32).ravel()


# --------------------------------------------------------------------------- layers
def _unsupported(layer: keras.layers.Layer, why: str) -> ValueError:
    return ValueError(
        f"layer {layer.name!r} ({type(layer).__name__}) cannot be shown in the page: {why}. "
        "The explorer computes Input, Rescaling, Conv2D, MaxPooling2D, AveragePooling2D, "
        "BatchNormalization, Activation, ReLU, Dropout, Random* augmentation, Flatten, "
        "GlobalAveragePooling2D and Dense layers; rebuild the model from those."
    )


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    return int(value[0]), int(value[1])


def _activation_name(layer: keras.layers.Layer) -> str:
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or str(activation)
    return {"linear": "linear", "relu": "relu", "sigmoid": "sigmoid", "softmax": "softmax"}.get(
        name, name
    )


def _check_channels_last(layer: keras.layers.Layer) -> None:
    data_format = getattr(layer, "data_format", "channels_last")
    if data_format not in (None, "channels_last"):
        raise _unsupported(layer, f"data_format={data_format!r}; only channels_last is")


def _output_side(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def _same_padding(size: int, kernel: int, stride: int) -> int:
    """Rows (or columns) TensorFlow pads *before* the input for "same" (the rest go after)."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2


def _window_spec(
    layer: keras.layers.Layer,
    kernel: tuple[int, int],
    strides: int | Sequence[int],
    padding: str,
    shape: Sequence[int],
) -> dict[str, Any]:
    if padding not in ("valid", "same"):
        raise _unsupported(layer, f"padding={padding!r}; only 'valid' and 'same' are")
    stride_h, stride_w = _pair(strides)
    height, width = shape[0], shape[1]
    out = (
        _output_side(height, kernel[0], stride_h, padding),
        _output_side(width, kernel[1], stride_w, padding),
    )
    if min(out) < 1:
        raise _unsupported(layer, f"its window {kernel} does not fit its input {shape}")
    pads = (
        (_same_padding(height, kernel[0], stride_h), _same_padding(width, kernel[1], stride_w))
        if padding == "same"
        else (0, 0)
    )
    return {
        "kernel": list(kernel),
        "strides": [stride_h, stride_w],
        "padding": padding,
        "pad": list(pads),
        "outputShape": [out[0], out[1], shape[2]],
    }


def _describe_layer(
    layer: keras.layers.Layer, shape: list[int], packer: _Packer
) -> dict[str, Any] | None:
    """One layer's spec (None for an identity), its output shape under ``outputShape``."""
    kind = type(layer).__name__
    if kind in IDENTITY_LAYERS:
        return None
    if kind == "InputLayer":
        return None
    if kind == "Rescaling":
        scale = np.broadcast_to(np.asarray(layer.scale, np.float32), (shape[-1],))
        offset = np.broadcast_to(np.asarray(layer.offset, np.float32), (shape[-1],))
        return {
            "type": "affine",
            "scale": packer.vector(scale),
            "shift": packer.vector(offset),
            "outputShape": list(shape),
        }
    if kind == "BatchNormalization":
        axis = layer.axis if isinstance(layer.axis, int) else list(layer.axis)
        if axis not in (-1, len(shape), [-1], [len(shape)]):
            raise _unsupported(layer, f"axis={layer.axis}; only the channel axis (-1) is")
        variables = {weight.path.split("/")[-1]: np.asarray(weight) for weight in layer.weights}
        channels = shape[-1]
        gamma = variables.get("gamma", np.ones(channels, np.float32))
        beta = variables.get("beta", np.zeros(channels, np.float32))
        scale = gamma / np.sqrt(variables["moving_variance"] + layer.epsilon)
        shift = beta - variables["moving_mean"] * scale
        return {
            "type": "affine",
            "scale": packer.vector(scale),
            "shift": packer.vector(shift),
            "outputShape": list(shape),
        }
    if kind in ("Activation", "ReLU"):
        if kind == "ReLU":
            settings = (layer.max_value, float(layer.negative_slope), float(layer.threshold))
            if settings != (None, 0.0, 0.0):
                raise _unsupported(layer, "a ReLU with max_value, negative_slope or threshold")
            name = "relu"
        else:
            name = _activation_name(layer)
        if name not in _DENSE_ACTIVATIONS:
            raise _unsupported(layer, f"activation {name!r}; only {list(_DENSE_ACTIVATIONS)}")
        if name in ("softmax",) and len(shape) != 1:
            raise _unsupported(layer, "softmax over feature maps")
        return (
            None
            if name == "linear"
            else {"type": "activation", "activation": name, "outputShape": list(shape)}
        )
    if kind == "Conv2D":
        _check_channels_last(layer)
        if len(shape) != 3:
            raise _unsupported(layer, f"its input has shape {shape}, not (height, width, channels)")
        if _pair(layer.dilation_rate) != (1, 1):
            raise _unsupported(layer, f"dilation_rate={layer.dilation_rate}")
        if getattr(layer, "groups", 1) != 1:
            raise _unsupported(layer, f"groups={layer.groups}")
        activation = _activation_name(layer)
        if activation not in _CONV_ACTIVATIONS:
            raise _unsupported(layer, f"activation {activation!r}; only {list(_CONV_ACTIVATIONS)}")
        weights = layer.get_weights()
        kernel = weights[0]
        bias = weights[1] if layer.use_bias else np.zeros(kernel.shape[-1], np.float32)
        spec = _window_spec(layer, kernel.shape[:2], layer.strides, layer.padding, shape)
        spec["outputShape"][2] = int(kernel.shape[3])
        spec.update(
            type="conv2d",
            activation=activation,
            name=layer.name,
            weights=packer.kernel(kernel),
            bias=packer.vector(bias),
        )
        return spec
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        _check_channels_last(layer)
        if len(shape) != 3:
            raise _unsupported(layer, f"its input has shape {shape}, not (height, width, channels)")
        spec = _window_spec(layer, _pair(layer.pool_size), layer.strides, layer.padding, shape)
        spec.update(type="maxpool" if kind == "MaxPooling2D" else "avgpool", name=layer.name)
        return spec
    if kind == "Flatten":
        _check_channels_last(layer)
        return {"type": "flatten", "outputShape": [int(np.prod(shape))]}
    if kind == "GlobalAveragePooling2D":
        _check_channels_last(layer)
        if layer.keepdims:
            raise _unsupported(layer, "keepdims=True")
        return {"type": "globalavgpool", "outputShape": [shape[-1]]}
    if kind == "Dense":
        if len(shape) != 1:
            raise _unsupported(layer, f"its input has shape {shape}; put a Flatten before it")
        activation = _activation_name(layer)
        if activation not in _DENSE_ACTIVATIONS:
            raise _unsupported(layer, f"activation {activation!r}; only {list(_DENSE_ACTIVATIONS)}")
        weights = layer.get_weights()
        bias = weights[1] if layer.use_bias else np.zeros(layer.units, np.float32)
        return {
            "type": "dense",
            "activation": activation,
            "name": layer.name,
            "weights": packer.kernel(weights[0]),
            "bias": packer.vector(bias),
            "outputShape": [int(layer.units)],
        }
    raise _unsupported(layer, "the explorer has no rule for this kind of layer")


def _chain(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in order, nested Sequential blocks opened; a branch is an error."""
    import keras

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} "
            "outputs; the explorer shows a chain of layers with one input and one output"
        )
    top = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if not isinstance(model, keras.Sequential):
        previous = model.inputs[0]
        for layer in top:
            if layer.input is not previous:
                raise ValueError(
                    f"layer {layer.name!r} does not take the output of the layer before it: "
                    "the explorer shows a straight chain of layers, not branches"
                )
            previous = layer.output
        if previous is not model.outputs[0]:
            raise ValueError("the model's output is not its last layer's output")
    layers = []
    for layer in top:
        if isinstance(layer, keras.Sequential):
            layers += _chain(layer)
        elif isinstance(layer, keras.Model):
            raise ValueError(
                f"layer {layer.name!r} is a nested model; the explorer opens "
                "nested Sequential blocks only"
            )
        else:
            layers.append(layer)
    return layers


def _widest_encoding_that_fits(num_weights: int) -> str:
    """float32, int16 or int8: the first whose bytes for ``num_weights`` fit the budget."""
    for name, width in (("float32", 4), ("int16", 2)):
        if width * num_weights <= WEIGHT_BUDGET_BYTES:
            return name
    return "int8"


def describe_model(model: keras.Model, encoding: str = "auto") -> tuple[dict[str, Any], bytes]:
    """The JSON-ready description of ``model`` and its packed weights (see the module doc).

    ``encoding`` is "float32", "int16" or "int8" (kernels as whole numbers with a scale
    per output channel), or "auto": the widest of float32, int16 and int8 whose weights
    (4, 2 or 1 bytes each) fit :data:`WEIGHT_BUDGET_BYTES`, int8 if none does.
    """
    if encoding not in _ENCODINGS:
        raise ValueError(f"encoding must be one of {_ENCODINGS}, not {encoding!r}")
    sides = list(model.inputs[0].shape[1:])
    if len(sides) != 3 or None in sides:
        raise ValueError(
            f"the explorer needs a model whose input is one image of fixed size, (height, "
            f"width, channels); {model.name!r} takes {tuple(model.inputs[0].shape)}"
        )
    input_shape = [int(side) for side in sides]
    if encoding == "auto":
        encoding = _widest_encoding_that_fits(model.count_params())
    packer = _Packer(encoding)
    layers, shape = [], input_shape
    for layer in _chain(model):
        spec = _describe_layer(layer, shape, packer)
        if spec is None:
            continue
        spec.setdefault("name", layer.name)
        shape = spec["outputShape"]
        layers.append(spec)
    expected = [int(side) for side in model.outputs[0].shape[1:]]
    if shape != expected:
        raise ValueError(f"the page would compute an output of shape {shape}, Keras {expected}")
    if len(shape) != 1:
        raise ValueError(f"the model must end in a vector of scores, not shape {shape}")
    description = {
        "name": model.name,
        "inputShape": input_shape,
        "layers": layers,
        "encoding": encoding,
        "weightBytes": packer.size,
    }
    return description, packer.bytes()


# --------------------------------------------------------------------------- numpy reference
def _windows(values: np.ndarray, spec: dict, fill: float) -> np.ndarray:
    """Sliding windows (out_h, out_w, kh, kw, channels) over the padded input."""
    kh, kw = spec["kernel"]
    sh, sw = spec["strides"]
    out_h, out_w = spec["outputShape"][:2]
    top, left = spec["pad"]
    height, width = values.shape[:2]
    bottom = max((out_h - 1) * sh + kh - height - top, 0)
    right = max((out_w - 1) * sw + kw - width - left, 0)
    padded = np.pad(values, ((top, bottom), (left, right), (0, 0)), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(0, 1))
    return view[: (out_h - 1) * sh + 1 : sh, : (out_w - 1) * sw + 1 : sw].transpose(0, 1, 3, 4, 2)


def _activate(values: np.ndarray, name: str) -> np.ndarray:
    if name == "relu":
        return np.maximum(values, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-values))
    if name == "softmax":
        shifted = np.exp(values - values.max())
        return shifted / shifted.sum()
    return values


def forward(description: dict[str, Any], blob: bytes, image: ArrayLike) -> list[np.ndarray]:
    """Every layer's output for one image, computed from the description as the page does."""
    values: np.ndarray = np.asarray(image, dtype=np.float64)
    if list(values.shape) != description["inputShape"]:
        raise ValueError(
            f"image must have shape {description['inputShape']}, not {list(values.shape)}"
        )
    outputs = []
    for spec in description["layers"]:
        kind = spec["type"]
        if kind == "affine":
            values = values * _decode(blob, spec["scale"]) + _decode(blob, spec["shift"])
        elif kind == "activation":
            values = _activate(values, spec["activation"])
        elif kind == "conv2d":
            kh, kw = spec["kernel"]
            channels_in = values.shape[-1]
            weights = _decode(blob, spec["weights"]).reshape(kh, kw, channels_in, -1)
            windows = _windows(values, spec, 0.0)
            values = np.einsum("yxijc,ijco->yxo", windows, weights.astype(np.float64))
            values = _activate(values + _decode(blob, spec["bias"]), spec["activation"])
        elif kind == "maxpool":
            values = _windows(values, spec, -np.inf).max(axis=(2, 3))
        elif kind == "avgpool":
            windows = _windows(values, spec, np.nan)
            values = np.nanmean(windows, axis=(2, 3))
        elif kind == "flatten":
            values = values.reshape(-1)
        elif kind == "globalavgpool":
            values = values.mean(axis=(0, 1))
        elif kind == "dense":
            matrix = _decode(blob, spec["weights"]).reshape(values.size, -1)
            values = values @ matrix.astype(np.float64) + _decode(blob, spec["bias"])
            values = _activate(values, spec["activation"])
        outputs.append(values)
    return outputs
