"""The classroom assignments: built from one source, graded in a sandbox, solutions apart.

For every ``assignments/NN_topic.ipynb`` the tests build the student copy and the
solutions with ``tools/make_assignments.py`` (``otter assign``), then grade both as a
teacher does (each in a bubblewrap sandbox, marked outside it by ``tools/grading``): the
solutions must score full marks and the untouched student copy zero. They also check
that the student copy holds no solution, opens with the Colab setup cell, that its
public checks work where the notebook is not a file (as on Colab), and that the
teacher's checks give each question the points its source states. Hostile submissions
are in ``test_grading_sandbox.py``. The student edition is checked on a tiny book.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tools import build_student_edition, make_assignments, sync_notebooks
from tools.grading import assignments, report
from tools.grading.grade import Grade, grades_csv

ROOT = Path(__file__).resolve().parents[1]

SOURCES = make_assignments.source_paths()
NAMES = [path.stem for path in SOURCES]
SOLUTION_TAG = "otter_assign_solution_cell"
ANSWER_TAG = "otter_answer_cell"


def _notebook(path: Path) -> dict:
    return json.loads(path.read_text())


def _source(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """Every assignment built into a temporary folder, as a teacher would."""
    out = tmp_path_factory.mktemp("assignments")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda source: make_assignments.build_one(source, out), SOURCES))
    return out


@pytest.fixture(scope="session")
def grades(built, data_root) -> dict[tuple[str, str], Grade]:
    """Each assignment's solutions and blank student copy, graded as a teacher does."""

    def both(name):
        solution, blank = make_assignments.check_built(built / name)
        return {(name, "solution"): solution, (name, "blank"): blank}

    results = {}
    # The numpy assignments two at a time; the two that train (outside the sandbox) alone.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for found in pool.map(both, NAMES[:3]):
            results.update(found)
    for name in NAMES[3:]:
        results.update(both(name))
    return results


def test_there_are_five_assignments():
    assert NAMES == [
        "01_convolution",
        "02_edge_filters",
        "03_max_pooling",
        "04_mnist",
        "05_cats_vs_dogs",
    ]


@pytest.mark.parametrize("source", SOURCES, ids=NAMES)
def test_source_is_one_otter_notebook_in_step(source):
    """One source holds config, questions, solutions and tests; its setup cell is current."""
    notebook = _notebook(source)
    setup = sync_notebooks.setup_source(*sync_notebooks.book_repository())
    assert sync_notebooks.dumps(sync_notebooks.synced(notebook, setup)) == source.read_text(), (
        f"{source.name} is out of step: run python tools/sync_notebooks.py"
    )
    raw = [_source(c) for c in notebook["cells"] if c["cell_type"] == "raw"]
    assert raw[0].startswith("# ASSIGNMENT CONFIG"), "the first raw cell is otter's config"
    questions = [r for r in raw if r.startswith("# BEGIN QUESTION")]
    assert 2 <= len(questions) <= 5, f"{len(questions)} questions"
    assert sum(r.startswith("# BEGIN SOLUTION") for r in raw) == len(questions)
    assert any(r.startswith("# BEGIN TESTS") for r in raw)


@pytest.mark.parametrize("name", NAMES)
def test_student_copy_has_no_solutions(built, name):
    student = _notebook(built / name / "student" / f"{name}.ipynb")
    solution = _notebook(make_assignments.solutions_copy(built / name))
    text = json.dumps(student)
    for marker in ("# SOLUTION", "BEGIN SOLUTION", "END SOLUTION", "BEGIN PROMPT"):
        assert marker not in text, f"{marker!r} left in the student copy"
    assert not any(SOLUTION_TAG in c["metadata"].get("tags", []) for c in student["cells"])
    # Written answers (Markdown solutions) are gone too.
    for cell in solution["cells"]:
        if SOLUTION_TAG in cell["metadata"].get("tags", []) and cell["cell_type"] == "markdown":
            assert _source(cell)[:80] not in text, "a written solution is in the student copy"
    tests = student["metadata"]["otter"]["tests"]
    assert tests, "the student copy should carry the public checks"
    # The teacher's checks live in tools/grading, never in a notebook.
    for notebook in (student, solution):
        assert all(
            "hidden=True" not in test for test in notebook["metadata"]["otter"]["tests"].values()
        )
    # Each answer cell of the student copy is the solution cell with the answer cut out.
    answers = [
        c
        for c in student["cells"]
        if ANSWER_TAG in c["metadata"].get("tags", []) and c["cell_type"] == "code"
    ]
    # (A "NO PROMPT" solution, such as the computation behind a written answer, leaves an
    # empty cell.)
    assert answers and any("..." in _source(c) for c in answers)
    assert all("..." in _source(c) or not _source(c).strip() for c in answers)


@pytest.mark.parametrize("name", NAMES)
def test_student_copy_runs_on_colab(built, name):
    """First code cell: the lab setup cell (installs cnnbook on Colab); next: the grader."""
    student = _notebook(built / name / "student" / f"{name}.ipynb")
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    setup = sync_notebooks.setup_source(*sync_notebooks.book_repository())
    assert student["cells"][0]["cell_type"] == "markdown", "a title comes first"
    assert _source(code[0]) == setup
    assert '"google.colab" in sys.modules' in _source(code[0]) and "cnnbook @ git+" in _source(
        code[0]
    )
    grader = _source(code[1])
    assert make_assignments.GRADER_TAG in code[1]["metadata"]["tags"]
    assert "import otter" in grader and "otter-grader==" in grader
    assert not any(_source(c).startswith(make_assignments.OTTER_INIT_MARK) for c in code)
    assert student["metadata"]["colab"] and student["metadata"]["accelerator"] == "GPU"


@pytest.mark.parametrize("name", NAMES)
def test_solutions_score_full_marks(grades, name):
    graded = grades[(name, "solution")]
    assert graded.out_of > 0
    assert graded.total == graded.out_of, f"{name} solutions: {graded.scores} of {graded.possible}"


@pytest.mark.parametrize("name", NAMES)
def test_blank_student_copy_scores_zero(grades, name):
    graded = grades[(name, "blank")]
    assert graded.out_of == grades[(name, "solution")].out_of
    assert graded.total == 0, f"{name} blank copy: {graded.scores}"


def test_grader_works_where_the_notebook_is_not_a_file(built, tmp_path):
    """As on Colab: the notebook is not on disk, so the grader unpacks its public checks."""
    import nbclient
    import nbformat

    name = NAMES[0]
    solution = nbformat.read(make_assignments.solutions_copy(built / name), as_version=4)
    client = nbclient.NotebookClient(
        solution,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    checks = sorted(p.name for p in (tmp_path / f"{name}_checks").iterdir())
    public = _notebook(built / name / "student" / f"{name}.ipynb")["metadata"]["otter"]["tests"]
    assert checks == sorted(f"{q}.py" for q in public)
    outputs = {}
    for cell in solution.cells:
        if cell.cell_type == "code" and cell.source.startswith("grader.check("):
            outputs[cell.source] = "".join(
                o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                for o in cell.outputs
            )
    assert outputs and all("All test cases passed" in text for text in outputs.values()), outputs


@pytest.mark.parametrize("source", SOURCES, ids=NAMES)
def test_teachers_checks_give_each_question_its_points(source):
    """The marks of each autograded question add up to the points its source states."""
    import numpy as np
    import yaml

    stated = {}
    for cell in _notebook(source)["cells"]:
        if cell["cell_type"] == "raw" and _source(cell).startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(_source(cell).split("\n", 1)[1])
            if not config.get("manual"):
                stated[config["name"]] = float(config["points"])
    plan = assignments.plan_for(source.stem, np.random.default_rng(1))
    assert plan.points() == stated
    assert len({probe.id for probe in plan.probes}) == len(plan.probes)


def test_grade_command_writes_a_csv(built, grades, tmp_path):
    name = NAMES[0]
    text = grades_csv([grades[(name, "solution")], grades[(name, "blank")]])
    rows = list(csv.DictReader(text.splitlines()))
    assert [float(r["total"]) for r in rows] == [grades[(name, "solution")].out_of, 0.0]
    assert {"q1", "q2", "problems", "reference_code"} <= set(rows[0])


def test_written_answers_are_collected(built, tmp_path):
    name = "02_edge_filters"
    submission = _notebook(built / name / "student" / f"{name}.ipynb")
    written = [
        c
        for c in submission["cells"]
        if c["cell_type"] == "markdown" and ANSWER_TAG in c["metadata"].get("tags", [])
    ]
    assert len(written) == 1
    written[0]["source"] = ["Because two linear layers are one linear layer."]
    path = tmp_path / "alice.ipynb"
    path.write_text(json.dumps(submission))
    answers = report.written_answers(report.read_notebook(path))
    assert [question[:14] for question, _ in answers] == ["**Question 4**"]
    assert answers[0][1] == "Because two linear layers are one linear layer."
    text = report.written_answers_text([("alice.ipynb", submission)])
    assert "# alice.ipynb" in text and "two linear layers" in text


# --------------------------------------------------------------------------- student edition
TINY_CONFIG = """\
title: Tiny
author: tests
only_build_toc_files: true
execute:
  execute_notebooks: "off"
sphinx:
  extra_extensions: [sphinx_exercise]
"""
TINY_TOC = "format: jb-book\nroot: intro\nchapters:\n  - file: lab\n"
TINY_INTRO = """\
# Intro

```{exercise}
:label: ex-intro
What is two plus two? EXERCISE-TEXT-A
```

````{solution} ex-intro
:class: dropdown
SOLUTION-TEXT-A is four:
```python
print(2 + 2)
```
````
"""


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    book = tmp_path_factory.mktemp("tiny-book")
    (book / "_config.yml").write_text(TINY_CONFIG)
    (book / "_toc.yml").write_text(TINY_TOC)
    (book / "intro.md").write_text(TINY_INTRO)
    lab = new_notebook(
        cells=[
            new_markdown_cell("# Lab"),
            new_code_cell("x = 1"),
            new_markdown_cell(
                "```{exercise}\n:label: ex-lab\nEXERCISE-TEXT-B\n```\n\n"
                ":::{solution} ex-lab\n:class: dropdown\nSOLUTION-TEXT-B\n:::"
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(lab, book / "lab.ipynb")
    return book


def _files_with(folder: Path, text: str) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and text in p.read_text(errors="ignore")
    )


def test_student_edition_has_no_solutions(tiny_book, tmp_path):
    normal = tmp_path / "normal"
    subprocess.run(
        [
            "jupyter-book",
            "build",
            str(tiny_book),
            "--path-output",
            str(normal),
            "-W",
            "--keep-going",
        ],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    student = build_student_edition.build(tiny_book, tmp_path / "student")
    normal_html = normal / "_build" / "html"
    for solution in ("SOLUTION-TEXT-A", "SOLUTION-TEXT-B"):
        assert _files_with(normal_html, solution), f"the normal book should show {solution}"
        assert _files_with(student, solution) == [], f"{solution} is in the student edition"
    for exercise in ("EXERCISE-TEXT-A", "EXERCISE-TEXT-B"):
        assert _files_with(student, exercise), f"{exercise} is missing from the student edition"
    assert (tiny_book / "intro.md").read_text() == TINY_INTRO, "the source must not change"


def test_student_config_hides_solutions(tiny_book, tmp_path):
    config = build_student_edition.student_config(tiny_book / "_config.yml", tmp_path)
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert config["execute"]["cache"] == str(tmp_path.resolve())
    assert config["sphinx"]["extra_extensions"] == ["sphinx_exercise"]


def test_strip_solutions_keeps_everything_else():
    text = (
        "before\n\n````{solution} a\n```python\nx = 1\n```\nsecret\n````\nmiddle\n"
        "```{solution-start} b\n```\nsecret\n```{solution-end}\n```\nafter\n"
    )
    assert build_student_edition.strip_solutions(text) == "before\n\nmiddle\nafter\n"
    with pytest.raises(ValueError, match="solution-end"):
        build_student_edition.strip_solutions("```{solution-start} c\n```\nsecret\n")
