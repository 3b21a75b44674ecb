"""Make the classroom assignments (student copies, solutions) and grade a class safely.

Each ``assignments/NN_topic.ipynb`` holds the questions, their solutions and their public
checks, in otter-grader's format (``# BEGIN QUESTION``, ``# BEGIN SOLUTION``, ``# BEGIN
TESTS`` raw cells). Building runs ``otter assign`` on each and writes, per assignment:

    build/assignments/NN_topic/
        student/NN_topic.ipynb      hand this out: no solutions; its public checks
        solutions/NN_topic.ipynb    the solutions, for the teacher
        .made-by-make_assignments.json  the files above and their hashes

A rebuild replaces only the files listed there, and only if they are unchanged: nothing
else in the folder (submissions, grades) is touched.

Commands (from the repository root; chapters/teachers.md explains the whole workflow):

    python tools/make_assignments.py                    # build every assignment
    python tools/make_assignments.py 01_convolution     # build one
    python tools/make_assignments.py --check            # build, then prove that every
                                                        # solution scores full marks and
                                                        # every blank student copy zero
    python tools/make_assignments.py grade 02_edge_filters submissions/ --csv grades.csv \
        --written written.md                            # grade a class, offline

``grade`` runs each submission in its own bubblewrap sandbox (no network, no view of
your files, limits on time, memory and processes), asks it for its answers with fresh
random inputs, and marks them outside the sandbox against the book's reference
(``tools/grading/``). Students keep otter's ``grader.check("q1")`` for feedback while
they work; the teacher's marks do not depend on it. The student notebook's first code
cell installs ``cnnbook`` on Colab (the lab setup cell, see ``tools/sync_notebooks.py``);
the next one starts otter's grader, also on Colab, where the notebook is not a file on
disk and its public checks are unpacked from the cell.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "assignments"
DEFAULT_OUT = ROOT / "build" / "assignments"
SETUP_TAG = "cnnbook-setup"
GRADER_TAG = "cnnbook-grader"
OTTER_INIT_MARK = "# Initialize Otter"

# The one copy of the Colab setup cell, and the grader. Imported as tools.make_assignments
# (tests, python -m tools.make_assignments) or run as a script, whose folder is on sys.path.
if __package__:
    from tools import sync_notebooks
    from tools.grading import report, sandbox
    from tools.grading.grade import Grade, Grader, submissions_in, write_grades
else:
    import sync_notebooks
    from grading import report, sandbox
    from grading.grade import Grade, Grader, submissions_in, write_grades

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


MANIFEST = ".made-by-make_assignments.json"


class FolderNotOurs(RuntimeError):
    """A file the build would replace was not made by it (or was changed since)."""


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the files a previous build made in ``folder``."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text())["files"]
    except (ValueError, KeyError, TypeError) as error:
        raise FolderNotOurs(f"{path} is damaged; move it away to rebuild") from error
    return {str(k): str(v) for k, v in files.items()}


def install_files(made: dict[str, Path], folder: Path) -> None:
    """Put the built files in ``folder``, replacing only files an earlier build made.

    A file in the way that no build made, or that was changed since it was made, stops
    the build with a message: nothing of the teacher's is overwritten or deleted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    old = read_manifest(folder)
    for relative in made:
        target = folder / relative
        if target.exists() and old.get(relative) != file_hash(target):
            raise FolderNotOurs(
                f"{target} was not made by this tool (or was changed since): move it away "
                "or delete it, then build again"
            )
    for relative, digest in old.items():  # files an earlier build made and this one does not
        target = folder / relative
        if relative not in made and target.is_file() and file_hash(target) == digest:
            target.unlink()
    for relative, source in made.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.part")
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    manifest = {"files": {relative: file_hash(folder / relative) for relative in sorted(made)}}
    report.write_atomically(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def build_one(source: Path, out_root: Path) -> Path:
    """``otter assign`` one source; put its student copy and solutions in ``out_root/NAME``."""
    name = source.stem
    target = out_root / name
    setup = sync_notebooks.setup_source(*sync_notebooks.book_repository())
    synced = sync_notebooks.synced(json.loads(source.read_text()), setup)
    with tempfile.TemporaryDirectory(prefix="assign-") as scratch:
        master = Path(scratch) / source.name
        master.write_text(sync_notebooks.dumps(synced))
        assigned = Path(scratch) / "out"
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
                str(assigned),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"otter assign failed on {source}:\n{result.stdout}\n{result.stderr}"
            )
        student = assigned / "student" / source.name
        solutions = assigned / "autograder" / source.name
        public = json.loads(student.read_text())["metadata"]["otter"]["tests"]
        finish_notebook(student, public)
        finish_notebook(solutions, public)
        install_files(
            {f"student/{source.name}": student, f"solutions/{source.name}": solutions}, target
        )
    return target


def student_copy(folder: Path) -> Path:
    return folder / "student" / f"{folder.name}.ipynb"


def solutions_copy(folder: Path) -> Path:
    return folder / "solutions" / f"{folder.name}.ipynb"


# --------------------------------------------------------------------------- grade
def make_grader(folder: Path, args=None) -> Grader:
    """A sandboxed grader for the assignment built in ``folder`` (options from ``args``)."""
    limits = sandbox.Limits(
        seconds=getattr(args, "timeout", None) or sandbox.Limits.seconds,
        memory_bytes=int((getattr(args, "memory_gb", None) or 8) * 2**30),
    )
    data = os.environ.get("CNNBOOK_DATA")
    secret = bytes.fromhex(args.seed) if getattr(args, "seed", None) else None
    options = {"secret": secret} if secret else {}
    return Grader(
        folder.name,
        student_copy(folder),
        limits=limits,
        use_sandbox=not getattr(args, "unsafe_no_sandbox", False),
        data_folder=Path(data) if data and Path(data).is_dir() else None,
        quick=os.environ.get("CNNBOOK_QUICK", "") not in ("", "0"),
        **options,
    )


def check_built(folder: Path, grader: Grader | None = None) -> tuple[Grade, Grade]:
    """Grade the solutions (must score full marks) and the blank copy (must score zero)."""
    grader = grader or make_grader(folder)
    return grader.grade(solutions_copy(folder)), grader.grade(student_copy(folder))


def build_command(args) -> int:
    out = Path(args.out).resolve()
    failures = 0
    for source in source_paths(args.names):
        started = time.perf_counter()
        folder = build_one(source, out)
        print(f"{source.stem}: built {folder} in {time.perf_counter() - started:.1f} s")
        if args.check:
            try:
                solution, blank = check_built(folder)
            except sandbox.SandboxUnavailable as error:
                raise SystemExit(no_sandbox_message(error, "check")) from error
            ok = solution.total == solution.out_of > 0 and blank.total == 0
            failures += not ok
            print(
                f"  solutions {solution.total:g}/{solution.out_of:g} "
                f"({solution.seconds:.1f} s), blank student copy {blank.total:g}/"
                f"{blank.out_of:g} ({blank.seconds:.1f} s): {'ok' if ok else 'FAILED'}"
            )
            for grade in (solution, blank):
                if not ok and (grade.problems or grade.failed_checks):
                    print("   ", "; ".join(grade.problems + grade.failed_checks))
    return 1 if failures else 0


def no_sandbox_message(error: Exception, doing: str) -> str:
    """What a teacher reads when no sandbox can be made here."""
    return (
        f"Refusing to {doing}: {error}.\nThe sandbox keeps students' code away from your "
        "files and from each other's marks. Grade on Linux with bubblewrap, or, only "
        "for work you trust, pass --unsafe-no-sandbox to grade."
    )


def _stop_on_signal(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def grade_command(args) -> int:
    folder = Path(args.out).resolve() / Path(args.assignment).stem
    if not student_copy(folder).exists():
        raise SystemExit(
            f"{student_copy(folder)} does not exist: build the assignment first with "
            f"python tools/make_assignments.py {Path(args.assignment).stem}"
        )
    try:
        grader = make_grader(folder, args)
    except sandbox.SandboxUnavailable as error:
        raise SystemExit(no_sandbox_message(error, "grade")) from error
    if not grader.use_sandbox:
        print("WARNING: --unsafe-no-sandbox: students' code runs with your rights.")
    outputs = {Path(p).resolve() for p in (args.csv, args.written) if p}
    paths = submissions_in([Path(p) for p in args.submissions], exclude=outputs)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    grades: list[Grade] = []
    try:
        for path, name, skipped in paths:
            if skipped:
                graded = grader.zero(name, skipped)
            else:
                graded = grader.grade(path, name)  # never raises: a failure costs its row
            grades.append(graded)
            note = report.printable("; ".join(graded.problems))
            print(
                f"{report.printable(name)}: {graded.total:g}/{graded.out_of:g} "
                f"({graded.seconds:.0f} s)" + (f"  [{note}]" if note else "")
            )
    finally:  # whatever happens, every submission gets a row
        for _, name, _ in paths[len(grades) :]:
            grades.append(grader.zero(name, "not graded: grading was interrupted"))
        write_grades(
            grades,
            Path(args.csv) if args.csv else None,
            Path(args.written) if args.written else None,
        )
        for written in (args.csv, args.written):
            if written:
                print(f"wrote {written}")
    return 0


COMMANDS = """\
commands:
  (build)  make_assignments.py [NAME ...] [--check] [--out DIR]
           build the student copies and solutions (all assignments, or those named);
           --check then grades each solution (full marks) and blank copy (zero)
  grade    make_assignments.py grade ASSIGNMENT SUBMISSIONS... --csv grades.csv
           --written answers.md [--timeout S] [--unsafe-no-sandbox]
           grade a class, each notebook in a sandbox; see make_assignments.py grade --help
"""


def grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make_assignments.py grade",
        description="Grade submitted notebooks, each in a bubblewrap sandbox; marks to a "
        "CSV (one row per file handed in, with the reason for any lost marks).",
    )
    parser.add_argument("assignment", help="e.g. 01_convolution")
    parser.add_argument("submissions", nargs="+", help="notebooks, or folders of them")
    parser.add_argument("--csv", help="write the marks to this CSV file")
    parser.add_argument("--written", help="collect the written answers in this Markdown file")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="the build folder")
    parser.add_argument(
        "--timeout",
        type=float,
        default=sandbox.Limits.seconds,
        help="seconds one submission may run (default %(default)g)",
    )
    parser.add_argument(
        "--memory-gb",
        type=float,
        default=8,
        help="address space one submission may use (default %(default)g GiB)",
    )
    parser.add_argument(
        "--seed",
        help="a secret (hex) for the random inputs, to regrade "
        "identically; by default a new one each run",
    )
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run students' code without the sandbox, with your rights (only for work you trust)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["grade"]:
        return grade_command(grade_parser().parse_args(argv[1:]))
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=COMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
