"""The MNIST convnet: preprocessing, the model, its training, and ways to look inside.

The MNIST lab (``notebooks/04_mnist_convnet.ipynb``) teaches each of these in full and
checks that the copies here agree with it; later labs, the assignments and the
benchmark import them from here::

    from cnnbook.data import load_mnist
    from cnnbook import mnist

    (train_images, train_labels), (test_images, test_labels) = load_mnist()
    train_images, test_images = mnist.preprocess(train_images), mnist.preprocess(test_images)
    (train_images, train_labels), validation = mnist.split_validation(
        train_images, train_labels, num_validation=mnist.NUM_VALIDATION)
    model = mnist.build_mnist_convnet()          # 104,202 parameters
    history = mnist.train(model, train_images, train_labels, validation, num_epochs=2)
    test_loss, test_accuracy = model.evaluate(test_images, test_labels, verbose=0)

- ``preprocess``: uint8 digits (N, 28, 28) in [0, 255] to float32 (N, 28, 28, 1) in [0, 1];
- ``build_mnist_convnet``: the source's Functional-API model, three Conv2D and two
  MaxPooling2D layers, Flatten, Dense(10, softmax); ``filters`` changes the widths;
- ``split_validation``: a seeded random split of the training set, so that the test set
  is kept for the final evaluation only;
- ``compile_mnist_convnet`` and ``train``: rmsprop, sparse categorical cross-entropy,
  accuracy; ``fit`` on numpy arrays in batches of 64, as the source does. ``train``
  accepts any Keras model that takes (N, 28, 28, 1) digits and ends in a 10-way softmax
  (a smaller model of your own, say); call ``cnnbook.set_seed`` first for a repeatable run;
- ``first_layer_filters``, ``feature_maps``: what the trained network learned;
  ``confusion_matrix``, ``misclassified`` (from ``cnnbook.metrics``): where it is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers
from numpy.typing import ArrayLike

from cnnbook.checks import check_positive_int

# The confusion matrix lives with the other scores; imported here for mnist.confusion_matrix.
from cnnbook.metrics import confusion_matrix, misclassified  # noqa: F401

NUM_CLASSES = 10
IMAGE_SIDE = 28
INPUT_SHAPE = (IMAGE_SIDE, IMAGE_SIDE, 1)
SOURCE_FILTERS = (32, 64, 128)
KERNEL_SIZE = 3
POOL_SIZE = 2
BATCH_SIZE = 64
NUM_EPOCHS = 2
NUM_VALIDATION = 5000  # held out of the 60,000 training digits (the classic 55,000 / 5,000)
OPTIMIZER = "rmsprop"
LOSS = "sparse_categorical_crossentropy"
METRICS = ("accuracy",)
MAX_PIXEL = 255.0


# --------------------------------------------------------------------------- data
def preprocess(images: ArrayLike) -> np.ndarray:
    """Digits as the network wants them: float32 of shape (N, 28, 28, 1), values in [0, 1].

    ``images`` is a batch of N grey 28x28 digits, shape (N, 28, 28) or (N, 28, 28, 1),
    with pixel values in [0, 255] (``load_mnist`` gives uint8). Each value is divided by
    255, so do not pass images that are already scaled.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        hint = " For one digit, add a batch axis: image[None]." if images.ndim == 2 else ""
        raise ValueError(
            f"images must be a batch of 28x28 digits, shape (N, 28, 28) or (N, 28, 28, 1); "
            f"got shape {images.shape}.{hint}"
        )
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        raise ValueError(f"images must hold numbers, not {images.dtype}")
    if images.size and (images.min() < 0 or images.max() > MAX_PIXEL):
        raise ValueError(
            f"pixel values must lie in [0, 255]; got values from {images.min()} to {images.max()}"
        )
    return images.reshape((-1, *INPUT_SHAPE)).astype("float32") / np.float32(MAX_PIXEL)


def _check_pairs(images: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    images, labels = np.asarray(images), np.asarray(labels)
    if labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"need one label per image: got images of shape {images.shape} and labels of "
            f"shape {labels.shape} (labels must be a flat array of N class numbers)"
        )
    return images, labels


def split_validation(
    images: ArrayLike, labels: ArrayLike, num_validation: int, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out ``num_validation`` randomly chosen examples to watch training with.

    Returns ``(train_images, train_labels), (validation_images, validation_labels)``.
    The same ``seed`` gives the same split. The test set stays untouched, for the final
    evaluation only.
    """
    images, labels = _check_pairs(images, labels)
    if not isinstance(num_validation, (int, np.integer)) or not 0 < num_validation < len(labels):
        raise ValueError(
            f"num_validation must be an integer between 1 and {len(labels) - 1} (the "
            f"{len(labels)} examples minus at least one for training); got {num_validation!r}"
        )
    order = np.random.default_rng(seed).permutation(len(labels))
    held_out, kept = order[:num_validation], order[num_validation:]
    return (images[kept], labels[kept]), (images[held_out], labels[held_out])


# --------------------------------------------------------------------------- model
def build_mnist_convnet(
    filters: Sequence[int] = SOURCE_FILTERS, name: str = "mnist_convnet"
) -> keras.Model:
    """The source's convnet, with the Functional API (not compiled).

    Input(28, 28, 1) - Conv2D(32, 3, relu) - MaxPooling2D(2) - Conv2D(64, 3, relu) -
    MaxPooling2D(2) - Conv2D(128, 3, relu) - Flatten - Dense(10, softmax): 104,202
    parameters. ``filters`` sets the number of kernels of the three Conv2D layers (for
    smaller or larger variants); the layers are named ``conv_1``, ``pool_1``,
    ``conv_2``, ``pool_2``, ``conv_3``, ``flatten`` and ``classifier``.
    """
    filters = tuple(filters)
    if len(filters) != 3 or not all(isinstance(f, (int, np.integer)) and f > 0 for f in filters):
        raise ValueError(
            f"filters must be three positive integers, one per Conv2D; got {filters!r}"
        )
    inputs = keras.Input(shape=INPUT_SHAPE, name="digit")
    x = layers.Conv2D(filters[0], KERNEL_SIZE, activation="relu", name="conv_1")(inputs)
    x = layers.MaxPooling2D(POOL_SIZE, name="pool_1")(x)
    x = layers.Conv2D(filters[1], KERNEL_SIZE, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(POOL_SIZE, name="pool_2")(x)
    x = layers.Conv2D(filters[2], KERNEL_SIZE, activation="relu", name="conv_3")(x)
    x = layers.Flatten(name="flatten")(x)
    # float32 even under mixed precision: probabilities and loss at full precision
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="classifier", dtype="float32")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def compile_mnist_convnet(model: keras.Model) -> keras.Model:
    """Compile as the source does: rmsprop, sparse categorical cross-entropy, accuracy."""
    model.compile(optimizer=OPTIMIZER, loss=LOSS, metrics=list(METRICS))
    return model


def _known_input_shape(model: keras.Model) -> tuple[int, ...] | None:
    """The input shape without the batch axis, or ``None`` if the model does not know it yet.

    A ``Sequential`` without ``keras.Input`` and a subclassed model learn their input
    shape on their first call, so they have none before it.
    """
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list):  # several inputs: not one of this book's digit models
        raise ValueError(f"model {model.name!r} takes {len(shape)} inputs; it needs one: digits")
    return tuple(shape[1:])


def _check_model_input(model: keras.Model, images: np.ndarray, what: str) -> None:
    expected = _known_input_shape(model)
    if expected is None:
        expected = INPUT_SHAPE
    if images.ndim != 4 or tuple(images.shape[1:]) != expected:
        raise ValueError(
            f"{what} must have shape (N, {', '.join(map(str, expected))}) for this model; got "
            f"{images.shape}. Pass them through preprocess() first."
        )


def _check_scaled(images: np.ndarray, what: str) -> None:
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"{what} hold values from {images.min()} to {images.max()}; the network expects "
            "values in [0, 1]. Pass them through preprocess() first."
        )


def _check_labels(labels: np.ndarray, num_classes: int, what: str) -> None:
    """Whole class numbers 0 .. num_classes - 1; a clear error for 1..10 and the like."""
    if labels.size == 0:
        raise ValueError(f"{what} are empty: there is nothing to train on")
    if (
        labels.dtype.kind not in "iuf"
        or (labels.dtype.kind == "f" and not np.all(np.isfinite(labels)))
        or not np.all(labels == np.round(labels))
    ):
        raise ValueError(
            f"{what} must be whole class numbers 0 to {num_classes - 1}; got dtype "
            f"{labels.dtype} (for one-hot labels, take labels.argmax(axis=1))"
        )
    low, high = labels.min(), labels.max()
    if low < 0 or high > num_classes - 1:
        hint = (
            " They seem to count from 1: subtract 1 (labels - 1)."
            if low >= 1 and high == num_classes
            else ""
        )
        raise ValueError(
            f"{what} must be class numbers 0 to {num_classes - 1} (one per output of the "
            f"model); got values from {low} to {high}.{hint}"
        )


def _probe_outputs(model: keras.Model, images: np.ndarray, warn_if_linear: bool) -> int:
    """Run two images through ``model``: its number of classes, and a warning if the
    outputs are not probabilities (a linear last layer, with the loss that wants them)."""
    import warnings

    outputs = np.asarray(model(images[:2], training=False))
    if outputs.ndim != 2 or outputs.shape[1] < 2:
        raise ValueError(
            f"the model's output must be one probability per class, shape (N, {NUM_CLASSES});"
            f" got shape {outputs.shape}. End the model with "
            f"layers.Dense({NUM_CLASSES}, activation='softmax')."
        )
    is_probability = np.all(outputs >= 0) and np.allclose(
        outputs.sum(axis=1), 1, atol=1e-2
    )  # float16 too
    if warn_if_linear and not is_probability:
        warnings.warn(
            "the model's outputs are not probabilities (they do not lie in [0, 1] and sum to "
            f"1), but the loss {LOSS!r} expects them: the last layer is probably linear. "
            f"Give it activation='softmax', or compile the model yourself with "
            "keras.losses.SparseCategoricalCrossentropy(from_logits=True).",
            UserWarning,
            stacklevel=3,
        )
    return int(outputs.shape[1])


def _is_compiled(model: keras.Model) -> bool:
    return bool(getattr(model, "compiled", False)) and model.optimizer is not None


def train(
    model: keras.Model,
    images: ArrayLike,
    labels: ArrayLike,
    validation: tuple[ArrayLike, ArrayLike] | None = None,
    num_epochs: int = NUM_EPOCHS,
    batch_size: int = BATCH_SIZE,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = 2,
    *,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
) -> keras.callbacks.History:
    """Fit ``model`` on numpy arrays, compiling it as the source does if it is not compiled.

    ``images`` are preprocessed digits (N, 28, 28, 1), ``labels`` class numbers 0..9
    (N,); ``validation`` (or Keras's name, ``validation_data``) is an optional
    ``(images, labels)`` pair to measure after each epoch. A model the reader compiled
    keeps its optimizer, loss and metrics; one that is not compiled gets rmsprop, sparse
    categorical cross-entropy and accuracy. Everything is checked before the first epoch.
    Returns Keras's ``History`` (``history.history["accuracy"]``, ``["val_accuracy"]``...).
    """
    if validation_data is not None:
        if validation is not None:
            raise ValueError("give the validation pair once: validation or validation_data")
        validation = validation_data
    check_positive_int(num_epochs, "num_epochs", "the passes over the training images")
    check_positive_int(batch_size, "batch_size", "the images per gradient step")
    images, labels = _check_pairs(images, labels)
    _check_model_input(model, images, "images")
    _check_scaled(images, "images")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise ValueError("validation must be an (images, labels) pair or None")
        validation = _check_pairs(*validation)
        _check_model_input(model, validation[0], "validation images")
        _check_scaled(validation[0], "validation images")
    compiled = _is_compiled(model)
    num_classes = _probe_outputs(model, images, warn_if_linear=not compiled)
    _check_labels(labels, num_classes, "labels")
    if validation is not None:
        _check_labels(validation[1], num_classes, "validation labels")
    if not compiled:
        compile_mnist_convnet(model)
    return model.fit(
        images,
        labels,
        epochs=int(num_epochs),
        batch_size=int(batch_size),
        validation_data=validation,
        callbacks=list(callbacks),
        verbose=verbose,
    )


# --------------------------------------------------------------------------- look inside
def first_layer_filters(model: keras.Model) -> np.ndarray:
    """The kernels of the first Conv2D layer as (num_filters, height, width) arrays.

    The first layer sees one grey channel, so each of its kernels is a small 2-D image.
    """
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    if not convs:
        raise ValueError(f"model {model.name!r} has no Conv2D layer")
    kernels = np.asarray(convs[0].get_weights()[0])  # (height, width, channels, filters)
    if kernels.shape[2] != 1:
        raise ValueError(
            f"the first Conv2D of {model.name!r} sees {kernels.shape[2]} channels; its "
            "kernels are 2-D images only for one grey channel"
        )
    return np.transpose(kernels[:, :, 0, :], (2, 0, 1))


def feature_maps(model: keras.Model, image: ArrayLike) -> list[tuple[str, np.ndarray]]:
    """What each convolution and pooling layer makes of one preprocessed digit.

    ``image`` has shape (28, 28, 1) (or (28, 28)). Returns ``(layer name, maps)`` pairs
    in order, ``maps`` of shape (height, width, channels).
    """
    image = np.asarray(image, dtype="float32")
    if image.ndim == 2:
        image = image[..., None]
    _check_model_input(model, image[None], "image[None]")
    if _known_input_shape(model) is None:
        raise ValueError(
            f"model {model.name!r} does not know its input yet (a Sequential without "
            "keras.Input, or a subclassed model), so its layers' outputs cannot be read. "
            "Start a Sequential with keras.Input(shape=(28, 28, 1)), or use the Functional API."
        )
    spatial = [
        layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))
    ]
    if not spatial:
        raise ValueError(f"model {model.name!r} has no Conv2D or MaxPooling2D layer")
    probe = keras.Model(inputs=model.input, outputs=[layer.output for layer in spatial])
    outputs = probe(image[None], training=False)
    return [(layer.name, np.asarray(maps)[0]) for layer, maps in zip(spatial, outputs, strict=True)]
