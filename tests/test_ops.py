"""cnnbook.ops against TensorFlow on random inputs: sizes odd and even, strides 1 and 2,
both paddings, batches of multi-channel images; max pooling against Keras; bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cnnbook import ops

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(2026)
IMAGE_SHAPES = [(5, 5), (8, 8), (7, 10), (10, 7)]
KERNEL_SHAPES = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (2, 3), (3, 1)]
STRIDES = [1, 2, (1, 2), 3]
PADDINGS = ["valid", "same"]
CONV_FUNCTIONS = [ops.conv2d, ops.conv2d_naive, ops.conv2d_windows]


def tf_conv2d(image, kernel, stride, padding):
    """TensorFlow's answer for one 2-D image and kernel, in float64."""
    result = tf.nn.conv2d(
        image[None, :, :, None].astype(np.float64),
        kernel[:, :, None, None].astype(np.float64),
        strides=stride,
        padding=padding.upper(),
    )
    return result.numpy()[0, :, :, 0]


def cases_2d():
    for image_shape in IMAGE_SHAPES:
        for kernel_shape in KERNEL_SHAPES:
            for stride in STRIDES:
                for padding in PADDINGS:
                    if padding == "valid" and (
                        kernel_shape[0] > image_shape[0] or kernel_shape[1] > image_shape[1]
                    ):
                        continue
                    yield image_shape, kernel_shape, stride, padding


# --------------------------------------------------------------------------- sizes
@pytest.mark.parametrize(
    "n, k, stride, padding, expected",
    [
        (5, 3, 1, "valid", 3),
        (5, 3, 1, "same", 5),
        (5, 3, 2, "valid", 2),
        (5, 3, 2, "same", 3),
        (6, 3, 2, "same", 3),
        (6, 2, 2, "valid", 3),
        (1024, 3, 1, "valid", 1022),
        (4, 7, 1, "same", 4),
    ],
)
def test_output_size_formula(n, k, stride, padding, expected):
    assert ops.output_size(n, k, stride, padding) == expected


def test_output_size_agrees_with_tensorflow_shapes():
    for image_shape, kernel_shape, stride, padding in cases_2d():
        strides = (stride, stride) if isinstance(stride, int) else stride
        expected = tf_conv2d(
            RNG.random(image_shape), RNG.random(kernel_shape), stride, padding
        ).shape
        got = tuple(
            ops.output_size(n, k, s, padding)
            for n, k, s in zip(image_shape, kernel_shape, strides, strict=True)
        )
        assert got == expected, (image_shape, kernel_shape, stride, padding)


@pytest.mark.parametrize(
    "n, k, stride, expected",
    [
        (5, 3, 1, (1, 1)),
        (4, 2, 1, (0, 1)),
        (4, 2, 2, (0, 0)),
        (6, 3, 2, (0, 1)),
        (5, 3, 2, (1, 1)),
        (8, 4, 1, (1, 2)),
        (3, 7, 1, (3, 3)),
    ],
)
def test_same_padding_puts_the_odd_extra_after(n, k, stride, expected):
    assert ops.same_padding(n, k, stride) == expected


# --------------------------------------------------------------------------- 2-D conv
@pytest.mark.parametrize("conv", CONV_FUNCTIONS, ids=lambda f: f.__name__)
def test_conv2d_matches_tensorflow(conv):
    checked = 0
    for image_shape, kernel_shape, stride, padding in cases_2d():
        image = RNG.standard_normal(image_shape)
        kernel = RNG.standard_normal(kernel_shape)
        expected = tf_conv2d(image, kernel, stride, padding)
        got = conv(image, kernel, stride=stride, padding=padding)
        assert got.shape == expected.shape, (image_shape, kernel_shape, stride, padding)
        np.testing.assert_allclose(
            got,
            expected,
            rtol=1e-10,
            atol=1e-10,
            err_msg=str((image_shape, kernel_shape, stride, padding)),
        )
        checked += 1
    assert checked > 150


def test_conv2d_kernel_larger_than_image_with_same_padding():
    image, kernel = RNG.standard_normal((3, 4)), RNG.standard_normal((5, 6))
    for stride in (1, 2):
        np.testing.assert_allclose(
            ops.conv2d(image, kernel, stride, "same"),
            tf_conv2d(image, kernel, stride, "same"),
            atol=1e-12,
        )


def test_worked_example_by_hand():
    image = np.arange(25).reshape(5, 5)
    kernel = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]])
    # every tile of a ramp that grows by 1 to the right gives 3 * (left - right) = -6
    np.testing.assert_array_equal(ops.conv2d(image, kernel), np.full((3, 3), -6.0))
    np.testing.assert_array_equal(ops.conv2d_naive(image, kernel), np.full((3, 3), -6.0))


def test_cross_correlation_not_convolution():
    """The kernel is not flipped; flipping it gives the textbook convolution."""
    image = np.zeros((5, 5))
    image[2, 2] = 1.0  # an impulse: correlation paints the kernel upside down
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    np.testing.assert_array_equal(ops.conv2d(image, kernel), kernel[::-1, ::-1])
    np.testing.assert_array_equal(ops.conv2d(image, kernel[::-1, ::-1]), kernel)


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.uint8, np.float32),
        (np.int64, np.float64),
    ],
)
def test_conv2d_returns_floats(dtype, expected):
    image = np.array(RNG.integers(0, 255, (6, 6)), dtype=dtype)
    kernel = np.ones((3, 3), dtype=np.float32)
    for conv in CONV_FUNCTIONS:
        result = conv(image, kernel)
        assert result.dtype == expected, (conv.__name__, dtype, result.dtype)
        np.testing.assert_allclose(
            result, tf_conv2d(image.astype(float), kernel, 1, "valid"), rtol=1e-5
        )


def test_conv2d_of_uint8_does_not_wrap_around():
    image = np.full((4, 4), 200, dtype=np.uint8)
    kernel = np.full((2, 2), 2, dtype=np.uint8)
    for conv in CONV_FUNCTIONS:
        np.testing.assert_array_equal(conv(image, kernel), np.full((3, 3), 1600.0))


def test_conv2d_accepts_lists_and_capital_padding():
    np.testing.assert_array_equal(
        ops.conv2d([[1, 2], [3, 4]], [[1]], padding="SAME"), [[1.0, 2.0], [3.0, 4.0]]
    )


# --------------------------------------------------------------------------- NHWC conv
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("stride", [1, 2, (2, 1)])
@pytest.mark.parametrize(
    "images_shape, kernels_shape",
    [
        ((2, 9, 8, 3), (3, 3, 3, 4)),
        ((3, 8, 11, 1), (5, 5, 1, 2)),
        ((1, 6, 6, 2), (2, 4, 2, 1)),
        ((4, 7, 7, 1), (3, 3, 1, 1)),
    ],
)
def test_conv2d_nhwc_matches_tensorflow(images_shape, kernels_shape, stride, padding):
    images = RNG.standard_normal(images_shape)
    kernels = RNG.standard_normal(kernels_shape)
    expected = tf.nn.conv2d(images, kernels, strides=stride, padding=padding.upper()).numpy()
    got = ops.conv2d_nhwc(images, kernels, stride, padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_conv2d_nhwc_float32_close_to_tensorflow_float32():
    images = RNG.standard_normal((2, 16, 16, 3)).astype(np.float32)
    kernels = RNG.standard_normal((3, 3, 3, 8)).astype(np.float32)
    got = ops.conv2d_nhwc(images, kernels, 1, "same")
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        got, tf.nn.conv2d(images, kernels, 1, "SAME").numpy(), rtol=1e-4, atol=1e-4
    )


def test_conv2d_nhwc_matches_a_keras_conv2d_layer():
    images = RNG.standard_normal((2, 10, 9, 3)).astype(np.float32)
    layer = keras.layers.Conv2D(5, 3, strides=2, padding="same", use_bias=False)
    expected = np.asarray(layer(images))
    kernels = layer.get_weights()[0]
    np.testing.assert_allclose(
        ops.conv2d_nhwc(images, kernels, 2, "same"), expected, rtol=1e-4, atol=1e-5
    )


# --------------------------------------------------------------------------- pooling
def test_max_pool_of_the_4x4_example():
    x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]])
    np.testing.assert_array_equal(ops.max_pool2d(x), [[6.0, 5.0], [7.0, 9.0]])


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("size, stride", [(2, 2), (2, None), (3, 2), (2, 1), (3, 3), ((2, 3), 1)])
@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (1, 7, 9, 2), (3, 5, 4, 1)])
def test_max_pool_matches_keras(shape, size, stride, padding):
    x = RNG.standard_normal(shape).astype(np.float32)
    layer = keras.layers.MaxPooling2D(pool_size=size, strides=stride, padding=padding)
    expected = np.asarray(layer(x))
    got = ops.max_pool2d_nhwc(x, size, stride, padding)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    for channel in range(shape[3]):
        np.testing.assert_array_equal(
            ops.max_pool2d(x[0, :, :, channel], size, stride, padding), expected[0, :, :, channel]
        )


def test_max_pool_same_padding_never_picks_the_padding():
    x = -np.ones((1, 3, 3, 1))  # all negative: zero padding would win, -inf must not
    np.testing.assert_array_equal(ops.max_pool2d_nhwc(x, 2, 2, "same"), -np.ones((1, 2, 2, 1)))


def sprinkled(shape, dtype, seed):
    """Random values with NaN, inf and -inf sprinkled in, some windows NaN or -inf only."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    specials = rng.choice([np.nan, np.inf, -np.inf], size=shape)
    x = np.where(rng.random(shape) < 0.3, specials, x)
    x[0, :2, :2, 0] = np.nan
    x[0, -2:, -2:, -1] = -np.inf
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2), (2, 1)])
def test_max_pool_treats_nan_and_inf_as_tensorflow_does(dtype, padding, size, stride):
    """TensorFlow ignores NaN; a window of NaN or -inf alone gives the lowest finite value."""
    x = sprinkled((2, 7, 8, 2), dtype, seed=size * 10 + stride)
    expected = tf.nn.max_pool2d(tf.constant(x), size, stride, padding.upper()).numpy()
    got = ops.max_pool2d_nhwc(x, size, stride, padding)
    assert got.dtype == expected.dtype == dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        ops.max_pool2d(x[1, :, :, 0], size, stride, padding), expected[1, :, :, 0]
    )
    if dtype == np.float32:  # the layer the docstring names
        layer = keras.layers.MaxPooling2D(size, stride, padding=padding)
        np.testing.assert_array_equal(got, np.asarray(layer(x)))
    assert not np.isnan(got).any()


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("stride", [1, 2])
def test_an_inf_weight_over_same_padding_gives_what_tensorflow_gives(padding, stride):
    image = RNG.uniform(0.5, 1.0, (6, 7)).astype(np.float32)
    kernel = np.zeros((3, 3), np.float32)
    kernel[0, 0], kernel[2, 1] = np.inf, -2.0
    expected = tf.nn.conv2d(
        image[None, :, :, None], kernel[:, :, None, None], stride, padding.upper()
    ).numpy()[0, :, :, 0]
    for conv in CONV_FUNCTIONS:
        np.testing.assert_array_equal(
            conv(image, kernel, stride, padding), expected, err_msg=conv.__name__
        )
    images = np.stack([image, image[::-1]])[..., None].repeat(2, axis=3)
    kernels = np.stack([kernel, kernel], axis=2)[..., None].repeat(3, axis=3)
    np.testing.assert_array_equal(
        ops.conv2d_nhwc(images, kernels, stride, padding),
        tf.nn.conv2d(images, kernels, stride, padding.upper()).numpy(),
    )


FLOAT32_DTYPES = [bool, np.int8, np.uint8, np.int16, np.uint16, np.float16, np.float32]
FLOAT64_DTYPES = [np.int32, np.uint32, np.int64, np.uint64, np.float64]


@pytest.mark.parametrize("dtype", FLOAT32_DTYPES + FLOAT64_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_gives_the_documented_float_type(dtype):
    expected = np.float32 if dtype in FLOAT32_DTYPES else np.float64
    image = (np.arange(36).reshape(6, 6) % 2).astype(dtype)
    kernel = np.eye(3, dtype=dtype)
    for conv in CONV_FUNCTIONS:
        result = conv(image, kernel)
        assert result.dtype == expected, (conv.__name__, result.dtype)
        np.testing.assert_array_equal(result, ops.conv2d(image.astype(float), kernel.astype(float)))
    assert ops.max_pool2d(image).dtype == expected
    assert ops.conv2d_nhwc(image[None, :, :, None], kernel[:, :, None, None]).dtype == expected
    for module_text in (ops.__doc__, ops.conv2d.__doc__):
        assert "8- or 16-bit integer" in module_text and "bool" in module_text


# --------------------------------------------------------------------------- bad input
BAD_CONV_INPUTS = [
    ({"image": np.ones((3, 3)), "kernel": np.ones((4, 4))}, r"4x4 is larger than the image 3x3"),
    ({"image": np.ones((3, 5)), "kernel": np.ones((2, 6))}, r"2x6 is larger than the image 3x5"),
    ({"image": np.ones((4, 4, 3)), "kernel": np.ones((3, 3))}, r"shape \(4, 4, 3\).*conv2d_nhwc"),
    ({"image": np.ones(5), "kernel": np.ones((3, 3))}, r"image must have 2 axes.*shape \(5,\)"),
    ({"image": np.ones((5, 5)), "kernel": np.ones(3)}, r"kernel must have 2 axes"),
    ({"image": np.ones((5, 5)), "kernel": np.ones((3, 3)), "stride": 0}, r"stride must be >= 1.*0"),
    ({"image": np.ones((5, 5)), "kernel": np.ones((3, 3)), "stride": -1}, r"stride must be >= 1"),
    ({"image": np.ones((5, 5)), "kernel": np.ones((3, 3)), "stride": 1.5}, r"whole number.*1.5"),
    ({"image": np.ones((5, 5)), "kernel": np.ones((3, 3)), "stride": (1, 2, 3)}, r"pair"),
    (
        {"image": np.ones((5, 5)), "kernel": np.ones((3, 3)), "padding": "full"},
        r"'valid' or 'same', not 'full'",
    ),
    ({"image": [["a", "b"], ["c", "d"]], "kernel": np.ones((1, 1))}, r"real numbers.*<U1"),
    ({"image": np.ones((5, 5)), "kernel": np.array([[None]])}, r"kernel must hold real.*object"),
    ({"image": np.ones((5, 5), dtype=complex), "kernel": np.ones((1, 1))}, r"complex128"),
    ({"image": [[1, 2], [3]], "kernel": np.ones((1, 1))}, r"rectangular array"),
    ({"image": np.ones((0, 5)), "kernel": np.ones((1, 1))}, r"empty.*\(0, 5\)"),
]


@pytest.mark.parametrize("conv", CONV_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kwargs, message", BAD_CONV_INPUTS)
def test_conv2d_bad_input(conv, kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv(**kwargs)


@pytest.mark.parametrize(
    "images, kernels, kwargs, message",
    [
        (np.ones((5, 5)), np.ones((3, 3, 1, 1)), {}, r"images must have 4 axes.*image\[None, :, :"),
        (np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 4)), {}, r"3 channels.*expect 2"),
        (np.ones((1, 5, 5, 1)), np.ones((6, 3, 1, 1)), {}, r"6x3 is larger than the images 5x5"),
        (np.ones((1, 5, 5, 1)), np.ones((3, 3, 1)), {}, r"kernels must have 4 axes"),
        (np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), {"padding": "VALIDD"}, r"'VALIDD'"),
    ],
)
def test_conv2d_nhwc_bad_input(images, kernels, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ops.conv2d_nhwc(images, kernels, **kwargs)


@pytest.mark.parametrize(
    "function, x, kwargs, message",
    [
        (ops.max_pool2d, np.ones((1, 4, 4, 1)), {}, r"x must have 2 axes.*\*_nhwc"),
        (ops.max_pool2d, np.ones((3, 3)), {"size": 4}, r"window 4x4 is larger than the input 3x3"),
        (ops.max_pool2d, np.ones((4, 4)), {"size": 0}, r"size must be >= 1"),
        (ops.max_pool2d, np.ones((4, 4)), {"stride": 0}, r"stride must be >= 1"),
        (ops.max_pool2d, np.ones((4, 4)), {"padding": "full"}, r"not 'full'"),
        (ops.max_pool2d, np.array([["x"]]), {}, r"real numbers"),
        (ops.max_pool2d_nhwc, np.ones((4, 4)), {}, r"x must have 4 axes"),
        (ops.max_pool2d_nhwc, np.ones((1, 2, 2, 1)), {"size": 3}, r"3x3 is larger than the input"),
    ],
)
def test_max_pool_bad_input(function, x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        function(x, **kwargs)


@pytest.mark.parametrize(
    "args, message",
    [
        ((5, 6, 1, "valid"), r"window of 6 does not fit in an input of 5"),
        ((0, 3, 1, "valid"), r"n must be >= 1"),
        ((5, 3, 0, "same"), r"stride must be >= 1"),
        ((5, 3, 1, "full"), r"not 'full'"),
        ((5.0, 3, 1, "valid"), r"whole number"),
    ],
)
def test_output_size_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        ops.output_size(*args)
