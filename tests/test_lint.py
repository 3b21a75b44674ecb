"""The house rules, enforced: ruff (lint and format), mypy, the notebook-sync check.

They run in the fast tier (``python -m pytest -m "not slow"``), in ``.ci/run``'s lint
step, and before each commit (``.pre-commit-config.yaml``); the rules themselves are in
pyproject.toml. Each check names the files and lines to fix.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.lint

CHECKS = {
    "ruff check": ["ruff", "check", "--no-cache", "."],
    "ruff format --check": ["ruff", "format", "--check", "--no-cache", "."],
    "mypy": [sys.executable, "-m", "mypy"],
    "notebooks in sync": [sys.executable, "-m", "tools.sync_notebooks", "--check"],
}


@pytest.mark.parametrize("name", CHECKS)
def test_house_rule(name):
    command = CHECKS[name]
    if command[0] == "ruff":
        ruff = shutil.which("ruff")
        if ruff is None:
            pytest.fail("ruff is not installed: pip install -r requirements.txt")
        command = [ruff, *command[1:]]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"{name} found problems ({' '.join(command)}):\n{result.stdout}{result.stderr}"
    )
