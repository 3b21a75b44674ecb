"""Where the data comes from: CNNBOOK_DATA, the cache, a checked download, clear errors."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
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
    assert {label: len(paths) for label, paths in validation.items()} == {"cats": 250,
                                                                          "dogs": 250}
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
        "dog.test0.jpg", "dog.test1.jpg", "dog.test2.jpg"]
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
