"""The classroom data kit: one folder with everything the labs read, made once, checked.

A teacher prepares a folder for a computer room without internet::

    python -m cnnbook data fetch /srv/cnnbook-data     # download, check, lay out
    python -m cnnbook data check /srv/cnnbook-data     # report; changes nothing

and sets ``CNNBOOK_DATA=/srv/cnnbook-data`` on the room's machines. The folder is laid
out as ``cnnbook.data`` reads it::

    DIR/mnist.npz                                   MNIST (checked against its SHA-256)
    DIR/cats_and_dogs/{train,validation}/{cats,dogs}/*.jpg
    DIR/kittens.jpg                                 the CC0 kittens photo (shipped copy)
    DIR/downloads/                                  the downloaded archives and .part files
    DIR/cnnbook-data.json                           the SHA-256 of every file fetch laid out

Downloads go through pooch (checked against a known SHA-256 before they are kept) with a
resumable downloader: the bytes land in ``DIR/downloads/NAME.part``, and an interrupted
download continues from there the next time (an HTTP ``Range`` request). A web page served
instead of the file (a captive portal's login page, say) is recognised and not kept.
Nothing already in ``DIR`` is overwritten: a file that fails its check is reported as
damaged and left for the teacher to move away.

More files (say, pretrained weights for a transfer-learning rung) join the kit with
:func:`register`, called by a module listed in ``PROVIDERS``; ``fetch`` downloads and
checks them and ``check`` reports them.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cnnbook import data

MANIFEST = "cnnbook-data.json"
DOWNLOADS = "downloads"
CHUNK_BYTES = 1 << 16
# The photos of cats_and_dogs_filtered.zip, per split and class.
CATS_AND_DOGS_COUNTS = {"train": 1000, "validation": 500}
_WEB_PAGE_STARTS = (b"<!doctype html", b"<html", b"<?xml", b"<head")


class DownloadError(OSError):
    """A download failed or brought something other than the file (a web page, say)."""


# --------------------------------------------------------------------------- what the kit holds
@dataclass(frozen=True)
class KitFile:
    """One file of the kit: where it goes in DIR, where it comes from, its SHA-256."""

    name: str
    relative_path: str
    url: str
    sha256: str
    what: str = ""


@dataclass
class Status:
    """What ``check`` found for one item: present, missing or damaged, and why."""

    name: str
    state: str
    detail: str = ""
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256


_REGISTERED: list[KitFile] = []
# Modules that register kit files when imported (the hook for a transfer-learning rung's
# pretrained weights, say): add yours here, and call register() at its top level.
PROVIDERS: tuple[str, ...] = ()


def register(kit_file: KitFile) -> None:
    """Add a file to the kit (for example a rung's pretrained weights).

    Its module calls this once at import, with a URL and a published SHA-256::

        datakit.register(KitFile("mobilenet_v2", "weights/mobilenet_v2.h5", URL, SHA256))
    """
    if not (len(kit_file.sha256) == 64 and all(c in "0123456789abcdef" for c in kit_file.sha256)):
        raise ValueError(f"{kit_file.name}: sha256 must be 64 lowercase hex digits")
    if any(k.name == kit_file.name for k in _REGISTERED):
        raise ValueError(f"{kit_file.name} is already in the kit")
    _REGISTERED.append(kit_file)


def registered() -> list[KitFile]:
    """Every registered kit file, after importing the modules that register them."""
    import importlib

    for module in PROVIDERS:
        importlib.import_module(module)
    return list(_REGISTERED)


def mnist_file() -> KitFile:
    """MNIST, as the kit fetches it: checked against its published SHA-256."""
    remote = data.REMOTES["mnist"]
    assert remote.sha256 is not None, "cnnbook.data.REMOTES gives MNIST's published SHA-256"
    return KitFile("mnist", "mnist.npz", remote.url, remote.sha256, "MNIST digits")


# --------------------------------------------------------------------------- downloading
class ResumableDownloader:
    """A pooch downloader that keeps its bytes in ``part_dir`` and resumes with ``Range``.

    pooch hands it a temporary file to fill; the bytes are gathered in ``NAME.part`` (kept
    when the connection drops) and copied there once complete. pooch then checks the
    SHA-256 and moves the file into place, or deletes it.
    """

    def __init__(self, part_dir: Path, progress: bool = True, timeout_s: float = 60):
        self.part_dir = Path(part_dir)
        self.progress = progress
        self.timeout_s = timeout_s

    def part_path(self, url: str) -> Path:
        return self.part_dir / (url.rstrip("/").rsplit("/", 1)[-1] + ".part")

    def __call__(self, url: str, output_file: str | Path | IO[bytes], pooch: object = None) -> None:
        import requests
        from tqdm.auto import tqdm

        part = self.part_path(url)
        part.parent.mkdir(parents=True, exist_ok=True)
        have = part.stat().st_size if part.exists() else 0
        total: int | None
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            response = requests.get(url, headers=headers, stream=True, timeout=self.timeout_s)
        except requests.RequestException as error:
            raise DownloadError(f"could not reach {url}: {error}") from error
        with response:
            if response.status_code == 416 and have:  # nothing left to send: complete
                total = have
            elif response.status_code in (200, 206):
                if response.status_code == 200:
                    have = 0  # the server ignored Range: start again
                elif not response.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                    part.unlink()
                    raise DownloadError(
                        f"{url} sent another part of the file than the one asked for; the "
                        "partial download was discarded. Run the same command again."
                    )
                _refuse_web_page(url, response.headers.get("Content-Type", ""))
                # Keep every byte that arrives, even when the connection closes early: the
                # size is compared with Content-Length below, and the rest is asked for later.
                response.raw.enforce_content_length = False
                length = response.headers.get("Content-Length")
                total = have + int(length) if length is not None else None
                with (
                    open(part, "ab" if have else "wb") as out,
                    tqdm(
                        total=total,
                        initial=have,
                        unit="B",
                        unit_scale=True,
                        desc=part.name[: -len(".part")],
                        disable=not self.progress,
                        file=sys.stderr,
                    ) as bar,
                ):
                    try:
                        for chunk in response.iter_content(CHUNK_BYTES):
                            out.write(chunk)
                            bar.update(len(chunk))
                    except requests.RequestException as error:
                        raise DownloadError(
                            f"the download of {url} was interrupted after "
                            f"{part.stat().st_size:,} bytes ({error}). They are kept in {part}: "
                            "run the same command again to resume."
                        ) from error
            else:
                raise DownloadError(f"{url} answered HTTP {response.status_code}")
        if total is not None and part.stat().st_size != total:
            raise DownloadError(
                f"the download of {url} was interrupted at {part.stat().st_size:,} of "
                f"{total:,} bytes. They are kept in {part}: run the same command again to resume."
            )
        with open(part, "rb") as handle:
            start = handle.read(512).lstrip().lower()
        if start.startswith(_WEB_PAGE_STARTS):
            part.unlink()
            _refuse_web_page(url, "text/html")
        target = output_file if isinstance(output_file, (str, Path)) else output_file.name
        shutil.copyfile(part, target)
        part.unlink()


def _refuse_web_page(url: str, content_type: str) -> None:
    if content_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
        raise DownloadError(
            f"{url} sent a web page instead of the file: a network that asks you to log in "
            "first (a captive portal), or a proxy, answered. Log in in a browser, or download "
            "on another network, then run the command again. Nothing was kept."
        )


def _retrieve(kit_file: KitFile, root: Path, progress: bool) -> Path:
    import pooch

    target = root / kit_file.relative_path
    downloader = ResumableDownloader(root / DOWNLOADS, progress=progress)
    try:
        path = pooch.retrieve(
            kit_file.url,
            known_hash=f"sha256:{kit_file.sha256}" if kit_file.sha256 else None,
            fname=target.name,
            path=target.parent,
            downloader=downloader,
        )
    except ValueError as error:  # pooch: the SHA-256 does not match
        raise data.DataIntegrityError(
            f"{kit_file.url} downloaded, but its SHA-256 is not the published one, so it was "
            f"not kept ({error}). Try again, or on another network."
        ) from error
    return Path(path)


# --------------------------------------------------------------------------- checking
def _check_file(root: Path, kit_file: KitFile) -> Status:
    path = root / kit_file.relative_path
    if not path.exists():
        return Status(kit_file.name, "missing", f"{path} does not exist")
    actual = data.sha256_of(path)
    if actual != kit_file.sha256:
        return Status(
            kit_file.name, "damaged", f"{path} has SHA-256 {actual}, not {kit_file.sha256}"
        )
    return Status(kit_file.name, "present", str(path), {kit_file.relative_path: actual})


MNIST_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}


def check_mnist(root: Path) -> Status:
    """The published file (its SHA-256), or else an MNIST file with the right arrays.

    A copy saved by other tools has other bytes but the same arrays: it is good too.
    """
    status = _check_file(root, mnist_file())
    if status.state != "damaged":
        return status
    import numpy as np

    path = root / "mnist.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            shapes = {key: npz[key].shape for key in MNIST_SHAPES}
            labels_ok = all(
                npz[key].min() >= 0 and npz[key].max() <= 9 for key in ("y_train", "y_test")
            )
            pixels_ok = all(npz[key].dtype == np.uint8 for key in ("x_train", "x_test"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        return Status("mnist", "damaged", f"{path} is not a readable MNIST file ({error})")
    if shapes != MNIST_SHAPES or not (labels_ok and pixels_ok):
        return Status(
            "mnist", "damaged", f"{path} holds arrays {shapes}, not MNIST's {MNIST_SHAPES}"
        )
    return Status("mnist", "present", f"{path} (not the published bytes, but MNIST's arrays)")


def _looks_like_jpeg(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(3) == b"\xff\xd8\xff"


def check_cats_and_dogs(root: Path, manifest: dict[str, str] | None = None) -> Status:
    """Layout, photo counts, JPEG signatures, and the hashes recorded by ``fetch`` if any."""
    folder = root / "cats_and_dogs"
    if not folder.exists():
        return Status("cats_and_dogs", "missing", f"{folder} does not exist")
    problems, files = [], {}
    for split, expected in CATS_AND_DOGS_COUNTS.items():
        for label in data.CATS_AND_DOGS_CLASSES:
            sub = folder / split / label
            photos = sorted(sub.glob("*.jpg")) if sub.is_dir() else []
            if len(photos) != expected:
                problems.append(f"{sub} holds {len(photos)} photos, not {expected}")
            for photo in photos:
                relative = photo.relative_to(root).as_posix()
                if manifest and relative in manifest:
                    digest = data.sha256_of(photo)
                    files[relative] = digest
                    if digest != manifest[relative]:
                        problems.append(f"{photo} changed since it was fetched")
                elif not _looks_like_jpeg(photo):
                    problems.append(f"{photo} is not a JPEG")
    if problems:
        shown = "; ".join(problems[:5]) + (
            f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        )
        return Status("cats_and_dogs", "damaged", shown)
    return Status("cats_and_dogs", "present", str(folder), files)


def check(root: Path) -> list[Status]:
    """What the kit in ``root`` holds: one status per item. Reads only."""
    root = Path(root)
    manifest = _read_manifest(root)
    kittens = KitFile("kittens", "kittens.jpg", "(shipped in the package)", data.KITTENS_SHA256)
    return [
        check_mnist(root),
        check_cats_and_dogs(root, manifest),
        _check_file(root, kittens),
        *(_check_file(root, k) for k in registered()),
    ]


def _read_manifest(root: Path) -> dict[str, str] | None:
    path = root / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())["sha256"]
    except (ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------- fetching
def _fetch_cats_and_dogs(root: Path, progress: bool) -> None:
    remote = data.REMOTES["cats_and_dogs"]
    archive = _retrieve(
        KitFile("cats_and_dogs", f"{DOWNLOADS}/{remote.filename}", remote.url, remote.sha256 or ""),
        root,
        progress,
    )
    try:
        data.check_cats_and_dogs_archive(archive)  # every CRC and the layout, before use
        with zipfile.ZipFile(archive) as zipped, tempfile.TemporaryDirectory(dir=root) as scratch:
            zipped.extractall(scratch)
            inner = Path(scratch) / "cats_and_dogs_filtered"
            if data._missing_class_folders(inner):
                raise data.DataIntegrityError(
                    f"{archive} does not hold the cats_and_dogs_filtered layout"
                )
            inner.rename(root / "cats_and_dogs")
    except (zipfile.BadZipFile, zlib.error, EOFError, data.DataIntegrityError) as error:
        archive.unlink()  # our own download, not a reader's file: the next fetch starts over
        raise data.DataIntegrityError(
            f"{remote.url} did not bring the photos' zip archive ({error}); it was not kept. "
            "Run the command again."
        ) from error


def fetch(root: Path, progress: bool = True, log: Callable[[str], None] = print) -> list[Status]:
    """Download, check and lay out every missing item in ``root``; returns the final check.

    Items already present are left alone; a damaged one is reported, never overwritten.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    before = {s.name: s for s in check(root)}

    def needs(name: str) -> bool:
        status = before[name]
        if status.state == "damaged":
            log(f"{name}: damaged, left as it is ({status.detail}); move it away and fetch again")
        return status.state == "missing"

    fetched: dict[str, str] = {}
    if needs("mnist"):
        _retrieve(mnist_file(), root, progress)
    if needs("cats_and_dogs"):
        _fetch_cats_and_dogs(root, progress)
        fetched.update(_photo_hashes(root))
    if needs("kittens"):
        shutil.copyfile(data.kittens_path(), root / "kittens.jpg")
    for kit_file in registered():
        if needs(kit_file.name):
            _retrieve(kit_file, root, progress)
    if fetched:
        _write_manifest(root, fetched)
    return check(root)


def _write_manifest(root: Path, hashes: dict[str, str]) -> None:
    """Record the SHA-256 of the files fetch laid out, for ``check`` to compare with."""
    recorded = {**(_read_manifest(root) or {}), **hashes}
    manifest = {
        "about": "SHA-256 of the files python -m cnnbook data fetch laid out",
        "sha256": recorded,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def _photo_hashes(root: Path) -> dict[str, str]:
    folder = root / "cats_and_dogs"
    return {
        p.relative_to(root).as_posix(): data.sha256_of(p) for p in sorted(folder.rglob("*.jpg"))
    }


def report(statuses: list[Status]) -> str:
    width = max(len(s.name) for s in statuses)
    return "\n".join(f"{s.name:<{width}}  {s.state:<8} {s.detail}" for s in statuses)
