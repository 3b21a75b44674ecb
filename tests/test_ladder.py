"""The ladder's builders (shapes, losses, parameter counts) and its measuring function."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnbook import ladder, metrics, photos

INPUT_SHAPE = (24, 32, 3)  # small photos, so that the tests run fast


def _layer_types(model: keras.Model) -> set[str]:
    found = set()
    for layer in model.layers:
        found.add(type(layer).__name__)
        if isinstance(layer, keras.Sequential):
            found |= {type(inner).__name__ for inner in layer.layers}
    return found


@pytest.mark.parametrize("rung", ladder.RUNGS, ids=lambda r: r.label)
def test_every_rung_maps_photos_to_one_score_in_zero_one(rung):
    model = rung.build(INPUT_SHAPE)
    scores = np.asarray(model(np.random.default_rng(0).uniform(size=(2, *INPUT_SHAPE))))
    assert scores.shape == (2, 1)
    assert np.all((scores > 0) & (scores < 1))
    assert model.count_params() > 0 and model.optimizer is not None


def test_rungs_are_numbered_one_to_six_and_found_by_number():
    assert [r.number for r in ladder.RUNGS] == [1, 2, 3, 4, 5, 6]
    assert ladder.rung(4) is ladder.RUNGS[3]
    assert ladder.rung(6).label.startswith("6. ")
    with pytest.raises(ValueError, match="no rung 7"):
        ladder.rung(7)


def test_source_rungs_use_mse_and_the_modern_one_cross_entropy():
    for number in range(1, 6):
        assert ladder.rung(number).build(INPUT_SHAPE).loss == "mse"
    assert ladder.rung(6).build(INPUT_SHAPE).loss == "binary_crossentropy"


def test_mlp_is_one_hidden_dense_layer_with_adam_at_1e_5():
    model = ladder.build_mlp(INPUT_SHAPE, hidden_units=16)
    pixels = int(np.prod(INPUT_SHAPE))
    assert model.count_params() == pixels * 16 + 16 + 16 + 1
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-5)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Flatten", "Dense", "Dense"]


@pytest.mark.parametrize(
    "number, kernels, dense_units",
    [(2, [24], [128, 1]), (3, [48, 48], [128, 1]), (4, [128, 128], [128, 1]),
     (5, [64, 128], [512, 512, 1])],
)
def test_convolutional_rungs_have_the_source_kernels_and_dense_layers(number, kernels, dense_units):
    model = ladder.rung(number).build(INPUT_SHAPE)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.filters for layer in convs] == kernels
    assert [layer.units for layer in dense] == dense_units
    assert all(isinstance(layer, keras.layers.Conv2D) for layer in convs)
    assert len([layer for layer in model.layers
                if isinstance(layer, keras.layers.MaxPooling2D)]) == len(kernels)


def test_modern_rung_uses_todays_tools_and_far_fewer_parameters_at_full_size():
    photo_shape = (94, 125, 3)
    modern = ladder.build_modern(photo_shape)
    types = _layer_types(modern)
    for wanted in ("RandomFlip", "RandomRotation", "BatchNormalization",
                   "GlobalAveragePooling2D", "Dropout"):
        assert wanted in types, f"rung 6 has no {wanted}"
    assert modern.layers[-1].units == 1
    assert ladder.build_wide_dense(photo_shape).count_params() > 20 * modern.count_params()


def test_augmentation_changes_photos_only_in_training():
    model = ladder.build_modern(INPUT_SHAPE, seed=1)
    images = np.random.default_rng(1).uniform(size=(4, *INPUT_SHAPE)).astype("float32")
    augment = model.get_layer("augmentation")
    assert np.allclose(augment(images, training=False), images)
    assert not np.allclose(augment(images, training=True), images)


def test_bad_input_shape_is_named():
    with pytest.raises(ValueError, match=r"\(24, 32\)"):
        ladder.build_one_conv((24, 32))


@pytest.fixture(scope="module")
def tiny_photo_sets(data_root):
    train = photos.cats_and_dogs_photos("train", limit=32)
    validation = photos.cats_and_dogs_photos("validation", limit=16)
    shape = INPUT_SHAPE[:2]
    return (
        photos.photo_dataset(train.paths, train.labels, shape, batch_size=8, shuffle=True),
        photos.photo_dataset(validation.paths, validation.labels, shape, batch_size=8),
    )


def test_measure_rung_returns_a_consistent_row(tiny_photo_sets):
    train_data, validation_data = tiny_photo_sets
    model = ladder.build_one_conv(INPUT_SHAPE)
    row = ladder.measure_rung(model, train_data, validation_data, num_epochs=2, name="2. test")
    assert set(ladder.TABLE_COLUMNS) <= set(row)
    assert row["rung"] == "2. test" and row["num_epochs"] == 2
    assert row["parameters"] == model.count_params()
    # float32 weights and Adam's two moments: the file holds at least 3 x 4 bytes a weight
    assert row["size_mb"] * 1e6 > 3 * 4 * row["parameters"]
    assert row["seconds_per_epoch"] > 0
    assert len(row["history"]["val_loss"]) == 2
    scores, labels = ladder.predict_scores(model, validation_data)
    assert labels.shape == (16,)
    assert row["val_mse"] == pytest.approx(metrics.mean_squared_error(scores, labels))
    assert row["val_pearson"] == pytest.approx(metrics.pearson_correlation(scores, labels))
    assert row["val_accuracy"] == pytest.approx(metrics.best_accuracy(scores, labels))
    assert row["val_accuracy"] >= row["val_accuracy_at_0.5"]


def test_measure_rung_refuses_a_model_with_two_outputs(tiny_photo_sets):
    inputs = keras.Input(INPUT_SHAPE)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse")
    with pytest.raises(ValueError, match=r"\(None, 2\)"):
        ladder.measure_rung(model, *tiny_photo_sets, num_epochs=1)
    with pytest.raises(ValueError, match="num_epochs"):
        ladder.measure_rung(model, *tiny_photo_sets, num_epochs=0)


def test_epoch_timer_counts_training_not_validation():
    timer = ladder.EpochTimer()
    timer.on_epoch_begin(0)
    timer.on_test_begin()
    timer.on_epoch_end(0)  # already stopped at the start of validation
    timer.on_epoch_begin(1)
    timer.on_epoch_end(1)
    assert len(timer.seconds) == 2 and all(s >= 0 for s in timer.seconds)
