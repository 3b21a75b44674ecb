"""Where the data comes from: CNNBOOK_DATA, the cache, a checked download, clear errors."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import re
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnbook import data

CLOSED_PORT_URL = "http://127.0.0.1:9/nothing-listens-here"


# --------------------------------------------------------------------------- helpers
class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):  # noqa: N802 (the name http.server asks for)
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def file_server(tmp_path):
    """A loopback HTTP server over a folder, counting the requests it answers."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler_class = type("Handler", (_CountingHandler,), {"requests": []})
    handler = functools.partial(handler_class, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.folder = folder
    server.requests = handler_class.requests
    server.url = lambda name: f"http://127.0.0.1:{server.server_address[1]}/{name}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty CNNBOOK_DATA and an empty cache; downloads go to a closed port."""
    empty = tmp_path / "empty-data"
    empty.mkdir()
    cache = tmp_path / "cache"
    monkeypatch.setenv(data.DATA_ENV, str(empty))
    monkeypatch.setenv(data.CACHE_ENV, str(cache))
    for name, remote in data.REMOTES.items():
        monkeypatch.setitem(
            data.REMOTES, name, data.Remote(CLOSED_PORT_URL, remote.filename, remote.sha256)
        )
    return empty, cache


def tiny_mnist_bytes() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        y_train=np.arange(6, dtype=np.uint8),
        x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        y_test=np.arange(2, dtype=np.uint8),
    )
    return buffer.getvalue()


def tiny_cats_and_dogs_zip(photo: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for split in data.CATS_AND_DOGS_SPLITS:
            for label in data.CATS_AND_DOGS_CLASSES:
                zipped.write(photo, f"cats_and_dogs_filtered/{split}/{label}/{label[:-1]}.1.jpg")
    return buffer.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- from CNNBOOK_DATA
def test_load_mnist_from_data_folder_matches_keras_layout(data_root, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(data_root))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    # the same order as keras.datasets.mnist.load_data()
    assert list(y_train[:3]) == [5, 0, 4]
    assert list(y_test[:5]) == [7, 2, 1, 0, 4]
    assert 0 <= x_train.min() and x_train.max() == 255


def test_cats_and_dogs_from_data_folder(data_root, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(data_root))
    train = data.cats_and_dogs_files("train")
    validation = data.cats_and_dogs_files("validation")
    assert {label: len(paths) for label, paths in train.items()} == {"cats": 1000, "dogs": 1000}
    # no test/ folder: the 1,000 validation photos are halved, 250 of each class each
    assert {label: len(paths) for label, paths in validation.items()} == {"cats": 250, "dogs": 250}
    assert all(p.suffix == ".jpg" for p in train["cats"])


def test_without_a_test_folder_validation_is_halved_once_stratified(data_root, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(data_root))
    assert not data.has_test_folder()
    validation, test = data.cats_and_dogs_files("validation"), data.cats_and_dogs_files("test")
    for label in data.CATS_AND_DOGS_CLASSES:
        whole = sorted((data_root / "cats_and_dogs" / "validation" / label).iterdir())
        assert sorted(validation[label] + test[label]) == whole
        assert not set(validation[label]) & set(test[label])
    assert data.cats_and_dogs_files("test") == test  # the same halves every time


def test_a_test_folder_is_used_as_it_is(tmp_path, monkeypatch):
    root = tmp_path / "cats_and_dogs"
    for split in ("train", "validation", "test"):
        for label in data.CATS_AND_DOGS_CLASSES:
            (root / split / label).mkdir(parents=True)
            for number in range(3):
                (root / split / label / f"{label[:-1]}.{split}{number}.jpg").write_bytes(b"x")
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert data.has_test_folder()
    assert [p.name for p in data.cats_and_dogs_files("test")["dogs"]] == [
        "dog.test0.jpg",
        "dog.test1.jpg",
        "dog.test2.jpg",
    ]
    assert len(data.cats_and_dogs_files("validation")["cats"]) == 3


def test_unknown_split_is_refused(data_root, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(data_root))
    with pytest.raises(ValueError, match="split must be one of"):
        data.cats_and_dogs_files("holdout")


def test_kittens_photo_is_there_without_any_data_folder(isolated):
    image = data.load_kittens()
    assert image.shape == (223, 320) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert data.load_kittens(grayscale=False).shape == (223, 320, 3)
    assert data.sha256_of(data.kittens_path()) == data.KITTENS_SHA256


def test_data_variable_pointing_nowhere_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "missing"))
    with pytest.raises(data.DataNotFoundError, match="CNNBOOK_DATA"):
        data.load_mnist()


# --------------------------------------------------------------------------- offline, nothing found
@pytest.mark.parametrize(
    "loader", [data.load_mnist, data.cats_and_dogs_dir], ids=["mnist", "cats_and_dogs"]
)
def test_offline_with_nothing_found_says_what_where_and_which_variable(isolated, loader):
    empty, cache = isolated
    (empty / "notes.txt").write_text("a reader's own file")
    before = snapshot(empty)
    with pytest.raises(data.DataNotFoundError) as caught:
        loader()
    message = str(caught.value)
    assert "CNNBOOK_DATA" in message
    assert "cats_and_dogs/" in message and "mnist.npz" in message  # the expected layout
    assert str(empty) in message and str(cache) in message  # where it looked
    assert snapshot(empty) == before  # nothing deleted or added
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


# --------------------------------------------------------------------------- downloads
def test_mnist_downloads_once_checked_then_uses_the_cache(isolated, file_server, monkeypatch):
    _, cache = isolated
    payload = tiny_mnist_bytes()
    (file_server.folder / "mnist.npz").write_bytes(payload)
    remote = data.Remote(
        file_server.url("mnist.npz"), "mnist.npz", hashlib.sha256(payload).hexdigest()
    )
    monkeypatch.setitem(data.REMOTES, "mnist", remote)

    (x_train, y_train), _ = data.load_mnist()
    assert x_train.shape == (6, 28, 28) and list(y_train) == list(range(6))
    assert (cache / "mnist.npz").read_bytes() == payload
    data.load_mnist()
    assert file_server.requests == ["/mnist.npz"]  # never downloaded again
    assert not list(cache.glob("*.part"))


def test_download_with_wrong_checksum_keeps_nothing(isolated, file_server, monkeypatch):
    _, cache = isolated
    (file_server.folder / "mnist.npz").write_bytes(tiny_mnist_bytes())
    monkeypatch.setitem(
        data.REMOTES, "mnist", data.Remote(file_server.url("mnist.npz"), "mnist.npz", "0" * 64)
    )
    with pytest.raises(data.DataIntegrityError, match="expected 0000"):
        data.load_mnist()
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_a_readers_unreadable_file_is_reported_and_kept(isolated):
    empty, _ = isolated
    (empty / "mnist.npz").write_bytes(b"not an npz file")
    with pytest.raises(data.DataIntegrityError, match="left in place"):
        data.load_mnist()
    assert (empty / "mnist.npz").read_bytes() == b"not an npz file"


def test_cats_and_dogs_download_extracts_once_into_the_cache(isolated, file_server, monkeypatch):
    _, cache = isolated
    archive = tiny_cats_and_dogs_zip(data.kittens_path())
    (file_server.folder / "cats_and_dogs_filtered.zip").write_bytes(archive)
    url = file_server.url("cats_and_dogs_filtered.zip")
    monkeypatch.setitem(
        data.REMOTES, "cats_and_dogs", data.Remote(url, "cats_and_dogs_filtered.zip", None)
    )

    folder = data.cats_and_dogs_dir()
    assert folder == cache / "cats_and_dogs"
    assert [p.name for p in data.cats_and_dogs_files("validation")["dogs"]] == ["dog.1.jpg"]
    # the hash of the first download is recorded, for later copies to be compared with
    recorded = cache / "downloads" / "cats_and_dogs_filtered.zip.sha256"
    assert recorded.read_text().strip() == hashlib.sha256(archive).hexdigest()
    data.cats_and_dogs_dir()
    assert file_server.requests == ["/cats_and_dogs_filtered.zip"]


def test_a_readers_folder_in_the_cache_is_never_overwritten(isolated):
    _, cache = isolated
    theirs = cache / "cats_and_dogs"
    theirs.mkdir(parents=True)
    (theirs / "my_photo.jpg").write_bytes(b"mine")
    with pytest.raises(data.DataNotFoundError, match="left as it is"):
        data.cats_and_dogs_dir()
    assert (theirs / "my_photo.jpg").read_bytes() == b"mine"


# --------------------------------------------------------------------------- damaged downloads
def serve_cats_and_dogs(file_server, monkeypatch, payload: bytes) -> str:
    (file_server.folder / "cats_and_dogs_filtered.zip").write_bytes(payload)
    url = file_server.url("cats_and_dogs_filtered.zip")
    monkeypatch.setitem(
        data.REMOTES, "cats_and_dogs", data.Remote(url, "cats_and_dogs_filtered.zip", None)
    )
    return url


def zip_with_a_bad_crc(photo: Path) -> bytes:
    """A stored (uncompressed) zip whose first photo has one byte changed after writing."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zipped:
        for split in data.CATS_AND_DOGS_SPLITS:
            for label in data.CATS_AND_DOGS_CLASSES:
                zipped.write(photo, f"cats_and_dogs_filtered/{split}/{label}/{label[:-1]}.1.jpg")
    damaged = bytearray(buffer.getvalue())
    damaged[200] ^= 0xFF  # inside the first member's data
    return bytes(damaged)


def zip_without(photo: Path, left_out: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for split in data.CATS_AND_DOGS_SPLITS:
            for label in data.CATS_AND_DOGS_CLASSES:
                if f"{split}/{label}" != left_out:
                    zipped.write(photo, f"cats_and_dogs_filtered/{split}/{label}/x.jpg")
    return buffer.getvalue()


DAMAGED_ARCHIVES = {
    "truncated": (lambda photo: tiny_cats_and_dogs_zip(photo)[:-300], "not a readable zip"),
    "captive portal page": (
        lambda photo: b"<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>",
        "web page",
    ),
    "bad CRC": (zip_with_a_bad_crc, "fails its CRC"),
    "wrong layout": (lambda photo: zip_without(photo, "validation/dogs"), "validation/dogs"),
}


@pytest.mark.parametrize("kind", DAMAGED_ARCHIVES)
def test_a_damaged_download_is_never_kept_and_a_good_one_works_later(
    isolated, file_server, monkeypatch, kind
):
    _, cache = isolated
    make, words = DAMAGED_ARCHIVES[kind]
    photo = data.kittens_path()
    url = serve_cats_and_dogs(file_server, monkeypatch, make(photo))
    with pytest.raises(data.DataIntegrityError) as caught:
        data.cats_and_dogs_dir()
    message = str(caught.value)
    assert words in message and url in message
    assert "not kept" in message and "CNNBOOK_DATA" in message
    assert ".part" not in message  # no temporary name that no longer exists
    # nothing stays in the cache: no archive, no reference hash, no half-extracted folder
    assert not any(p.is_file() for p in cache.rglob("*"))
    assert not (cache / "cats_and_dogs").exists()
    # once the network serves the real file, it works
    serve_cats_and_dogs(file_server, monkeypatch, tiny_cats_and_dogs_zip(photo))
    assert data.cats_and_dogs_dir() == cache / "cats_and_dogs"
    recorded = (cache / "downloads" / "cats_and_dogs_filtered.zip.sha256").read_text().strip()
    assert recorded == hashlib.sha256(tiny_cats_and_dogs_zip(photo)).hexdigest()


@pytest.mark.parametrize("recorded", [False, True], ids=["no hash", "its own hash recorded"])
def test_a_bad_cached_archive_is_reported_clearly_and_kept(isolated, recorded):
    _, cache = isolated
    archive = cache / "downloads" / "cats_and_dogs_filtered.zip"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"PK\x03\x04 cut short")
    if recorded:  # what the old code recorded for a damaged first download
        (archive.parent / (archive.name + ".sha256")).write_text(data.sha256_of(archive))
    with pytest.raises(data.DataIntegrityError) as caught:
        data.cats_and_dogs_dir()
    message = str(caught.value)
    assert str(archive) in message and "delete it" in message and "CNNBOOK_DATA" in message
    assert archive.read_bytes() == b"PK\x03\x04 cut short"


# --------------------------------------------------------------------------- incomplete folders
@pytest.mark.parametrize("missing", ["validation/dogs", "train/cats"])
def test_an_incomplete_data_folder_names_the_missing_class_and_downloads_nothing(
    isolated, file_server, monkeypatch, missing
):
    empty, cache = isolated
    serve_cats_and_dogs(file_server, monkeypatch, tiny_cats_and_dogs_zip(data.kittens_path()))
    for split in data.CATS_AND_DOGS_SPLITS:
        for label in data.CATS_AND_DOGS_CLASSES:
            if f"{split}/{label}" != missing:
                folder = empty / "cats_and_dogs" / split / label
                folder.mkdir(parents=True)
                (folder / "a.jpg").write_bytes(b"photo")
    before = snapshot(empty)
    with pytest.raises(data.DataNotFoundError) as caught:
        data.cats_and_dogs_files("train")
    message = str(caught.value)
    assert f"{missing} is missing" in message and str(empty / "cats_and_dogs") in message
    assert file_server.requests == []  # no 65 MB download instead
    assert snapshot(empty) == before


def test_an_empty_class_folder_counts_as_missing(isolated):
    empty, _ = isolated
    for split in data.CATS_AND_DOGS_SPLITS:
        for label in data.CATS_AND_DOGS_CLASSES:
            (empty / "cats_and_dogs_filtered" / split / label).mkdir(parents=True)
    with pytest.raises(data.DataNotFoundError, match="train/cats, train/dogs, validation/cats"):
        data.cats_and_dogs_dir()


# --------------------------------------------------------------------------- kittens
@pytest.mark.parametrize("value", ["/nowhere/at/all", "a-file"])
def test_kittens_load_whatever_cnnbook_data_says(tmp_path, monkeypatch, value):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(data.DATA_ENV, value)
    assert data.load_kittens().shape == (223, 320)


# --------------------------------------------------------------------------- bad MNIST files
def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def good_arrays(**changes):
    arrays = dict(np.load(io.BytesIO(tiny_mnist_bytes())))
    arrays.update(changes)
    return arrays


def damaged_compressed() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **good_arrays())
    damaged = bytearray(buffer.getvalue())
    for offset in range(300, 400):
        damaged[offset] ^= 0x5A
    return bytes(damaged)


def one_array() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 28, 28), np.uint8))
    return buffer.getvalue()


BAD_MNIST_FILES = {
    "empty": (lambda: b"", "empty"),
    "damaged zlib data": (damaged_compressed, "not a usable MNIST file"),
    "one array saved with np.save": (one_array, "one array"),
    "arrays under other names": (
        lambda: npz_bytes(images=np.zeros((2, 28, 28), np.uint8)),
        "no array named x_train",
    ),
    "a web page": (lambda: b"<!doctype html>\n<html><title>Login</title></html>", "web page"),
    "a Git LFS pointer": (
        lambda: b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 11490434\n",
        "git lfs pull",
    ),
    "float images": (
        lambda: npz_bytes(**good_arrays(x_train=np.zeros((6, 28, 28), np.float32))),
        r"x_train should be uint8 digits of shape \(N, 28, 28\), but it is float32",
    ),
    "flat images": (
        lambda: npz_bytes(**good_arrays(x_test=np.zeros((2, 784), np.uint8))),
        r"x_test .* shape \(2, 784\)",
    ),
    "too few labels": (
        lambda: npz_bytes(**good_arrays(y_train=np.arange(5, dtype=np.uint8))),
        r"y_train should hold one integer label per image, shape \(6,\)",
    ),
    "labels 1 to 10": (
        lambda: npz_bytes(**good_arrays(y_test=np.array([1, 10], np.uint8))),
        "digits 0 to 9.*from 1 to 10",
    ),
}


@pytest.mark.parametrize("kind", BAD_MNIST_FILES)
def test_a_bad_mnist_file_gets_a_clear_error_naming_it(isolated, kind):
    empty, _ = isolated
    make, words = BAD_MNIST_FILES[kind]
    path = empty / "mnist.npz"
    path.write_bytes(make())
    before = path.read_bytes()
    with pytest.raises(data.DataIntegrityError) as caught:
        data.load_mnist()
    message = str(caught.value)
    assert re.search(words, message, re.IGNORECASE), message
    assert str(path) in message and "left in place" in message and "CNNBOOK_DATA" in message
    assert "allow_pickle" not in message and "pickle" not in message.lower()
    assert path.read_bytes() == before


def test_int64_labels_are_accepted_and_given_as_uint8(isolated):
    empty, _ = isolated
    (empty / "mnist.npz").write_bytes(
        npz_bytes(**good_arrays(y_train=np.arange(6, dtype=np.int64)))
    )
    (_, y_train), _ = data.load_mnist()
    assert y_train.dtype == np.uint8 and list(y_train) == list(range(6))


# --------------------------------------------------------------------------- permissions
def refuse_to_open(monkeypatch, refused: Path):
    """Make ``open`` fail as it does for a file this user may not read (tests run as root)."""
    import builtins

    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        if str(file) == str(refused):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)


def test_an_unreadable_mnist_file_gets_a_permission_error_not_replace_it(isolated, monkeypatch):
    empty, _ = isolated
    path = empty / "mnist.npz"
    path.write_bytes(tiny_mnist_bytes())
    refuse_to_open(monkeypatch, path)
    with pytest.raises(data.DataPermissionError) as caught:
        data.load_mnist()
    message = str(caught.value)
    assert "Permission denied" in message and str(path) in message and "chmod" in message
    assert "replace" not in message.lower()
    assert isinstance(caught.value, PermissionError)


def test_an_unwritable_cache_gets_a_permission_error(isolated, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data.tempfile, "mkstemp", refuse)
    with pytest.raises(data.DataPermissionError, match=r"cannot write to .*CNNBOOK_CACHE"):
        data.load_mnist()


def test_an_unreadable_photo_folder_gets_a_permission_error(data_root, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(data_root))
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self.name == "dogs" and self.parent.name == "validation":
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(data.DataPermissionError, match=r"validation/dogs"):
        data.cats_and_dogs_files("validation")


def test_a_data_folder_one_may_not_enter_gets_a_permission_error(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    monkeypatch.setenv(data.DATA_ENV, str(folder))
    real_is_dir = Path.is_dir

    def is_dir(self):
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    with pytest.raises(data.DataPermissionError, match=r"cannot look into .*locked"):
        data.load_mnist()
