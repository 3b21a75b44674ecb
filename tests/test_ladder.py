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
    modern = ladder.rung(6).build(INPUT_SHAPE)
    assert isinstance(modern.loss, keras.losses.BinaryCrossentropy)
    assert modern.loss.get_config()["label_smoothing"] == ladder.LABEL_SMOOTHING > 0
    assert isinstance(modern.optimizer, keras.optimizers.AdamW)
    plain = ladder.build_modern(INPUT_SHAPE, label_smoothing=0.0, weight_decay=0.0)
    assert plain.loss.get_config()["label_smoothing"] == 0.0
    assert type(plain.optimizer) is keras.optimizers.Adam


def test_mlp_is_one_hidden_dense_layer_with_adam_at_1e_5():
    model = ladder.build_mlp(INPUT_SHAPE, hidden_units=16)
    pixels = int(np.prod(INPUT_SHAPE))
    assert model.count_params() == pixels * 16 + 16 + 16 + 1
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-5)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer",
        "Flatten",
        "Dense",
        "Dense",
    ]


@pytest.mark.parametrize(
    "number, kernels, dense_units",
    [
        (2, [24], [128, 1]),
        (3, [48, 48], [128, 1]),
        (4, [128, 128], [128, 1]),
        (5, [64, 128], [512, 512, 1]),
    ],
)
def test_convolutional_rungs_have_the_source_kernels_and_dense_layers(number, kernels, dense_units):
    model = ladder.rung(number).build(INPUT_SHAPE)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.filters for layer in convs] == kernels
    assert [layer.units for layer in dense] == dense_units
    assert all(isinstance(layer, keras.layers.Conv2D) for layer in convs)
    assert len(
        [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    ) == len(kernels)


def test_modern_rung_uses_todays_tools_and_far_fewer_parameters_at_full_size():
    photo_shape = (94, 125, 3)
    modern = ladder.build_modern(photo_shape)
    types = _layer_types(modern)
    for wanted in (
        "RandomFlip",
        "RandomTranslation",
        "RandomRotation",
        "BatchNormalization",
        "GlobalAveragePooling2D",
        "Dropout",
    ):
        assert wanted in types, f"rung 6 has no {wanted}"
    assert modern.layers[-1].units == 1
    assert ladder.build_wide_dense(photo_shape).count_params() > 20 * modern.count_params()
    # one straight chain of layers (the in-page explorer runs chains only)
    for before, layer in zip(modern.layers, modern.layers[1:], strict=False):
        assert layer.input is before.output, f"{layer.name} does not follow {before.name}"
    # batch norm's running statistics keep up within a short epoch
    norms = [layer for layer in modern.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == ladder.BATCH_NORM_MOMENTUM for layer in norms)


def test_modern_schedule_warms_up_then_decays_to_zero():
    schedule = ladder.modern_schedule(max_epochs=10, steps_per_epoch=5, peak_learning_rate=1e-2)
    rates = [float(schedule(step)) for step in range(51)]
    assert rates[0] == pytest.approx(1e-3)
    assert max(rates) == pytest.approx(1e-2) and int(np.argmax(rates)) == 10
    assert rates[-1] == pytest.approx(0.0, abs=1e-6)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False))


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


# --------------------------------------------------------------------------- odd models
def _tiny_arrays(seed=0, n=16):
    rng = np.random.default_rng(seed)
    labels = np.tile([0.0, 1.0], n // 2)
    images = rng.uniform(size=(n, *INPUT_SHAPE)).astype("float32")
    images[labels == 1] *= 0.5  # dogs darker: something to learn
    return images, labels


def _sequential_without_input(activation="sigmoid"):
    model = keras.Sequential(
        [
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1, activation=activation),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="subclassed")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.score = keras.layers.Dense(1, activation="sigmoid")

    def call(self, images):
        return self.score(self.pool(images))


def test_measure_rung_builds_a_sequential_without_input_and_a_subclassed_model():
    data = _tiny_arrays()
    for model in (_sequential_without_input(), _Subclassed()):
        if not model.compiled:
            model.compile(optimizer="adam", loss="binary_crossentropy")
        row = ladder.measure_rung(model, data, data, num_epochs=1)
        assert row["parameters"] == model.count_params() > 0
        assert 0.0 <= row["val_accuracy"] <= 1.0


def test_measure_rung_refuses_a_linear_output_before_training():
    data = _tiny_arrays()
    model = _sequential_without_input("linear")
    with pytest.raises(ValueError, match="not a sigmoid"):
        ladder.measure_rung(model, data, data, num_epochs=1)
    assert not model.optimizer or model.optimizer.iterations.numpy() == 0  # never trained


def test_validation_pairs_are_accepted_and_bad_shapes_refused_before_training():
    images, labels = _tiny_arrays()
    model = ladder.build_one_conv(INPUT_SHAPE)
    row = ladder.measure_rung(
        model, (images, labels), (images, labels), num_epochs=1, test_data=(images, labels)
    )
    assert row["val_n"] == row["test_n"] == 16
    with pytest.raises(ValueError, match="one label per image"):
        ladder.measure_rung(model, (images, labels), (images, labels[:3]), num_epochs=1)
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        ladder.measure_rung(model, (images, labels), "validation/", num_epochs=1)


def test_labels_outside_zero_one_are_refused_clearly():
    images, _ = _tiny_arrays()
    digits = np.arange(1, 17) % 10
    with pytest.raises(ValueError, match=r"0 \(cat\) or 1 \(dog\)"):
        ladder.measure_rung(
            ladder.build_one_conv(INPUT_SHAPE), (images, digits), (images, digits), num_epochs=1
        )


def test_labels_outside_zero_one_in_a_dataset_stop_at_the_first_batch():
    import tensorflow as tf

    images, _ = _tiny_arrays()
    digits = tf.data.Dataset.from_tensor_slices((images, np.arange(16.0))).batch(8)
    timer = ladder.EpochTimer()
    with pytest.raises(ValueError, match=r"0 \(cat\) or 1 \(dog\)"):
        ladder.measure_rung(
            ladder.build_one_conv(INPUT_SHAPE), digits, digits, num_epochs=3, callbacks=[timer]
        )
    assert timer.seconds == [], "it trained a whole epoch before refusing"


def test_early_stopping_test_scores_inference_accuracy_and_progress(capsys):
    data = _tiny_arrays()
    model = ladder.build_modern(INPUT_SHAPE, filters=(4, 8))
    row = ladder.measure_rung(
        model,
        data,
        data,
        num_epochs=3,
        patience=1,
        test_data=data,
        train_eval_data=data,
        progress=True,
        name="6. test",
    )
    assert row["max_epochs"] == 3 and 1 <= row["num_epochs"] <= 3
    assert 1 <= row["best_epoch"] <= row["num_epochs"]
    assert len(row["history"]["train_accuracy"]) == row["num_epochs"]
    assert row["test_accuracy_low"] <= row["test_accuracy"] <= row["test_accuracy_high"]
    scores, labels = ladder.predict_scores(model, data)
    assert row["test_accuracy"] == metrics.accuracy_at(scores, labels, row["best_threshold"])
    lines = capsys.readouterr()
    assert lines.out == "" and lines.err.count("6. test: epoch ") == row["num_epochs"]


@pytest.mark.parametrize(
    "switch",
    [
        {"augment": False},
        {"batch_norm": False},
        {"dropout": 0.0},
        {"loss": "mse"},
        {"head": "flatten"},
    ],
)
def test_build_modern_drops_one_ingredient_at_a_time(switch):
    types = _layer_types(ladder.build_modern(INPUT_SHAPE, **switch))
    model = ladder.build_modern(INPUT_SHAPE, **switch)
    gone = {
        "augment": "RandomFlip",
        "batch_norm": "BatchNormalization",
        "dropout": "Dropout",
        "head": "GlobalAveragePooling2D",
    }
    key = next(iter(switch))
    if key in gone:
        assert gone[key] not in types
    else:
        assert model.loss == "mse"
    with pytest.raises(ValueError, match="head"):
        ladder.build_modern(INPUT_SHAPE, head="max")


def test_source_results_sit_beside_rungs_one_to_five():
    assert sorted(ladder.SOURCE_RESULTS) == [1, 2, 3, 4, 5]
    assert ladder.source_summary(1) == "MSE 0.36, r 0.15"
    assert ladder.source_summary(5) == "accuracy 0.75" and ladder.source_summary(6) == ""
    # the source's MSEs are worse than always answering one half (0.25)
    assert all(r["mse"] > 0.25 for r in ladder.SOURCE_RESULTS.values() if "mse" in r)


def test_budget_stopping_waits_for_min_epochs_and_keeps_the_best_weights():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.stop_training = False  # as fit sets it
    stopper = ladder.BudgetStopping(patience=1, min_epochs=4)
    stopper.set_model(model)
    stopper.on_train_begin()
    losses = [1.0, 2.0, 3.0, 4.0, 5.0]
    stopped_at = None
    for epoch, loss in enumerate(losses):
        model.layers[-1].bias.assign([float(epoch)])
        stopper.on_epoch_end(epoch, {"val_loss": loss})
        if model.stop_training:
            stopped_at = epoch + 1
            break
    assert stopped_at == 4, "it stopped before min_epochs or not at all"
    stopper.on_train_end()
    assert float(model.layers[-1].bias.numpy()[0]) == 0.0, "the best epoch's weights"


def test_the_fair_budget_never_stops_and_still_keeps_the_best_epochs_weights():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.stop_training = False  # as fit sets it
    fair = ladder.FAIR_BUDGET
    stopper = ladder.BudgetStopping(patience=fair.patience, min_epochs=fair.min_epochs)
    stopper.set_model(model)
    stopper.on_train_begin()
    best = 3  # the lowest validation loss, early in the run
    losses = [2.0 + abs(epoch - best) for epoch in range(fair.max_epochs)]
    for epoch, loss in enumerate(losses):
        model.layers[-1].bias.assign([float(epoch)])
        stopper.on_epoch_end(epoch, {"val_loss": loss})
        assert not model.stop_training, f"the fair budget stopped at epoch {epoch + 1}"
    stopper.on_train_end()
    assert float(model.layers[-1].bias.numpy()[0]) == best, "the best epoch's weights"


@pytest.mark.slow  # trains networks: tens of seconds
def test_transfer_rung_trains_frozen_then_fine_tuned_with_random_weights(data_root):
    """The code path of rung 7 without the ImageNet file: weights=None, a few photos."""
    shape = (32, 40)  # MobileNetV2 takes nothing smaller than 32 x 32
    train = photos.cats_and_dogs_photos("train", limit=16)
    validation = photos.cats_and_dogs_photos("validation", limit=8)
    train_data = photos.photo_dataset(train.paths, train.labels, shape, batch_size=8)
    validation_data = photos.photo_dataset(validation.paths, validation.labels, shape)
    model = ladder.build_transfer((*shape, 3), weights=None, seed=0)
    backbone = model.get_layer("backbone")
    assert not backbone.trainable and len(model.trainable_weights) == 2  # the head only
    row = ladder.measure_rung(
        model,
        train_data,
        validation_data,
        num_epochs=1,
        test_data=validation_data,
        name="7. transfer",
    )
    assert 0.0 <= row["test_accuracy"] <= 1.0
    ladder.fine_tune(model, num_layers=5)
    assert 2 < len(model.trainable_weights) < len(model.weights)
    assert not any(
        layer.trainable
        for layer in backbone.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )
    ladder.measure_rung(model, train_data, validation_data, num_epochs=1)


def test_missing_pretrained_weights_name_the_file_to_place(tmp_path, monkeypatch):
    from cnnbook import data

    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    remote = data.PRETRAINED_WEIGHTS["mobilenet_v2"]
    monkeypatch.setitem(
        data.PRETRAINED_WEIGHTS,
        "mobilenet_v2",
        data.Remote("http://127.0.0.1:9/nothing.h5", remote.filename, None),
    )  # nothing listens there
    with pytest.raises(data.DataNotFoundError, match=remote.filename) as caught:
        data.pretrained_weights_path()
    assert "CNNBOOK_DATA" in str(caught.value)
    (tmp_path / remote.filename).write_text("<html>captive portal</html>")
    with pytest.raises(data.DataIntegrityError, match="not an HDF5"):
        data.pretrained_weights_path()
    assert (tmp_path / remote.filename).exists(), "the reader's file must be left in place"


def test_budgets_are_named_and_quick_mode_shrinks_them(monkeypatch):
    monkeypatch.delenv("CNNBOOK_QUICK", raising=False)
    fair, page, short = ladder.budget("fair"), ladder.budget("page"), ladder.budget("short")
    assert (fair, page, short) == (ladder.FAIR_BUDGET, ladder.PAGE_BUDGET, ladder.SHORT_BUDGET)
    assert page.max_epochs < fair.max_epochs
    assert page.max_epochs <= short.max_epochs < fair.max_epochs
    for name, budget in ladder.BUDGETS.items():
        assert budget.name == name
        assert 1 <= budget.min_epochs <= budget.max_epochs and budget.patience >= 1
        assert f"{budget.max_epochs} epochs" in budget.describe()
    # the fair rule trains every epoch (rung 6's whole schedule); the page's stops early
    assert not fair.stops_early and "no early stopping" in fair.describe()
    assert page.stops_early and short.stops_early
    assert "no early stopping" not in page.describe()
    assert not ladder.Budget("x", 10, patience=3, min_epochs=10).stops_early
    assert not ladder.Budget("x", 10, patience=10, min_epochs=3).stops_early
    assert not ladder.Budget("x", 10, patience=9, min_epochs=3).stops_early  # only at 10
    assert ladder.Budget("x", 10, patience=8, min_epochs=3).stops_early
    monkeypatch.setenv("CNNBOOK_QUICK", "1")
    assert {ladder.budget(name) for name in ladder.BUDGETS} == {ladder.QUICK_BUDGET}
    with pytest.raises(ValueError, match="'fair', 'page', 'short'"):
        ladder.budget("long")


def test_ablation_effects_pair_each_variant_with_the_reference_of_its_seed():
    def run(variant, seed, flags):
        return {
            "variant": variant,
            "seed": seed,
            "test_correct": flags,
            "test_accuracy": flags.count("1") / len(flags),
        }

    records = [
        run("rung 6", 1, "1111111111"),
        run("rung 6", 2, "1111100000"),
        run("no dropout", 1, "0000000000"),
        run("no dropout", 2, "0000000000"),
        run("crop", 1, "1111111110"),  # one photo lost: a split of 1 to 0, p = 1
        run("pad", 3, "1111111111"),  # no reference run of seed 3: left out
    ]
    effects = {effect.variant: effect for effect in ladder.ablation_effects(records)}
    assert set(effects) == {"no dropout", "crop"}
    dropped = effects["no dropout"]
    assert (dropped.comparison.only_first, dropped.comparison.only_second) == (0, 15)
    assert dropped.comparison.p_value == pytest.approx(2 / 2**15)  # exact binomial tail
    assert dropped.verdict == "worse" and dropped.seeds == 2
    assert dropped.change == pytest.approx(0.0 - 0.75)
    crop = effects["crop"]
    assert crop.verdict == "tied" and crop.comparison.p_value == 1.0 and crop.seeds == 1
    assert crop.change == pytest.approx(-0.1) and crop.reference_accuracy == 1.0
    better = ladder.ablation_effects([run("rung 6", 1, "0" * 8), run("MSE loss", 1, "1" * 8)])
    assert better[0].verdict == "better"
    with pytest.raises(ValueError, match="re-run"):
        ladder.ablation_effects(
            [run("rung 6", 1, "1"), {"variant": "pad", "seed": 1, "test_accuracy": 1.0}]
        )


def _fair_run(rung, seed, val, test, test_set=ladder.BOOK_TEST_SET):
    return {
        "rung": rung,
        "seed": seed,
        "val_accuracy": val,
        "test_accuracy": test,
        "test_set": test_set,
    }


def test_best_fair_rung_is_chosen_on_validation_over_the_shared_seeds_only():
    records = [
        # rung 2 has a lucky extra seed (9): it must not count
        _fair_run(2, 42, 0.70, 0.69),
        _fair_run(2, 1, 0.70, 0.71),
        _fair_run(2, 9, 0.99, 0.99),
        _fair_run(3, 42, 0.73, 0.70),
        _fair_run(3, 1, 0.71, 0.68),
        _fair_run(4, 42, 0.60, 0.90),
        _fair_run(4, 1, 0.60, 0.90),  # best on test: ignored
    ]
    choice = ladder.best_fair_rung(records)
    assert choice == ladder.FairChoice(
        rung=3, test_accuracy=pytest.approx(0.69), seeds=(1, 42), rungs=(2, 3, 4), tied_with=()
    )
    tied = ladder.best_fair_rung(
        [_fair_run(3, 42, 0.728, 0.71), _fair_run(4, 42, 0.728, 0.70), _fair_run(1, 42, 0.6, 0.6)]
    )
    assert (tied.rung, tied.tied_with, tied.test_accuracy) == (3, (4,), 0.71)
    assert hash(tied)  # a frozen choice, usable as a key
    assert ladder.best_fair_rung([]) is None
    assert ladder.best_fair_rung([_fair_run(1, 1, 0.6, 0.6), _fair_run(2, 2, 0.7, 0.7)]) is None


def test_a_committed_runs_machine_is_its_own_else_its_files_only_if_no_run_names_one():
    intel, amd = "Intel Xeon, 2 CPUs", "AMD EPYC, 2 CPUs"
    older = {"environment": {"machine": intel}, "rungs": [{"rung": 6}, {"rung": 1}]}
    # runs from before the field: the one invocation's machine
    assert ladder.committed_machine(older["rungs"][0], older) == intel
    assert ladder.committed_machine({"variant": "pad"}, {**older, "rungs": []}) == intel
    # a file grown over sessions: each run's own, and none guessed for a run without one
    mixed = {"environment": {"machine": amd}, "variants": [{"machine": intel}, {}]}
    assert ladder.committed_machine(mixed["variants"][0], mixed) == intel
    assert ladder.committed_machine(mixed["variants"][1], mixed) == ladder.MACHINE_NOT_RECORDED
    assert ladder.committed_machine({}, {}) == ladder.MACHINE_NOT_RECORDED


def test_committed_fair_runs_keep_only_full_mode_fair_runs_on_the_books_test_split():
    max_epochs, patience, min_epochs = ladder.FAIR_BUDGET.rule
    environment = {
        "quick_mode": False,
        "budget": "schedule",  # the name may differ: the rule is what counts
        "max_epochs": max_epochs,
        "patience": patience,
        "min_epochs": min_epochs,
    }
    runs = [
        _fair_run(6, 42, 0.87, 0.86),
        _fair_run(3, 42, 0.73, 0.71),
        _fair_run(6, 1, 0.8, 0.8, test_set="my pets"),
    ]
    results = {"environment": environment, "rungs": runs}
    assert ladder.committed_fair_runs(results, {6}) == runs[:1]
    assert ladder.committed_fair_runs(results, [1, 2, 3]) == runs[1:2]
    assert ladder.committed_fair_runs(None, {6}) == []
    assert (
        ladder.committed_fair_runs(
            {"environment": {**environment, "budget": "fair"}, "rungs": runs}, {6}
        )
        == runs[:1]
    )
    no_rule = {k: v for k, v in environment.items() if k != "patience"}
    assert ladder.committed_fair_runs({"environment": no_rule, "rungs": runs}, {6}) == []
    for other in (
        {"quick_mode": True},
        {"patience": 10, "min_epochs": 10},  # the earlier fair rule, under the same name
        {"max_epochs": 40},
    ):
        assert (
            ladder.committed_fair_runs(
                {"environment": {**environment, **other}, "rungs": runs}, {6}
            )
            == []
        )
