"""Broken photos are skipped and named, files are untouched, the pipeline still streams."""

from __future__ import annotations

import hashlib
import io
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from cnnbook import data, photos

IMAGE_SHAPE = (24, 32)  # small, so the tests run fast


# --------------------------------------------------------------------------- fixtures
def _digest(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder`` with its size and SHA-256."""
    return {
        str(path.relative_to(folder)): (
            path.stat().st_size,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _reencoded(photo: Path, image_format: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(photo) as image:
        image.convert("RGB").save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture
def photo_folder(tmp_path, data_root, monkeypatch):
    """A folder in the cats_and_dogs layout: real photos plus one broken file of each kind.

    ``CNNBOOK_DATA`` points at it, so ``cnnbook.data`` and ``cnnbook.photos`` read it as
    a reader's folder. Returns (root, {broken file: the words its reason must hold}).
    """
    source = data_root / "cats_and_dogs"
    root = tmp_path / "data"
    broken: dict[Path, str] = {}
    for split, count in (("train", 4), ("validation", 2)):
        for label in data.CATS_AND_DOGS_CLASSES:
            folder = root / "cats_and_dogs" / split / label
            folder.mkdir(parents=True)
            for photo in sorted((source / split / label).glob("*.jpg"))[:count]:
                shutil.copy2(photo, folder / photo.name)
    real = min((root / "cats_and_dogs" / "train" / "cats").glob("*.jpg"))
    cats = root / "cats_and_dogs" / "train" / "cats"
    dogs = root / "cats_and_dogs" / "train" / "dogs"
    # empty: a download that never started
    (cats / "empty.jpg").write_bytes(b"")
    broken[cats / "empty.jpg"] = "empty"
    # truncated: a download cut short (a valid JPEG header, half the data)
    whole = real.read_bytes()
    (cats / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    broken[cats / "truncated.jpg"] = "cannot be decoded"
    # not an image at all: an error page saved under a photo's name
    (dogs / "error_page.jpg").write_text("<html><body>404 Not Found</body></html>")
    broken[dogs / "error_page.jpg"] = "not an image"
    # mislabelled formats: a PNG and a WebP renamed to .jpg
    (dogs / "really_png.jpg").write_bytes(_reencoded(real, "PNG"))
    broken[dogs / "really_png.jpg"] = "PNG image named .jpg"
    (dogs / "really_webp.jpg").write_bytes(_reencoded(real, "WEBP"))
    broken[dogs / "really_webp.jpg"] = "WEBP image named .jpg"
    # a stray file that is no photo at all
    (dogs / "notes.txt").write_text("photos from the shelter, batch 2")
    broken[dogs / "notes.txt"] = "suffix '.txt'"
    # a subfolder of photos, which the pipeline does not look into: named, not lost in silence
    (cats / "kittens").mkdir()
    shutil.copy2(real, cats / "kittens" / real.name)
    broken[cats / "kittens"] = "a folder, not a photo"
    # a link to a photo that was moved away
    (dogs / "moved.jpg").symlink_to(tmp_path / "nowhere" / "moved.jpg")
    broken[dogs / "moved.jpg"] = "cannot be read"
    monkeypatch.setenv(data.DATA_ENV, str(root))
    return root, broken


# --------------------------------------------------------------------------- checking
def test_each_kind_of_broken_file_is_skipped_and_named_in_one_warning(photo_folder):
    root, broken = photo_folder
    before = _digest(root)
    files = data.cats_and_dogs_files("train")
    paths = files["cats"] + files["dogs"]
    with pytest.warns(photos.BrokenPhotosWarning) as caught:
        check = photos.check_photos(paths)
    assert len(caught) == 1, f"expected one message, got {len(caught)}"
    message = str(caught[0].message)
    for path, words in broken.items():
        assert str(path) in message, f"{path.name} is not named in the message"
        assert words in check.broken[path], f"{path.name}: {check.broken[path]!r}"
    assert set(check.broken) == set(broken)
    assert len(check.good) == 8 and not set(check.good) & set(broken)
    assert f"Skipped {len(broken)} of {len(paths)}" in message
    assert _digest(root) == before, "checking changed, moved or deleted a file"


def test_a_clean_folder_gives_no_warning(data_root):
    paths = data.cats_and_dogs_files("validation")["cats"][:5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = photos.check_photos(paths)
    assert check.good == paths and check.broken == {} and check.message == ""


def test_check_can_stay_silent_and_still_report(photo_folder):
    _, broken = photo_folder
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = photos.check_photos(list(broken), warn=False)
    assert check.good == [] and set(check.broken) == set(broken)
    assert all(str(path) in check.message for path in broken)


def test_tensorflow_chokes_on_the_files_the_check_skips(photo_folder):
    """Why the check is needed: decode_jpeg fails on these in the middle of an epoch.

    (TensorFlow's JPEG op happens to read a PNG or a WebP named .jpg; other readers do
    not, so the check names those too, for the folder's owner to fix.)
    """
    import tensorflow as tf

    _, broken = photo_folder
    unreadable = [path for path in broken if path.stem in ("empty", "truncated", "error_page")]
    assert len(unreadable) == 3
    for path in unreadable:
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3)


# --------------------------------------------------------------------------- pipeline
def test_pipeline_streams_batches_from_the_checked_photos(photo_folder):
    root, broken = photo_folder
    before = _digest(root)
    with pytest.warns(photos.BrokenPhotosWarning):
        train = photos.cats_and_dogs_photos("train")
    assert len(train) == 8 and sorted(train.labels.tolist()) == [0] * 4 + [1] * 4
    assert set(train.check.broken) == set(broken)
    dataset = photos.photo_dataset(
        train.paths,
        train.labels,
        IMAGE_SHAPE,
        batch_size=3,
        shuffle=True,
        seed=1,
        cache_dir=root.parent / "cache",
    )
    for _ in range(2):  # the second pass reads the cache file
        batches = [(np.asarray(x), np.asarray(y)) for x, y in dataset]
        assert [len(y) for _, y in batches] == [3, 3, 2]
        images = np.concatenate([x for x, _ in batches])
        labels = np.concatenate([y for _, y in batches])
        assert images.shape == (8, *IMAGE_SHAPE, 3) and images.dtype == np.float32
        assert 0.0 <= images.min() and images.max() <= 1.0 and images.std() > 0.05
        assert sorted(labels.tolist()) == [0.0] * 4 + [1.0] * 4
    assert _digest(root) == before, "the pipeline changed a photo or wrote into the folder"
    assert any((root.parent / "cache").iterdir()), "no cache file was written"


def test_pipeline_keeps_labels_with_their_photos(data_root):
    """Shuffled batches still pair each photo with its label (compared with Pillow)."""
    files = data.cats_and_dogs_files("validation")
    paths, labels = photos.labelled_paths({"cats": files["cats"][:3], "dogs": files["dogs"][:3]})
    expected = {
        photos.load_photo(p, IMAGE_SHAPE).tobytes(): label for p, label in zip(paths, labels)
    }
    reference = photos.load_photos_in_memory(paths, IMAGE_SHAPE)
    dataset = photos.photo_dataset(paths, labels, IMAGE_SHAPE, batch_size=4, shuffle=True)
    seen = 0
    for images, batch_labels in dataset:
        for image, label in zip(np.asarray(images), np.asarray(batch_labels)):
            distances = np.abs(reference - image).mean(axis=(1, 2, 3))
            match = int(np.argmin(distances))
            assert distances[match] < 0.02, f"no Pillow photo within 0.02 ({distances.min()})"
            assert label == labels[match]
            seen += 1
    assert seen == 6 and len(expected) == 6


def test_temporary_cache_folder_is_removed_with_the_dataset(data_root, tmp_path, monkeypatch):
    import gc
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    paths = data.cats_and_dogs_files("validation")["dogs"][:2]
    dataset = photos.photo_dataset(paths, [1, 1], IMAGE_SHAPE)
    list(dataset)
    (cache_dir,) = tmp_path.glob("cnnbook-photos-*")
    assert any(cache_dir.glob("photos-*")), "no cache file was written"
    del dataset
    gc.collect()
    assert not cache_dir.exists(), "the temporary cache folder outlived its dataset"


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"paths": [], "labels": []}, "no photos"),
        ({"paths": ["a.jpg", "b.jpg"], "labels": [0]}, "2 paths"),
        ({"paths": ["a.jpg"], "labels": [0], "image_shape": (10,)}, "image_shape"),
        ({"paths": ["a.jpg"], "labels": [0], "batch_size": 0}, "batch_size"),
    ],
)
def test_pipeline_rejects_bad_arguments(kwargs, words):
    arguments = {"image_shape": IMAGE_SHAPE, **kwargs}
    with pytest.raises(ValueError, match=words):
        photos.photo_dataset(arguments.pop("paths"), arguments.pop("labels"), **arguments)


# --------------------------------------------------------------------------- shapes
def test_most_common_shape_of_the_real_photos(data_root):
    files = data.cats_and_dogs_files("train")
    shape = photos.most_common_shape(files["cats"] + files["dogs"], sample_size=300)
    # the data README: most photos are 499x375 or 500x374 (width x height)
    assert shape in {(375, 499), (374, 500)}
    assert photos.scaled_shape(shape) in {(94, 125), (94, 125)}


def test_scaled_shape_rounds_and_rejects_nonsense():
    assert photos.scaled_shape((375, 500)) == (94, 125)
    assert photos.scaled_shape((375, 500), factor=2) == (188, 250)
    with pytest.raises(ValueError, match="height, width"):
        photos.scaled_shape((0, 10))
    with pytest.raises(ValueError, match="factor"):
        photos.scaled_shape((10, 10), factor=0)


def test_in_memory_loading_matches_the_pipeline(data_root):
    paths = data.cats_and_dogs_files("validation")["cats"][:4]
    in_memory = photos.load_photos_in_memory(paths, IMAGE_SHAPE)
    streamed = np.concatenate(
        [np.asarray(x) for x, _ in photos.photo_dataset(paths, [0] * 4, IMAGE_SHAPE, batch_size=4)]
    )
    assert in_memory.shape == streamed.shape == (4, *IMAGE_SHAPE, 3)
    assert np.abs(in_memory - streamed).mean() < 0.02


def test_labelled_paths_and_shuffle_keep_pairs():
    paths, labels = photos.labelled_paths({"cats": [Path("c1"), Path("c2")], "dogs": [Path("d1")]})
    assert labels.tolist() == [0, 0, 1]
    mixed, mixed_labels = photos.shuffled(paths, labels, seed=3)
    assert sorted(map(str, mixed)) == ["c1", "c2", "d1"]
    assert all((p.name[0] == "d") == bool(label) for p, label in zip(mixed, mixed_labels))
    with pytest.raises(ValueError, match="horses"):
        photos.labelled_paths({"horses": []})


# --------------------------------------------------------------------------- odd photos
def test_multi_frame_jpeg_from_a_phone_is_accepted_and_decoded(tmp_path):
    """An MPO (a JPEG with a second frame, as phones save) is a JPEG TensorFlow reads."""
    from PIL import Image

    path = tmp_path / "phone.jpg"
    first, second = Image.new("RGB", (64, 48), (200, 10, 10)), Image.new("RGB", (64, 48))
    first.save(path, format="MPO", save_all=True, append_images=[second])
    with Image.open(path) as image:
        assert image.format == "MPO"
    check = photos.check_photos([path], warn=False)
    assert check.good == [path], check.broken
    ((batch, _),) = list(photos.photo_dataset([path], [1], IMAGE_SHAPE))
    assert np.asarray(batch)[0, ..., 0].mean() > 0.7  # the red first frame


def test_a_huge_photo_is_checked_and_decoded_at_a_reduced_scale(tmp_path):
    """12000 x 12000: Pillow warns of a decompression bomb; under -W error that raised."""
    import tensorflow as tf
    from PIL import Image

    path = tmp_path / "huge.jpg"
    Image.new("L", (12000, 12000), 128).save(path, format="JPEG")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warnings-as-errors, as pytest -W error runs
        check = photos.check_photos(path)  # one path, not a list
        photo = photos.load_photo(path, IMAGE_SHAPE)
    assert check.good == [path], check.broken
    assert photo.shape == (*IMAGE_SHAPE, 3)
    decoded = photos.decode_jpeg_capped(tf.io.read_file(str(path)))
    assert tuple(decoded.shape) == (3000, 3000, 3)  # 27 MB, not 432 MB
    ((batch, _),) = list(photos.photo_dataset([path], [0], IMAGE_SHAPE))
    assert np.allclose(np.asarray(batch), 128 / 255, atol=0.01)


def test_decode_scale_is_one_for_ordinary_photos():
    assert photos.decode_scale(375, 500) == 1
    assert photos.decode_scale(12000, 12000) == 4
    assert photos.decode_scale(40000, 40000) == 8


def test_one_path_as_a_string_is_one_photo_not_its_characters():
    check = photos.check_photos("a.jpg", warn=False)
    assert list(check.broken) == [Path("a.jpg")] and check.good == []


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"shuffle_buffer": 0}, "shuffle_buffer"),
        ({"labels": ["cat"]}, "labels"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"image_shape": ("a", 3)}, "image_shape"),
    ],
)
def test_bad_arguments_leave_no_temporary_folder(kwargs, words, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    arguments = {"paths": ["a.jpg"], "labels": [0], "image_shape": IMAGE_SHAPE, **kwargs}
    with pytest.raises(ValueError, match=words):
        photos.photo_dataset(arguments.pop("paths"), arguments.pop("labels"), **arguments)
    assert list(tmp_path.iterdir()) == [], "a temporary folder was left behind"


def test_negative_limit_is_refused_and_zero_gives_no_photo(data_root):
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="limit"):
            photos.cats_and_dogs_photos("validation", limit=bad)
    assert len(photos.cats_and_dogs_photos("validation", limit=0)) == 0
    assert len(photos.cats_and_dogs_photos("validation", limit=5)) == 5


# --------------------------------------------------------------------------- aspect ratio
def test_stretch_crop_and_pad_fit_a_portrait_photo_to_a_landscape_shape(tmp_path):
    """A 60x30 portrait photo, white on top and black below, into a 10x20 landscape."""
    import tensorflow as tf
    from PIL import Image

    array = np.zeros((60, 30, 3), np.uint8)
    array[:30] = 255
    path = tmp_path / "portrait.jpg"
    Image.fromarray(array).save(path, quality=95)
    out = {
        mode: np.asarray(photos.decode_and_resize(tf.constant(str(path)), (10, 20), mode))
        for mode in photos.RESIZE_MODES
    }
    assert all(image.shape == (10, 20, 3) for image in out.values())
    # stretch keeps the top half white and the bottom half black
    assert out["stretch"][:4].mean() > 240 and out["stretch"][-4:].mean() < 15
    # crop scales to cover (20 wide: 40 tall) and keeps the centre rows: half and half
    assert out["crop"][:3].mean() > 240 and out["crop"][-3:].mean() < 15
    # pad scales to fit (10 tall: 5 wide) and fills the sides with black
    assert out["pad"][:, :6].max() < 15 and out["pad"][:, -6:].max() < 15
    assert out["pad"][:4, 8:12].mean() > 200
    with pytest.raises(ValueError, match="resize"):
        photos.photo_dataset([path], [0], (10, 20), resize="squash")
