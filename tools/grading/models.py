"""Take back a Keras model from the sandbox as data: its config checked, then built here.

Only ``config.json`` is read (the weights file is never parsed: every model is trained
from fresh weights). The config is refused unless it is a graph of Keras's own layers of
a short allowlist, with allowlisted initializers and no array in it (a ``Constant``
initializer could carry weights trained elsewhere), and unless its parameters and
multiply-adds, computed from the config *before* anything is built, are under caps.
"""

from __future__ import annotations

import io
import json
import math
import zipfile

from .plan import WrongAnswer

MAX_MODEL_BYTES = 200 * 2**20
MAX_CONFIG_BYTES = 2 * 2**20
ALLOWED_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}

#: Layers that keep their input's shape (elementwise, normalisation, augmentation).
SHAPE_KEEPING = {
    "Activation",
    "BatchNormalization",
    "Dropout",
    "GaussianNoise",
    "LeakyReLU",
    "RandomBrightness",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "Rescaling",
    "Softmax",
    "SpatialDropout2D",
}
LAYERS = SHAPE_KEEPING | {
    "AveragePooling2D",
    "Conv2D",
    "Dense",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "InputLayer",
    "MaxPooling2D",
    "Sequential",
    "Functional",
}
INITIALIZERS = {
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
}
MAX_LIST = 8  # a longer list of numbers in a config is data (weights), not settings
MAX_ACTIVATIONS = 8_000_000  # numbers one image's activations may hold, all layers


def _modules(config) -> set[str]:
    """Every ``module`` a Keras config names, anywhere in it."""
    found = set()
    if isinstance(config, dict):
        if isinstance(config.get("module"), str):
            found.add(config["module"])
        for value in config.values():
            found |= _modules(value)
    elif isinstance(config, list):
        for value in config:
            found |= _modules(value)
    return found


def _check_values(config, key: str = "") -> None:
    """No array, no initializer off the allowlist, anywhere in the config."""
    if isinstance(config, dict):
        name = config.get("class_name")
        if name in ("__numpy__", "__tensor__", "Constant") or (
            key.endswith("initializer") and isinstance(name, str) and name not in INITIALIZERS
        ):
            raise WrongAnswer(f"the model's config holds {name!r}: only fresh weights are graded")
        for inner, value in config.items():
            _check_values(value, str(inner))
    elif isinstance(config, list):
        numbers = [v for v in config if not isinstance(v, (dict, str))]
        if len(numbers) > MAX_LIST:
            raise WrongAnswer("the model's config holds an array: only fresh weights are graded")
        for value in config:
            _check_values(value, key)


def _is_count(value, top: int) -> bool:
    """A whole number from 1 to ``top``; JSON's true and false are not numbers here."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= top


def _pair(value, name: str) -> tuple[int, int]:
    pair = value if isinstance(value, (list, tuple)) else [value, value]
    if len(pair) != 2 or not all(_is_count(v, 64) for v in pair):
        raise WrongAnswer(f"{name} {str(value)[:40]} is not allowed")
    return int(pair[0]), int(pair[1])


def _window(shape, size, strides, padding) -> tuple[int, int]:
    """Output height and width of a convolution or pooling layer: the book's own
    ``cnnbook.ops.output_size`` on each axis; a window it refuses is a wrong answer."""
    from cnnbook import ops

    if padding not in ("same", "valid"):
        raise WrongAnswer(f"padding {str(padding)[:20]} is not allowed")
    try:
        return tuple(
            ops.output_size(s, k, t, padding) for s, k, t in zip(shape, size, strides, strict=True)
        )
    except ValueError as error:  # the book's own words: which window, which input
        raise WrongAnswer(str(error)[:160]) from None


class Cost:
    """Parameters, multiply-adds and activations of one image, summed over layers."""

    def __init__(self):
        self.params = self.macs = self.activations = 0


def _layer(layer: dict, shape: tuple[int, ...], cost: Cost) -> tuple[int, ...]:
    """The output shape (no batch axis) of one layer's config on ``shape``."""
    name, config = layer.get("class_name"), layer.get("config")
    if name not in LAYERS or not isinstance(config, dict):
        raise WrongAnswer(f"the layer {str(name)[:40]} is not allowed in this assignment")
    if config.get("data_format", "channels_last") != "channels_last":
        raise WrongAnswer("only channels_last layers are allowed")
    size = math.prod(shape)
    if name in ("Sequential", "Functional"):
        return _graph(layer, shape, cost)
    if name in SHAPE_KEEPING:
        if name == "BatchNormalization":
            cost.params += 4 * shape[-1]
        cost.macs += size
        return shape
    if name == "Flatten":
        return (size,)
    if name == "Dense":
        units = config.get("units")
        if not _is_count(units, 100_000):
            raise WrongAnswer(f"Dense units {str(units)[:20]} are not allowed")
        cost.params += shape[-1] * units + (units if config.get("use_bias", True) else 0)
        cost.macs += size * units
        return (*shape[:-1], units)
    if len(shape) != 3:
        raise WrongAnswer(f"{name} needs images (height, width, channels), not {shape}")
    if name.startswith("Global"):
        cost.macs += size
        return (shape[2],)
    if name == "Conv2D":
        filters = config.get("filters")
        if not _is_count(filters, 4096):
            raise WrongAnswer(f"Conv2D filters {str(filters)[:20]} are not allowed")
        if config.get("groups", 1) != 1 or _pair(config.get("dilation_rate", 1), "dilation") != (
            1,
            1,
        ):
            raise WrongAnswer("grouped or dilated convolutions are not allowed")
        kernel = _pair(config.get("kernel_size"), "kernel_size")
        out = _window(
            shape[:2],
            kernel,
            _pair(config.get("strides", 1), "strides"),
            config.get("padding", "valid"),
        )
        weights = kernel[0] * kernel[1] * shape[2] * filters
        cost.params += weights + (filters if config.get("use_bias", True) else 0)
        cost.macs += math.prod(out) * weights
        return (*out, filters)
    # MaxPooling2D, AveragePooling2D
    pool = _pair(config.get("pool_size", 2), "pool_size")
    strides = config.get("strides") or pool
    out = _window(shape[:2], pool, _pair(strides, "strides"), config.get("padding", "valid"))
    cost.macs += math.prod(out) * pool[0] * pool[1] * shape[2]
    return (*out, shape[2])


def _input_shape(layer: dict) -> tuple[int, ...]:
    shape = layer.get("config", {}).get("batch_shape")
    if not isinstance(shape, list) or len(shape) < 2 or shape[0] is not None:
        raise WrongAnswer("the model's input has no fixed shape")
    if not all(_is_count(s, 4096) for s in shape[1:]):
        raise WrongAnswer(f"the model's input shape {shape[1:]} is not allowed")
    return tuple(shape[1:])


def _graph(model: dict, shape: tuple[int, ...] | None, cost: Cost) -> tuple[int, ...]:
    """Walk a Sequential or Functional config: each layer takes one earlier layer's output."""
    layers = model.get("config", {}).get("layers")
    if not isinstance(layers, list) or not layers:
        raise WrongAnswer("the model has no layers")
    outputs: dict[str, tuple[int, ...]] = {}
    current, inputs_seen = shape, False
    for layer in layers:
        if not isinstance(layer, dict):
            raise WrongAnswer("a layer of the model is not a config")
        if layer.get("class_name") == "InputLayer":
            if inputs_seen or (shape is not None and _input_shape(layer) != shape):
                raise WrongAnswer("the model must have exactly one input, of one shape")
            inputs_seen, current = True, _input_shape(layer)
        else:
            if model.get("class_name") == "Functional":
                current = outputs.get(_single_input(layer))
            if current is None:
                raise WrongAnswer("the model's input has no fixed shape")
            current = _layer(layer, current, cost)
            cost.activations += math.prod(current)
        outputs[str(layer.get("config", {}).get("name"))] = current
    if model.get("class_name") == "Functional":
        ends = model.get("config", {}).get("output_layers")
        if isinstance(ends, list) and len(ends) == 1 and isinstance(ends[0], list):
            ends = ends[0]
        if not isinstance(ends, list) or len(ends) != 3 or not isinstance(ends[0], str):
            raise WrongAnswer("the model must have exactly one output")
        current = outputs.get(ends[0])
    if current is None:
        raise WrongAnswer("the model's output is not one of its layers")
    return current


def _single_input(layer: dict) -> str:
    nodes = layer.get("inbound_nodes")
    try:
        (node,) = nodes
        (tensor,) = node["args"]
        return str(tensor["config"]["keras_history"][0])
    except (TypeError, ValueError, KeyError, IndexError) as error:
        raise WrongAnswer("each layer must take exactly one input (a chain of layers)") from error


def check_config(config, max_params: int, max_macs: int) -> tuple[tuple[int, ...], Cost]:
    """Refuse a model config that is not plain, small Keras; returns its output shape."""
    if not isinstance(config, dict) or config.get("class_name") not in ("Sequential", "Functional"):
        raise WrongAnswer("the saved model is not a Sequential or functional Keras model")
    foreign = sorted(m for m in _modules(config) if m != "keras" and not m.startswith("keras."))
    if foreign:
        raise WrongAnswer(
            f"the model uses code from outside Keras ({foreign[:3]}): "
            "only Keras's own layers can be graded"
        )
    if '"Lambda"' in json.dumps(config):
        raise WrongAnswer("the model holds a Lambda layer (Python code): it cannot be graded")
    _check_values(config)
    cost = Cost()
    shape = _graph(config, None, cost)
    if cost.params >= max_params:
        raise WrongAnswer(f"{cost.params:,} parameters: it needs fewer than {max_params:,}")
    if cost.macs > max_macs or cost.activations > MAX_ACTIVATIONS:
        raise WrongAnswer(
            f"about {cost.macs:,} multiply-adds per image: too slow to train "
            f"(the grader allows {max_macs:,})"
        )
    return shape, cost


def read_config(data: bytes) -> dict:
    """The ``config.json`` of a ``.keras`` archive (its weights are never read)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise WrongAnswer("the saved model is not a .keras archive") from error
    with archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        if not names <= ALLOWED_MEMBERS or "config.json" not in names:
            raise WrongAnswer(f"unexpected files in the saved model: {sorted(names)[:5]}")
        if sum(member.file_size for member in members) > MAX_MODEL_BYTES:
            raise WrongAnswer("the saved model is too large")
        if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
            raise WrongAnswer("the saved model's config is too large")
        try:
            return json.loads(archive.read("config.json"))
        except (ValueError, RecursionError, zipfile.BadZipFile) as error:
            raise WrongAnswer("the saved model's config is not JSON") from error


def load_model(data, max_params: int = 1_000_000, max_macs: int = 300_000_000):
    """The model of a ``.keras`` archive (bytes or a path), checked, built with fresh weights.

    Compiled with its own compile config, if it has one (callers may compile it again).
    """
    import keras

    if not isinstance(data, bytes):
        with open(data, "rb") as handle:
            data = handle.read(MAX_MODEL_BYTES + 1)
    if len(data) > MAX_MODEL_BYTES:
        raise WrongAnswer("the saved model is too large")
    config = read_config(data)
    check_config(config, max_params, max_macs)
    try:
        model = keras.saving.deserialize_keras_object(
            {k: v for k, v in config.items() if k != "compile_config"}, safe_mode=True
        )
        if isinstance(config.get("compile_config"), dict):
            model.compile_from_config(config["compile_config"])
    except Exception as error:  # any refusal is the answer's fault
        raise WrongAnswer(f"the saved model does not load safely: {str(error)[:200]}") from error
    return model


def fresh_copy(model):
    """The same architecture with new weights (nothing trained in the sandbox is kept)."""
    import keras

    copy = keras.models.clone_model(model)
    if getattr(model, "optimizer", None) is not None and model.loss is not None:
        optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(model.optimizer))
        copy.compile(optimizer=optimizer, loss=model.loss)
    return copy
