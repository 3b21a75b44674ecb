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
import subprocess
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
            outcome = sandbox.run(argv, seconds=seconds, log=folder / "log.txt")
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
        started = time.perf_counter()
        with open(folder / "log.txt", "wb") as log:
            process = subprocess.Popen(
                argv,
                cwd=folder / "work",
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                code, timed_out = process.wait(timeout=seconds), False
            except subprocess.TimeoutExpired:
                sandbox._kill(process)
                code, timed_out = None, True
            except BaseException:
                sandbox._kill(process)
                raise
        return sandbox.Outcome(
            code, time.perf_counter() - started, timed_out, sandbox.log_tail(folder / "log.txt")
        )

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
        path = out / "_cells.json"
        try:
            cells = json.loads(path.read_text()) if path.is_file() else None
        except ValueError:
            cells = None
        if not isinstance(cells, dict):
            return ["the notebook did not start"]
        problems = []
        errors = cells.get("errors") if isinstance(cells.get("errors"), list) else []
        stopped = [str(e[0]) for e in errors if isinstance(e, list) and e[-1:] == ["CellTimeout"]]
        failed = [str(e[0]) for e in errors if isinstance(e, list) and e[-1:] != ["CellTimeout"]]
        if stopped:
            problems.append(f"cells stopped for running too long: {', '.join(stopped[:5])}")
        if failed:
            problems.append(f"cells that raised an error: {', '.join(failed[:8])}")
        if not cells.get("done"):
            problems.append(f"the notebook stopped in cell {cells.get('last', '?')}")
        return problems

    # -- one submission
    def grade(self, path: Path) -> Grade:
        """Grade one file; whatever is wrong with it costs only its own marks."""
        try:
            return self._grade(Path(path))
        except Exception as error:  # noqa: BLE001 - one bad file must not stop the class
            grade = Grade(Path(path).name, possible=self.possible())
            grade.scores = dict.fromkeys(grade.possible, 0.0)
            grade.problems.append(f"could not be graded: {type(error).__name__}: {error}"[:300])
            return grade

    def _grade(self, path: Path) -> Grade:
        started = time.perf_counter()
        grade = Grade(path.name, possible=self.possible())
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


def submissions_in(paths: list[Path], exclude: set[Path] = frozenset()) -> list[Path]:
    """Every file handed in: notebooks and anything else (it gets a row and a reason)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(
                p
                for p in path.iterdir()
                if p.is_file() and not p.name.startswith(".") and p.resolve() not in exclude
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ValueError(f"{path} is neither a file nor a folder of submissions")
    if not found:
        raise ValueError(f"no submissions in {[str(p) for p in paths]}")
    return found


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
