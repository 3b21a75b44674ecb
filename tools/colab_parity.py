"""Run every lab and every student assignment as Colab would: Colab's packages, our wheel.

The Colab-parity tier (``python -m pytest -m colab_parity``, called by ``.ci/run``) and this
script do the same thing:

1. a virtual environment with Colab's runtime pins (``colab/requirements-colab.txt``),
   made with Python 3.13 (Colab's) when the machine has it, cached under
   ``~/.cache/cnnbook-colab-venv/`` and keyed by the pins file's hash and the Python
   version, so a second run reuses it;
2. the ``cnnbook`` wheel built from this checkout;
3. each notebook copied to a folder outside the repository and run top to bottom in quick
   mode by a kernel of that environment, with a stand-in ``google.colab`` imported at
   kernel start (``tests/colab_stand_in``) and ``CNNBOOK_INSTALL_SPEC`` naming the
   wheel: the notebook's own setup cell installs it (``cnnbook`` is uninstalled before
   each notebook, as on a fresh Colab runtime), and the assignments' grader cell installs
   otter-grader as it does on Colab;
4. the labs as they are; each student assignment as handed out, except that every answer
   cell (the blanks, ``...``) holds the solution from the teacher's copy: so the setup
   cell, otter's grader cell (on its Colab path: the checks unpacked from the cell, since
   the notebook is not a file there), the given code and the hand-in cells run exactly as a
   student gets them, top to bottom, and every public check (``grader.check``) must pass.
   A blank copy cannot run to the end (its blanks are ``...``), and a run that stops at the
   first blank would prove less than this one, which runs the same cells and more;
5. after each notebook, every pinned package must still have its pinned version: the
   setup cell must not replace Colab's own packages. The one known exception is the
   assignments' grader cell: otter-grader 7 requires ipywidgets 8, so installing it
   replaces Colab's ipywidgets 7.7.1 (and a few more, ``OTTER_REPLACES``); that is allowed,
   and reported, and anything else fails. Before each lab the environment is put back as
   it was made (``restore_venv``), as a fresh Colab runtime would be; the assignments run
   one after the other as in one Colab session (otter stays installed, cnnbook does not).

    python tools/colab_parity.py                 # everything
    python tools/colab_parity.py 04_mnist_convnet 02_edge_filters   # some notebooks
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "colab" / "requirements-colab.txt"
STAND_IN = ROOT / "tests" / "colab_stand_in"
COLAB_PYTHON = "3.13"
PYTHON_ENV = "CNNBOOK_COLAB_PYTHON"  # a Python 3.13 interpreter to use
CACHE_ENV = "CNNBOOK_COLAB_VENV_CACHE"
ANSWER_TAG = "otter_answer_cell"
PRISTINE = "cnnbook-pristine-freeze.txt"  # the environment as made: restored before each run
# otter-grader 7 requires ipywidgets>=8.1.5 (and requests>=2.31, wrapt<2): the assignments'
# grader cell replaces these of Colab's packages, on Colab as here. Known, reported, allowed;
# any other replacement fails the run.
OTTER_REPLACES = frozenset(
    {"ipywidgets", "widgetsnbextension", "jupyterlab-widgets", "requests", "wrapt"}
)
NOTEBOOK_TIMEOUT_S = 1200

if __package__:
    from tools import make_assignments, sync_notebooks
else:  # run as a script: its folder is on sys.path
    import make_assignments
    import sync_notebooks


# --------------------------------------------------------------------------- the environment
def pinned(pins: Path = PINS) -> dict[str, str]:
    """``{normalised name: version}`` of every ``name==version`` line of the pins file."""
    found = {}
    for line in pins.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[normalise(name)] = version.strip()
    return found


def normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def python_313() -> tuple[Path, str]:
    """A Python 3.13 interpreter (Colab's), or this one with a reason it is not 3.13."""
    candidates = []
    if os.environ.get(PYTHON_ENV):
        candidates.append(Path(os.environ[PYTHON_ENV]))
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(Path(root, "versions").glob(f"{COLAB_PYTHON}*/bin/python3"))
    on_path = shutil.which(f"python{COLAB_PYTHON}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.exists():
            return candidate, ""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Path(sys.executable), (
        f"no Python {COLAB_PYTHON} found (set {PYTHON_ENV}, or install it with pyenv): "
        f"using this Python {here}, so the environment differs from Colab's in Python"
    )


def cache_root() -> Path:
    value = os.environ.get(CACHE_ENV)
    if value:
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "cnnbook-colab-venv"


def venv_key(python: Path, pins: Path = PINS) -> str:
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"], capture_output=True, text=True
    ).stdout
    return hashlib.sha256(pins.read_bytes() + version.encode()).hexdigest()[:16]


def colab_venv(python: Path, pins: Path = PINS, log=print) -> Path:
    """The cached environment for ``pins``, made (once) if missing; returns its python.

    Its ``pip freeze`` is written last, as the marker that it is complete (one left
    half-made by an interrupted run has none and is made again), and is what
    :func:`restore_venv` brings it back to. A lock keeps two runs from making it at once.
    """
    import fcntl

    folder = cache_root() / venv_key(python, pins)
    pristine = folder / PRISTINE
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if pristine.exists():
            log(f"reusing the Colab environment {folder}")
            restore_venv(folder / "bin" / "python")
            return folder / "bin" / "python"
        log(f"making the Colab environment {folder} (cold: several minutes)")
        if folder.exists():  # half-made by an interrupted run: our own cache, remade
            shutil.rmtree(folder)
        _run([str(python), "-m", "venv", str(folder)])
        venv_python = folder / "bin" / "python"
        _run([str(venv_python), "-m", "pip", "install", "--quiet", "-r", str(pins)])
        frozen = _run([str(venv_python), "-m", "pip", "freeze", "--all"]).stdout
        pristine.write_text(frozen)
    return venv_python


def restore_venv(venv_python: Path) -> None:
    """Put the environment back as it was made: what notebooks installed goes, pins return.

    Each notebook then starts as on a fresh Colab runtime (otter-grader, which the
    assignments' grader cell installs, is not part of Colab).
    """
    pristine = venv_python.parent.parent / PRISTINE
    wanted = _frozen(pristine.read_text())
    have = _frozen(_run([str(venv_python), "-m", "pip", "freeze", "--all"]).stdout)
    extra = sorted(set(have) - set(wanted))
    if extra:
        _run([str(venv_python), "-m", "pip", "uninstall", "--quiet", "-y", *extra])
    changed = [f"{name}=={wanted[name]}" for name in wanted if have.get(name) != wanted[name]]
    if changed:
        _run([str(venv_python), "-m", "pip", "install", "--quiet", "--no-deps", *changed])


def _frozen(text: str) -> dict[str, str]:
    """``{name: version}`` of a ``pip freeze``; a direct install (``name @ url``) as its url."""
    found = {}
    for line in text.splitlines():
        if " @ " in line:
            name, url = line.split(" @ ", 1)
            found[normalise(name)] = url.strip()
        elif "==" in line:
            name, version = line.split("==", 1)
            found[normalise(name)] = version.strip()
    return found


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def installed_versions(venv_python: Path) -> dict[str, str]:
    listed = _run([str(venv_python), "-m", "pip", "list", "--format", "json"]).stdout
    return {normalise(p["name"]): p["version"] for p in json.loads(listed)}


def drifted_pins(venv_python: Path, pins: Path = PINS) -> dict[str, tuple[str, str | None]]:
    """``{package: (pinned, installed)}`` for every pin the environment no longer holds."""
    have = installed_versions(venv_python)
    return {
        name: (want, have.get(name))
        for name, want in pinned(pins).items()
        if have.get(name) != want
    }


def build_wheel(folder: Path) -> Path:
    """The ``cnnbook`` wheel of this checkout, built into ``folder``."""
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)])
    wheels = sorted(folder.glob("cnnbook-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one cnnbook wheel in {folder}, found {wheels}")
    return wheels[0]


# --------------------------------------------------------------------------- the notebooks
@dataclass
class Job:
    """One notebook run: a name, the notebook, and how far it must run."""

    name: str
    notebook: dict
    installs_otter: bool = False  # the assignments' grader cell installs otter-grader
    replaced: dict = field(default_factory=dict)  # Colab packages the run replaced


def lab_jobs(names: list[str] | None = None) -> list[Job]:
    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    return [Job(p.stem, json.loads(p.read_text())) for p in paths if not names or p.stem in names]


def filled_with_solutions(student: dict, teacher: dict) -> dict:
    """The student copy with each answer code cell replaced by the teacher's solution."""
    solutions = {c.get("id"): c for c in teacher["cells"]}
    cells = []
    for cell in student["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if ANSWER_TAG in tags and cell["cell_type"] == "code":
            solution = solutions.get(cell.get("id"))
            if solution is None:
                raise ValueError(
                    f"answer cell {cell.get('id')} has no solution in the teacher copy"
                )
            cell = {**cell, "source": solution["source"]}
        cells.append(cell)
    return {**student, "cells": cells}


def assignment_jobs(out: Path, names: list[str] | None = None) -> list[Job]:
    """Each student copy, built by make_assignments, with its answer cells filled."""
    jobs = []
    for source in make_assignments.source_paths():
        if names and source.stem not in names:
            continue
        folder = make_assignments.build_one(source, out)
        student = json.loads(make_assignments.student_copy(folder).read_text())
        teacher = json.loads(make_assignments.solutions_copy(folder).read_text())
        filled = filled_with_solutions(student, teacher)
        jobs.append(Job(f"{source.stem} (student copy)", filled, installs_otter=True))
    return jobs


# Runs inside the Colab environment: executes one notebook with nbclient.
RUNNER = r"""
import json, sys
import nbformat
from nbclient import NotebookClient

job = json.load(open(sys.argv[1]))
notebook = nbformat.reads(json.dumps(job["notebook"]), as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell(job["final_check"]))
NotebookClient(notebook, timeout=job["timeout"], kernel_name="python3",
               resources={"metadata": {"path": job["workdir"]}}).execute()
for cell in notebook.cells:  # the public checks' results, as the student sees them
    calls = [line for line in cell.source.splitlines() if line.startswith("grader.check(")]
    if cell.cell_type == "code" and calls:
        text = json.dumps(cell.outputs)
        if "passed" not in text or "failed" in text.lower():
            sys.exit(f"a public check did not pass: {calls}\n{text[-2000:]}")
"""

FINAL_CHECK = """\
import sys, cnnbook
assert "google.colab" in sys.modules, "the stand-in google.colab was not imported"
assert sys.prefix == {prefix!r}, sys.prefix
assert cnnbook.__file__.startswith({prefix!r}), cnnbook.__file__
assert cnnbook.__version__ == {version!r}, cnnbook.__version__
# the setup cell installed this very wheel (pip records where a package came from)
from importlib.metadata import distribution
assert {wheel_url!r} in distribution("cnnbook").read_text("direct_url.json"), "another cnnbook"
print("ran on Python", sys.version.split()[0], "with cnnbook", cnnbook.__version__)"""


def kernel_env(venv_python: Path, wheel: Path, scratch: Path) -> dict[str, str]:
    """The kernel's environment: the stand-in Colab module, our wheel, quick mode."""
    ipython_dir = scratch / "ipython"
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-google-colab.py").write_text("import google.colab  # as Colab's kernel does\n")
    # The one kernel every notebook gets: this environment's Python.
    kernels = scratch / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(venv_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (Colab parity)",
                "language": "python",
            }
        )
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not key.startswith("JUPYTER")
    }
    env.update(
        PYTHONPATH=str(STAND_IN),
        IPYTHONDIR=str(ipython_dir),
        JUPYTER_PATH=str(scratch / "jupyter"),
        JUPYTER_DATA_DIR=str(scratch / "jupyter"),
        MPLBACKEND="agg",
        CNNBOOK_QUICK="1",
        PATH=f"{venv_python.parent}{os.pathsep}{env.get('PATH', '')}",
        **{sync_notebooks.INSTALL_ENV: str(wheel)},
    )
    if env.get("CNNBOOK_DATA"):
        env["CNNBOOK_DATA"] = str(Path(env["CNNBOOK_DATA"]).resolve())
    return env


def run_job(job: Job, venv_python: Path, env: dict[str, str], scratch: Path) -> float:
    """Run one notebook from a fresh folder outside the repository; returns its seconds."""
    workdir = Path(tempfile.mkdtemp(prefix="notebook-", dir=scratch))
    if job.installs_otter:  # one Colab session for the assignments: otter stays (it is slow
        # to install), cnnbook goes, so that the setup cell installs it again
        _run([str(venv_python), "-m", "pip", "uninstall", "--quiet", "-y", "cnnbook"])
    else:  # a fresh Colab runtime: no cnnbook, no otter, Colab's pins
        restore_venv(venv_python)
    prefix = str(venv_python.parent.parent)
    spec = {
        "notebook": job.notebook,
        "workdir": str(workdir),
        "timeout": NOTEBOOK_TIMEOUT_S,
        "final_check": FINAL_CHECK.format(
            prefix=prefix,
            version=sync_notebooks.book_version(),
            wheel_url=Path(env[sync_notebooks.INSTALL_ENV]).resolve().as_uri(),
        ),
    }
    job_file = workdir.parent / f"{workdir.name}.json"
    job_file.write_text(json.dumps(spec))
    started = time.perf_counter()
    result = subprocess.run(
        [str(venv_python), "-c", RUNNER, str(job_file)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{job.name} failed in the Colab environment:\n{result.stderr[-6000:]}")
    drift = drifted_pins(venv_python)
    allowed = OTTER_REPLACES if job.installs_otter else frozenset()
    if set(drift) - allowed:
        raise RuntimeError(f"{job.name} replaced Colab's packages (pinned, now): {drift}")
    job.replaced = drift
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook stems (default: every one)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    python, why_not = python_313()
    if why_not:
        print("warning:", why_not)
    venv_python = colab_venv(python)
    print(f"environment ready in {time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory(prefix="colab-parity-") as scratch_name:
        scratch = Path(scratch_name)
        wheel = build_wheel(scratch / "wheel")
        env = kernel_env(venv_python, wheel, scratch)
        jobs = lab_jobs(args.names) + assignment_jobs(scratch / "assignments", args.names)
        for job in jobs:
            seconds = run_job(job, venv_python, env, scratch)
            replaced = f"; replaced {job.replaced}" if job.replaced else ""
            print(f"{job.name}: {seconds:.0f} s{replaced}", flush=True)
    restore_venv(venv_python)
    print(f"all {len(jobs)} runs passed in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
