"""The named kernels: their values, the transposes, what they do to an image, the presets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnbook import kernels
from cnnbook.data import load_kittens
from cnnbook.ops import conv2d


def step_image(vertical: bool, size: int = 8) -> np.ndarray:
    """Bright on the left (or top) half, dark on the other half."""
    image = np.zeros((size, size), dtype=np.float32)
    if vertical:
        image[:, : size // 2] = 1.0
    else:
        image[: size // 2, :] = 1.0
    return image


def test_horizontal_kernels_are_the_transposes_of_the_vertical_ones():
    np.testing.assert_array_equal(kernels.HORIZONTAL_EDGE, kernels.VERTICAL_EDGE.T)
    np.testing.assert_array_equal(kernels.SOBEL_Y, kernels.SOBEL_X.T)
    assert not np.array_equal(kernels.HORIZONTAL_EDGE, kernels.VERTICAL_EDGE)


def test_values_of_the_named_kernels():
    np.testing.assert_array_equal(kernels.VERTICAL_EDGE, [[1, 0, -1]] * 3)
    np.testing.assert_array_equal(kernels.SOBEL_X, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_allclose(kernels.BOX_BLUR, np.full((3, 3), 1 / 9), rtol=1e-6)
    np.testing.assert_allclose(kernels.GAUSSIAN_BLUR * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(kernels.SHARPEN, [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(kernels.IDENTITY, np.pad([[1]], 1))


@pytest.mark.parametrize(
    "name, total",
    [
        ("vertical edges", 0),
        ("horizontal edges", 0),
        ("Sobel x", 0),
        ("Sobel y", 0),
        ("box blur", 1),
        ("Gaussian blur", 1),
        ("sharpen", 1),
        ("identity", 1),
    ],
)
def test_presets_are_3x3_float32_and_sum_to_what_they_keep(name, total):
    kernel = kernels.PRESETS[name]
    assert kernel.shape == kernels.KERNEL_SHAPE and kernel.dtype == np.float32
    assert kernel.sum() == pytest.approx(total, abs=1e-6)


def test_presets_cannot_be_changed_by_accident():
    with pytest.raises(ValueError, match="read-only"):
        kernels.PRESETS["sharpen"][1, 1] = 9  # read-only array
    with pytest.raises(TypeError):
        kernels.PRESETS["mine"] = kernels.IDENTITY  # read-only mapping
    copy = kernels.get_kernel("sharpen")
    copy[1, 1] = 9
    assert kernels.SHARPEN[1, 1] == 5


def test_get_kernel_names_the_presets_when_the_name_is_unknown():
    with pytest.raises(ValueError, match="no kernel called 'laplace'.*Sobel x"):
        kernels.get_kernel("laplace")
    with pytest.raises(ValueError, match="no kernel called"):
        kernels.get_kernel(["sharpen"])


def test_vertical_kernel_finds_vertical_edges_and_ignores_horizontal_ones():
    bright_left = conv2d(step_image(vertical=True), kernels.VERTICAL_EDGE)
    bright_top = conv2d(step_image(vertical=False), kernels.VERTICAL_EDGE)
    # Three rows of (1 - 0) where the step is, zero on the flat parts on either side.
    np.testing.assert_array_equal(bright_left[:, 2], np.full(6, 3.0))
    np.testing.assert_array_equal(bright_left[:, [0, 1, 4, 5]], 0.0)
    np.testing.assert_array_equal(bright_top, 0.0)
    # The transpose does the same for the transposed picture.
    np.testing.assert_array_equal(
        conv2d(step_image(vertical=False), kernels.HORIZONTAL_EDGE), bright_left.T
    )


def test_sign_follows_cross_correlation_bright_left_is_positive():
    dark_left = 1.0 - step_image(vertical=True)
    assert conv2d(step_image(vertical=True), kernels.SOBEL_X).max() == 4.0
    assert conv2d(dark_left, kernels.SOBEL_X).min() == -4.0


def test_identity_and_blur_on_the_kittens_photo():
    photo = load_kittens()
    np.testing.assert_array_equal(conv2d(photo, kernels.IDENTITY, padding="same"), photo)
    inner = (slice(1, -1), slice(1, -1))

    def roughness(image):  # how much neighbouring pixels differ, away from the padding
        return np.abs(np.diff(image[inner], axis=1)).mean()

    blurred = conv2d(photo, kernels.BOX_BLUR, padding="same")
    sharpened = conv2d(photo, kernels.SHARPEN, padding="same")
    # Both keep the mean brightness (their weights sum to 1); a blur smooths, a sharpen
    # exaggerates the differences between neighbours.
    assert blurred[inner].mean() == pytest.approx(photo[inner].mean(), abs=2e-3)
    assert sharpened[inner].mean() == pytest.approx(photo[inner].mean(), abs=2e-3)
    assert roughness(blurred) < 0.75 * roughness(photo)
    assert roughness(sharpened) > 2 * roughness(photo)


def test_presets_as_lists_is_json_and_exactly_the_float32_weights():
    lists = kernels.presets_as_lists()
    assert list(lists) == list(kernels.PRESETS)
    again = json.loads(json.dumps(lists))
    for name, kernel in kernels.PRESETS.items():
        np.testing.assert_array_equal(np.array(again[name], dtype=np.float32), kernel)
