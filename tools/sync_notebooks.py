"""Keep every notebook's Colab setup cell and metadata in step with ``_config.yml``.

Each notebook opens with one setup cell that, on Colab only, installs the ``cnnbook``
package from the repository named (once) in ``_config.yml``; its metadata asks Colab
for a GPU. Notebooks are committed without outputs.

    python tools/sync_notebooks.py            # rewrite notebooks in place
    python tools/sync_notebooks.py --check    # exit 1 and list what is out of step
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_GLOBS = ("notebooks/*.ipynb", "assignments/*.ipynb")
SETUP_TAG = "cnnbook-setup"

SETUP_TEMPLATE = """\
# Setup. On Colab, install the book's helper package (elsewhere it is installed already).
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "cnnbook @ git+{repository}@{branch}"

import cnnbook

cnnbook.announce_mode()  # says so, visibly, when the page ran in quick mode"""

NOTEBOOK_METADATA = {
    "accelerator": "GPU",
    "colab": {"gpuType": "T4", "provenance": [], "toc_visible": True},
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def book_repository(config_path: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The repository URL and branch named in ``_config.yml``."""
    config = yaml.safe_load(config_path.read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def setup_source(repository: str, branch: str) -> str:
    return SETUP_TEMPLATE.format(repository=repository, branch=branch)


def synced(notebook: dict, setup: str) -> dict:
    """The notebook with the setup cell first, Colab metadata, and no outputs."""
    cells = [c for c in notebook["cells"] if SETUP_TAG not in c.get("metadata", {}).get("tags", [])]
    setup_cell = {
        "cell_type": "code",
        "id": "setup",
        "execution_count": None,
        "metadata": {"tags": [SETUP_TAG]},
        "outputs": [],
        "source": setup.splitlines(keepends=True),
    }
    for index, cell in enumerate(cells):
        cell.setdefault("id", f"cell-{index:03d}")
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    # A title (markdown) comes first, the setup cell right after it.
    head = 1 if cells and cells[0]["cell_type"] == "markdown" else 0
    cells = cells[:head] + [setup_cell] + cells[head:]
    metadata = {k: v for k, v in notebook.get("metadata", {}).items() if k != "widgets"}
    metadata.update(NOTEBOOK_METADATA)
    return {**notebook, "cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def notebook_paths(root: Path = ROOT) -> list[Path]:
    return sorted(p for pattern in NOTEBOOK_GLOBS for p in root.glob(pattern))


def dumps(notebook: dict) -> str:
    """The notebook as nbformat and ``ruff format`` write it (sorted keys), so they agree."""
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, do not rewrite")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all)")
    args = parser.parse_args(argv)
    setup = setup_source(*book_repository())
    stale = []
    for path in args.paths or notebook_paths():
        text = path.read_text()
        wanted = dumps(synced(json.loads(text), setup))
        if text != wanted:
            stale.append(path)
            if not args.check:
                path.write_text(wanted)
    if args.check and stale:
        print(
            "Out of step with _config.yml (or holding outputs); run python tools/sync_notebooks.py:"
        )
        print("\n".join(f"  {p}" for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
