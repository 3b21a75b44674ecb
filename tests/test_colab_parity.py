"""Colab parity: every lab and student assignment, in Colab's packages, installed by its own cell.

The heavy tests are marked ``colab_parity`` and left out of the default run (it makes a virtual
environment the first time: minutes). Run it with::

    CNNBOOK_DATA=../shared/data python -m pytest -m colab_parity tests/test_colab_parity.py

``.ci/run`` does. What it does and what "runs" means for a student copy is explained in
``tools/colab_parity.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import colab_parity, make_assignments, sync_notebooks

ROOT = Path(__file__).resolve().parents[1]

LABS = [p.stem for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
ASSIGNMENTS = [p.stem for p in make_assignments.source_paths()]


@pytest.fixture(scope="module")
def colab(tmp_path_factory, data_root):
    """The cached Colab environment, this checkout's wheel, and the kernels' environment."""
    python, why_not = colab_parity.python_313()
    if why_not:
        pytest.skip(why_not)
    venv_python = colab_parity.colab_venv(python)
    scratch = tmp_path_factory.mktemp("colab-parity")
    wheel = colab_parity.build_wheel(scratch / "wheel")
    env = colab_parity.kernel_env(venv_python, wheel, scratch)
    env["CNNBOOK_DATA"] = str(data_root)
    yield venv_python, wheel, env, scratch
    colab_parity.restore_venv(venv_python)  # the cache stays as it was made


def test_pins_name_colab_source_date_and_the_packages_the_book_needs():
    text = colab_parity.PINS.read_text()
    assert "github.com/googlecolab/backend-info" in text and "pip-freeze.txt" in text
    assert "read on 20" in text  # the date the pins were read
    pins = colab_parity.pinned()
    for package in ("tensorflow", "keras", "numpy", "ipywidgets", "ipykernel", "matplotlib"):
        assert package in pins, f"{package} is not pinned"
    # every dependency the package declares is satisfied by Colab's pins
    wheel_deps = ["numpy", "pillow", "matplotlib", "ipywidgets"]
    assert all(dep in pins for dep in wheel_deps)


@pytest.mark.colab_parity
def test_the_wheel_carries_the_version_the_notebooks_install(colab):
    _, wheel, _, _ = colab
    version = sync_notebooks.book_version()
    assert wheel.name.startswith(f"cnnbook-{version}-"), wheel.name
    assert sync_notebooks.release_tag() == f"v{version}"


@pytest.mark.colab_parity
@pytest.mark.parametrize("name", LABS)
def test_lab_runs_on_colab_packages(colab, name):
    venv_python, _, env, scratch = colab
    (job,) = colab_parity.lab_jobs([name])
    colab_parity.run_job(job, venv_python, env, scratch)
    assert job.replaced == {}  # the setup cell replaced none of Colab's packages


@pytest.mark.colab_parity
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_assignment_runs_on_colab_packages(colab, name):
    """The student copy, its blanks filled with the solutions: every public check passes."""
    venv_python, _, env, scratch = colab
    (job,) = colab_parity.assignment_jobs(scratch / "assignments", [name])
    colab_parity.run_job(job, venv_python, env, scratch)  # fails on any other replacement
    assert set(job.replaced) <= colab_parity.OTTER_REPLACES


def test_filling_answers_replaces_only_the_answer_cells():
    student = {
        "cells": [
            {"id": "a", "cell_type": "code", "metadata": {}, "source": "x = 1"},
            {
                "id": "b",
                "cell_type": "code",
                "metadata": {"tags": ["otter_answer_cell"]},
                "source": "y = ...",
            },
        ]
    }
    teacher = {"cells": [{"id": "a", "source": "x = 2"}, {"id": "b", "source": "y = 3"}]}
    filled = colab_parity.filled_with_solutions(student, teacher)
    assert [c["source"] for c in filled["cells"]] == ["x = 1", "y = 3"]
    assert json.dumps(student).count("...") == 1  # the student copy itself is untouched
    teacher["cells"].pop()
    with pytest.raises(ValueError, match="no solution"):
        colab_parity.filled_with_solutions(student, teacher)
