"""The kernel sliders (ipywidgets) and the HTML playground, without a browser."""

from __future__ import annotations

import base64
import io
import json
import re
from importlib import resources

import numpy as np
import pytest
from PIL import Image

from cnnbook import kernels, widgets
from cnnbook.data import load_kittens
from cnnbook.ops import conv2d


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_kittens()


def expected_view(photo, kernel) -> np.ndarray:
    return widgets.to_display(conv2d(photo, np.asarray(kernel, np.float32), padding="same"))


def decode_png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "L"
        return np.asarray(image)


# --------------------------------------------------------------------------- display mapping
def test_display_mapping_is_the_clipped_absolute_value():
    values = np.array([-2.0, -1.0, -0.5, 0.0, 0.25, 1.0, 3.0])
    np.testing.assert_array_equal(widgets.to_display(values), [1, 1, 0.5, 0, 0.25, 1, 1])
    # Rounded half up, as JavaScript's Math.floor(x * 255 + 0.5).
    np.testing.assert_array_equal(
        widgets.to_display_bytes([0.5 / 255, 1.5 / 255, -0.5]), [1, 2, 128]
    )


def test_a_photo_in_0_1_goes_through_the_mapping_unchanged(photo):
    np.testing.assert_array_equal(
        decode_png(widgets.png_bytes(photo)), np.round(photo * 255).astype(np.uint8)
    )


# --------------------------------------------------------------------------- sliders
def test_sliders_start_on_the_preset_and_show_conv2d_of_the_photo(photo):
    sliders = widgets.kernel_sliders(photo, preset="vertical edges")
    assert len(sliders.sliders) == 9 and list(sliders.buttons) == list(kernels.PRESETS)
    np.testing.assert_array_equal(sliders.kernel, kernels.VERTICAL_EDGE)
    np.testing.assert_allclose(sliders.output, expected_view(photo, kernels.VERTICAL_EDGE))
    assert sliders.redraws == 1
    # What the reader sees is that array, as a PNG.
    np.testing.assert_array_equal(
        decode_png(sliders.filtered.value), widgets.to_display_bytes(sliders.output)
    )


def test_moving_a_slider_redraws_once_with_the_new_kernel(photo):
    sliders = widgets.kernel_sliders(photo, preset="vertical edges")
    before = sliders.output.copy()
    sliders.sliders[4].value = 1.5  # the centre weight, row 1 column 1
    expected = kernels.get_kernel("vertical edges")
    expected[1, 1] = 1.5
    assert sliders.redraws == 2
    np.testing.assert_array_equal(sliders.kernel, expected)
    assert np.abs(sliders.output - before).max() > 0.5
    np.testing.assert_allclose(sliders.output, expected_view(photo, expected))
    np.testing.assert_array_equal(
        decode_png(sliders.filtered.value), widgets.to_display_bytes(sliders.output)
    )
    assert "1.500" in sliders.summary.value  # sum of the weights: 0 + 1.5


@pytest.mark.parametrize("name", list(kernels.PRESETS))
def test_each_preset_button_sets_the_nine_sliders_and_redraws_once(photo, name):
    start = "identity" if name != "identity" else "sharpen"
    sliders = widgets.kernel_sliders(photo, preset=start)
    sliders.buttons[name].click()
    assert sliders.redraws == 2
    np.testing.assert_allclose(sliders.kernel, kernels.PRESETS[name], atol=1e-7)
    np.testing.assert_allclose(
        sliders.output, expected_view(photo, kernels.PRESETS[name]), atol=1e-6
    )


def test_identity_shows_the_photo_and_edges_darken_flat_areas(photo):
    sliders = widgets.kernel_sliders(photo, preset="identity")
    np.testing.assert_allclose(sliders.output, photo, atol=1e-7)
    sliders.use_preset("horizontal edges")
    assert np.median(sliders.output) < 0.2 < np.median(photo)


def test_setting_the_kernel_moves_every_slider(photo):
    sliders = widgets.kernel_sliders(photo)
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3) / 10 - 0.4
    sliders.kernel = kernel
    np.testing.assert_allclose([s.value for s in sliders.sliders], kernel.ravel(), atol=1e-7)
    np.testing.assert_allclose(sliders.output, expected_view(photo, kernel), atol=1e-6)


def test_sliders_reject_bad_kernels_and_images(photo):
    sliders = widgets.kernel_sliders(photo)
    with pytest.raises(ValueError, match=r"shape \(3, 3\), got shape \(2, 2\)"):
        sliders.kernel = np.ones((2, 2))
    with pytest.raises(ValueError, match=r"within \[-5, 5\]"):
        sliders.kernel = np.full((3, 3), 7.0)
    with pytest.raises(ValueError, match="no preset called 'blurry'"):
        sliders.use_preset("blurry")
    with pytest.raises(ValueError, match=r"2-D grey array.*\(223, 320, 3\).*mean.*load_kittens"):
        widgets.kernel_sliders(load_kittens(grayscale=False))
    with pytest.raises(ValueError, match="values must lie in \\[0, 1\\].*255"):
        widgets.kernel_sliders(photo * 255)
    with pytest.raises(ValueError, match="at least 3x3"):
        widgets.kernel_sliders(np.zeros((2, 5)))


def test_a_one_channel_photo_gets_help_for_ones_own_photo(photo):
    with pytest.raises(ValueError, match="2-D grey array") as caught:
        widgets.kernel_sliders(photo[..., None])
    message = str(caught.value)
    assert r"image[..., 0]" in message and "Image.open(path).convert('L')" in message


def test_values_a_hair_past_0_or_1_are_accepted_and_clipped(photo):
    nudged = photo.astype(np.float64).copy()
    nudged[0, 0], nudged[0, 1] = 1 + 1e-7, -1e-7
    sliders = widgets.kernel_sliders(nudged, preset="identity")
    assert sliders.image.max() <= 1 and sliders.image.min() >= 0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        widgets.kernel_sliders(np.where(photo == photo.max(), 1.01, photo))


def test_a_large_photo_is_downscaled_so_a_slider_move_sends_a_bounded_png():
    rng = np.random.default_rng(0)
    big = rng.random((3000, 2400), dtype=np.float32)  # noise: the worst case for PNG
    sliders = widgets.kernel_sliders(big, preset="identity")
    assert max(sliders.image.shape) == widgets.MAX_SLIDER_SIDE
    assert sliders.image.shape == (640, 512) and sliders.original_shape == (3000, 2400)
    sliders.sliders[4].value = 0.5
    assert len(sliders.filtered.value) < 0.5e6  # bytes per slider move
    assert "2400x3000 photo is shown downscaled to 512x640" in sliders.summary.value
    np.testing.assert_allclose(sliders.image.mean(), big.mean(), atol=1e-3)
    small = rng.random((100, 50))
    assert widgets.fit_for_sliders(small) is small


def test_the_slider_widget_displays_its_box(photo, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    sliders = widgets.kernel_sliders(photo)
    sliders._ipython_display_()
    assert shown == [sliders.box]
    assert "application/vnd.jupyter.widget-view+json" in sliders.box._repr_mimebundle_()


# --------------------------------------------------------------------------- playground
def playground_parts(snippet: str) -> tuple[dict, np.ndarray, str]:
    data = re.search(
        r'<script type="application/json" class="cnnbook-playground-data">(.*?)</script>',
        snippet,
        re.S,
    ).group(1)
    uri = re.search(r'src="data:image/png;base64,([^"]+)"', snippet).group(1)
    script = re.findall(r"<script>(.*?)</script>", snippet, re.S)
    assert len(script) == 1
    return json.loads(data.replace("<\\/", "</")), decode_png(base64.b64decode(uri)), script[0]


def test_playground_carries_the_photo_the_presets_and_the_package_script(photo):
    snippet = widgets.kernel_playground(photo, preset="Sobel x").data
    data, image, script = playground_parts(snippet)
    assert data == {
        "presets": kernels.presets_as_lists(),
        "initial": "Sobel x",
        "maxUploadSide": widgets.MAX_UPLOAD_SIDE,
    }
    np.testing.assert_array_equal(image, np.round(photo * 255).astype(np.uint8))
    shipped = resources.files("cnnbook").joinpath("playground", "playground.js").read_text()
    assert script == widgets.with_shared_script(shipped).replace("</", "<\\/")
    assert "function convolveSame" in script
    # Nothing is fetched: no src or href other than the inline photo.
    assert re.findall(r'(?:src|href)="([^"]*)"', snippet) == [
        "data:image/png;base64," + re.search(r'base64,([^"]+)"', snippet).group(1)
    ]
    assert 'alt="The kittens photo in grey' in snippet


def test_a_phone_photo_is_downscaled_in_the_playground_and_says_so():
    rng = np.random.default_rng(0)
    phone = rng.random((3000, 4000), dtype=np.float32)  # 12 MP of noise: PNG's worst case
    snippet = widgets.kernel_playground(phone).data
    _, image, _ = playground_parts(snippet)
    assert image.shape == (600, 800)  # proportions kept, longer side at the cap
    assert max(image.shape) == widgets.MAX_UPLOAD_SIDE
    np.testing.assert_allclose(image.mean() / 255, phone.mean(), atol=2e-3)
    assert "The 4000x3000 photo is shown downscaled to 800x600." in snippet
    assert 'data-original-size="4000x3000"' in snippet
    assert 'width="800" height="600"' in snippet  # the output canvas matches the photo
    assert len(snippet) < 1.2e6  # the page carries a bounded photo, whatever was given
    small = widgets.kernel_playground(rng.random((30, 40))).data
    assert "downscaled" not in small and 'data-original-size="40x30"' in small


def test_each_playground_has_its_own_id(photo):
    first, second = (widgets.kernel_playground(photo).data for _ in range(2))
    ids = [re.search(r'id="(cnnbook-playground-[0-9a-f]+)"', s).group(1) for s in (first, second)]
    assert ids[0] != ids[1]


def test_playground_rejects_bad_input(photo):
    with pytest.raises(ValueError, match="no preset called 'edges'"):
        widgets.kernel_playground(photo, preset="edges")
    with pytest.raises(ValueError, match="2-D grey array"):
        widgets.kernel_playground(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="must hold numbers"):
        widgets.kernel_playground(np.full((4, 4), "a"))
