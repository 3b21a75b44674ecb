"""The package's seams stay where they are: one copy of each thing, in its own place.

- timing code lives in ``cnnbook.timing``, not in ``cnnbook.ops``;
- the confusion matrix sits with the other scores, in ``cnnbook.metrics``;
- the quick-mode banner's HTML is in ``cnnbook.book``; the Sphinx extension takes quick
  mode from the package instead of keeping a copy;
- nothing edits ``sys.path`` to import a tool or a test (``tools`` is a package);
- every third-party module the labs, tools, tests and benchmarks import is declared in
  requirements.txt itself (not only installed by another package), save a few that are
  part of a declared package (``COMES_WITH``).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import cnnbook
from cnnbook import book, config, metrics, mnist, ops, timing

ROOT = Path(__file__).resolve().parents[1]
CODE_FOLDERS = ("tools", "tests", "benchmarks", "_ext", "src/cnnbook")
NOTEBOOK_FOLDERS = ("notebooks", "assignments")


def test_timing_lives_apart_from_the_convolutions():
    source = Path(ops.__file__).read_text()
    assert "timeit" not in source and "time_conv2d" not in ops.__all__
    assert callable(timing.time_conv2d) and timing.SPEED_METHODS


def test_confusion_matrix_is_one_function_beside_the_other_metrics():
    assert mnist.confusion_matrix is metrics.confusion_matrix
    assert metrics.confusion_matrix.__module__ == "cnnbook.metrics"


def test_banner_html_is_in_book_and_the_extension_uses_the_packages_quick_mode():
    assert not hasattr(config, "mode_banner") and callable(book.mode_banner)
    from _ext import cnnbook_sphinx

    assert cnnbook_sphinx.quick_mode is config.quick_mode


def _python_sources() -> list[Path]:
    return [p for folder in CODE_FOLDERS for p in (ROOT / folder).rglob("*.py")]


def _notebook_code(path: Path) -> str:
    """The code cells of a notebook as one Python source; IPython magics become ``pass``."""
    lines = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            for line in "".join(cell["source"]).splitlines():
                stripped = line.lstrip()
                magic = stripped.startswith(("%", "!"))
                lines.append(line[: len(line) - len(stripped)] + "pass" if magic else line)
    return "\n".join(lines)


def test_nothing_edits_sys_path_to_import_a_tool_or_a_test():
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_sources()
        if re.search(r"sys\.path\.(insert|append)", path.read_text())
        and path.name != "test_seams.py"
    ]
    assert not offenders, f"import tools as `from tools import ...` instead: {offenders}"


def _imported_top_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared_distributions() -> set[str]:
    """The packages requirements.txt names (normalised), plus the cnnbook package."""
    return {"cnnbook"} | {
        _norm(re.split(r"[=<>\[; ]", line.strip())[0])
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-e"))
    }


# Modules that come with a declared package and are used only as part of it.
COMES_WITH = {
    "keras": "tensorflow",  # TensorFlow's own Keras
    "IPython": "ipykernel",  # the notebook kernel
    "docutils": "jupyter-book",  # the Sphinx extension runs inside the book build
    "sphinx": "jupyter-book",
    "myst_nb": "jupyter-book",
}


def test_every_third_party_import_is_declared():
    sources = [p.read_text() for p in _python_sources()]
    sources += [
        _notebook_code(p) for folder in NOTEBOOK_FOLDERS for p in (ROOT / folder).glob("*.ipynb")
    ]
    modules = set().union(*(_imported_top_modules(s) for s in sources))
    # google: only on Colab
    local = {"cnnbook", "tools", "tests", "benchmarks", "_ext", "conftest", "google"}
    local |= {p.stem for p in _python_sources()}
    local |= {p.name for p in (ROOT / "tools").iterdir() if p.is_dir()}  # tools/grading...
    third_party = sorted(m for m in modules - local if m not in sys.stdlib_module_names)
    providers = importlib.metadata.packages_distributions()
    declared = _declared_distributions()
    undeclared = {
        module: providers.get(module, ["(not installed)"])
        for module in third_party
        if module not in COMES_WITH
        and not any(_norm(dist) in declared for dist in providers.get(module, []))
    }
    assert not undeclared, f"imported but not in requirements.txt: {undeclared}"
    assert cnnbook.__name__ == "cnnbook"
