"""The grade files: a CSV a spreadsheet can open safely, and the written answers, atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
#: C0 and C1 control characters (ANSI and OSC escapes start with them), DEL included.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, newlines: bool = False) -> str:
    """``text`` with control characters shown as ``?``: safe for a terminal or a file."""
    text = CONTROL.sub("?", str(text))
    return text if newlines else text.replace("\n", " ").replace("\t", " ")


def spreadsheet_safe(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    safe = "'" + text if text.lstrip(" ").startswith(FORMULA_STARTS) else text
    return printable(safe.replace("\r", " "))  # no control character, no line break


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue()


def written_answers(notebook: dict) -> list[tuple[str, str]]:
    """The written (teacher-graded) answers of a submission: (question, answer) pairs.

    In the student copy, a written answer is a Markdown cell tagged ``otter_answer_cell``;
    the question is the first sentence of the prompt cell above it.
    """
    cells = [c for c in notebook.get("cells", []) if isinstance(c, dict)]
    answers = []

    def text(cell):
        source = cell.get("source", "")
        return "".join(source) if isinstance(source, list) else str(source)

    def is_answer(cell):
        return "otter_answer_cell" in (cell.get("metadata", {}).get("tags") or [])

    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "markdown" or not is_answer(cell):
            continue
        prompt = next(
            (
                c
                for c in reversed(cells[:index])
                if c.get("cell_type") == "markdown" and not is_answer(c)
            ),
            None,
        )
        lines = (
            [
                line
                for line in text(prompt).splitlines()
                if line.strip() and not line.startswith("<!--")
            ]
            if prompt
            else []
        )
        first_sentence = " ".join(lines).split(". ")[0] if lines else "(question)"
        answers.append((first_sentence, text(cell).strip()))
    return answers


def quoted(text: str) -> str:
    """``text`` in a fence longer than any run of backticks in it: it cannot end the
    fence early, so nothing in it becomes a heading or any other Markdown outside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{printable(text, newlines=True)}\n{fence}"


def written_answers_text(submissions: list[tuple[str, dict | None]]) -> str:
    """One Markdown text with every submission's written answers, to read and mark.

    The headings are the grader's (submission, question); each answer is quoted.
    """
    parts = []
    for name, notebook in submissions:
        parts.append(f"# {printable(name)}\n")
        if notebook is None:
            parts.append("(not a readable notebook)\n")
            continue
        for question, answer in written_answers(notebook):
            parts.append(f"## {printable(question)}\n\n{quoted(answer)}\n")
    return "\n".join(parts)


def read_notebook(path: Path, max_bytes: int = 50 * 2**20) -> dict:
    """A notebook file as JSON, or ValueError saying why it is not one."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"not a notebook (a {path.suffix or 'file without extension'})")
    if path.stat().st_size > max_bytes:
        raise ValueError("the notebook is larger than 50 MB")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError("not a notebook (not valid JSON)") from error
    except RecursionError as error:
        raise ValueError("not a notebook (JSON nested too deeply)") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("not a notebook (no cells)")  # noqa: TRY004 - bad input, not a bug
    return clean_notebook(notebook)


def _text(source) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(line for line in source if isinstance(line, str))
    return ""


def clean_notebook(notebook: dict) -> dict:
    """Only what grading reads, in the shapes it expects: a malformed cell is dropped.

    Each cell keeps its type, its source as one string and its tags; outputs are
    dropped (the notebook runs again); the notebook keeps only the assignment it names.
    """
    cells = []
    for cell in notebook.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = metadata.get("tags") if isinstance(metadata.get("tags"), list) else []
        clean = {
            "cell_type": cell["cell_type"],
            "metadata": {"tags": [tag for tag in tags if isinstance(tag, str)]},
            "source": _text(cell.get("source", "")),
        }
        if clean["cell_type"] == "code":
            clean.update(outputs=[], execution_count=None)
        cells.append(clean)
    metadata = notebook.get("metadata") if isinstance(notebook.get("metadata"), dict) else {}
    otter = metadata.get("otter") if isinstance(metadata.get("otter"), dict) else {}
    name = otter.get("assignment_name")
    kept = {"otter": {"assignment_name": name}} if isinstance(name, str) else {}
    return {"cells": cells, "metadata": kept, "nbformat": 4, "nbformat_minor": 5}
