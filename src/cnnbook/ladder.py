"""The cats-vs-dogs ladder: ever larger networks, then a small modern one, all measured.

Each rung is a function ``build_...(input_shape)`` that returns a *compiled* Keras model
(its loss and optimiser are part of the rung), and ``RUNGS`` lists them in order:

1. ``build_mlp``: one hidden dense layer, MSE loss, Adam at 1e-5;
2. ``build_one_conv``: one Conv2D with 24 kernels, max pooling, two dense layers;
3. ``build_two_conv_48``: two Conv2D with 48 kernels each;
4. ``build_two_conv_128``: two Conv2D with 128 kernels each;
5. ``build_wide_dense``: 64 then 128 kernels, dense layers of 512 units;
6. ``build_modern``: what a practitioner does today: binary cross-entropy, data
   augmentation, batch normalisation, global average pooling, dropout.

Rungs 1-5 follow the original course: a sigmoid output trained with mean squared error.

``measure_rung(model, train_data, validation_data, num_epochs)`` trains any compiled
model with one sigmoid output and returns its row of the ladder's table: validation
MSE, Pearson correlation, best accuracy over ten thresholds, parameters, size on disk,
seconds per epoch. To add a rung of your own, write a builder like the ones below and
measure it the same way::

    model = my_builder(input_shape)
    row = measure_rung(model, train_data, validation_data, num_epochs=10, name="7. mine")
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from cnnbook import metrics

SOURCE_LEARNING_RATE = 1e-4  # rungs 2-5
MLP_LEARNING_RATE = 1e-5  # rung 1, as in the source
MODERN_LEARNING_RATE = 1e-3  # rung 6


def _binary_accuracy() -> keras.metrics.Metric:
    # Named explicitly: with an MSE loss, the string "accuracy" would mean exact equality.
    return keras.metrics.BinaryAccuracy(name="accuracy")


def _compile_source_style(model: keras.Model, learning_rate: float) -> keras.Model:
    """Sigmoid output trained on mean squared error, as rungs 1-5 of the source do."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=[_binary_accuracy()])
    return model


def _inputs(input_shape: Sequence[int]) -> keras.KerasTensor:
    input_shape = tuple(int(side) for side in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels), not {input_shape}")
    return keras.Input(shape=input_shape, name="photo")


def _conv_stack(x, filters: Sequence[int]):
    """Conv2D (3x3, ReLU) then 2x2 max pooling, once per entry of ``filters``."""
    for index, count in enumerate(filters, start=1):
        x = layers.Conv2D(count, 3, activation="relu", name=f"conv{index}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    return x


def _dense_head(x, units: Sequence[int]):
    """Flatten, dense ReLU layers of ``units``, then one sigmoid output (dog = 1)."""
    x = layers.Flatten(name="flatten")(x)
    for index, count in enumerate(units, start=1):
        x = layers.Dense(count, activation="relu", name=f"dense{index}")(x)
    return layers.Dense(1, activation="sigmoid", name="dog_score")(x)


def build_mlp(input_shape: Sequence[int], hidden_units: int = 128) -> keras.Model:
    """Rung 1: every pixel into one hidden dense layer; MSE, Adam at 1e-5."""
    inputs = _inputs(input_shape)
    outputs = _dense_head(inputs, [hidden_units])
    return _compile_source_style(keras.Model(inputs, outputs, name="mlp"), MLP_LEARNING_RATE)


def build_one_conv(input_shape: Sequence[int]) -> keras.Model:
    """Rung 2: one Conv2D with 24 kernels, max pooling, two dense layers."""
    inputs = _inputs(input_shape)
    outputs = _dense_head(_conv_stack(inputs, [24]), [128])
    return _compile_source_style(keras.Model(inputs, outputs, name="one_conv"),
                                 SOURCE_LEARNING_RATE)


def build_two_conv_48(input_shape: Sequence[int]) -> keras.Model:
    """Rung 3: two Conv2D with 48 kernels each (each followed by max pooling)."""
    inputs = _inputs(input_shape)
    outputs = _dense_head(_conv_stack(inputs, [48, 48]), [128])
    return _compile_source_style(keras.Model(inputs, outputs, name="two_conv_48"),
                                 SOURCE_LEARNING_RATE)


def build_two_conv_128(input_shape: Sequence[int]) -> keras.Model:
    """Rung 4: two Conv2D with 128 kernels each."""
    inputs = _inputs(input_shape)
    outputs = _dense_head(_conv_stack(inputs, [128, 128]), [128])
    return _compile_source_style(keras.Model(inputs, outputs, name="two_conv_128"),
                                 SOURCE_LEARNING_RATE)


def build_wide_dense(input_shape: Sequence[int]) -> keras.Model:
    """Rung 5: 64 then 128 kernels, then two dense layers of 512 units."""
    inputs = _inputs(input_shape)
    outputs = _dense_head(_conv_stack(inputs, [64, 128]), [512, 512])
    return _compile_source_style(keras.Model(inputs, outputs, name="wide_dense"),
                                 SOURCE_LEARNING_RATE)


def augmentation(seed: int | None = None) -> keras.Sequential:
    """Random flips, small rotations, zooms and contrast changes (training only)."""
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.08, seed=seed),
            layers.RandomZoom(0.15, seed=seed),
            layers.RandomContrast(0.2, seed=seed),
        ],
        name="augmentation",
    )


def _conv_bn_block(x, filters: int, name: str):
    """3x3 convolution without bias, batch normalisation, ReLU, 2x2 max pooling."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    return layers.MaxPooling2D(2, name=f"{name}_pool")(x)


def build_modern(input_shape: Sequence[int], filters: Sequence[int] = (32, 64, 128, 256),
                 dropout: float = 0.3,
                 learning_rate: float | keras.optimizers.schedules.LearningRateSchedule
                 = MODERN_LEARNING_RATE,
                 seed: int | None = None) -> keras.Model:
    """Rung 6: augmentation, conv + batch-norm blocks, global average pooling, dropout.

    Binary cross-entropy instead of MSE, and no big dense layer: global average pooling
    turns each of the last feature maps into one number, so the head has only
    ``filters[-1] + 1`` weights. ``learning_rate`` may be a Keras schedule (the lab
    lowers it along a cosine over the epochs it trains for).
    """
    inputs = _inputs(input_shape)
    x = augmentation(seed)(inputs)
    for index, count in enumerate(filters, start=1):
        x = _conv_bn_block(x, count, name=f"block{index}")
    x = layers.GlobalAveragePooling2D(name="average")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    # float32 even under mixed precision: the score and loss at full precision
    outputs = layers.Dense(1, activation="sigmoid", name="dog_score", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="modern")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy",
                  metrics=[_binary_accuracy()])
    return model


@dataclass(frozen=True)
class Rung:
    """One rung of the ladder: its number, a short name, what it adds, its builder."""

    number: int
    name: str
    summary: str
    build: Callable[[Sequence[int]], keras.Model]

    @property
    def label(self) -> str:
        return f"{self.number}. {self.name}"


RUNGS: tuple[Rung, ...] = (
    Rung(1, "MLP", "one hidden dense layer, MSE, Adam at 1e-5", build_mlp),
    Rung(2, "1 conv (24)", "one Conv2D with 24 kernels, max pooling, two dense layers",
         build_one_conv),
    Rung(3, "2 conv (48, 48)", "two Conv2D with 48 kernels each", build_two_conv_48),
    Rung(4, "2 conv (128, 128)", "two Conv2D with 128 kernels each", build_two_conv_128),
    Rung(5, "2 conv (64, 128) + 2x512", "64 then 128 kernels, dense layers of 512 units",
         build_wide_dense),
    Rung(6, "modern", "BCE, augmentation, batch norm, global average pooling, dropout",
         build_modern),
)


def rung(number: int) -> Rung:
    """The rung with this number (1 to 6)."""
    for candidate in RUNGS:
        if candidate.number == number:
            return candidate
    raise ValueError(f"there is no rung {number!r}; the rungs are {[r.number for r in RUNGS]}")


# --------------------------------------------------------------------------- measuring
class EpochTimer(keras.callbacks.Callback):
    """Seconds spent training in each epoch (the validation pass is not counted)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start: float | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def _stop(self):
        if self._start is not None:
            self.seconds.append(time.perf_counter() - self._start)
            self._start = None

    def on_test_begin(self, logs=None):  # validation starts: training of this epoch is over
        self._stop()

    def on_epoch_end(self, epoch, logs=None):  # no validation this epoch
        self._stop()


def predict_scores(model: keras.Model, dataset) -> tuple[np.ndarray, np.ndarray]:
    """The model's scores and the true labels, batch by batch, in one pass."""
    scores, labels = [], []
    for images, batch_labels in dataset:
        # a plain call: no tf.function to trace (and retrace for a last, smaller batch)
        scores.append(np.asarray(model(images, training=False)).reshape(-1))
        labels.append(np.asarray(batch_labels).reshape(-1))
    if not scores:
        raise ValueError("the dataset is empty: there is nothing to predict")
    return np.concatenate(scores), np.concatenate(labels)


def saved_size_bytes(model: keras.Model) -> int:
    """Bytes of the model saved as a ``.keras`` file (weights and optimiser state)."""
    with tempfile.TemporaryDirectory(prefix="cnnbook-size-") as folder:
        path = os.path.join(folder, f"{model.name}.keras")
        model.save(path)
        return os.path.getsize(path)


def measure_rung(model: keras.Model, train_data, validation_data, num_epochs: int,
                 name: str | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
                 verbose: int = 0) -> dict:
    """Train a compiled one-output model and return its row of the ladder's table.

    The row holds ``rung``, ``val_accuracy`` (best over ten thresholds, and the
    ``best_threshold``), ``val_accuracy_at_0.5``, ``val_mse``, ``val_pearson``,
    ``parameters``, ``size_mb`` (the saved ``.keras`` file), ``seconds_per_epoch``
    (median training time of an epoch; the first epoch also decodes the photos unless
    they are cached), ``num_epochs`` and the Keras ``history``.
    """
    if not isinstance(num_epochs, (int, np.integer)) or num_epochs < 1:
        raise ValueError(f"num_epochs must be a positive integer, not {num_epochs!r}")
    if model.outputs and tuple(model.outputs[0].shape[1:]) != (1,):
        raise ValueError(
            f"the model must end in one sigmoid output of shape (None, 1); "
            f"{model.name} outputs {tuple(model.outputs[0].shape)}"
        )
    timer = EpochTimer()
    history = model.fit(train_data, validation_data=validation_data, epochs=int(num_epochs),
                        callbacks=[timer, *callbacks], verbose=verbose,
                        shuffle=False)  # the dataset shuffles itself
    scores, labels = predict_scores(model, validation_data)
    sweep = metrics.threshold_sweep(scores, labels)
    return {
        "rung": name or model.name,
        "val_accuracy": sweep.best_accuracy,
        "best_threshold": sweep.best_threshold,
        "val_accuracy_at_0.5": metrics.accuracy_at(scores, labels, 0.5),
        "val_mse": metrics.mean_squared_error(scores, labels),
        "val_pearson": metrics.pearson_correlation(scores, labels),
        "parameters": int(model.count_params()),
        "size_mb": saved_size_bytes(model) / 1e6,
        "seconds_per_epoch": float(np.median(timer.seconds)),
        "num_epochs": int(num_epochs),
        "history": dict(history.history),
    }


TABLE_COLUMNS = ("rung", "val_accuracy", "val_mse", "val_pearson", "parameters", "size_mb",
                 "seconds_per_epoch", "num_epochs")
