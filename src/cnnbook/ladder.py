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
MSE, Pearson correlation, best accuracy over ten thresholds (and, given ``test_data``,
the test accuracy at the threshold chosen on validation, with its 95% Wilson
interval), parameters, size on disk, seconds per epoch. With ``patience`` it keeps the
weights of the epoch with the lowest validation loss, and stops early once that loss
has not improved for ``patience`` epochs (a budget with ``min_epochs`` equal to
``num_epochs`` never stops early: the fair budget). To add a rung of your own, write a
builder like the ones below and measure it the same way::

    model = my_builder(input_shape)
    row = measure_rung(model, train_data, validation_data, num_epochs=10, name="7. mine")
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import keras
import numpy as np
from keras import layers
from numpy.typing import ArrayLike

from cnnbook import metrics
from cnnbook.config import pick

SOURCE_LEARNING_RATE = 1e-4  # rungs 2-5
MLP_LEARNING_RATE = 1e-5  # rung 1, as in the source
MODERN_LEARNING_RATE = 1e-3  # rung 6


def _binary_accuracy() -> keras.metrics.Metric:
    # Named explicitly: with an MSE loss, the string "accuracy" would mean exact equality.
    return keras.metrics.BinaryAccuracy(name="accuracy")


def _compile_source_style(model: keras.Model, learning_rate: float) -> keras.Model:
    """Sigmoid output trained on mean squared error, as rungs 1-5 of the source do."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=[_binary_accuracy()]
    )
    return model


def _inputs(input_shape: Sequence[int]) -> keras.KerasTensor:
    input_shape = tuple(int(side) for side in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels), not {input_shape}")
    return keras.Input(shape=input_shape, name="photo")


def _conv_stack(x: keras.KerasTensor, filters: Sequence[int]) -> keras.KerasTensor:
    """Conv2D (3x3, ReLU) then 2x2 max pooling, once per entry of ``filters``."""
    for index, count in enumerate(filters, start=1):
        x = layers.Conv2D(count, 3, activation="relu", name=f"conv{index}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    return x


def _dense_head(x: keras.KerasTensor, units: Sequence[int]) -> keras.KerasTensor:
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
    return _compile_source_style(
        keras.Model(inputs, outputs, name="one_conv"), SOURCE_LEARNING_RATE
    )


def build_two_conv_48(input_shape: Sequence[int]) -> keras.Model:
    """Rung 3: two Conv2D with 48 kernels each (each followed by max pooling)."""
    inputs = _inputs(input_shape)
    outputs = _dense_head(_conv_stack(inputs, [48, 48]), [128])
    return _compile_source_style(
        keras.Model(inputs, outputs, name="two_conv_48"), SOURCE_LEARNING_RATE
    )


def build_two_conv_128(input_shape: Sequence[int]) -> keras.Model:
    """Rung 4: two Conv2D with 128 kernels each."""
    inputs = _inputs(input_shape)
    outputs = _dense_head(_conv_stack(inputs, [128, 128]), [128])
    return _compile_source_style(
        keras.Model(inputs, outputs, name="two_conv_128"), SOURCE_LEARNING_RATE
    )


def build_wide_dense(input_shape: Sequence[int]) -> keras.Model:
    """Rung 5: 64 then 128 kernels, then two dense layers of 512 units."""
    inputs = _inputs(input_shape)
    outputs = _dense_head(_conv_stack(inputs, [64, 128]), [512, 512])
    return _compile_source_style(
        keras.Model(inputs, outputs, name="wide_dense"), SOURCE_LEARNING_RATE
    )


#: Rung 6's recipe (``build_modern``): its widths, and the settings that let it learn
#: from 2,000 photos. Batch norm's running statistics follow the weights with momentum
#: 0.9: at Keras's 0.99 they lag behind for many of an epoch's 63 batches, and the
#: validation accuracy sat at 0.5 for the first epochs. Label smoothing trains towards
#: 0.05 and 0.95 instead of 0 and 1, so the network is not pushed to certainty on
#: photos it has memorised; AdamW's weight decay shrinks every weight a little each step.
MODERN_FILTERS = (32, 64, 96, 160)
BATCH_NORM_MOMENTUM = 0.9
LABEL_SMOOTHING = 0.1
WEIGHT_DECAY = 1e-4


def augmentation(seed: int | None = None) -> keras.Sequential:
    """Random flips, shifts, small rotations and zooms, contrast changes (training only).

    Shifts, rotations and zooms fill the edges they uncover by reflecting the photo.
    """
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
            layers.RandomRotation(0.05, fill_mode="reflect", seed=seed),
            layers.RandomZoom((-0.2, 0.1), fill_mode="reflect", seed=seed),
            layers.RandomContrast(0.2, seed=seed),
        ],
        name="augmentation",
    )


def _conv_bn_relu(
    x: keras.KerasTensor, filters: int, name: str, strides: int = 1, batch_norm: bool = True
) -> keras.KerasTensor:
    """3x3 convolution, batch normalisation (its bias replaces the convolution's), ReLU.

    Layers ``{name}_conv``, ``{name}_bn``, ``{name}_relu``; without batch norm, one
    ``{name}_conv`` with a bias and a ReLU.
    """
    if not batch_norm:
        return layers.Conv2D(
            filters, 3, strides, padding="same", activation="relu", name=f"{name}_conv"
        )(x)
    x = layers.Conv2D(filters, 3, strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_modern(
    input_shape: Sequence[int],
    filters: Sequence[int] = MODERN_FILTERS,
    dropout: float = 0.3,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = MODERN_LEARNING_RATE,
    seed: int | None = None,
    *,
    augment: bool = True,
    batch_norm: bool = True,
    loss: str = "binary_crossentropy",
    head: str = "average",
    label_smoothing: float = LABEL_SMOOTHING,
    weight_decay: float = WEIGHT_DECAY,
) -> keras.Model:
    """Rung 6: augmentation, conv + batch-norm blocks, global average pooling, dropout.

    A stride-2 convolution first halves the photo (``stem``); then one block per entry of
    ``filters``, each two 3x3 convolutions with batch norm and ReLU, the blocks after the
    first starting with 2x2 max pooling. Binary cross-entropy (with ``label_smoothing``)
    instead of MSE, AdamW (``weight_decay``; 0 gives Adam), and no big dense layer:
    global average pooling turns each of the last feature maps into one number, so the
    head has only ``filters[-1] + 1`` weights. ``learning_rate`` may be a Keras schedule
    (the lab warms it up, then lowers it along a cosine: ``build_for_budget``). The
    model is one chain of layers, so the book's in-page explorer can run it.

    Each ingredient can be switched off, one at a time, to measure what it buys (the
    ablation, ``benchmarks/ladder_ablation.py``): ``augment=False`` drops augmentation,
    ``batch_norm=False`` the batch normalisation (the convolutions get a bias back),
    ``dropout=0`` the dropout, ``loss="mse"`` trains on the squared error,
    ``head="flatten"`` flattens the last maps into a dense layer of 128 units instead
    of averaging them, ``label_smoothing=0`` and ``weight_decay=0`` drop those.
    """
    if loss not in ("binary_crossentropy", "mse"):
        raise ValueError(f"loss must be 'binary_crossentropy' or 'mse', not {loss!r}")
    if head not in ("average", "flatten"):
        raise ValueError(f"head must be 'average' or 'flatten', not {head!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), not {dropout!r}")
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5), not {label_smoothing!r}")
    if not weight_decay >= 0.0:
        raise ValueError(f"weight_decay must be 0 or more, not {weight_decay!r}")
    filters = tuple(int(count) for count in filters)
    if not filters or min(filters) < 1:
        raise ValueError(f"filters must be one or more positive widths, not {filters!r}")
    inputs = _inputs(input_shape)
    x = augmentation(seed)(inputs) if augment else inputs
    x = _conv_bn_relu(x, filters[0], "stem", strides=2, batch_norm=batch_norm)
    for index, count in enumerate(filters, start=1):
        if index > 1:
            x = layers.MaxPooling2D(2, padding="same", name=f"block{index}_pool")(x)
        for step in (1, 2):
            x = _conv_bn_relu(x, count, f"block{index}_{step}", batch_norm=batch_norm)
    if head == "average":
        x = layers.GlobalAveragePooling2D(name="average")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(128, activation="relu", name="dense1")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    # float32 even under mixed precision: the score and loss at full precision
    outputs = layers.Dense(1, activation="sigmoid", name="dog_score", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="modern")
    optimizer = (
        keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
        if weight_decay
        else keras.optimizers.Adam(learning_rate)
    )
    model.compile(
        optimizer=optimizer,
        loss=(
            "mse"
            if loss == "mse"
            else keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
        ),
        metrics=[_binary_accuracy()],
    )
    return model


TRANSFER_LEARNING_RATE = 1e-3  # the new head, on a frozen backbone
FINE_TUNE_LEARNING_RATE = 1e-5  # then the top of the backbone too, gently
FINE_TUNE_LAYERS = 30  # how many of the backbone's last layers are fine-tuned


def build_transfer(
    input_shape: Sequence[int],
    weights: str | os.PathLike | None,
    learning_rate: float = TRANSFER_LEARNING_RATE,
    seed: int | None = None,
) -> keras.Model:
    """Rung 7: an ImageNet-pretrained MobileNetV2 (frozen) with a new one-unit head.

    ``weights`` is the path of the backbone's weights file
    (``cnnbook.data.pretrained_weights_path()``) or ``None`` for random weights (to
    test the code path). The photos, in [0, 1], are augmented as in rung 6 and scaled
    to [-1, 1], as MobileNetV2 expects. Call ``fine_tune`` after training the head.
    """
    inputs = _inputs(input_shape)
    x = augmentation(seed)(inputs)
    x = layers.Rescaling(2.0, offset=-1.0, name="to_minus_one_one")(x)
    backbone = keras.applications.MobileNetV2(
        include_top=False,
        weights=None if weights is None else str(weights),
        input_shape=tuple(int(side) for side in input_shape),
        pooling="avg",
        name="backbone",
    )
    backbone.trainable = False
    x = backbone(x, training=False)  # batch norm keeps its ImageNet statistics
    x = layers.Dropout(0.3, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="dog_score")(x)
    model = keras.Model(inputs, outputs, name="transfer")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=[_binary_accuracy()],
    )
    return model


def fine_tune(
    model: keras.Model,
    num_layers: int = FINE_TUNE_LAYERS,
    learning_rate: float = FINE_TUNE_LEARNING_RATE,
) -> keras.Model:
    """Unfreeze the backbone's last ``num_layers`` layers (not its batch norms) and
    recompile at a small learning rate, for a second round of training."""
    backbone = model.get_layer("backbone")
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        late = index >= len(backbone.layers) - num_layers
        layer.trainable = late and not isinstance(layer, layers.BatchNormalization)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=[_binary_accuracy()],
    )
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
    Rung(
        2,
        "1 conv (24)",
        "one Conv2D with 24 kernels, max pooling, two dense layers",
        build_one_conv,
    ),
    Rung(3, "2 conv (48, 48)", "two Conv2D with 48 kernels each", build_two_conv_48),
    Rung(4, "2 conv (128, 128)", "two Conv2D with 128 kernels each", build_two_conv_128),
    Rung(
        5,
        "2 conv (64, 128) + 2x512",
        "64 then 128 kernels, dense layers of 512 units",
        build_wide_dense,
    ),
    Rung(
        6, "modern", "BCE, augmentation, batch norm, global average pooling, dropout", build_modern
    ),
)


@dataclass(frozen=True)
class Budget:
    """One training budget, the same for every rung: at most ``max_epochs`` epochs;
    early stopping once the validation loss has not improved for ``patience`` epochs,
    but never before ``min_epochs`` (a batch-normalised network's validation loss jumps
    about in its first epochs); the best epoch's weights restored. With ``min_epochs``
    equal to ``max_epochs`` there is no early stop: every epoch is trained, and the
    epoch of the lowest validation loss is still the one kept."""

    name: str
    max_epochs: int
    patience: int
    min_epochs: int

    @property
    def stops_early(self) -> bool:
        """Whether a run can end before ``max_epochs`` (with its best epoch first, it
        stops at epoch ``max(min_epochs, 1 + patience)``)."""
        return self.patience < self.max_epochs - 1 and self.min_epochs < self.max_epochs

    @property
    def rule(self) -> tuple[int, int, int]:
        """What the budget does, whatever its name: (max_epochs, patience, min_epochs)."""
        return (self.max_epochs, self.patience, self.min_epochs)

    def describe(self) -> str:
        if not self.stops_early:
            return (
                f"{self.max_epochs} epochs for every rung, no early stopping (rung 6's "
                "whole learning-rate schedule); the weights of the epoch with the lowest "
                "validation loss restored"
            )
        return (
            f"at most {self.max_epochs} epochs, early stopping after {self.patience} "
            f"without a better validation loss (not before epoch {self.min_epochs})"
        )


#: The fair budget, the benchmarks' (``benchmarks/ladder_*.py``; their results are
#: committed): every rung trains all 60 epochs, and keeps its epoch of lowest validation
#: loss. The rules it replaced are committed beside it (benchmarks/results/): 16 epochs
#: with patience 3; 40 epochs, where rung 6's validation loss was still falling at the
#: end; 60 with patience 10 (``ladder_seeds_patience10.txt``), which stopped rung 6
#: before its cosine schedule ended. Trained again with seeds of those runs for the
#: whole schedule, rung 6 did better on validation (the lab shows each seed, and
#: asserts the mean): the decision, taken on validation, that made this the rule.
FAIR_BUDGET = Budget("fair", max_epochs=60, patience=60, min_epochs=60)
#: The page's budget: shorter, with early stopping, so that a full-mode build of the
#: whole book stays under 30 minutes on a 2-core CPU (benchmarks/results/book_build.txt),
#: and the ladder's cell under Jupyter Book's 30 minutes a cell. Most of an epoch of the
#: six rungs goes to rungs 4 and 5 (the lab's table gives each rung's seconds per epoch);
#: 8 epochs took the build past 30 minutes, 6 keep it well under (the measured times are
#: in that file's notes). The lab trains under it by default.
PAGE_BUDGET = Budget("page", max_epochs=6, patience=3, min_epochs=3)
#: The ablation's (``benchmarks/ladder_ablation.py --budget short``): eight epochs, the
#: page's budget when its committed results were measured, cheap enough to run every
#: variant; what an ingredient buys in a short training, not at the fair budget's length.
SHORT_BUDGET = Budget("short", max_epochs=8, patience=3, min_epochs=3)
#: Quick mode's (``CNNBOOK_QUICK=1``): a check that the code runs, not a measurement.
QUICK_BUDGET = Budget("quick", max_epochs=2, patience=1, min_epochs=1)
BUDGETS = {budget.name: budget for budget in (FAIR_BUDGET, PAGE_BUDGET, SHORT_BUDGET)}


def budget(name: str) -> Budget:
    """The budget called ``name`` (a key of ``BUDGETS``), or quick mode's."""
    if name not in BUDGETS:
        raise ValueError(f"the budgets are {', '.join(map(repr, BUDGETS))}, not {name!r}")
    return pick(BUDGETS[name], QUICK_BUDGET)


#: Batches of ``BATCH_SIZE`` for every rung; rung 6's learning rate follows
#: ``modern_schedule`` (a warm-up of ``WARMUP_EPOCHS``, then a cosine down to zero over
#: the budget's epochs).
BATCH_SIZE = 32
MODERN_PEAK_LEARNING_RATE = 2e-3
WARMUP_EPOCHS = 2


def modern_schedule(
    max_epochs: int,
    steps_per_epoch: int,
    peak_learning_rate: float = MODERN_PEAK_LEARNING_RATE,
    warmup_epochs: int = WARMUP_EPOCHS,
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Rung 6's learning rate: up from a tenth of the peak over ``warmup_epochs``, then
    down to zero along a cosine over the rest of the budget (``max_epochs``)."""
    total = max(1, int(max_epochs) * int(steps_per_epoch))
    warmup = min(int(warmup_epochs) * int(steps_per_epoch), total // 2)
    return keras.optimizers.schedules.CosineDecay(
        peak_learning_rate / 10,
        max(1, total - warmup),
        warmup_target=peak_learning_rate,
        warmup_steps=warmup,
    )


def build_for_budget(
    number: int,
    input_shape: Sequence[int],
    max_epochs: int,
    steps_per_epoch: int,
    seed: int | None = None,
    peak_learning_rate: float = MODERN_PEAK_LEARNING_RATE,
    **modern_options: Any,
) -> keras.Model:
    """Rung ``number`` as the lab trains it: rungs 1-5 as built; rung 6 with its learning
    rate following ``modern_schedule`` over ``max_epochs * steps_per_epoch`` steps (and
    any ``build_modern`` switches in ``modern_options``, for the ablation)."""
    if number != 6:
        if modern_options:
            raise ValueError(f"only rung 6 takes {sorted(modern_options)}")
        return rung(number).build(input_shape)
    schedule = modern_schedule(max_epochs, steps_per_epoch, peak_learning_rate)
    return build_modern(input_shape, learning_rate=schedule, seed=seed, **modern_options)


#: What the source published for rungs 1-5 (Luciano Strika, "Convolutional Neural
#: Networks: A Python Tutorial Using TensorFlow and Keras", KDnuggets, 2019), on its own
#: validation photos: mean squared error, Pearson correlation and accuracy, each number
#: beside the rung it was reported for, in the order the article climbs.
SOURCE_RESULTS: dict[int, dict[str, float]] = {
    1: {"mse": 0.36, "pearson": 0.15},
    2: {"mse": 0.33, "pearson": 0.21},
    3: {"pearson": 0.30, "accuracy": 0.61},
    4: {"pearson": 0.42, "accuracy": 0.67},
    5: {"accuracy": 0.75},
}


def source_summary(number: int) -> str:
    """The source's published numbers for a rung, as text ("" for rung 6)."""
    found = SOURCE_RESULTS.get(number, {})
    names = {"mse": "MSE {:.2f}", "pearson": "r {:.2f}", "accuracy": "accuracy {:.2f}"}
    return ", ".join(names[key].format(value) for key, value in found.items())


def rung(number: int) -> Rung:
    """The rung with this number (1 to 6)."""
    for candidate in RUNGS:
        if candidate.number == number:
            return candidate
    raise ValueError(f"there is no rung {number!r}; the rungs are {[r.number for r in RUNGS]}")


# --------------------------------------------------------------------------- measuring
class EpochTimer(keras.callbacks.Callback):
    """Seconds spent training in each epoch (the validation pass is not counted)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start: float | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def _stop(self) -> None:
        if self._start is not None:
            self.seconds.append(time.perf_counter() - self._start)
            self._start = None

    def on_test_begin(
        self, logs: dict | None = None
    ) -> None:  # validation starts: training of this epoch is over
        self._stop()

    def on_epoch_end(
        self, epoch: int, logs: dict | None = None
    ) -> None:  # no validation this epoch
        self._stop()


class EpochProgress(keras.callbacks.Callback):
    """One line per epoch, on stderr: a reader sees the long training move along.

    stderr, not stdout: the book's build leaves stderr off its pages
    (``stderr_output: remove`` in ``_config.yml``), so the page does not carry it.
    """

    def __init__(self, label: str, max_epochs: int, stream: TextIO | None = None) -> None:
        super().__init__()
        self.label, self.max_epochs = label, max_epochs
        self.stream = stream
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        shown = "  ".join(
            f"{key} {logs[key]:.3f}" for key in ("loss", "val_loss", "val_accuracy") if key in logs
        )
        stream = self.stream or sys.stderr
        print(
            f"{self.label}: epoch {epoch + 1}/{self.max_epochs}  {shown}  "
            f"({time.perf_counter() - self._start:.0f} s)",
            file=stream,
            flush=True,
        )


class BudgetStopping(keras.callbacks.EarlyStopping):
    """Early stopping on the validation loss, best weights restored, never before
    ``min_epochs`` (the best epoch is still looked for among all of them)."""

    def __init__(self, patience: int, min_epochs: int = 1) -> None:
        super().__init__(monitor="val_loss", patience=patience, restore_best_weights=True)
        self.min_epochs = int(min_epochs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        if epoch + 1 < self.min_epochs and self.model.stop_training:
            self.model.stop_training = False  # too early: keep going, keep the best
            self.stopped_epoch = 0


class InferenceAccuracy(keras.callbacks.Callback):
    """After each epoch, the accuracy (at 0.5) on photos seen in inference mode.

    Keras's own training accuracy is measured on augmented photos, with dropout on and
    batch norm in training mode, while the weights move: not comparable with the
    validation accuracy. This one runs the model as validation does (``training=False``)
    on un-augmented training photos, so a gap between the two curves is overfitting.
    """

    def __init__(self, dataset: Any, key: str = "train_accuracy") -> None:
        super().__init__()
        self.dataset, self.key = dataset, key
        self.values: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        scores, labels = predict_scores(self.model, self.dataset)
        self.values.append(metrics.accuracy_at(scores, labels, 0.5))


def _as_batches(data: Any, batch_size: int = 32, shuffle: bool = False) -> Any:
    """A tf.data dataset of (images, labels) batches, also from an ``(x, y)`` pair."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        images = np.asarray(data[0], dtype=np.float32)
        labels = np.asarray(data[1], dtype=np.float32).reshape(-1)
        if images.ndim < 2 or images.shape[0] != labels.shape[0] or labels.size == 0:
            raise ValueError(
                f"an (images, labels) pair needs one label per image; got images of shape "
                f"{images.shape} and {labels.size} labels"
            )
        _check_binary_labels(labels)
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        if shuffle:
            dataset = dataset.shuffle(len(labels), seed=0)
        return dataset.batch(batch_size)
    raise TypeError(
        "give the photos as a tf.data.Dataset of (images, labels) batches (as "
        "cnnbook.photos.photo_dataset makes) or as an (images, labels) pair of arrays, "
        f"not a {type(data).__name__}"
    )


def _check_binary_labels(labels: ArrayLike) -> None:
    values = np.unique(np.asarray(labels))
    if not np.all(np.isin(values, (0.0, 1.0))):
        raise ValueError(
            f"labels must be 0 (cat) or 1 (dog); found the values {values[:10].tolist()}. "
            "For more classes, use a softmax output and its own measures."
        )


def _with_label_check(dataset: Any) -> Any:
    """The dataset, checking each batch's labels are 0 or 1 as it passes (cheap)."""
    import tensorflow as tf

    def check(images: Any, labels: Any) -> tuple[Any, Any]:
        ok = tf.reduce_all((labels == 0) | (labels == 1))
        with tf.control_dependencies([tf.debugging.Assert(ok, [_LABEL_ERROR])]):
            return images, tf.identity(labels)

    return dataset.map(check)


_LABEL_ERROR = "cnnbook: labels must be 0 (cat) or 1 (dog)"


def _check_model(model: keras.Model, train_data: Any) -> None:
    """Build the model if it has no input yet, and check it ends in one score in [0, 1]."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, not {type(model).__name__}")
    if not getattr(model, "compiled", True) or model.optimizer is None:
        raise ValueError(f"compile {model.name} first (model.compile(optimizer, loss, ...))")
    spec = train_data.element_spec[0]
    shape = tuple(spec.shape[1:])
    if None in shape:
        raise ValueError(f"the photos must have one fixed shape; the dataset gives {shape}")
    probe = np.random.default_rng(0).uniform(size=(2, *shape)).astype(np.float32)
    try:
        # Calling it builds a Sequential without an Input, or a subclassed model.
        output = keras.ops.convert_to_numpy(model(probe, training=False))
    except Exception as error:  # noqa: BLE001 - re-raised with the shapes named
        raise ValueError(
            f"{model.name} cannot take the photos of shape {shape}: {error}"
        ) from error
    if output.shape != (2, 1):
        raise ValueError(
            f"the model must end in one sigmoid output of shape (None, 1); "
            f"{model.name} outputs {(None, *output.shape[1:])}"
        )
    last = model.layers[-1] if getattr(model, "layers", None) else None
    linear = getattr(last, "activation", None) is keras.activations.linear
    if linear or np.any((output < 0) | (output > 1)):
        # Refused before any training: the scores (MSE, accuracy at a threshold, the
        # sweep) are defined for probabilities only, and cnnbook.metrics refuses logits.
        raise ValueError(
            f"{model.name}'s output is not a sigmoid: its scores are not between 0 and 1, "
            "so MSE, accuracy at a threshold and the sweep would mean nothing. End the "
            "model in Dense(1, activation='sigmoid')."
        )


def predict_scores(model: keras.Model, dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """The model's scores and the true labels, batch by batch, in one pass.

    ``dataset`` is a dataset of (images, labels) batches or an (images, labels) pair.
    """
    scores, labels = [], []
    for images, batch_labels in _as_batches(dataset):
        # a plain call: no tf.function to trace (and retrace for a last, smaller batch)
        scores.append(keras.ops.convert_to_numpy(model(images, training=False)).reshape(-1))
        labels.append(keras.ops.convert_to_numpy(batch_labels).reshape(-1))
    if not scores:
        raise ValueError("the dataset is empty: there is nothing to predict")
    return np.concatenate(scores), np.concatenate(labels)


def saved_size_bytes(model: keras.Model) -> int:
    """Bytes of the model saved as a ``.keras`` file (weights and optimiser state)."""
    with tempfile.TemporaryDirectory(prefix="cnnbook-size-") as folder:
        path = os.path.join(folder, f"{model.name}.keras")
        model.save(path)
        return os.path.getsize(path)


def score_row(scores: ArrayLike, labels: ArrayLike, threshold: float, prefix: str) -> dict:
    """Accuracy at ``threshold`` (chosen elsewhere) and at 0.5, with 95% Wilson
    intervals, MSE, Pearson (point-biserial) correlation and AUC, keys ``prefix_...``."""
    n = int(np.size(labels))
    accuracy = metrics.accuracy_at(scores, labels, threshold)
    low, high = metrics.accuracy_interval(accuracy, n)
    row = {
        f"{prefix}_accuracy": accuracy,
        f"{prefix}_accuracy_low": low,
        f"{prefix}_accuracy_high": high,
        f"{prefix}_accuracy_at_0.5": metrics.accuracy_at(scores, labels, 0.5),
        f"{prefix}_mse": metrics.mean_squared_error(scores, labels),
        f"{prefix}_pearson": metrics.pearson_correlation(scores, labels),
        f"{prefix}_n": n,
    }
    try:
        row[f"{prefix}_auc"] = metrics.roc_auc(scores, labels)
    except ValueError:  # one class only (a tiny quick-mode sample): no ROC curve
        row[f"{prefix}_auc"] = float("nan")
    return row


def measure_rung(
    model: keras.Model,
    train_data: Any,
    validation_data: Any,
    num_epochs: int,
    name: str | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    *,
    test_data: Any = None,
    patience: int | None = None,
    min_epochs: int = 1,
    train_eval_data: Any = None,
    progress: bool = False,
) -> dict:
    """Train a compiled one-output model and return its row of the ladder's table.

    ``train_data``, ``validation_data`` and ``test_data`` are datasets of (images,
    labels) batches (``cnnbook.photos.photo_dataset``) or (images, labels) pairs of
    arrays; labels are 0 (cat) or 1 (dog). A model without an ``Input`` (a Sequential
    or a subclassed model) is built on the first call.

    The budget: at most ``num_epochs`` epochs; with ``patience``, training stops once
    the validation loss has not improved for that many epochs (but not before
    ``min_epochs``) and the weights of the best epoch are restored. Every decision
    (stopping, the threshold) uses validation only; the test photos are scored once, at
    the end.

    The row holds ``rung``, ``val_accuracy`` (best over ten thresholds, and the
    ``best_threshold``), ``val_accuracy_at_0.5``, ``val_mse``, ``val_pearson``,
    ``val_auc``, ``parameters``, ``size_mb`` (the saved ``.keras`` file),
    ``seconds_per_epoch`` (median training time of an epoch; the first epoch also
    decodes the photos unless they are cached), ``num_epochs`` (epochs trained),
    ``max_epochs``, ``best_epoch`` and the Keras ``history`` (plus ``train_accuracy``
    in inference mode if ``train_eval_data`` is given). With ``test_data``:
    ``test_accuracy`` at the validation's threshold, its 95% Wilson interval
    ``test_accuracy_low``/``_high``, ``test_accuracy_at_0.5``, ``test_mse``,
    ``test_pearson``, ``test_auc``, ``test_n`` and ``test_correct`` (one flag per test
    photo, in the dataset's order: right at that threshold), which
    ``metrics.paired_comparison`` uses to compare two rungs on the same photos.
    """
    import tensorflow as tf

    if (
        isinstance(num_epochs, bool)
        or not isinstance(num_epochs, (int, np.integer))
        or (num_epochs < 1)
    ):
        raise ValueError(f"num_epochs must be a positive integer, not {num_epochs!r}")
    if patience is not None and (not isinstance(patience, (int, np.integer)) or patience < 1):
        raise ValueError(f"patience must be None or a positive integer, not {patience!r}")
    if not isinstance(min_epochs, (int, np.integer)) or min_epochs < 1:
        raise ValueError(f"min_epochs must be a positive integer, not {min_epochs!r}")
    train_data = _as_batches(train_data, shuffle=True)
    validation_data = _as_batches(validation_data)
    test_data = None if test_data is None else _as_batches(test_data)
    _check_model(model, train_data)
    label = name or model.name
    timer = EpochTimer()
    extra: list[keras.callbacks.Callback] = [timer]
    inference = None
    if train_eval_data is not None:
        inference = InferenceAccuracy(_as_batches(train_eval_data))
        extra.append(inference)
    if patience is not None:
        extra.append(BudgetStopping(int(patience), min(int(min_epochs), int(num_epochs))))
    if progress:
        extra.append(EpochProgress(label, int(num_epochs)))
    try:
        history = model.fit(
            _with_label_check(train_data),
            validation_data=_with_label_check(validation_data),
            epochs=int(num_epochs),
            callbacks=[*extra, *callbacks],
            verbose=verbose,
            shuffle=False,
        )  # the dataset shuffles itself
    except tf.errors.InvalidArgumentError as error:
        if _LABEL_ERROR in str(error):
            raise ValueError(
                "labels must be 0 (cat) or 1 (dog); a batch held other values. For more "
                "classes, use a softmax output and its own measures."
            ) from None
        raise
    history = dict(history.history)
    if inference is not None:
        history["train_accuracy"] = inference.values
    scores, labels = predict_scores(model, validation_data)
    sweep = metrics.threshold_sweep(scores, labels)
    row = {
        "rung": label,
        "val_accuracy": sweep.best_accuracy,
        "best_threshold": sweep.best_threshold,
        **{
            key: value
            for key, value in score_row(scores, labels, sweep.best_threshold, "val").items()
            if key != "val_accuracy"
        },
        "parameters": int(model.count_params()),
        "size_mb": saved_size_bytes(model) / 1e6,
        "seconds_per_epoch": float(np.median(timer.seconds)),
        "num_epochs": len(history["loss"]),
        "max_epochs": int(num_epochs),
        "best_epoch": (
            int(np.argmin(history["val_loss"])) + 1 if patience else len(history["loss"])
        ),
        "history": history,
    }
    if test_data is not None:
        test_scores, test_labels = predict_scores(model, test_data)
        row.update(score_row(test_scores, test_labels, sweep.best_threshold, "test"))
        # per photo, for paired comparisons of rungs (metrics.paired_comparison)
        row["test_correct"] = metrics.correct_calls(test_scores, test_labels, sweep.best_threshold)
    return row


TABLE_COLUMNS = (
    "rung",
    "val_accuracy",
    "val_mse",
    "val_pearson",
    "parameters",
    "size_mb",
    "seconds_per_epoch",
    "num_epochs",
)


# --------------------------------------------------------------------------- ablation
#: The ablation's reference: rung 6 with every ingredient (benchmarks/ladder_ablation.py).
ABLATION_REFERENCE = "rung 6"


@dataclass(frozen=True)
class AblationEffect:
    """One variant of rung 6 against the whole recipe, trained with the same seeds and
    scored on the same test photos."""

    variant: str
    accuracy: float  # the variant's test accuracy, mean over its seeds
    reference_accuracy: float  # the whole recipe's, over the same seeds
    comparison: metrics.PairedComparison  # the variant first, the whole recipe second
    seeds: int

    @property
    def change(self) -> float:
        """Test accuracy of the variant minus the whole recipe's (negative: it lost)."""
        return self.accuracy - self.reference_accuracy

    @property
    def verdict(self) -> str:
        """Worse or better when the paired test says so (``metrics.PairedComparison``),
        else tied."""
        return self.comparison.verdict


def _flags(record: dict) -> np.ndarray:
    flags = record.get("test_correct")
    if flags is None:
        raise ValueError(
            f"the run of {record.get('variant', 'rung ' + str(record.get('rung')))!r}, seed "
            f"{record.get('seed')}, has no per-photo flags (test_correct): re-run it with "
            "the current benchmarks/ladder_ablation.py"
        )
    return metrics.flags_from_text(flags)


def ablation_effects(
    records: Sequence[dict], reference: str = ABLATION_REFERENCE
) -> list[AblationEffect]:
    """Each variant of the ablation's ``records`` (``variant``, ``seed``,
    ``test_accuracy`` and ``test_correct`` each) against the ``reference`` run of the
    same seed: a paired test (``metrics.paired_comparison``) on the photos of all the
    seeds they share. Variants without a reference run of a shared seed are left out."""
    references = {r["seed"]: r for r in records if r["variant"] == reference}
    effects = []
    for variant in dict.fromkeys(r["variant"] for r in records if r["variant"] != reference):
        runs = [r for r in records if r["variant"] == variant and r["seed"] in references]
        if not runs:
            continue
        paired = [references[r["seed"]] for r in runs]
        effects.append(
            AblationEffect(
                variant=variant,
                accuracy=float(np.mean([r["test_accuracy"] for r in runs])),
                reference_accuracy=float(np.mean([r["test_accuracy"] for r in paired])),
                comparison=metrics.paired_comparison(
                    np.concatenate([_flags(r) for r in runs]),
                    np.concatenate([_flags(r) for r in paired]),
                ),
                seeds=len(runs),
            )
        )
    return effects


#: The test set a committed benchmark run was scored on when it used the book's split.
BOOK_TEST_SET = "the book's test split"


def committed_budget(environment: dict) -> Budget | None:
    """The budget a committed results file's ``environment`` records: its name and its
    rule (compare ``.rule``: a name may outlive its rule). None for files from before
    the budgets were recorded."""
    try:
        return Budget(
            environment.get("budget", "unnamed"),
            environment["max_epochs"],
            environment["patience"],
            environment["min_epochs"],
        )
    except KeyError:
        return None


#: What a committed run's machine is called when neither it nor its file says.
MACHINE_NOT_RECORDED = "a machine not recorded"


def committed_machine(record: dict, results: dict) -> str:
    """The CPU a committed benchmark run (``record``, one of ``results``' runs) trained
    on. Runs record their own, since a file grown by ``--append`` may span sessions and
    their machines; in a file whose runs all predate that field, the machine its one
    invocation's environment names; otherwise ``MACHINE_NOT_RECORDED``."""
    if record.get("machine"):
        return str(record["machine"])
    runs = results.get("rungs", results.get("variants", []))
    if any(run.get("machine") for run in runs):
        return MACHINE_NOT_RECORDED
    return str(results.get("environment", {}).get("machine") or MACHINE_NOT_RECORDED)


def committed_fair_runs(results: dict | None, numbers: Iterable[int]) -> list[dict]:
    """The runs of the rungs ``numbers`` in a committed ``ladder_seeds`` results file
    (``results``: its parsed JSON) that count as the fair budget's: full mode, the fair
    budget's rule (its epochs, patience and minimum, whatever name the file gives it),
    the book's test split. Empty if there is no file (on Colab, where the repository is
    not cloned)."""
    if not results:
        return []
    environment = results["environment"]
    recorded = committed_budget(environment)
    if environment["quick_mode"] or recorded is None or recorded.rule != FAIR_BUDGET.rule:
        return []
    wanted = set(numbers)
    return [
        record
        for record in results["rungs"]
        if record["rung"] in wanted and record["test_set"] == BOOK_TEST_SET
    ]


@dataclass(frozen=True)
class FairChoice:
    """The best of several rungs, chosen on validation over the seeds all of them share."""

    rung: int
    test_accuracy: float  # its mean over the shared seeds
    seeds: tuple[int, ...]  # the shared seeds
    rungs: tuple[int, ...]  # the rungs it was chosen from
    tied_with: tuple[int, ...]  # rungs as good on validation (the lowest rung is taken)


def best_fair_rung(records: Sequence[dict]) -> FairChoice | None:
    """The rung of ``records`` (runs with ``rung``, ``seed``, ``val_accuracy`` and
    ``test_accuracy``) with the highest mean validation accuracy over only the seeds that
    every rung has: no rung is judged on more, or luckier, draws than another. Ties
    (means within 1e-9) go to the lowest rung and are named. None if there are no records
    or no shared seed."""
    numbers = sorted({r["rung"] for r in records})
    if not numbers:
        return None
    seeds = sorted(
        set.intersection(*[{r["seed"] for r in records if r["rung"] == n} for n in numbers])
    )
    if not seeds:
        return None

    def mean(rung: int, key: str) -> float:
        return float(np.mean([r[key] for r in records if r["rung"] == rung and r["seed"] in seeds]))

    validation = {n: mean(n, "val_accuracy") for n in numbers}
    top = max(validation.values())
    best = [n for n in numbers if np.isclose(validation[n], top, rtol=0.0, atol=1e-9)]
    return FairChoice(
        rung=best[0],
        test_accuracy=mean(best[0], "test_accuracy"),
        seeds=tuple(seeds),
        rungs=tuple(numbers),
        tied_with=tuple(best[1:]),
    )
