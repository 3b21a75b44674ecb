"""Find answers that use reference code: static analysis of a notebook's code, outside.

An answer that imports or calls a forbidden module (``cnnbook.ops`` in a question that
asks for a convolution by hand, ``tensorflow``...) is graded as written, and listed for
the teacher. The analysis follows imports and aliases (``import cnnbook.ops as o``,
``from cnnbook import ops``, ``import cnnbook`` then ``cnnbook.ops.conv2d``), module
names in strings (``__import__``, ``importlib.import_module``, ``sys.modules[...]``),
``getattr(module, "name")``, and code in strings given to ``exec``. It cannot see
through every disguise (a name computed at run time, an encoded string); the teacher's
reading is the last word.
"""

from __future__ import annotations

import ast
import re

MODULE_IN_TEXT = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*")


def python_source(cell_source: str) -> str:
    """A cell's source with IPython syntax (``%magic``, ``!shell``) made plain Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(cell_source)
    except Exception:  # noqa: BLE001 - fall back to the raw text
        return cell_source


def _matches(name: str, forbidden: tuple[str, ...]) -> str | None:
    for module in forbidden:
        if name == module or name.startswith(module + "."):
            return module
    return None


class _Finder(ast.NodeVisitor):
    def __init__(self, forbidden: tuple[str, ...], aliases: dict[str, str], depth: int = 0):
        self.forbidden, self.aliases, self.depth = forbidden, aliases, depth
        self.found: list[str] = []

    def _use(self, dotted: str, how: str) -> None:
        module = _matches(dotted, self.forbidden)
        if module:
            self.found.append(f"{module} ({how})")

    def _dotted(self, node: ast.AST) -> str | None:
        """``a.b.c`` with ``a`` replaced by the module it stands for."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._use(alias.name, f"import {alias.name}")
            bound = alias.asname or alias.name.split(".")[0]
            self.aliases[bound] = alias.name if alias.asname else alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            full = f"{module}.{alias.name}" if alias.name != "*" else module
            self._use(full, f"from {module} import {alias.name}")
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = full

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = self._dotted(node)
        if dotted:
            self._use(dotted, dotted)
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.aliases and isinstance(node.ctx, ast.Load):
            self._use(self.aliases[node.id], node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.aliases.pop(node.name, None)  # a name the student defines is theirs
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                dotted = self._dotted(node.value)
                if dotted:
                    self.aliases[target.id] = dotted
                else:
                    self.aliases.pop(target.id, None)
            else:
                self.visit(target)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        if (
            isinstance(function, ast.Name)
            and function.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            base = self._dotted(node.args[0])
            if base:
                self._use(f"{base}.{node.args[1].value}", f"getattr(..., {node.args[1].value!r})")
        self.generic_visit(node)

    def _text(self, text: str) -> None:
        for word in MODULE_IN_TEXT.findall(text):
            self._use(word, f"the string {word!r}")
        if self.depth < 3 and ("\n" in text or "(" in text or "import" in text):
            self.found += find_in_code(text, self.forbidden, dict(self.aliases), self.depth + 1)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self._text(node.value)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        text = _constant_text(node)  # "cnnbook" + ".ops"
        if text is not None:
            self._text(text)
        else:
            self.generic_visit(node)


def _constant_text(node: ast.AST) -> str | None:
    """The string a sum of string constants makes, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant_text(node.left), _constant_text(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def find_in_code(
    source: str, forbidden: tuple[str, ...], aliases: dict[str, str] | None = None, depth: int = 0
) -> list[str]:
    """The forbidden modules ``source`` uses, each with how; ``aliases`` is updated."""
    try:
        tree = ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return []
    except (RecursionError, MemoryError) as error:
        return [f"(code too deeply nested or too large to analyse: {type(error).__name__})"]
    finder = _Finder(forbidden, aliases if aliases is not None else {}, depth)
    try:
        finder.visit(tree)
    except (RecursionError, MemoryError) as error:
        finder.found.append(
            f"(code too deeply nested or too large to analyse: {type(error).__name__})"
        )
    return finder.found


def reference_code_uses(
    notebook: dict,
    given_sources: set[str],
    forbidden: tuple[str, ...] | dict[str, tuple[str, ...]],
) -> list[str]:
    """What a submission's own code cells use of ``forbidden``, one line per finding.

    ``forbidden`` is a tuple of modules, or ``{question: modules}`` (``"*"``: every
    question); a cell belongs to the last ``**Question N`` above it. ``given_sources``
    are the code cells of the handed-out copy: they may import what the answers must not
    (the assignment shows a result with the book's code), so they only teach aliases and
    are not reported.
    """
    rules = {"*": tuple(forbidden)} if not isinstance(forbidden, dict) else forbidden
    aliases: dict[str, str] = {}
    findings: list[str] = []
    question = "before the questions"
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "markdown":
            match = re.search(r"\*\*Question (\d+)", source)
            if match:
                question = f"q{match.group(1)}"
            continue
        if cell.get("cell_type") != "code":
            continue
        modules = (*rules.get("*", ()), *rules.get(question, ()))
        found = find_in_code(source, modules, aliases)
        if source.strip() in given_sources:
            continue
        for finding in dict.fromkeys(found):
            findings.append(f"{question}: {finding}")
    return list(dict.fromkeys(findings))
