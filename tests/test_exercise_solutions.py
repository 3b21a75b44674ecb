"""Every exercise solution of the book runs.

The code of each ``{solution}`` block, in the labs' Markdown cells and in the chapters, is
extracted (fenced ``python`` blocks and indented code blocks alike) and run after its lab,
in one kernel per lab: the lab executes from the top, in quick mode, then its solutions in
the order the book gives them. A chapter's solutions run after the lab listed under the
chapter in ``_toc.yml``. A solution that is deliberately not runnable says so in its
source with a MyST comment line, ``% not runnable: <the reason>``; it is skipped with that
reason. Solutions without code (prose answers) have nothing to run.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NOT_RUNNABLE = re.compile(r"^%\s*not runnable:\s*(.+)$", re.IGNORECASE)
OPENING = re.compile(r"^(`{3,}|:{3,})\{solution\}\s*(\S*)")
CODE_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)")
PYTHON_INFO = {"python", "python3", "ipython", "ipython3", "py"}


@dataclass
class Solution:
    """One ``{solution}`` block: where it is, its label, its code and, if any, why not run."""

    where: str
    label: str
    code: list[str] = field(default_factory=list)
    not_runnable: str | None = None

    @property
    def source(self) -> str:
        return "\n\n".join(self.code)


def _code_blocks(body: list[str]) -> list[str]:
    """The Python code of a solution's body: fenced python blocks and indented blocks."""
    blocks, index = [], 0
    previous_blank = True
    while index < len(body):
        line = body[index]
        fence = CODE_FENCE.match(line)
        if fence:
            marker, info = fence.group(1), fence.group(2).lower()
            end = index + 1
            while end < len(body) and not body[end].startswith(marker[0] * len(marker)):
                end += 1
            if info in PYTHON_INFO:
                blocks.append("\n".join(body[index + 1 : end]))
            index, previous_blank = end + 1, False
            continue
        if previous_blank and line.startswith("    ") and line.strip():
            end = index
            while end < len(body) and (body[end].startswith("    ") or not body[end].strip()):
                end += 1
            lines = body[index:end]
            while lines and not lines[-1].strip():
                lines.pop()
            blocks.append("\n".join(text[4:] for text in lines))
            index, previous_blank = end, True
            continue
        previous_blank = not line.strip()
        index += 1
    return blocks


def solutions_in(text: str, where: str) -> list[Solution]:
    """Every ``{solution}`` directive of a MyST text, with its code."""
    lines = text.split("\n")
    found, index = [], 0
    while index < len(lines):
        opening = OPENING.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening.group(1)
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != fence:
            end += 1
        body = [line for line in lines[index + 1 : end] if not line.startswith(":")]
        solution = Solution(where, opening.group(2) or f"line {index + 1}", _code_blocks(body))
        for line in body:
            reason = NOT_RUNNABLE.match(line.strip())
            if reason:
                solution.not_runnable = reason.group(1).strip()
        found.append(solution)
        index = end + 1
    return found


def notebook_solutions(path: Path) -> list[Solution]:
    cells = json.loads(path.read_text())["cells"]
    return [
        solution
        for cell in cells
        if cell["cell_type"] == "markdown"
        for solution in solutions_in("".join(cell["source"]), path.name)
    ]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages: list[str] = [toc["root"]]

    def walk(entries):
        for entry in entries:
            pages.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part["chapters"])
    walk(toc.get("chapters", []))
    return pages


def solutions_by_lab() -> dict[str, list[Solution]]:
    """{lab notebook name: its solutions, then those of the chapter above it in the toc}."""
    pages = toc_pages()
    by_lab: dict[str, list[Solution]] = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        by_lab[path.name] = notebook_solutions(path)
    for index, page in enumerate(pages):
        chapter = ROOT / f"{page}.md"
        if not page.startswith("chapters/") or not chapter.exists():
            continue
        found = solutions_in(chapter.read_text(), chapter.name)
        following = pages[index + 1] if index + 1 < len(pages) else ""
        if found and not following.startswith("notebooks/"):
            runnable = [s for s in found if s.code and not s.not_runnable]
            assert not runnable, f"{chapter.name} has solutions with code but no lab to run after"
            continue
        if found:
            by_lab[Path(following).name + ".ipynb"].extend(found)
    return by_lab


SOLUTIONS = solutions_by_lab()


def test_the_parser_finds_fenced_indented_and_marked_solutions():
    text = textwrap.dedent("""\
        ````{solution} a
        :class: dropdown

        Prose.

        ```python
        x = 1
        ```

        ````

        ```{solution} b

        Words:

            y = 2
            print(y)

        More words.
        ```

        ```{solution} c
        % not runnable: needs a GPU

        ```python
        import missing
        ```
        ```
        ```{solution} d
        Only prose.
        ```
        """)
    found = {s.label: s for s in solutions_in(text, "test")}
    assert list(found) == ["a", "b", "c", "d"]
    assert found["a"].source == "x = 1"
    assert found["b"].source == "y = 2\nprint(y)"
    assert found["c"].not_runnable == "needs a GPU"
    assert found["d"].code == []


def test_every_lab_has_exercises_with_solutions():
    for lab in ("01_convolution_by_hand", "02_edge_filters", "03_max_pooling", "04_mnist_convnet"):
        solutions = SOLUTIONS[f"{lab}.ipynb"]
        assert sum(1 for s in solutions if s.code) >= 3, (lab, [s.label for s in solutions])


@pytest.mark.parametrize("lab", sorted(SOLUTIONS), ids=lambda name: name.removesuffix(".ipynb"))
def test_solutions_run_after_their_lab(lab, data_root):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    solutions = SOLUTIONS[lab]
    skipped = [f"{s.where}::{s.label}: {s.not_runnable}" for s in solutions if s.not_runnable]
    runnable = [s for s in solutions if s.code and not s.not_runnable]
    if not runnable:
        pytest.skip(f"{lab}: no runnable solution" + (f" (skipped: {skipped})" if skipped else ""))
    notebook = nbformat.read(NOTEBOOKS / lab, as_version=4)
    first_solution = len(notebook.cells)
    for solution in runnable:
        notebook.cells.append(
            nbformat.v4.new_code_cell(
                f"# solution {solution.where}::{solution.label}\n{solution.source}"
            )
        )
    client = NotebookClient(
        notebook,
        timeout=1800,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        ran_lab = all(
            cell.get("execution_count")
            for cell in notebook.cells[:first_solution]
            if cell.cell_type == "code"
        )
        where = "a solution" if ran_lab else "the lab itself"
        pytest.fail(f"{lab}: {where} failed:\n{str(error)[-4000:]}")
