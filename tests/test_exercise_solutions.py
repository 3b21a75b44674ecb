"""Every exercise solution of the book runs.

The code of each ``{solution}`` block, in the labs' Markdown cells and in the chapters, is
extracted (fenced ``python`` blocks and indented code blocks alike) and run after its lab,
in one kernel per lab: the lab executes from the top, in quick mode, then its solutions in
the order the book gives them. The whole lab runs elsewhere (the book build, or nbval), so
here only the cells the solutions depend on run: every cell except checks and figures
(``remove-cell``, ``hide-input``) that nothing after them reads or changes
(:func:`cells_to_run`). A chapter's solutions run after the lab listed under the
chapter in ``_toc.yml``. A solution that is deliberately not runnable says so in its
source with a MyST comment line, ``% not runnable: <the reason>``; it is skipped with that
reason. Solutions without code (prose answers) have nothing to run.
"""

from __future__ import annotations

import ast
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


# --------------------------------------------------------------------------- the lab cells needed
SEED_CALL = re.compile(r"seed", re.IGNORECASE)
#: Built-in functions that never change what they are given.
READ_ONLY_BUILTINS = {
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "format", "int", "isinstance",
    "len", "list", "max", "min", "print", "range", "repr", "reversed", "round", "set",
    "sorted", "str", "sum", "tuple", "type", "zip",
}  # fmt: skip
#: Cells the house rules keep free of the lab's state: checks and glue (``remove-cell``:
#: plain asserts that never train a model again) and figures (``hide-input``: cells that
#: only draw). Only these may be left out; every other cell of a lab runs.
SKIPPABLE_TAGS = {"remove-cell", "hide-input"}


@dataclass
class CellNames:
    """What one code cell does with names: binds them, reads them, may change them in place,
    and which names a binding may alias (``layer = model.layers[0]``)."""

    binds: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)  # before the cell itself sets them
    may_change: set[str] = field(default_factory=set)
    aliases: list[tuple[str, set[str]]] = field(default_factory=list)
    modules: set[str] = field(default_factory=set)
    seeds_randomness: bool = False
    #: names bound afresh whatever happens (top-level assignments, definitions, imports):
    #: what the cells before it left in them does not matter
    rebinds: set[str] = field(default_factory=set)


def _root_name(node: ast.AST) -> str | None:
    """``model`` for ``model``, ``model.layers[0].kernel`` or ``model.get_layer("x")``."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None


def _target_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def cell_names(source: str) -> CellNames | None:
    """The names a cell uses, from its code (IPython syntax allowed); None if unparsable."""
    from tools.grading.flags import python_source  # IPython's own translation, one copy

    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return None
    names = CellNames()
    for statement in tree.body:  # in order: a name read after the cell set it is its own
        names.reads |= {
            node.id
            for node in ast.walk(statement)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        } - names.rebinds
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, (ast.Name, ast.Tuple)) and all(
                    isinstance(element, ast.Name)
                    for element in (target.elts if isinstance(target, ast.Tuple) else [target])
                ):
                    names.rebinds |= _target_names(target)
        elif isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            names.rebinds.add(statement.name)
    scoped = {  # a comprehension's variables stay inside it
        id(name)
        for node in ast.walk(tree)
        if isinstance(node, ast.comprehension)
        for name in ast.walk(node.target)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            if id(node) not in scoped:
                names.binds.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.binds.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                names.binds.add(bound)
                names.modules.add(bound)
        elif isinstance(node, ast.Call):
            # A call may change its receiver and any name passed to it, in place.
            changed = [_root_name(node.func)] if isinstance(node.func, ast.Attribute) else []
            passed = [*node.args, *(keyword.value for keyword in node.keywords)]
            if isinstance(node.func, ast.Name) and node.func.id in READ_ONLY_BUILTINS:
                passed = []
            changed += [arg.id for arg in passed if isinstance(arg, ast.Name)]  # not x[...]
            names.may_change |= {name for name in changed if name}
            if SEED_CALL.search(ast.unparse(node.func)):
                names.seeds_randomness = True
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)):  # x.a = ..., x[i] = ...
                    names.may_change.add(_root_name(target) or "")
            value = node.value
            source_name = _root_name(value) if value is not None else None
            if (
                source_name
                and not isinstance(value, ast.Call)
                or (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute))
            ):
                for target in targets:
                    names.aliases.append((source_name or "", _target_names(target)))
    return names


def cells_to_run(sources: list[str], tags: list[set[str]], solutions: list[str]) -> list[int]:
    """The indices of the code cells a lab must run before ``solutions`` to give them the
    lab's state, found from the code alone (a backward slice, erring towards running).

    Only a check or a figure (``SKIPPABLE_TAGS``) may be left out, and only if it imports
    nothing, sets no random seed, binds no name that a later running cell or a solution
    reads, and may not change such a name in place (a method call on it, passing it to a
    function, assigning into it) nor a name that may alias one (``layer =
    model.layers[0]``). A cell that cannot be parsed runs. Every other cell runs.
    """
    parsed = [cell_names(source) for source in sources]
    modules = set().union(*(p.modules for p in parsed if p is not None))
    alias_of: dict[str, set[str]] = {}
    for names in parsed:
        for source_name, targets in names.aliases if names else ():
            if source_name and source_name not in modules:
                for target in targets:
                    alias_of.setdefault(target, set()).add(source_name)
    needed: set[str] = set()
    for solution in solutions:
        names = cell_names(solution)
        needed |= names.reads | names.may_change if names else set()

    def watched() -> set[str]:
        """The needed names and every name that may alias one of them."""
        found = set(needed)
        changed = True
        while changed:
            changed = False
            for target, sources_of in alias_of.items():
                if target not in found and sources_of & found:
                    found.add(target)
                    changed = True
        return found - modules

    keep: list[int] = []
    for index in reversed(range(len(sources))):
        names = parsed[index]
        watching = watched()
        runs = (
            names is None
            or not tags[index] & SKIPPABLE_TAGS
            or bool(names.modules)
            or names.seeds_randomness
            or bool(names.binds & needed)
            or bool(names.may_change & watching)
        )
        if runs:
            keep.append(index)
            if names is not None:
                needed = (needed - names.rebinds) | names.reads
    return sorted(keep)


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
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    needed = cells_to_run(
        [cell.source for cell in code],
        [set(cell.metadata.get("tags", [])) for cell in code],
        [solution.source for solution in runnable],
    )
    notebook.cells = [code[index] for index in needed]  # the lab ran whole in the build/nbval
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
        left_out = [cell.get("id") for index, cell in enumerate(code) if index not in needed]
        pytest.fail(
            f"{lab}: {where} failed (left out as nothing depends on them: the cells "
            f"{left_out}):\n{str(error)[-4000:]}"
        )


def test_only_checks_and_figures_nothing_depends_on_are_left_out():
    cells = [
        ("import cnnbook\nimport numpy as np\nrng = np.random.default_rng(0)", set()),
        ("model = make()", set()),
        ("assert model.ok()", {"remove-cell"}),  # a method call may change the model
        ("fig = draw(weights)\nshow_figure(fig)", {"hide-input"}),
        ("layer = model.layers[0]", set()),
        ("fig = draw(layer)\nlayer.kernel.assign(0)", {"hide-input"}),  # changes model
        ("noise = rng.normal(size=3)\nshow(noise)", {"hide-input"}),  # advances rng
        ("cnnbook.glue('n', len(data))", {"remove-cell"}),
        ("cnnbook.set_seed(1)", {"remove-cell"}),
        ("table = summarise(model)", {"remove-cell"}),  # binds what the solution reads
        ("fig = plot(table['n'])", {"hide-input"}),  # reads the table, changes nothing
    ]
    sources, tags = [source for source, _ in cells], [tag for _, tag in cells]
    assert cells_to_run(sources, tags, ["print(model.predict(x), table)"]) == [
        0, 1, 2, 4, 5, 8, 9,
    ]  # fmt: skip
    assert cells_to_run(sources, tags, ["print(rng.normal())"]) == [0, 1, 2, 4, 6, 8]
    assert cells_to_run(sources, tags, ["x = ("]) == [0, 1, 2, 4, 8]
