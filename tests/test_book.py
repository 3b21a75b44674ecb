"""The book as a whole: its table of contents, its notebooks, and how failures surface."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import tomllib
import yaml

from tools import sync_notebooks  # a tool, not part of the package

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """Every page named in _toc.yml, in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part["chapters"])
    walk(toc.get("chapters", []))
    return files


def source_of(page: str) -> Path:
    for suffix in (".md", ".ipynb"):
        if (ROOT / (page + suffix)).exists():
            return ROOT / (page + suffix)
    raise AssertionError(f"{page} is in _toc.yml but has no .md or .ipynb file")


def test_toc_lays_out_the_intro_and_five_topics_each_with_chapter_and_lab():
    pages = toc_files()
    for page in pages:
        source_of(page)
    labs = [p for p in pages if p.startswith("notebooks/")]
    chapters = [p for p in pages if p.startswith("chapters/")]
    assert len(labs) == 5, labs
    assert "chapters/intro" == pages[0]
    for lab in labs:  # each lab sits right under its reading chapter
        assert pages[pages.index(lab) - 1] in chapters


def test_every_notebook_is_in_the_toc():
    listed = {p for p in toc_files() if p.startswith("notebooks/")}
    on_disk = {f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert on_disk == listed


def test_every_lab_opens_the_same_way():
    """What the reader will learn, then the setup cell, then the parameters (CONTRIBUTING)."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        assert cells[0]["cell_type"] == "markdown", f"{path.name}: a title cell comes first"
        assert "You will learn" in "".join(cells[0]["source"]), (
            f"{path.name}: its first cell should say what the reader will learn"
        )
        assert "cnnbook-setup" in cells[1]["metadata"].get("tags", []), path.name
        assert "parameters" in cells[2]["metadata"].get("tags", []), (
            f"{path.name}: the parameters cell comes right after the setup cell"
        )


def test_notebooks_have_no_outputs_and_the_setup_cell_from_config():
    result = subprocess.run(
        [sys.executable, "tools/sync_notebooks.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    repository, tag = sync_notebooks.book_repository()
    for path in sync_notebooks.notebook_paths():
        notebook = json.loads(path.read_text())
        setup = [
            c
            for c in notebook["cells"]
            if sync_notebooks.SETUP_TAG in c["metadata"].get("tags", [])
        ]
        assert len(setup) == 1, f"{path}: one setup cell expected"
        assert f'"cnnbook @ git+{repository}@{tag}"' in "".join(setup[0]["source"])
        assert notebook["metadata"]["accelerator"] == "GPU", f"{path} does not ask Colab for a GPU"


def test_the_version_is_written_once_and_notebooks_install_its_release_tag():
    """_version.py is the one copy: the package, hatch's build and every setup cell agree."""
    import cnnbook

    version = sync_notebooks.book_version()
    assert cnnbook.__version__ == version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/cnnbook/_version.py"
    # no other file spells the version out
    for path in [ROOT / "pyproject.toml", *sorted((ROOT / "src" / "cnnbook").glob("*.py"))]:
        if path.name != "_version.py":
            assert f'"{version}"' not in path.read_text(), f"{path} repeats the version"
    tag = sync_notebooks.release_tag()
    assert tag == f"v{version}"
    for path in sync_notebooks.notebook_paths():
        setup = "".join(json.loads(path.read_text())["cells"][1]["source"])
        assert f'@{tag}"' in setup, f"{path} does not install release {tag}"


def test_a_release_tag_if_present_holds_its_own_version():
    """A clone with tags: each vX.Y.Z tag's _version.py says X.Y.Z (a CI clone may have none)."""
    listed = subprocess.run(
        ["git", "tag", "--list", "v*"], cwd=ROOT, capture_output=True, text=True
    )
    tags = listed.stdout.split() if listed.returncode == 0 else []
    if not tags:
        pytest.skip("this clone has no v* tags (shallow CI clones fetch none)")
    for tag in tags:
        shown = subprocess.run(
            ["git", "show", f"{tag}:src/cnnbook/_version.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if shown.returncode != 0:  # a release from before _version.py existed
            continue
        assert f'__version__ = "{tag[1:]}"' in shown.stdout, f"tag {tag} holds another version"


def test_setup_cell_installs_only_on_colab_or_when_told(monkeypatch):
    """Off Colab nothing is installed; CNNBOOK_INSTALL_SPEC installs exactly what it names."""
    source = sync_notebooks.setup_source("https://example.org/book", "v9.9.9")
    installs: list[str] = []
    # IPython's own translation of the cell (%pip becomes run_line_magic), and its own
    # expansion of {expressions} in a magic's line, as on Colab; cnnbook lines left out.
    from IPython.utils.text import DollarFormatter

    from tools.grading.flags import python_source

    code = python_source(source.split("import cnnbook")[0])
    namespace: dict = {}

    class Shell:
        def run_line_magic(self, name, line):
            installs.append(f"%{name} " + DollarFormatter().format(line, **namespace))

    def run(modules: dict) -> None:
        monkeypatch.setattr(sys, "modules", {**sys.modules, **modules})
        namespace.clear()
        namespace["get_ipython"] = Shell
        exec(code, namespace)

    monkeypatch.delenv(sync_notebooks.INSTALL_ENV, raising=False)
    run({})
    assert installs == []
    run({"google.colab": object()})
    assert installs == ['%pip install --quiet "cnnbook @ git+https://example.org/book@v9.9.9"']
    monkeypatch.setenv(sync_notebooks.INSTALL_ENV, "/tmp/cnnbook-9.9.9-py3-none-any.whl")
    run({})
    assert installs[-1] == '%pip install --quiet "/tmp/cnnbook-9.9.9-py3-none-any.whl"'


def test_every_chapter_shows_when_and_where_its_lab_last_ran():
    """Each lab glues ``last_run`` in its setup cell; its chapter pastes it under the title."""
    for page in toc_files():
        if not page.startswith("notebooks/"):
            continue
        lab = ROOT / (page + ".ipynb")
        setup = "".join(json.loads(lab.read_text())["cells"][1]["source"])
        assert "cnnbook.book.glue_last_run()" in setup, f"{lab} does not glue last_run"
        chapter = source_of(toc_files()[toc_files().index(page) - 1]).read_text()
        block = f"```{{glue:}} last_run\n:doc: ../{page}.ipynb\n```"
        assert block in chapter, f"the chapter of {page} does not show its last run"
        title, rest = chapter.split("\n", 1)
        assert title.startswith("# ") and rest.lstrip().startswith(block), "not under the title"


def test_last_run_names_date_mode_device_and_versions(monkeypatch):
    import datetime

    import keras
    import tensorflow as tf

    from cnnbook import book

    when = datetime.datetime(2026, 12, 1, 1, 2, tzinfo=datetime.timezone.utc)
    monkeypatch.setenv("CNNBOOK_QUICK", "1")
    line = book.last_run(when)
    assert line.startswith("Last run 2026-12-01 01:02 UTC, quick mode, on ")
    assert book.compute_device() in line and book.compute_device().split()[0] in ("CPU", "GPU")
    assert f"TensorFlow {tf.__version__}, Keras {keras.__version__}" in line
    monkeypatch.setenv("CNNBOOK_QUICK", "0")
    assert ", full mode, " in book.last_run(when)


def test_no_notebook_reads_a_path_relative_to_the_repository():
    for path in sync_notebooks.notebook_paths():
        code = "\n".join(
            "".join(c["source"])
            for c in json.loads(path.read_text())["cells"]
            if c["cell_type"] == "code"
        )
        for marker in ("../", "shared/data", "assets/"):
            assert marker not in code, f"{path} reads {marker!r}: use cnnbook.data instead"


def test_sync_tool_puts_setup_after_title_and_strips_outputs():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title"),
            nbformat.v4.new_code_cell(
                "1 + 1",
                outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "2"})],
            ),
        ]
    )
    synced = sync_notebooks.synced(json.loads(nbformat.writes(notebook)), "SETUP")
    assert [c["cell_type"] for c in synced["cells"]] == ["markdown", "code", "code"]
    assert "".join(synced["cells"][1]["source"]) == "SETUP"
    assert synced["cells"][2]["outputs"] == []
    # running it twice changes nothing
    assert sync_notebooks.synced(synced, "SETUP") == synced


# --------------------------------------------------------------------------- failures surface
def _tiny_book(folder: Path, cell_source: str) -> Path:
    """A one-lab book with the real _config.yml and extension, whose lab runs ``cell_source``."""
    folder.mkdir()
    for name in ("_config.yml", "_ext", "_static", "assets"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, folder / name)
    (folder / "node_modules").symlink_to(ROOT / "node_modules")
    (folder / "chapters").mkdir()
    (folder / "notebooks").mkdir()
    (folder / "chapters" / "intro.md").write_text("# Intro\n\nA tiny book.\n")
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: chapters/intro\nchapters:\n  - file: notebooks/lab\n"
    )
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Lab"), nbformat.v4.new_code_cell(cell_source)],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    path = folder / "notebooks" / "lab.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "cell, should_pass", [("x = 1 + 1", True), ("raise RuntimeError('broken cell')", False)]
)
def test_a_failing_cell_fails_the_build_and_the_notebook_tests(tmp_path, cell, should_pass):
    notebook = _tiny_book(tmp_path / "book", cell)
    build = subprocess.run(
        ["jupyter-book", "build", ".", "-W", "--keep-going"],
        cwd=notebook.parents[1],
        capture_output=True,
        text=True,
    )
    assert (build.returncode == 0) is should_pass, build.stdout[-3000:] + build.stderr[-3000:]
    nbval = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            str(notebook),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (nbval.returncode == 0) is should_pass, nbval.stdout[-3000:]
    if not should_pass:
        assert "broken cell" in nbval.stdout


@pytest.mark.slow
def test_a_lab_runs_from_a_copy_outside_the_repository_with_the_package_installed(
    tmp_path, data_root
):
    """As on Colab: a lone notebook, the package installed from a wheel, no checkout around."""
    from nbclient import NotebookClient

    wheels = tmp_path / "wheels"
    site = tmp_path / "site-packages"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            *map(str, wheels.glob("*.whl")),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    workdir = tmp_path / "student"
    workdir.mkdir()
    lab = workdir / "lab.ipynb"
    shutil.copy(ROOT / "notebooks" / "02_edge_filters.ipynb", lab)
    notebook = nbformat.read(lab, as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            textwrap.dedent(f"""\
        import cnnbook, cnnbook.data
        assert cnnbook.__file__.startswith({str(site)!r}), cnnbook.__file__
        assert cnnbook.data.kittens_path().is_relative_to({str(site)!r})
    """)
        )
    )
    env_before = dict(os.environ)
    os.environ["PYTHONPATH"] = str(site)  # the kernel sees the installed wheel first
    os.environ["CNNBOOK_DATA"] = str(data_root)
    try:
        NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(workdir)}},
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)


@pytest.mark.slow
def test_every_built_chapter_says_when_and_where_it_last_ran(built_book):
    """In the built pages: the small "last run" line, with mode, device and versions."""
    import re

    for page in toc_files():
        if not page.startswith("notebooks/"):
            continue
        chapter = toc_files()[toc_files().index(page) - 1]
        html = (built_book / f"{chapter}.html").read_text()
        match = re.search(r'<p class="cnnbook-last-run"><small>([^<]*)</small></p>', html)
        assert match, f"{chapter}.html has no last-run line"
        line = match.group(1)
        assert re.fullmatch(
            r"Last run \d{4}-\d\d-\d\d \d\d:\d\d UTC, (quick|full) mode, on (CPU|GPU.*), "
            r"TensorFlow [\d.]+\w*, Keras [\d.]+\w*",
            line,
        ), line
        title = html.index("<h1")  # right under the chapter's title
        assert title < html.index("cnnbook-last-run") < html.index("<p>", title), chapter
