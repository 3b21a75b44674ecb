"""Make the classroom assignments: student notebooks and autograders, from one source each.

Each ``assignments/NN_topic.ipynb`` holds the questions, their solutions and their tests,
in otter-grader's format (``# BEGIN QUESTION``, ``# BEGIN SOLUTION``, ``# BEGIN TESTS``
raw cells). This script runs ``otter assign`` on each and writes, per assignment:

    build/assignments/NN_topic/
        student/NN_topic.ipynb      hand this out: no solutions, no hidden tests
        autograder/NN_topic.ipynb   the solutions, for the teacher
        autograder.zip              grade with it (below)

Commands (from the repository root; chapters/teachers.md explains the whole workflow):

    python tools/make_assignments.py                    # build every assignment
    python tools/make_assignments.py 01_convolution     # build one
    python tools/make_assignments.py --check            # build, then prove that every
                                                        # solution scores full marks and
                                                        # every blank student copy zero
    python tools/make_assignments.py grade 02_edge_filters submissions/ --csv grades.csv \
        --written written.md                            # grade a class, offline

Grading runs ``otter run`` (no Docker) in this Python environment, one submission at a
time, with the book's environment variables (``CNNBOOK_DATA``...) reaching the kernel.
The student notebook's first code cell installs ``cnnbook`` on Colab (it is the lab setup
cell, see ``tools/sync_notebooks.py``); the next one starts otter's grader, also on Colab,
where the notebook is not a file on disk and its public checks are unpacked from the cell.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "assignments"
DEFAULT_OUT = ROOT / "build" / "assignments"
SETUP_TAG = "cnnbook-setup"
GRADER_TAG = "cnnbook-grader"
OTTER_INIT_MARK = "# Initialize Otter"

# The one copy of the Colab setup cell. Imported as tools.make_assignments (tests,
# python -m tools.make_assignments) or run as a script, whose folder is on sys.path.
if __package__:
    from tools import sync_notebooks
else:
    import sync_notebooks

GRADER_TEMPLATE = """\
# The grader (otter-grader): grader.check("q1") runs the public checks of question 1.
import os
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "otter-grader=={otter_version}"
import otter

if os.path.exists("{notebook}"):
    grader = otter.Notebook("{notebook}")  # the checks are stored in the notebook file
else:  # Colab keeps the notebook in the browser, not on disk: unpack its public checks
    import base64, io, zipfile
    zipfile.ZipFile(io.BytesIO(base64.b64decode(
        "{checks}"
    ))).extractall("{checks_dir}")
    grader = otter.Notebook(tests_dir="{checks_dir}")"""

HAND_IN = """\
## Hand in

Run every cell from the top (*Run → Run all*; on Colab *Runtime → Run all*), look at the
public checks in the cell above, save, and hand in the `.ipynb` file (on Colab: *File →
Download → Download .ipynb*). Your teacher grades it with more, hidden checks."""


# --------------------------------------------------------------------------- build
def source_paths(names: list[str] | None = None) -> list[Path]:
    """The assignment sources, all or those named (``01_convolution`` or a path)."""
    every = sorted(SOURCES.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        stem = Path(name).stem
        match = [p for p in every if p.stem == stem]
        if not match:
            raise ValueError(
                f"no assignment called {name!r}; the assignments are {[p.stem for p in every]}"
            )
        chosen += match
    return chosen


def otter_version() -> str:
    from importlib.metadata import version

    return version("otter-grader")


def checks_archive(tests: dict[str, str]) -> str:
    """The public checks ``{question: test-file source}`` as a base64 zip of ``q.py`` files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for question in sorted(tests):
            info = zipfile.ZipInfo(f"{question}.py", date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, tests[question], compress_type=zipfile.ZIP_DEFLATED)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def grader_source(notebook_name: str, public_tests: dict[str, str]) -> str:
    stem = Path(notebook_name).stem
    return GRADER_TEMPLATE.format(
        otter_version=otter_version(),
        notebook=notebook_name,
        checks=checks_archive(public_tests),
        checks_dir=f"{stem}_checks",
    )


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def finish_notebook(path: Path, public_tests: dict[str, str]) -> None:
    """Put otter's grader right after the Colab setup cell, and a hand-in note at the end.

    ``otter assign`` puts its init cell first, before the title; on Colab it would fail
    (otter is not installed there, and the notebook is not a file). It is replaced by a
    grader cell that works both locally and on Colab, after the setup cell, so that the
    first code cell stays the one that installs ``cnnbook``.
    """
    notebook = json.loads(path.read_text())
    cells = [c for c in notebook["cells"] if not "".join(c["source"]).startswith(OTTER_INIT_MARK)]
    setup = [i for i, c in enumerate(cells) if SETUP_TAG in c["metadata"].get("tags", [])]
    if len(setup) != 1:
        raise ValueError(
            f"{path} has {len(setup)} setup cells (tag {SETUP_TAG!r}); it needs one. "
            "Run python tools/sync_notebooks.py on its source."
        )
    grader = {
        "cell_type": "code",
        "id": "otter-grader",
        "execution_count": None,
        "outputs": [],
        "metadata": {"tags": [GRADER_TAG], "editable": False, "deletable": False},
        "source": _lines(grader_source(path.name, public_tests)),
    }
    hand_in = {"cell_type": "markdown", "id": "hand-in", "metadata": {}, "source": _lines(HAND_IN)}
    cells = cells[: setup[0] + 1] + [grader] + cells[setup[0] + 1 :] + [hand_in]
    notebook["cells"] = cells
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def build_one(source: Path, out_root: Path) -> Path:
    """``otter assign`` one source into ``out_root/NAME``; returns that folder."""
    name = source.stem
    target = out_root / name
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    setup = sync_notebooks.setup_source(*sync_notebooks.book_repository())
    synced = sync_notebooks.synced(json.loads(source.read_text()), setup)
    with tempfile.TemporaryDirectory(prefix="assign-") as scratch:
        master = Path(scratch) / source.name
        master.write_text(sync_notebooks.dumps(synced))
        # Our own check (--check) grades the finished notebooks, so otter's is skipped.
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "otter",
                "assign",
                "--no-run-tests",
                "--no-pdfs",
                str(master),
                str(target),
            ],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise RuntimeError(f"otter assign failed on {source}:\n{result.stdout}\n{result.stderr}")
    student = target / "student" / source.name
    public = json.loads(student.read_text())["metadata"]["otter"]["tests"]
    finish_notebook(student, public)
    finish_notebook(target / "autograder" / source.name, public)
    zips = sorted((target / "autograder").glob("*-autograder_*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"expected one autograder zip in {target / 'autograder'}, got {zips}")
    shutil.copy(zips[0], target / "autograder.zip")
    return target


# --------------------------------------------------------------------------- grade
@dataclass
class Grade:
    """The scores otter gave one submission."""

    submission: Path
    scores: dict[str, float] = field(default_factory=dict)
    possible: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def out_of(self) -> float:
        return sum(self.possible.values())


def grade(autograder_zip: Path, submission: Path) -> Grade:
    """Grade one notebook with ``otter run`` (no Docker) and read its results.json."""
    autograder_zip, submission = Path(autograder_zip), Path(submission)
    for path in (autograder_zip, submission):
        if not path.is_file():
            raise ValueError(f"{path} is not a file")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="otter-run-") as scratch:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "otter",
                "run",
                "--no-logo",
                "-a",
                str(autograder_zip),
                "-o",
                scratch,
                str(submission),
            ],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        results_file = Path(scratch) / "results.json"
        if result.returncode != 0 or not results_file.exists():
            raise RuntimeError(
                f"otter run failed on {submission}:\n{result.stdout[-3000:]}\n"
                f"{result.stderr[-3000:]}"
            )
        results = json.loads(results_file.read_text())
    graded = Grade(submission, seconds=time.perf_counter() - started)
    for test in results["tests"]:
        if "max_score" in test and test.get("max_score") is not None:
            graded.scores[test["name"]] = float(test.get("score") or 0.0)
            graded.possible[test["name"]] = float(test["max_score"])
    return graded


def submissions_in(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.glob("*.ipynb"))
        elif path.is_file():
            found.append(path)
        else:
            raise ValueError(f"{path} is neither a notebook nor a folder of notebooks")
    if not found:
        raise ValueError(f"no .ipynb submissions in {[str(p) for p in paths]}")
    return found


def written_answers(notebook_path: Path) -> list[tuple[str, str]]:
    """The written (teacher-graded) answers of a submission: (question, answer) pairs.

    In the student copy, a written answer is a Markdown cell tagged ``otter_answer_cell``;
    the question is the first sentence of the prompt cell above it.
    """
    cells = json.loads(Path(notebook_path).read_text())["cells"]
    answers = []
    for index, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "markdown" or "otter_answer_cell" not in tags:
            continue
        prompt = next(
            (
                c
                for c in reversed(cells[:index])
                if c["cell_type"] == "markdown"
                and "otter_answer_cell" not in c.get("metadata", {}).get("tags", [])
            ),
            None,
        )
        lines = (
            [
                line
                for line in "".join(prompt["source"]).splitlines()
                if line.strip() and not line.startswith("<!--")
            ]
            if prompt
            else []
        )
        first_sentence = " ".join(lines).split(". ")[0] if lines else "(question)"
        answers.append((first_sentence, "".join(cell["source"]).strip()))
    return answers


def write_written_answers(submissions: list[Path], path: Path) -> None:
    """One Markdown file with every submission's written answers, to read and mark."""
    parts = []
    for submission in submissions:
        parts.append(f"# {submission.name}\n")
        for question, answer in written_answers(submission):
            parts.append(f"## {question}\n\n{answer}\n")
    Path(path).write_text("\n".join(parts))


def write_csv(grades: list[Grade], path: Path) -> None:
    questions = sorted({q for g in grades for q in g.possible})
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", *questions, "total", "possible"])
        for g in grades:
            writer.writerow(
                [g.submission.name, *(g.scores.get(q, 0.0) for q in questions), g.total, g.out_of]
            )


# --------------------------------------------------------------------------- commands
def check_built(folder: Path) -> tuple[Grade, Grade]:
    """Grade the solutions (must score full marks) and the blank copy (must score zero)."""
    name = folder.name
    autograder = folder / "autograder.zip"
    solution = grade(autograder, folder / "autograder" / f"{name}.ipynb")
    blank = grade(autograder, folder / "student" / f"{name}.ipynb")
    return solution, blank


def build_command(args) -> int:
    out = Path(args.out).resolve()
    failures = 0
    for source in source_paths(args.names):
        started = time.perf_counter()
        folder = build_one(source, out)
        print(f"{source.stem}: built {folder} in {time.perf_counter() - started:.1f} s")
        if args.check:
            solution, blank = check_built(folder)
            ok = solution.total == solution.out_of > 0 and blank.total == 0
            failures += not ok
            print(
                f"  solutions {solution.total:g}/{solution.out_of:g} "
                f"({solution.seconds:.1f} s), blank student copy {blank.total:g}/"
                f"{blank.out_of:g} ({blank.seconds:.1f} s): {'ok' if ok else 'FAILED'}"
            )
    return 1 if failures else 0


def grade_command(args) -> int:
    folder = Path(args.out).resolve() / Path(args.assignment).stem
    autograder = Path(args.autograder) if args.autograder else folder / "autograder.zip"
    if not autograder.exists():
        raise SystemExit(
            f"{autograder} does not exist: build it first with "
            f"python tools/make_assignments.py {Path(args.assignment).stem}"
        )
    grades = []
    for submission in submissions_in([Path(p) for p in args.submissions]):
        graded = grade(autograder, submission)
        grades.append(graded)
        print(f"{submission.name}: {graded.total:g}/{graded.out_of:g} ({graded.seconds:.0f} s)")
    if args.csv:
        write_csv(grades, Path(args.csv))
        print(f"wrote {args.csv}")
    if args.written:
        write_written_answers([g.submission for g in grades], Path(args.written))
        print(f"wrote {args.written}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["grade"]:
        parser = argparse.ArgumentParser(
            prog="make_assignments.py grade",
            description="Grade submitted notebooks offline with otter run; scores to a CSV.",
        )
        parser.add_argument("assignment", help="e.g. 01_convolution")
        parser.add_argument("submissions", nargs="+", help="notebooks, or folders of them")
        parser.add_argument("--csv", help="write the scores to this CSV file")
        parser.add_argument("--written", help="collect the written answers in this Markdown file")
        parser.add_argument("--autograder", help="autograder zip (default: the built one)")
        parser.add_argument("--out", default=str(DEFAULT_OUT), help="the build folder")
        return grade_command(parser.parse_args(argv[1:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments to build (default: all)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="the build folder")
    parser.add_argument(
        "--check",
        action="store_true",
        help="grade the solutions (full marks) and blank copies (zero)",
    )
    return build_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
