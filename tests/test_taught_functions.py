"""The functions the labs teach, against the package's copies, on one shared set of cases.

Each lab writes its functions in full where it teaches them, and the package keeps the
same function for later chapters, the assignments and the benchmarks. The labs no longer
prove the two agree in hidden cells (a Colab reader would pay for that on every run):
here every top-level ``def`` of a lab is extracted from the notebook and run, beside the
package's function, on the same cases.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from cnnbook import ops

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def taught_functions(notebook: str, **names) -> dict:
    """Every top-level function a lab defines, as the lab defines it (later ones win).

    Only the ``def`` statements are run, in a namespace holding numpy, math and the given
    ``names`` (what the functions use from the lab's imports); nothing else of the lab.
    """
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    definitions = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse("".join(cell["source"]))
        except SyntaxError:  # IPython magics, as in the setup cell
            continue
        definitions += [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not definitions:
        raise AssertionError(f"{notebook} defines no function")
    namespace = {"np": np, "math": math, **names}
    code = compile(ast.Module(body=definitions, type_ignores=[]), notebook, "exec")
    exec(code, namespace)  # noqa: S102  (the book's own notebooks, not user input)
    return namespace


# ----- lab 1: convolution by hand ------------------------------------------------------

RNG = np.random.default_rng(10)


def _random_conv_cases(count: int = 60):
    cases = []
    for _ in range(count):
        height, width = RNG.integers(3, 16, size=2)
        kernel_h, kernel_w = RNG.integers(1, 6, size=2)
        padding = ["valid", "same"][RNG.integers(2)]
        if padding == "valid":
            kernel_h, kernel_w = min(kernel_h, height), min(kernel_w, width)
        cases.append(
            (
                RNG.standard_normal((height, width)),
                RNG.standard_normal((kernel_h, kernel_w)),
                int(RNG.integers(1, 4)),
                padding,
            )
        )
    return cases


CONV_CASES = _random_conv_cases()


@pytest.fixture(scope="module")
def lab1():
    from numpy.lib.stride_tricks import sliding_window_view

    return taught_functions(
        "01_convolution_by_hand.ipynb",
        ops=ops,
        keras=keras,
        tf=tf,
        sliding_window_view=sliding_window_view,
    )


def test_lab1_output_size_and_same_padding_are_the_package_s(lab1):
    for n in range(1, 30):
        for k in range(1, 8):
            for stride in (1, 2, 3):
                assert lab1["output_size"](n, k, stride, "same") == ops.output_size(
                    n, k, stride, "same"
                )
                assert lab1["same_padding"](n, k, stride) == ops.same_padding(n, k, stride)
                if k <= n:
                    assert lab1["output_size"](n, k, stride) == ops.output_size(n, k, stride)


@pytest.mark.parametrize("name", ["conv2d_naive", "conv2d_windows", "conv2d"])
def test_lab1_convolutions_are_the_package_s_and_tensorflow_s(lab1, name):
    taught, package = lab1[name], getattr(ops, name)
    for image, kernel, stride, padding in CONV_CASES:
        expected = tf.nn.conv2d(
            image[None, :, :, None], kernel[:, :, None, None], stride, padding.upper()
        ).numpy()[0, :, :, 0]
        np.testing.assert_allclose(taught(image, kernel, stride, padding), expected, atol=1e-12)
        np.testing.assert_allclose(package(image, kernel, stride, padding), expected, atol=1e-12)


def test_lab1_conv2d_nhwc_is_tensorflow_s():
    batch, bank = RNG.standard_normal((2, 9, 8, 3)), RNG.standard_normal((3, 3, 3, 5))
    for stride in (1, 2):
        for padding in ("valid", "same"):
            np.testing.assert_allclose(
                ops.conv2d_nhwc(batch, bank, stride, padding),
                tf.nn.conv2d(batch, bank, stride, padding.upper()).numpy(),
                atol=1e-12,
            )


def test_lab1_gradient_and_collapse_helpers(lab1):
    """The gradient formula and the combined kernel hold on more than the lab's one case."""
    for _ in range(5):
        height, width, k = (
            int(RNG.integers(4, 12)),
            int(RNG.integers(4, 12)),
            int(RNG.integers(1, 4)),
        )
        x, w = RNG.standard_normal((height, width)), RNG.standard_normal((k, k))
        upstream = RNG.standard_normal((height - k + 1, width - k + 1))
        image_gradient, kernel_gradient = lab1["conv2d_gradients"](x, w, upstream)
        x_tf, w_tf = tf.Variable(x[None, :, :, None]), tf.Variable(w[:, :, None, None])
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.nn.conv2d(x_tf, w_tf, 1, "VALID") * upstream[None, :, :, None])
        dx, dw = tape.gradient(loss, [x_tf, w_tf])
        np.testing.assert_allclose(image_gradient, dx.numpy()[0, :, :, 0], atol=1e-10)
        np.testing.assert_allclose(kernel_gradient, dw.numpy()[:, :, 0, 0], atol=1e-10)
        second = RNG.standard_normal((2, 3))
        combined = lab1["combine_kernels"](w, second)
        if height >= combined.shape[0] and width >= combined.shape[1]:
            np.testing.assert_allclose(
                ops.conv2d(x, combined), ops.conv2d(ops.conv2d(x, w), second), atol=1e-10
            )


def test_the_benchmark_result_supports_lab1_s_prose():
    """Lab 1 and its chapter say what benchmarks/results/conv2d_speed.txt found: numpy's
    shift-and-add faster than tf.nn.conv2d on numpy arrays, about level on tensors, and the
    naive loop far behind. If a new run of the benchmark says otherwise, change the prose."""
    text = (ROOT / "benchmarks" / "results" / "conv2d_speed.txt").read_text()

    def ratio(label: str) -> float:
        match = re.search(re.escape(label) + r"\s+([0-9.]+)", text)
        assert match, f"no line {label!r} in conv2d_speed.txt"
        return float(match.group(1))

    assert ratio("conv2d / tf.nn.conv2d, numpy in and out:") < 1
    assert 0.8 < ratio("conv2d / tf.nn.conv2d, on tensors:") < 1.25
    assert ratio("naive loop / conv2d:") > 100


# ----- lab 3: max pooling -----------------------------------------------------------------


@pytest.fixture(scope="module")
def lab3():
    return taught_functions("03_max_pooling.ipynb", ops=ops, keras=keras, tf=tf)


def test_lab3_max_pooling_is_the_package_s(lab3):
    for _ in range(60):
        height, width = RNG.integers(2, 15, size=2)
        size = int(RNG.integers(1, min(height, width) + 1))
        stride = [None, int(RNG.integers(1, 4))][RNG.integers(2)]
        x = RNG.standard_normal((height, width))
        expected = ops.max_pool2d(x, size, stride)
        np.testing.assert_array_equal(lab3["max_pool2d_naive"](x, size, stride), expected)
        np.testing.assert_array_equal(lab3["max_pool2d"](x, size, stride), expected)
        if stride in (None, size) and height % size == 0 and width % size == 0:
            np.testing.assert_array_equal(lab3["max_pool_by_reshape"](x, size), expected)
        assert lab3["pool_output_size"](height, size, stride or size) == expected.shape[0]


def test_lab3_average_pooling_is_keras_s(lab3):
    for shape in [(3, 26, 26, 1), (2, 9, 7, 4), (1, 8, 8, 3)]:
        maps = RNG.standard_normal(shape).astype("float32")
        np.testing.assert_allclose(
            lab3["average_pool_nhwc"](maps),
            keras.layers.AveragePooling2D(2)(maps).numpy(),
            atol=1e-6,
        )


# ----- lab 4: the MNIST convnet -------------------------------------------------------------


@pytest.fixture(scope="module")
def lab4():
    from keras import layers

    return taught_functions("04_mnist_convnet.ipynb", keras=keras, layers=layers, tf=tf, ops=ops)


@pytest.fixture(scope="module")
def digits(data_root):
    from cnnbook.data import load_mnist

    (train_images, train_labels), (test_images, test_labels) = load_mnist()
    return train_images[:2000], train_labels[:2000], test_images[:500], test_labels[:500]


def test_lab4_preprocess_and_split_are_the_package_s(lab4, digits):
    from cnnbook import mnist

    train_images, train_labels, test_images, _ = digits
    for raw in (train_images, test_images):
        np.testing.assert_array_equal(lab4["preprocess"](raw), mnist.preprocess(raw))
    for bad in (train_images[0], np.zeros((2, 32, 32))):
        for function in (lab4["preprocess"], mnist.preprocess):
            with pytest.raises(ValueError):
                function(bad)
    inputs = mnist.preprocess(train_images)
    ours = lab4["split_validation"](inputs, train_labels, 300, seed=42)
    theirs = mnist.split_validation(inputs, train_labels, 300, seed=42)
    for a, b in zip(ours, theirs):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_lab4_network_and_training_are_the_package_s(lab4, digits):
    """Same layers, same settings, and from the same seed the same weights, before and after
    one short training (the lab used to retrain a model in a hidden cell to show this)."""
    import cnnbook
    from cnnbook import mnist

    def settings(network):
        return [
            (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
            for layer in network.layers
        ]

    train_images, train_labels, test_images, test_labels = digits
    inputs = mnist.preprocess(train_images[:512])
    models = []
    for build, train in [
        (lab4["build_mnist_convnet"], lab4["train"]),
        (mnist.build_mnist_convnet, mnist.train),
    ]:
        cnnbook.set_seed(42)
        model = build()
        models.append([w.copy() for w in model.get_weights()])
        train(model, inputs, train_labels[:512], num_epochs=1, batch_size=64, verbose=0)
        models[-1] = (models[-1], model)
    (before_ours, ours), (before_theirs, theirs) = models
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert settings(ours) == settings(theirs)
    for a, b in zip(before_ours, before_theirs):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)

    test_inputs = mnist.preprocess(test_images)
    predictions = ours.predict(test_inputs, verbose=0).argmax(axis=1)
    np.testing.assert_array_equal(
        lab4["confusion_matrix"](test_labels, predictions),
        mnist.confusion_matrix(test_labels, predictions),
    )
    for (name, a), (other, b) in zip(
        lab4["feature_maps"](ours, test_inputs[0]), mnist.feature_maps(ours, test_inputs[0])
    ):
        assert name == other
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_array_equal(
        np.transpose(ours.get_layer("conv_1").get_weights()[0][:, :, 0, :], (2, 0, 1)),
        mnist.first_layer_filters(ours),
    )
