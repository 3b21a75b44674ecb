"""The GitHub Actions workflows: valid (actionlint), and doing what the README promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint() -> str:
    """The actionlint binary the pinned package installed (beside this Python, or on PATH)."""
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.exists() else shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is missing: pip install -r requirements.txt")
    return found


def lint(paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [actionlint(), "-color=false", "-oneline", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_every_workflow_passes_actionlint():
    assert {p.name for p in WORKFLOWS} >= {"checks.yml", "publish.yml", "release.yml"}
    result = lint(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_fail_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.nonexistent_context_key }}\n"
        "      - uses: actions/checkout@v5\n        with:\n          no-such-input: 1\n"
    )
    result = lint([broken])
    assert result.returncode != 0 and "no-such-input" in result.stdout, result.stdout


def _steps(name: str) -> list[dict]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_pull_requests_run_ci_run_and_main_publishes_book_student_edition_and_zip():
    checks = yaml.safe_load((ROOT / ".github" / "workflows" / "checks.yml").read_text())
    assert "pull_request" in checks[True]  # YAML reads the key `on` as True
    assert any(step.get("run", "").strip() == "bash .ci/run" for step in _steps("checks.yml"))
    publish = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())
    assert publish[True]["push"]["branches"] == ["main"]
    steps = _steps("publish.yml")
    runs = "\n".join(step.get("run", "") for step in steps)
    uses = [step.get("uses", "") for step in steps]
    assert "jupyter-book build" in runs and "CNNBOOK_QUICK" not in str(steps)  # full mode
    assert "build_student_edition.py" in runs and "_build/html/student" in runs
    cache = next(
        s
        for s in steps
        if s.get("uses", "").startswith("actions/cache")
        and s["with"]["path"] == "_build/.jupyter_cache"
    )
    assert cache["with"]["restore-keys"]  # an older cache is restored: unchanged labs skip
    assert any(u.startswith("actions/upload-artifact") for u in uses) and "zip" in runs
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    deploy = publish["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
