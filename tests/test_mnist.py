"""cnnbook.mnist: preprocessing, the split, the source's convnet, its training, its insides."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnnbook import mnist, ops  # noqa: E402  (after the skip: mnist needs Keras)

SOURCE_SHAPES = [
    ("conv_1", (26, 26, 32), 3 * 3 * 1 * 32 + 32),
    ("pool_1", (13, 13, 32), 0),
    ("conv_2", (11, 11, 64), 3 * 3 * 32 * 64 + 64),
    ("pool_2", (5, 5, 64), 0),
    ("conv_3", (3, 3, 128), 3 * 3 * 64 * 128 + 128),
    ("flatten", (1152,), 0),
    ("classifier", (10,), 1152 * 10 + 10),
]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return mnist.build_mnist_convnet()


@pytest.fixture(scope="module")
def digits():
    """200 random 'digits' and labels: enough to check shapes and plumbing."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(200, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, size=200).astype(np.uint8)


# --------------------------------------------------------------------------- preprocess
def test_preprocess_reshapes_and_scales_uint8_digits(digits):
    images, _ = digits
    out = mnist.preprocess(images)
    assert out.shape == (200, 28, 28, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 0], images.astype(np.float32) / 255)
    assert out.min() >= 0 and out.max() <= 1
    assert mnist.preprocess(images[:, :, :, None]).shape == (200, 28, 28, 1)
    assert mnist.preprocess(np.zeros((0, 28, 28), np.uint8)).shape == (0, 28, 28, 1)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((28, 28), r"image\[None\]"),
        ((5, 32, 32), r"\(5, 32, 32\)"),
        ((5, 28, 28, 3), r"\(5, 28, 28, 3\)"),
        ((5, 784), r"\(5, 784\)"),
    ],
)
def test_preprocess_rejects_other_shapes_naming_them(shape, message):
    with pytest.raises(ValueError, match=message):
        mnist.preprocess(np.zeros(shape, np.uint8))


def test_preprocess_rejects_values_outside_0_255():
    images = np.zeros((2, 28, 28))
    images[0, 0, 0] = 256
    with pytest.raises(ValueError, match="256"):
        mnist.preprocess(images)
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        mnist.preprocess(-np.ones((2, 28, 28)))


# --------------------------------------------------------------------------- split
def test_split_validation_is_a_seeded_partition():
    images = np.arange(100)[:, None] * np.ones((1, 3))
    labels = np.arange(100) % 10
    (train_x, train_y), (val_x, val_y) = mnist.split_validation(images, labels, 20, seed=3)
    assert len(train_x) == len(train_y) == 80 and len(val_x) == len(val_y) == 20
    np.testing.assert_array_equal(train_x[:, 0] % 10, train_y)  # pairs stay together
    assert sorted(np.concatenate([train_x[:, 0], val_x[:, 0]])) == list(range(100))
    again = mnist.split_validation(images, labels, 20, seed=3)[1][0]
    other = mnist.split_validation(images, labels, 20, seed=4)[1][0]
    np.testing.assert_array_equal(val_x, again)
    assert not np.array_equal(val_x, other)


@pytest.mark.parametrize("num_validation", [0, 100, 101, -1, 2.5])
def test_split_validation_rejects_impossible_sizes(num_validation):
    with pytest.raises(ValueError, match="between 1 and 99"):
        mnist.split_validation(np.zeros((100, 2)), np.zeros(100), num_validation)


def test_split_validation_needs_one_label_per_image():
    with pytest.raises(ValueError, match=r"\(10, 2\).*\(9,\)"):
        mnist.split_validation(np.zeros((10, 2)), np.zeros(9), 2)


# --------------------------------------------------------------------------- model
def test_the_source_model_has_104202_parameters_and_these_shapes(model):
    assert model.count_params() == 104_202
    assert model.input_shape == (None, 28, 28, 1)
    got = [
        (layer.name, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers[1:]
    ]
    assert got == SOURCE_SHAPES
    assert model.layers[-1].activation.__name__ == "softmax"
    assert all(model.get_layer(f"conv_{i}").activation.__name__ == "relu" for i in (1, 2, 3))


def test_each_shape_follows_from_valid_convolutions_and_pooling(model):
    side = 28
    for layer in model.layers[1:6]:
        window = 3 if layer.name.startswith("conv") else 2
        stride = 1 if layer.name.startswith("conv") else 2
        side = ops.output_size(side, window, stride)
        assert layer.output.shape[1:3] == (side, side), layer.name
    assert side * side * 128 == 1152


def test_filters_change_the_widths():
    small = mnist.build_mnist_convnet(filters=(8, 16, 16))
    expected = (9 * 8 + 8) + (9 * 8 * 16 + 16) + (9 * 16 * 16 + 16) + (3 * 3 * 16 * 10 + 10)
    assert small.count_params() == expected
    for bad in [(32, 64), (32, 0, 128), (32, 64, 12.5)]:
        with pytest.raises(ValueError, match="three positive integers"):
            mnist.build_mnist_convnet(filters=bad)


def test_compile_uses_rmsprop_sparse_cross_entropy_and_accuracy():
    model = mnist.compile_mnist_convnet(mnist.build_mnist_convnet())
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert model.loss == "sparse_categorical_crossentropy"


# --------------------------------------------------------------------------- train
def test_train_fits_with_validation_and_returns_the_history(digits):
    images, labels = digits
    images = mnist.preprocess(images)
    keras.utils.set_random_seed(0)
    model = mnist.build_mnist_convnet(filters=(4, 4, 4))
    history = mnist.train(
        model,
        images[:160],
        labels[:160],
        (images[160:], labels[160:]),
        num_epochs=2,
        batch_size=32,
        verbose=0,
    )
    assert set(history.history) >= {"accuracy", "loss", "val_accuracy", "val_loss"}
    assert len(history.history["val_accuracy"]) == 2
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)


@pytest.mark.slow  # trains the source's convnet on 4,500 real digits
def test_train_learns_real_digits(data_root):
    from cnnbook.data import load_mnist

    (train_images, train_labels), _ = load_mnist()
    images, labels = mnist.preprocess(train_images[:5000]), train_labels[:5000]
    (images, labels), validation = mnist.split_validation(images, labels, 500, seed=0)
    keras.utils.set_random_seed(0)
    model = mnist.build_mnist_convnet()
    history = mnist.train(model, images, labels, validation, num_epochs=1, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.6  # chance is 0.1


def test_train_rejects_unscaled_or_misshapen_images(model, digits):
    images, labels = digits
    with pytest.raises(ValueError, match=r"preprocess\(\)"):
        mnist.train(model, images[..., None].astype("float32"), labels, verbose=0)
    with pytest.raises(ValueError, match=r"\(200, 28, 28\)"):
        mnist.train(model, images / 255, labels, verbose=0)
    with pytest.raises(ValueError, match="one label per image"):
        mnist.train(model, mnist.preprocess(images), labels[:10], verbose=0)
    with pytest.raises(ValueError, match="num_epochs"):
        mnist.train(model, mnist.preprocess(images), labels, num_epochs=0, verbose=0)


def tiny_sequential(with_input: bool, activation: str | None = "softmax"):
    body = [
        keras.layers.Conv2D(2, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation=activation),
    ]
    return keras.Sequential(([keras.Input(mnist.INPUT_SHAPE)] if with_input else []) + body)


class TinySubclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(10, activation="softmax")

    def call(self, inputs):
        return self.dense(self.flatten(inputs))


@pytest.mark.parametrize(
    "make",
    [lambda: tiny_sequential(with_input=False), TinySubclassed],
    ids=["Sequential without Input", "subclassed"],
)
def test_train_works_with_models_that_learn_their_input_on_the_first_call(digits, make):
    images, labels = mnist.preprocess(digits[0][:40]), digits[1][:40]
    keras.utils.set_random_seed(0)
    model = make()
    history = mnist.train(model, images, labels, (images[:8], labels[:8]), num_epochs=1, verbose=0)
    assert len(history.history["val_accuracy"]) == 1
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        mnist.train(make(), images[:, :20], labels, verbose=0)


def test_feature_maps_of_a_model_without_input_say_how_to_give_one(digits):
    model = tiny_sequential(with_input=False)
    with pytest.raises(ValueError, match="keras.Input"):
        mnist.feature_maps(model, mnist.preprocess(digits[0][:1])[0])


def test_train_warns_about_a_linear_output(digits):
    images, labels = mnist.preprocess(digits[0][:20]), digits[1][:20]
    with pytest.warns(UserWarning, match="not probabilities.*softmax"):
        mnist.train(tiny_sequential(True, activation=None), images, labels, num_epochs=1, verbose=0)


def test_train_rejects_a_model_without_one_output_per_class(digits):
    images, labels = mnist.preprocess(digits[0][:20]), digits[1][:20]
    model = keras.Sequential(
        [
            keras.Input(mnist.INPUT_SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    with pytest.raises(ValueError, match=r"shape \(N, 10\).*softmax"):
        mnist.train(model, images, labels, verbose=0)


class CountEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


@pytest.mark.parametrize(
    "bad", ["labels 1..10", "validation labels 1..10", "one-hot", "validation triple", "both names"]
)
def test_bad_labels_and_validation_are_refused_before_any_training(digits, bad):
    images, labels = mnist.preprocess(digits[0][:40]), digits[1][:40].astype(np.int64)
    labels[0], labels[1] = 0, 9
    kwargs = {"validation": (images[:8], labels[:8])}
    words = {
        "labels 1..10": r"labels must be class numbers 0 to 9.*from 1 to 10.*subtract 1",
        "validation labels 1..10": r"validation labels must be class numbers 0 to 9",
        "one-hot": r"one label per image",
        "validation triple": r"\(images, labels\) pair",
        "both names": r"validation or validation_data",
    }[bad]
    if bad == "labels 1..10":
        labels = labels + 1
    elif bad == "validation labels 1..10":
        kwargs = {"validation_data": (images[:8], labels[:8] + 1)}
    elif bad == "one-hot":
        labels = np.eye(10)[labels]
    elif bad == "validation triple":
        kwargs = {"validation_data": (images[:8], labels[:8], labels[:8])}
    else:
        kwargs["validation_data"] = kwargs["validation"]
    counter = CountEpochs()
    with pytest.raises(ValueError, match=words):
        mnist.train(
            tiny_sequential(True),
            images,
            labels,
            num_epochs=1,
            callbacks=[counter],
            verbose=0,
            **kwargs,
        )
    assert counter.epochs == 0


def test_train_accepts_keras_validation_data_name(digits):
    images, labels = mnist.preprocess(digits[0][:40]), digits[1][:40]
    history = mnist.train(
        tiny_sequential(True),
        images,
        labels,
        num_epochs=1,
        verbose=0,
        validation_data=(images[:8], labels[:8]),
    )
    assert "val_accuracy" in history.history


def test_train_keeps_the_readers_compilation(digits):
    images, labels = mnist.preprocess(digits[0][:40]), digits[1][:40]
    model = tiny_sequential(True, activation=None)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    mnist.train(model, images, labels, num_epochs=1, verbose=0)  # no warning: logits asked for
    assert model.optimizer is optimizer and model.loss is loss
    assert int(optimizer.iterations.numpy()) > 0


# --------------------------------------------------------------------------- look inside
def test_first_layer_filters_are_the_conv_1_kernels(model):
    filters = mnist.first_layer_filters(model)
    assert filters.shape == (32, 3, 3)
    kernels = model.get_layer("conv_1").get_weights()[0]
    np.testing.assert_array_equal(filters[5], kernels[:, :, 0, 5])


def test_first_layer_filters_need_a_grey_conv_layer():
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no Conv2D"):
        mnist.first_layer_filters(dense)
    rgb = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="3 channels"):
        mnist.first_layer_filters(rgb)


def test_feature_maps_match_a_convolution_and_pooling_by_hand(model, digits):
    image = mnist.preprocess(digits[0][:1])[0]
    maps = mnist.feature_maps(model, image)
    assert [(name, m.shape) for name, m in maps] == [
        (name, shape) for name, shape, _ in SOURCE_SHAPES[:5]
    ]
    kernels, biases = model.get_layer("conv_1").get_weights()
    by_hand = np.maximum(ops.conv2d(image[..., 0], kernels[:, :, 0, 7]) + biases[7], 0)
    np.testing.assert_allclose(maps[0][1][..., 7], by_hand, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(maps[1][1][..., 7], ops.max_pool2d(maps[0][1][..., 7]))
    np.testing.assert_allclose(mnist.feature_maps(model, image[..., 0])[4][1], maps[4][1])


def test_feature_maps_reject_a_batch(model):
    with pytest.raises(ValueError, match=r"\(1, 2, 28, 28, 1\)"):
        mnist.feature_maps(model, np.zeros((2, 28, 28, 1)))


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    labels = np.array([0, 0, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 2, 0, 2])
    matrix = mnist.confusion_matrix(labels, predictions, num_classes=3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert matrix.sum() == 6 and np.trace(matrix) == 4
    np.testing.assert_array_equal(mnist.misclassified(labels, predictions), [1, 4])


def test_confusion_matrix_rejects_probabilities_and_unknown_classes():
    with pytest.raises(ValueError, match=r"argmax"):
        mnist.confusion_matrix(np.zeros(4, int), np.zeros((4, 10)))
    with pytest.raises(ValueError, match=r"\[0, 9\].*10"):
        mnist.confusion_matrix(np.array([0, 10]), np.array([0, 1]))
    with pytest.raises(ValueError, match="predictions"):
        mnist.confusion_matrix(np.array([0, 1]), np.array([0.0, 1.0]))


def test_plot_confusion_matrix_writes_each_nonzero_count():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnbook.plots import plot_confusion_matrix

    matrix = np.diag([980, 1130, 7])
    matrix[2, 0] = 3
    fig = plot_confusion_matrix(matrix, class_names=["a", "b", "c"], title="t")
    texts = sorted(text.get_text() for text in fig.axes[0].texts)
    assert texts == sorted(["980", "1130", "7", "3"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]
    plt.close(fig)
    with pytest.raises(ValueError, match=r"square.*\(2, 3\)"):
        plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        plot_confusion_matrix(-np.eye(2))
    with pytest.raises(ValueError, match="2 class names"):
        plot_confusion_matrix(np.eye(3), class_names=["a", "b"])
