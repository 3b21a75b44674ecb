"""Build the student edition of the book: the same pages, without the exercises' solutions.

The labs end with exercises written with sphinx-exercise: an ``{exercise}`` block and a
``{solution}`` block (a dropdown in the normal book). The student edition drops every
solution, in two ways at once:

1. the book is copied to a temporary folder and every ``{solution}`` block (and every
   ``{solution-start}`` ... ``{solution-end}`` pair) is cut out of the Markdown pages and
   of the notebooks' Markdown cells, so that the pages *and* the notebooks offered for
   download hold no solution;
2. the copy's ``_config.yml`` sets sphinx-exercise's ``hide_solutions: true``, so that a
   solution written in a way the cutter does not know is still not rendered.

Code cells are not touched, so the notebooks' execution cache of a normal build still
matches (``--cache``). The command (from the repository root):

    python tools/build_student_edition.py                  # HTML in _build/student/_build/html
    python tools/build_student_edition.py --output /tmp/student --cache _build/.jupyter_cache

Other options are passed to ``jupyter-book build`` (``--toc``...); it always runs with
``-W --keep-going``, so a warning fails the build. Set ``CNNBOOK_QUICK=1`` (and
``CNNBOOK_DATA``) as for the normal book.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "_build" / "student"
# Not part of the book's source: never copied.
SKIP = {
    ".git",
    ".venv",
    "_build",
    "build",
    "node_modules",
    ".pytest_cache",
    ".ipynb_checkpoints",
    "__pycache__",
}
# Big or machine-made folders the build reads but does not change: linked, not copied.
LINK = {"node_modules"}

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})\s*\{(?P<name>[\w-]+)\}")


def _skip_block(lines: list[str], start: int, fence: str) -> int:
    """Index of the line after the block opened at ``start`` with ``fence``.

    As in CommonMark (and MyST), the block ends at the first line made only of the
    fence's character, at least as many as the opening fence; a nested block uses a
    shorter fence (or the other character), so its closing line does not end this one.
    """
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
            return index + 1
    return len(lines)


def _strip(text: str, gated: bool) -> tuple[str, bool]:
    """``text`` without solutions; ``gated`` says a ``{solution-start}`` is still open."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        name = match["name"] if match else None
        if gated:  # inside a gated solution: drop everything up to its {solution-end}
            index = _skip_block(lines, index, match["fence"]) if match else index + 1
            gated = name != "solution-end"
        elif name in ("solution", "solution-start"):
            index = _skip_block(lines, index, match["fence"])
            gated = name == "solution-start"
        else:
            kept.append(lines[index])
            index += 1
    return "".join(kept), gated


def strip_solutions(text: str) -> str:
    """MyST Markdown without its ``{solution}`` blocks and gated solutions."""
    stripped, gated = _strip(text, False)
    if gated:
        raise ValueError("a {solution-start} block has no {solution-end}")
    return stripped


def strip_notebook(text: str) -> str:
    """A notebook's JSON text without solutions in its Markdown cells.

    A gated solution (``{solution-start}`` ... ``{solution-end}``) may span several cells:
    the cells between the two are dropped too.
    """
    notebook = json.loads(text)
    cells, gated = [], False
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            if not gated:
                cells.append(cell)
            continue
        source = cell["source"]
        joined = "".join(source) if isinstance(source, list) else source
        stripped, gated = _strip(joined, gated)
        if stripped != joined:
            cell["source"] = stripped.splitlines(keepends=True)
        if stripped.strip() or stripped == joined:
            cells.append(cell)
    if gated:
        raise ValueError("a {solution-start} block has no {solution-end}")
    notebook["cells"] = cells
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def copy_book(book: Path, target: Path) -> None:
    """Copy the book's source to ``target`` and cut the solutions out of the copy."""
    for entry in book.iterdir():
        if entry.name in LINK:
            (target / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
        elif entry.name in SKIP:
            continue
        elif entry.is_dir():
            shutil.copytree(
                entry, target / entry.name, symlinks=True, ignore=shutil.ignore_patterns(*SKIP)
            )
        else:
            shutil.copy2(entry, target / entry.name)
    for path in target.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if path.suffix == ".md":
            path.write_text(strip_solutions(path.read_text()))
        elif path.suffix == ".ipynb":
            path.write_text(strip_notebook(path.read_text()))


def student_config(config_path: Path, cache: Path | None) -> dict:
    """The book's configuration with ``hide_solutions`` on (and the execution cache set)."""
    config = yaml.safe_load(config_path.read_text()) or {}
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["hide_solutions"] = True
    title = config.get("title")
    if title:
        config["title"] = f"{title} (student edition)"
    if cache is not None:
        config.setdefault("execute", {})["cache"] = str(cache.resolve())
    return config


def build(
    book: Path = ROOT,
    output: Path = DEFAULT_OUTPUT,
    cache: Path | None = None,
    extra_args: list[str] | None = None,
) -> Path:
    """Build the student edition of ``book`` into ``output``; returns the HTML folder."""
    book, output = Path(book).resolve(), Path(output).resolve()
    if not (book / "_config.yml").is_file():
        raise ValueError(f"{book} holds no _config.yml: it is not a Jupyter Book")
    if output == book or book in output.parents and output.parts[len(book.parts)] != "_build":
        raise ValueError(
            f"output {output} must be outside the book's source (or under its _build folder)"
        )
    with tempfile.TemporaryDirectory(prefix="student-edition-") as scratch:
        copy = Path(scratch) / "book"
        copy.mkdir()
        copy_book(book, copy)
        config = student_config(book / "_config.yml", cache)
        (copy / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        command = [
            "jupyter-book",
            "build",
            str(copy),
            "--path-output",
            str(output),
            "-W",
            "--keep-going",
            *(extra_args or []),
        ]
        result = subprocess.run(command, env=os.environ.copy())
        if result.returncode != 0:
            raise RuntimeError(f"the student edition did not build ({' '.join(command)})")
    return output / "_build" / "html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", default=str(ROOT), help="the book's folder")
    parser.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        help="where to build (the HTML goes to OUTPUT/_build/html)",
    )
    parser.add_argument(
        "--cache",
        help="jupyter-cache folder to reuse, e.g. _build/.jupyter_cache from a normal build",
    )
    args, extra = parser.parse_known_args(argv)
    html = build(
        Path(args.book), Path(args.output), Path(args.cache) if args.cache else None, extra
    )
    print(f"Student edition: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
