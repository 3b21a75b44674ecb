"""The cats-vs-dogs lab runs top to bottom on a real, messy folder and changes nothing in it.

The folder is made here: a few real photos (symbolic links to CNNBOOK_DATA, so nothing is
copied) and, in each split, an empty file, a JPEG cut short, a PNG named .jpg and a text
file named .jpg. CNNBOOK_DATA points at it and the lab runs with nbclient.
Each broken file must be named exactly once in the lab's output, and every file of the
folder must keep its bytes and its modification time. It runs once in quick mode and once
in full mode (the whole budget of epochs, on this folder's few photos).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from cnnbook import data

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "notebooks" / "05_cats_vs_dogs.ipynb"
REAL_PER_CLASS = {"train": 5, "validation": 4}


def _fingerprint(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder``: its kind, size, modification time and SHA-256."""
    found = {}
    for path in sorted(folder.rglob("*")):
        status = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(folder))] = (
            path.is_symlink(),
            path.is_dir(),
            status.st_size,
            status.st_mtime_ns,
            digest,
        )
    return found


def _png_bytes(photo: Path) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(photo) as image:
        image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(params=["quick", "full"])
def messy_folder(request, tmp_path, data_root, monkeypatch):
    source = data.cats_and_dogs_dir()
    root = tmp_path / "data"
    broken: list[Path] = []
    for split, count in REAL_PER_CLASS.items():
        for label in data.CATS_AND_DOGS_CLASSES:
            folder = root / "cats_and_dogs" / split / label
            folder.mkdir(parents=True)
            for photo in sorted((source / split / label).glob("*.jpg"))[:count]:
                (folder / photo.name).symlink_to(photo)
        real = min((source / split / "cats").glob("*.jpg"))
        whole = real.read_bytes()
        cats, dogs = (root / "cats_and_dogs" / split / label for label in ("cats", "dogs"))
        for path, content in [
            (cats / f"zz_{split}_empty.jpg", b""),
            (cats / f"zz_{split}_cut_short.jpg", whole[: len(whole) // 2]),
            (dogs / f"zz_{split}_really_png.jpg", _png_bytes(real)),
            (dogs / f"zz_{split}_notes.jpg", b"photos from the shelter, batch 2\n"),
        ]:
            path.write_bytes(content)
            broken.append(path)
    monkeypatch.setenv(data.DATA_ENV, str(root))
    if request.param == "quick":
        monkeypatch.setenv("CNNBOOK_QUICK", "1")
    else:  # full mode: the whole budget, on the few photos of this folder
        monkeypatch.delenv("CNNBOOK_QUICK", raising=False)
    return root, broken


def _all_output_text(notebook) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output.get("text", ""))
            for value in output.get("data", {}).values():
                if isinstance(value, str):
                    texts.append(value)
            texts += output.get("traceback", [])
    return "\n".join(texts)


@pytest.mark.slow
def test_lab_runs_on_a_messy_folder_names_each_broken_file_once_and_changes_nothing(
    messy_folder, tmp_path
):
    import nbformat
    from nbclient import NotebookClient

    root, broken = messy_folder
    before = _fingerprint(root)
    notebook = nbformat.read(LAB, as_version=4)
    # run from a copy's folder inside tmp_path: relative paths the lab writes stay there
    workdir = tmp_path / "run"
    workdir.mkdir()
    client = NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()  # raises CellExecutionError, with the cell, if any cell fails
    text = _all_output_text(notebook)
    for path in broken:
        count = text.count(str(path))
        assert count == 1, f"{path.name} is named {count} times in the lab's output"
    assert _fingerprint(root) == before, "the lab changed, added or removed a file"
