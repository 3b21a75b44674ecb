"""Grade a class: each notebook in its own sandbox, the marks decided outside it.

For each submission: read it as JSON (a file that is not a notebook, or a notebook of
another assignment, gets zero and a reason); list the reference code its answers use;
run it in a fresh sandbox with the assignment's probes and fresh random inputs; then
mark the answers it wrote back against the book's reference, in this process, which
never runs student code.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import assignments, flags, report, sandbox
from .plan import Answers, Plan

RUNNER = Path(__file__).with_name("run_notebook.py")
SKIP_TAGS = ("otter_ignore", "cnnbook-grader")


@dataclass
class Grade:
    """One submission's marks, and why it lost any it lost."""

    submission: str
    scores: dict[str, float] = field(default_factory=dict)
    possible: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    reference_code: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notebook: dict | None = None
    log_tail: str = ""  # the end of what the notebook printed (untrusted text)

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def out_of(self) -> float:
        return sum(self.possible.values())


@dataclass
class Grader:
    """Grades submissions of one assignment, whose handed-out copy is ``handout``."""

    assignment: str
    handout: Path
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    use_sandbox: bool = True
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    data_folder: Path | None = None
    quick: bool = False

    def __post_init__(self):
        handout = report.read_notebook(Path(self.handout))
        self.given_code = {
            "".join(c["source"]).strip() for c in handout["cells"] if c["cell_type"] == "code"
        }
        if self.use_sandbox:
            sandbox.check_available()
        self.mounts = sandbox.python_mounts()
        if self.data_folder is not None:
            self.mounts.add(self.data_folder)
        if self.use_sandbox:  # refused once, to the teacher, not once per student
            sandbox.check_mounts(self.mounts)

    # -- pieces
    def plan_for(self, content: bytes) -> Plan:
        """The probes and checks of one submission, its inputs seeded from the secret."""
        digest = hashlib.sha256(self.secret + hashlib.sha256(content).digest()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:16], "little"))
        return assignments.plan_for(self.assignment, rng)

    def possible(self) -> dict[str, float]:
        return assignments.plan_for(self.assignment, np.random.default_rng(0)).points()

    def environment(self) -> dict[str, str]:
        extra = {"CNNBOOK_QUICK": "1" if self.quick else "0"}
        if self.data_folder is not None:
            extra["CNNBOOK_DATA"] = str(Path(self.data_folder).resolve())
        return sandbox.sandbox_environment(extra)

    def command(self, folder: Path) -> list[str]:
        inside = sandbox.SANDBOX_HOME if self.use_sandbox else str(folder)
        runner = sandbox.RUNNER_PATH if self.use_sandbox else str(RUNNER)
        python = [
            sys.executable,
            "-u",
            runner,
            f"{inside}/work/submission.ipynb",
            f"{inside}/work/probe.json",
            f"{inside}/work/inputs.npz",
            f"{inside}/out",
        ]
        if self.use_sandbox:
            return sandbox.bwrap_command(
                folder,
                python,
                environment=self.environment(),
                mounts=self.mounts,
                runner=RUNNER,
                limits=self.limits,
            )
        return python

    def run(self, notebook: dict, plan: Plan) -> tuple[sandbox.Outcome, Path]:
        """Run the notebook and its probes; returns how it ended and its folder."""
        folder = sandbox.make_folder()
        work = folder / "work"
        (work / "submission.ipynb").write_text(json.dumps(notebook))
        np.savez(work / "inputs.npz", **plan.inputs)
        seconds = self.limits.seconds
        (work / "probe.json").write_text(
            json.dumps(
                {
                    "skip_tags": list(SKIP_TAGS),
                    "cell_seconds": max(5.0, seconds / 2),
                    "call_seconds": max(5.0, seconds / 4),
                    "probes": [probe.as_json() for probe in plan.probes],
                }
            )
        )
        argv = self.command(folder)
        if self.use_sandbox:
            outcome = sandbox.run(argv, seconds=seconds)
        else:
            outcome = self._run_unsafe(argv, folder, seconds)
        return outcome, folder

    def _run_unsafe(self, argv: list[str], folder: Path, seconds: float) -> sandbox.Outcome:
        environment = self.environment()
        environment.update(
            HOME=str(folder / "home"),
            TMPDIR=str(folder / "scratch"),
            MPLCONFIGDIR=str(folder / "home"),
            PYTHONPATH=str(sandbox.package_folder().parent),
        )
        return sandbox.supervise(argv, seconds, cwd=folder / "work", env=environment)

    def mark(self, grade: Grade, plan: Plan, out: Path) -> None:
        answers = Answers(out)
        for check in plan.checks:
            try:
                with warnings.catch_warnings():  # a library's warning is not a wrong answer
                    warnings.simplefilter("ignore")
                    check.mark(answers)
            except Exception as error:  # noqa: BLE001 - a wrong answer, whatever it raised
                message = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
                grade.failed_checks.append(f"{check.question} {check.what}: {message}")
                grade.scores[check.question] = grade.scores.get(check.question, 0.0)
            else:
                grade.scores[check.question] = grade.scores.get(check.question, 0.0) + check.points

    @staticmethod
    def cell_problems(out: Path) -> list[str]:
        """What went wrong in the cells, from the ``_cells.json`` the sandbox wrote."""
        answers = Answers(out)
        try:
            data = answers.read("_cells.json", "_cells.json")
            cells = json.loads(data.decode("utf-8")) if data is not None else None
        except (ValueError, UnicodeDecodeError, RecursionError, MemoryError, AssertionError):
            cells = None
        if not isinstance(cells, dict):
            return ["the notebook did not start"]
        problems = []
        errors = cells.get("errors") if isinstance(cells.get("errors"), list) else []
        errors = [e for e in errors[:1000] if isinstance(e, list) and len(e) == 2]
        stopped = [_cell_number(e[0]) for e in errors if e[1] == "CellTimeout"]
        failed = [_cell_number(e[0]) for e in errors if e[1] != "CellTimeout"]
        if stopped:
            problems.append(f"cells stopped for running too long: {', '.join(stopped[:5])}")
        if failed:
            problems.append(f"cells that raised an error: {', '.join(failed[:8])}")
        if not cells.get("done"):
            problems.append(f"the notebook stopped in cell {_cell_number(cells.get('last'))}")
        return problems

    # -- one submission
    def grade(self, path: Path, name: str | None = None) -> Grade:
        """Grade one file (its row is called ``name``, by default the file's name).

        Whatever is wrong with it (even a RecursionError or MemoryError it causes)
        costs only its own marks.
        """
        name = name or Path(path).name
        try:
            return self._grade(Path(path), name)
        except Exception as error:  # noqa: BLE001 - go on (RecursionError, MemoryError too)
            return self.zero(name, f"could not be graded: {type(error).__name__}: {error}")

    def zero(self, name: str, reason: str) -> Grade:
        """A row with no marks, and why."""
        grade = Grade(name, possible=self.possible())
        grade.scores = dict.fromkeys(grade.possible, 0.0)
        grade.problems.append(reason[:300])
        return grade

    def _grade(self, path: Path, name: str) -> Grade:
        started = time.perf_counter()
        grade = Grade(name, possible=self.possible())
        grade.scores = dict.fromkeys(grade.possible, 0.0)
        try:
            notebook = report.read_notebook(path)
        except (ValueError, OSError) as error:
            grade.problems.append(str(error))
            grade.seconds = time.perf_counter() - started
            return grade
        grade.notebook = notebook
        other = _assignment_name(notebook)
        if other and other != self.assignment:
            grade.problems.append(f"a notebook of another assignment ({other})")
            grade.seconds = time.perf_counter() - started
            return grade
        grade.reference_code = flags.reference_code_uses(
            notebook, self.given_code, assignments.FORBIDDEN.get(self.assignment, {})
        )
        plan = self.plan_for(path.read_bytes())
        folder = None
        try:
            outcome, folder = self.run(notebook, plan)
            grade.log_tail = outcome.log_tail
            if outcome.reason:
                grade.problems.append(outcome.reason)
            grade.problems += self.cell_problems(folder / "out")
            self.mark(grade, plan, folder / "out")
        finally:
            if folder is not None:
                sandbox.remove_folder(folder)
        grade.seconds = time.perf_counter() - started
        return grade


def _assignment_name(notebook: dict) -> str | None:
    """The assignment a notebook says it is (otter's metadata), or None if it does not say."""
    metadata = notebook.get("metadata")
    otter = metadata.get("otter") if isinstance(metadata, dict) else None
    name = otter.get("assignment_name") if isinstance(otter, dict) else None
    return name if isinstance(name, str) else None


def _cell_number(value) -> str:
    """A cell number the sandbox wrote, as a plain number (or '?')."""
    try:
        return str(int(value))
    except (TypeError, ValueError, OverflowError):
        return "?"


def submissions_in(
    paths: list[Path], exclude: set[Path] = frozenset()
) -> list[tuple[Path, str, str | None]]:
    """Every entry handed in, as ``(path, row name, reason it is skipped or None)``.

    Folders are walked to any depth (an LMS export has a folder per student); the row
    name is the path relative to the folder given (with the folder's name in front when
    two rows would otherwise share a name). Hidden files, symlinks and anything that is
    not a regular file get a row saying why they were not graded.
    """
    found: list[tuple[Path, str, str | None]] = []
    for given in map(Path, paths):
        if given.is_dir() and not given.is_symlink():
            for path in sorted(given.rglob("*")):
                if path.resolve() in exclude or path.is_dir() and not path.is_symlink():
                    continue
                relative = path.relative_to(given)
                reason = _skip_reason(path, relative)
                found.append((path, relative.as_posix(), reason))
        elif given.is_file():
            found.append((given, given.name, None))
        else:
            raise ValueError(f"{given} is neither a file nor a folder of submissions")
    if not found:
        raise ValueError(f"no submissions in {[str(p) for p in paths]}")
    names = [name for _, name, _ in found]
    if len(set(names)) < len(names):  # several folders: keep rows apart
        found = [(path, _qualified(path, name, paths), reason) for path, name, reason in found]
    return found


def _skip_reason(path: Path, relative: Path) -> str | None:
    if any(part.startswith(".") for part in relative.parts):
        return "not graded: a hidden file"
    if path.is_symlink():
        return "not graded: a symbolic link"
    if not path.is_file():
        return "not graded: not a regular file"
    return None


def _qualified(path: Path, name: str, given: list[Path]) -> str:
    for folder in map(Path, given):
        if folder.is_dir() and path.is_relative_to(folder):
            return (Path(folder.resolve().name) / name).as_posix()
    return str(path)


def grades_csv(grades: list[Grade]) -> str:
    questions = sorted({q for g in grades for q in g.possible})
    header = [
        "submission",
        *questions,
        "total",
        "possible",
        "problems",
        "failed_checks",
        "reference_code",
    ]
    rows = [
        [
            g.submission,
            *(round(g.scores.get(q, 0.0), 4) for q in questions),
            round(g.total, 4),
            round(g.out_of, 4),
            "; ".join(g.problems),
            "; ".join(g.failed_checks),
            "; ".join(g.reference_code),
        ]
        for g in grades
    ]
    return report.csv_text(header, rows)


def write_grades(grades: list[Grade], csv_path: Path | None, written_path: Path | None) -> None:
    if csv_path:
        report.write_atomically(Path(csv_path), grades_csv(grades))
    if written_path:
        text = report.written_answers_text([(g.submission, g.notebook) for g in grades])
        report.write_atomically(Path(written_path), text)


__all__ = ["Grade", "Grader", "grades_csv", "submissions_in", "write_grades"]
