"""Where the book's data comes from: one registry, one lookup order, one download.

Each data set is looked for, in this order:

1. the folder named by ``CNNBOOK_DATA`` (laid out like ``shared/data``:
   ``mnist.npz``, ``cats_and_dogs/{train,validation}/{cats,dogs}/*.jpg``, and
   optionally ``cats_and_dogs/test/{cats,dogs}/*.jpg``);
2. the reader's cache (``CNNBOOK_CACHE``, else ``$XDG_CACHE_HOME/cnnbook``, else
   ``~/.cache/cnnbook``);
3. a download into that cache, checked against a SHA-256 before it is kept.

A download happens at most once: later calls find the cached copy. Nothing here ever
deletes or overwrites a file that a reader put in place; a download is written to a
temporary name and only renamed once it is complete and checked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

DATA_ENV = "CNNBOOK_DATA"
CACHE_ENV = "CNNBOOK_CACHE"
DOWNLOAD_TIMEOUT_S = 60

CATS_AND_DOGS_SPLITS = ("train", "validation", "test")
#: The splits every cats-and-dogs folder must have; ``test`` is optional (see below).
CATS_AND_DOGS_REQUIRED_SPLITS = ("train", "validation")
CATS_AND_DOGS_CLASSES = ("cats", "dogs")
#: Without a ``test/`` folder (the cats_and_dogs_filtered layout), the validation photos
#: are split once, with this seed, half of each class to validation, half to test.
TEST_SPLIT_SEED = 2024
EXPECTED_LAYOUT = """\
  $CNNBOOK_DATA/
    mnist.npz                      (keys x_train, y_train, x_test, y_test)
    cats_and_dogs/                 (or cats_and_dogs_filtered/)
      train/cats/*.jpg   train/dogs/*.jpg
      validation/cats/*.jpg   validation/dogs/*.jpg
      test/cats/*.jpg   test/dogs/*.jpg       (optional: else half of validation)"""


class DataNotFoundError(FileNotFoundError):
    """A data set is neither in ``CNNBOOK_DATA``, nor cached, nor downloadable."""


class DataIntegrityError(ValueError):
    """A downloaded file does not match its expected checksum, or a file is unreadable."""


class DataPermissionError(PermissionError):
    """A data file or folder exists but this user may not read (or write) it."""


def _permission_error(path: Path, action: str, error: OSError) -> DataPermissionError:
    """A clear error for a file or folder this user may not read or write; nothing changed."""
    return DataPermissionError(
        f"Permission denied: cannot {action} {path} ({error.strerror or error}). Nothing was "
        f"changed. Give your user access to it (for example `chmod u+rX` on it, or ask its "
        f"owner), or set {DATA_ENV} (or {CACHE_ENV} for the cache) to a folder you can use."
    )


@dataclass(frozen=True)
class Remote:
    """Where a data set can be downloaded from and how to check it.

    ``sha256=None`` means no published checksum is known: the first download is
    checked for integrity (zip CRCs) and its hash is recorded beside it, so any later
    copy put in the cache is compared with the first.
    """

    url: str
    filename: str
    sha256: str | None


REMOTES = {
    # Keras's own copy of MNIST and the checksum Keras checks it against.
    "mnist": Remote(
        url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        filename="mnist.npz",
        sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    ),
    # The zip used by the TensorFlow tutorials: 2,000 training and 1,000 validation photos.
    "cats_and_dogs": Remote(
        url="https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
        filename="cats_and_dogs_filtered.zip",
        sha256=None,
    ),
}

#: ImageNet-pretrained weights for the cats-vs-dogs transfer rung, from Keras's own store
#: (MobileNetV2, width 1.0, trained at 128 x 128, without its classifier). No checksum is
#: published: the first download's SHA-256 is recorded beside it, and the file must be
#: an HDF5 file.
PRETRAINED_WEIGHTS = {
    "mobilenet_v2": Remote(
        url="https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_128_no_top.h5",
        filename="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_128_no_top.h5",
        sha256=None,
    ),
}
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

KITTENS_SHA256 = "f75fd653f00b62738c0006002fdfce667e6754212b2f406390f459141d920925"


# --------------------------------------------------------------------------- places
def data_root() -> Path | None:
    """The folder named by ``CNNBOOK_DATA``, or ``None`` if the variable is unset."""
    value = os.environ.get(DATA_ENV, "").strip()
    if not value:
        return None
    root = Path(value).expanduser().resolve()
    try:
        is_folder = root.is_dir()
    except PermissionError as error:
        raise _permission_error(root, "look into", error) from error
    if not is_folder:
        raise DataNotFoundError(
            f"{DATA_ENV}={value!r} is not a folder. Point {DATA_ENV} at a folder laid out "
            f"like this, or unset it to use the cache and downloads:\n{EXPECTED_LAYOUT}"
        )
    return root


def cache_root() -> Path:
    """The reader's cache folder (created on first use)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "cnnbook").resolve()


def _not_found(what: str, looked: list[Path], why: str) -> DataNotFoundError:
    places = "\n".join(f"  - {p}" for p in looked) or "  - (nowhere)"
    return DataNotFoundError(
        f"Could not find {what}.\nLooked in:\n{places}\nand the download failed: {why}\n"
        f"Offline? Set {DATA_ENV} to a folder that holds it, laid out like this:\n"
        f"{EXPECTED_LAYOUT}\n(for example: export {DATA_ENV}=../shared/data)."
    )


# --------------------------------------------------------------------------- download
def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except PermissionError as error:
        raise _permission_error(path, "read", error) from error
    return digest.hexdigest()


def download(remote: Remote, target: Path, check: Callable[[Path], None] | None = None) -> Path:
    """Download ``remote`` to ``target``, checking it before it is kept; never overwrite.

    The bytes go to a temporary file beside ``target``. They are checked there: against
    the SHA-256 if one is published, and with ``check(path)`` if given (which raises
    :class:`DataIntegrityError` for a damaged file). Only a file that passes is renamed
    into place, so an interrupted, corrupt or wrong download (a captive portal's web
    page, say) leaves nothing behind, and a file already at ``target`` is returned
    untouched. With no published checksum, the hash of the first good download is
    recorded beside it (``NAME.sha256``).
    """
    if _exists(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(
            prefix=target.name + ".", suffix=".part", dir=target.parent
        )
    except PermissionError as error:
        raise _permission_error(target.parent, "write to", error) from error
    tmp = Path(tmp_name)
    try:
        print(f"Downloading {remote.url} to {target} (once; later runs use the cache)")
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(remote.url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            shutil.copyfileobj(response, out)
        actual = sha256_of(tmp)
        if remote.sha256 is not None and actual != remote.sha256:
            raise DataIntegrityError(
                f"{remote.url} downloaded with SHA-256 {actual}, expected {remote.sha256}; "
                f"the file was not kept ({_looks_like(tmp)}). Try again later (on a network "
                f"that does not redirect you to a login page), or set {DATA_ENV} to a "
                "folder holding a copy you trust."
            )
        if check is not None:
            try:
                check(tmp)
            except DataIntegrityError as error:
                raise DataIntegrityError(
                    f"The download of {remote.url} is damaged and was not kept as {target}: "
                    f"{str(error).replace(str(tmp), 'the downloaded file')}\n"
                    f"Try again later (on a network that does not redirect you to a login "
                    f"page), or set {DATA_ENV} to a folder holding a copy you trust."
                ) from error
        if target.exists():  # somebody put a copy there meanwhile: keep theirs
            return target
        tmp.replace(target)
        if remote.sha256 is None:
            _recorded_hash_path(target).write_text(actual + "\n")
        return target
    finally:
        tmp.unlink(missing_ok=True)


def _recorded_hash_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


def _looks_like(path: Path) -> str:
    """What a file that is not the expected data seems to be, from its first bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return "it could not be read"
    if not head:
        return "it is empty (0 bytes)"
    if head.startswith(b"version https://git-lfs"):
        return (
            "it is a Git LFS pointer, not the data: run `git lfs pull` in the repository "
            "it came from, or download the file itself"
        )
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        return (
            "it is a web page, not the data (a login page of a captive network or an error "
            "page, say)"
        )
    return f"it starts with the bytes {head[:16]!r}"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except PermissionError as error:
        raise _permission_error(path, "look into", error) from error


def _first_existing(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if _exists(p)), None)


def _candidates(relative_names: tuple[str, ...]) -> list[Path]:
    """The places a file or folder may be, in lookup order."""
    roots = [r for r in (data_root(), cache_root()) if r is not None]
    return [root / name for root in roots for name in relative_names]


# --------------------------------------------------------------------------- MNIST
MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


def mnist_path() -> Path:
    """Path of ``mnist.npz``: from ``CNNBOOK_DATA``, the cache, or a download."""
    looked = _candidates(("mnist.npz",))
    found = _first_existing(looked)
    if found is not None:
        return found
    remote = REMOTES["mnist"]
    try:
        return download(remote, cache_root() / remote.filename)
    except (DataPermissionError, DataIntegrityError):
        raise
    except OSError as error:
        raise _not_found("the MNIST file mnist.npz", looked, str(error)) from error


def _unreadable_mnist(path: Path, problem: str) -> DataIntegrityError:
    return DataIntegrityError(
        f"{path} is not a usable MNIST file: {problem}. It was left in place. Replace it "
        f"with a good copy (keras.datasets.mnist's mnist.npz, arrays {', '.join(MNIST_KEYS)}), "
        f"or point {DATA_ENV} at a folder that holds one."
    )


def _check_mnist_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """uint8 images (N, 28, 28) and N labels in 0..9, for both splits; else a clear error."""
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise _unreadable_mnist(
                path,
                f"x_{split} should be uint8 digits of shape (N, 28, 28), but it is "
                f"{images.dtype} of shape {images.shape}",
            )
        if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (len(images),):
            raise _unreadable_mnist(
                path,
                f"y_{split} should hold one integer label per image, shape ({len(images)},), "
                f"but it is {labels.dtype} of shape {labels.shape}",
            )
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise _unreadable_mnist(
                path,
                f"y_{split} should hold the digits 0 to 9, but holds values from "
                f"{labels.min()} to {labels.max()}",
            )


def load_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST as ``((x_train, y_train), (x_test, y_test))``, like ``keras.datasets.mnist``.

    ``x_*`` are uint8 arrays of shape (N, 28, 28) in [0, 255]; ``y_*`` are uint8 labels
    0..9, one per image. Unlike ``keras.datasets.mnist.load_data()``, it reads a local
    copy offline and never deletes a file it does not recognise; a damaged or wrong
    file gets a :class:`DataIntegrityError` that names it and says what to do.
    """
    path = mnist_path()
    try:
        with open(path, "rb") as handle:
            loaded = np.load(handle, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise _unreadable_mnist(
                    path, "it holds one array, not an .npz archive of named arrays"
                )
            with loaded as npz:
                missing = [key for key in MNIST_KEYS if key not in npz.files]
                if missing:
                    raise _unreadable_mnist(
                        path,
                        f"it has no array named {', '.join(missing)} (its arrays are "
                        f"named {npz.files or 'nothing'})",
                    )
                arrays = {key: npz[key] for key in MNIST_KEYS}
    except PermissionError as error:
        raise _permission_error(path, "read", error) from error
    except DataIntegrityError:
        raise
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as error:
        # numpy's own messages may advise allow_pickle=True: never pass that on.
        raise _unreadable_mnist(
            path, f"{_looks_like(path)} ({type(error).__name__} while reading it)"
        ) from error
    _check_mnist_arrays(path, arrays)
    return (
        (arrays["x_train"], arrays["y_train"].astype(np.uint8, copy=False)),
        (arrays["x_test"], arrays["y_test"].astype(np.uint8, copy=False)),
    )


# --------------------------------------------------------------------------- cats and dogs
_CATS_AND_DOGS_NAMES = ("cats_and_dogs", "cats_and_dogs_filtered")
_ARCHIVE_FOLDER = "cats_and_dogs_filtered"


def _missing_class_folders(folder: Path) -> list[str]:
    """The ``split/class`` folders of the layout that ``folder`` lacks (or holds empty)."""
    missing = []
    for split in CATS_AND_DOGS_REQUIRED_SPLITS:
        for label in CATS_AND_DOGS_CLASSES:
            place = folder / split / label
            try:
                if not place.is_dir() or not any(place.iterdir()):
                    missing.append(f"{split}/{label}")
            except PermissionError as error:
                raise _permission_error(place, "read", error) from error
    return missing


def _incomplete(folder: Path, missing: list[str]) -> DataNotFoundError:
    return DataNotFoundError(
        f"{folder} is incomplete: {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing or empty (each of "
        f"{{{','.join(CATS_AND_DOGS_REQUIRED_SPLITS)}}}/"
        f"{{{','.join(CATS_AND_DOGS_CLASSES)}}} must "
        "hold photos). It was left as it is: add the missing folder(s), move the folder "
        f"away to download a fresh copy, or set {DATA_ENV} elsewhere.\n{EXPECTED_LAYOUT}"
    )


def check_cats_and_dogs_archive(archive: Path) -> None:
    """Raise :class:`DataIntegrityError` unless ``archive`` is a sound cats-vs-dogs zip.

    Sound means: a zip file whose every member passes its CRC, holding
    ``cats_and_dogs_filtered/{train,validation}/{cats,dogs}/`` with photos in each.
    """
    try:
        with zipfile.ZipFile(archive) as zipped:
            broken = zipped.testzip()
            names = zipped.namelist()
    except PermissionError as error:
        raise _permission_error(archive, "read", error) from error
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as error:
        raise DataIntegrityError(
            f"{archive} is not a readable zip archive: {_looks_like(archive)} "
            f"({type(error).__name__})"
        ) from error
    if broken is not None:
        raise DataIntegrityError(f"{archive} is damaged: its member {broken} fails its CRC")
    missing = [
        f"{split}/{label}"
        for split in CATS_AND_DOGS_REQUIRED_SPLITS
        for label in CATS_AND_DOGS_CLASSES
        if not any(
            n.startswith(f"{_ARCHIVE_FOLDER}/{split}/{label}/") and not n.endswith("/")
            for n in names
        )
    ]
    if missing:
        raise DataIntegrityError(
            f"{archive} does not hold the {_ARCHIVE_FOLDER} layout: no photos in "
            f"{', '.join(missing)}"
        )


def _download_cats_and_dogs(target: Path) -> Path:
    remote = REMOTES["cats_and_dogs"]
    archive = download(
        remote, cache_root() / "downloads" / remote.filename, check=check_cats_and_dogs_archive
    )
    recorded = _recorded_hash_path(archive)
    advice = (
        f"It was left in place: delete it (and {recorded.name}, if there) to download "
        f"again, or set {DATA_ENV} to a folder holding the photos."
    )
    if remote.sha256 is None and recorded.exists():
        if sha256_of(archive) != recorded.read_text().strip():
            raise DataIntegrityError(
                f"{archive} differs from the copy first downloaded (hash in {recorded}). " + advice
            )
    try:
        check_cats_and_dogs_archive(archive)
    except DataIntegrityError as error:
        raise DataIntegrityError(f"The cached archive {error}. {advice}") from error
    with (
        zipfile.ZipFile(archive) as zipped,
        tempfile.TemporaryDirectory(dir=target.parent) as scratch,
    ):
        zipped.extractall(scratch)
        inner = Path(scratch) / _ARCHIVE_FOLDER
        if not target.exists():
            inner.rename(target)
    return target


def cats_and_dogs_dir() -> Path:
    """The folder holding ``{train,validation}/{cats,dogs}/*.jpg``.

    From ``CNNBOOK_DATA`` (as ``cats_and_dogs/`` or ``cats_and_dogs_filtered/``), the
    cache, or a single download of ``cats_and_dogs_filtered.zip`` into the cache. The
    first of these folders that exists is used; if it lacks a class folder, the error
    names it (``validation/dogs``, say) rather than passing over it.
    """
    looked = _candidates(_CATS_AND_DOGS_NAMES)
    for folder in looked:
        if _exists(folder):
            missing = _missing_class_folders(folder)
            if missing:
                raise _incomplete(folder, missing)
            return folder
    target = cache_root() / "cats_and_dogs"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except PermissionError as error:
        raise _permission_error(target.parent, "write to", error) from error
    try:
        return _download_cats_and_dogs(target)
    except (DataPermissionError, DataIntegrityError):
        raise
    except OSError as error:
        raise _not_found("the cats-vs-dogs photos", looked, str(error)) from error


def has_test_folder(folder: Path | None = None) -> bool:
    """True if the cats-and-dogs folder has its own ``test/{cats,dogs}`` split."""
    folder = cats_and_dogs_dir() if folder is None else folder
    return all((folder / "test" / label).is_dir() for label in CATS_AND_DOGS_CLASSES)


def class_folder_entries(folder: Path) -> list[Path]:
    """Every entry of one class folder (``train/cats``, a reader's ``dogs``), sorted.

    Not only the files: a link to nowhere or a subfolder is listed too, so that the
    photo check names it (``cnnbook.photos.photo_problem``) instead of passing over it
    in silence, and a subfolder of photos is not lost without a word.
    """
    try:
        return sorted(folder.iterdir())
    except PermissionError as error:
        raise _permission_error(folder, "read", error) from error


def _halves(paths: list[Path], seed: int) -> tuple[list[Path], list[Path]]:
    """``paths`` shuffled by ``seed`` and cut in two: (first half, second half), sorted.

    The first half gets the odd one out, so one photo stays a validation photo.
    """
    order = np.random.default_rng(seed).permutation(len(paths))
    cut = (len(paths) + 1) // 2
    return (sorted(paths[i] for i in order[:cut]), sorted(paths[i] for i in order[cut:]))


def cats_and_dogs_files(split: str = "train") -> dict[str, list[Path]]:
    """The photo paths of one split, by class name, sorted by file name.

    ``split`` is ``"train"``, ``"validation"`` or ``"test"``. A folder with its own
    ``test/`` split uses it. Without one (the cats_and_dogs_filtered layout), the
    validation photos are split once, by the fixed seed ``TEST_SPLIT_SEED``, half of
    each class (stratified) to ``"validation"`` and the other half to ``"test"``: the
    test photos are then never used for a decision. Nothing on disk is moved.
    """
    if split not in CATS_AND_DOGS_SPLITS:
        raise ValueError(f"split must be one of {CATS_AND_DOGS_SPLITS}, not {split!r}")
    root = cats_and_dogs_dir()
    if split == "train" or has_test_folder(root):
        return {
            label: class_folder_entries(root / split / label) for label in CATS_AND_DOGS_CLASSES
        }
    files = {}
    for index, label in enumerate(CATS_AND_DOGS_CLASSES):
        validation, test = _halves(
            class_folder_entries(root / "validation" / label), TEST_SPLIT_SEED + index
        )
        files[label] = validation if split == "validation" else test
    return files


# --------------------------------------------------------------------------- weights
def pretrained_weights_path(name: str = "mobilenet_v2") -> Path:
    """The file of pretrained weights ``name``: in ``CNNBOOK_DATA``, the cache, or a
    single download into the cache (checked to be HDF5, its hash recorded).

    Offline, the error names the file to place in ``CNNBOOK_DATA`` and where to get it.
    """
    if name not in PRETRAINED_WEIGHTS:
        raise ValueError(
            f"no pretrained weights named {name!r}; known: {sorted(PRETRAINED_WEIGHTS)}"
        )
    remote = PRETRAINED_WEIGHTS[name]
    looked = _candidates((remote.filename, f"weights/{remote.filename}"))
    found = _first_existing(looked)
    if found is None:
        target = cache_root() / "weights" / remote.filename
        try:
            found = download(remote, target)
        except OSError as error:
            places = "\n".join(f"  - {p}" for p in looked) or "  - (nowhere)"
            raise DataNotFoundError(
                f"The ImageNet weights {remote.filename} are not here (looked in:\n{places}\n"
                f"and the download failed: {error}). To use them offline, download\n  "
                f"{remote.url}\nelsewhere and put the file, unchanged, in ${DATA_ENV}."
            ) from error
        if remote.sha256 is None:
            target.with_name(target.name + ".sha256").write_text(sha256_of(target) + "\n")
    with open(found, "rb") as handle:
        if handle.read(len(_HDF5_SIGNATURE)) != _HDF5_SIGNATURE:
            raise DataIntegrityError(
                f"{found} is not an HDF5 weights file (a page saved instead, or a download "
                "cut short?). It was left in place: replace it with the file from "
                f"{remote.url}, or remove it to download again."
            )
    return found


# --------------------------------------------------------------------------- kittens
def kittens_path() -> Path:
    """The CC0 kittens photo shipped inside the package (also on Colab, no clone needed).

    It never depends on ``CNNBOOK_DATA``: that folder is looked in only if the package's
    own copy is missing, and a wrong ``CNNBOOK_DATA`` does not stop the shipped photo.
    """
    shipped = Path(str(resources.files("cnnbook") / "assets" / "kittens.jpg"))
    # An editable install from a checkout has no copy inside the package: the
    # repository's assets/ folder is the one copy then.
    checkout = Path(__file__).resolve().parents[2] / "assets" / "kittens.jpg"
    looked = [shipped, checkout]
    found = _first_existing(looked)
    if found is not None:
        return found
    try:
        looked += _candidates(("kittens.jpg",))
    except DataNotFoundError:  # a wrong CNNBOOK_DATA: the error below says where we looked
        pass
    found = _first_existing(looked)
    if found is not None:
        return found
    raise DataNotFoundError(
        "The kittens photo is missing from the installed cnnbook package. Reinstall it "
        "(pip install --force-reinstall cnnbook) or put kittens.jpg in "
        f"${DATA_ENV}. Looked in:\n" + "\n".join(f"  - {p}" for p in looked)
    )


def load_kittens(grayscale: bool = True) -> np.ndarray:
    """The kittens photo as float32 in [0, 1]: (H, W) in grey or (H, W, 3) in colour."""
    from PIL import Image

    path = kittens_path()
    try:
        with Image.open(path) as image:
            image = image.convert("L" if grayscale else "RGB")
            return np.asarray(image, dtype=np.float32) / 255.0
    except PermissionError as error:
        raise _permission_error(path, "read", error) from error
