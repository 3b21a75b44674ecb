"""Keep every notebook's Colab setup cell and metadata in step with the book.

Each notebook opens with one setup cell that, on Colab only, installs the ``cnnbook``
package: the release the notebook was written for, ``cnnbook @ git+REPOSITORY@vX.Y.Z``,
from the repository named (once) in ``_config.yml`` and the version written (once) in
``src/cnnbook/_version.py``. A notebook handed out last term keeps installing last term's
package. Its metadata asks Colab for a GPU. Notebooks are committed without outputs.

The environment variable ``CNNBOOK_INSTALL_SPEC`` (a pip requirement: a wheel's path, or
``cnnbook @ git+...@main``) replaces what the setup cell installs, and makes it install
outside Colab too: the Colab-parity tests install the wheel they just built through the
very same cell, in a throwaway virtual environment. Set it only where installing into
the kernel's environment is what you want.

    python tools/sync_notebooks.py            # rewrite notebooks in place
    python tools/sync_notebooks.py --check    # exit 1 and list what is out of step
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_GLOBS = ("notebooks/*.ipynb", "assignments/*.ipynb")
SETUP_TAG = "cnnbook-setup"

VERSION_FILE = ROOT / "src" / "cnnbook" / "_version.py"
INSTALL_ENV = "CNNBOOK_INSTALL_SPEC"

SETUP_TEMPLATE = """\
# Setup. On Colab, install the book's helper package, the release this notebook was
# written for (elsewhere it is installed already; {install_env} overrides it).
import os
import sys

cnnbook_release = "cnnbook @ git+{repository}@{ref}"
cnnbook_install = os.environ.get("{install_env}", "")
if "google.colab" in sys.modules or cnnbook_install:
    %pip install --quiet "{{cnnbook_install or cnnbook_release}}"

import cnnbook

cnnbook.announce_mode()  # says so, visibly, when the page ran in quick mode"""
# Labs also say when and where they ran; their chapters paste it under the title.
LAST_RUN_LINE = "\ncnnbook.book.glue_last_run()  # date, mode, CPU or GPU, versions"

NOTEBOOK_METADATA = {
    "accelerator": "GPU",
    "colab": {"gpuType": "T4", "provenance": [], "toc_visible": True},
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def book_version(version_file: Path = VERSION_FILE) -> str:
    """The version written in ``src/cnnbook/_version.py`` (read, not imported)."""
    for node in ast.parse(version_file.read_text()).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["__version__"]:
            return ast.literal_eval(node.value)
    raise ValueError(f"{version_file} does not set __version__")


def release_tag(version: str | None = None) -> str:
    """The git tag of a release: ``v`` and the version."""
    return f"v{version or book_version()}"


def book_repository(config_path: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The repository URL named in ``_config.yml`` and the release tag setup cells install."""
    config = yaml.safe_load(config_path.read_text())
    return config["repository"]["url"].rstrip("/"), release_tag()


def setup_source(repository: str, ref: str, last_run: bool = False) -> str:
    """The setup cell that installs ``cnnbook`` from ``repository`` at ``ref`` (a tag).

    ``last_run``: a lab's cell, which also glues the "last run" line of its chapter.
    """
    source = SETUP_TEMPLATE.format(repository=repository, ref=ref, install_env=INSTALL_ENV)
    return source + LAST_RUN_LINE if last_run else source


def is_lab(path: Path) -> bool:
    return path.resolve().parent == ROOT / "notebooks"


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
    repository, ref = book_repository()
    stale = []
    for path in args.paths or notebook_paths():
        text = path.read_text()
        setup = setup_source(repository, ref, last_run=is_lab(path))
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
