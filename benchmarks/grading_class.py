"""How long does grading a class take, and what does the sandbox cost?

    python -m benchmarks.grading_class                        # 30 submissions of assignment 1
    python -m benchmarks.grading_class --class-size 30 --overhead-rounds 5 \
        --save benchmarks/results/grading_class.txt

Builds assignment 1 into a temporary folder, writes a class of submissions (a third
honest, a third blank, a third wrong: hand values off by one and a ``conv2d`` that
forgets the stride), and grades it as ``make_assignments.py grade`` does, one submission
after the other, each in its own bubblewrap sandbox. Then it measures the sandbox's
overhead: the same honest notebook graded with and without the sandbox
(``--unsafe-no-sandbox``), in interleaved rounds, median of each. Last, the memory a
TensorFlow assignment needs in the sandbox (the solutions of assignment 4, which load
MNIST and build a Keras model), to choose ``--memory-gb``: its peak address space (what
the limit caps) and peak resident memory. That part needs ``CNNBOOK_DATA``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cnnbook import timing
from tools import make_assignments  # run from the repository root, as a module (see above)
from tools.grading import sandbox
from tools.grading.grade import Grader

ROOT = Path(__file__).resolve().parents[1]

NAME = "01_convolution"
WRONG_CELL = """\
valid_by_hand = np.array([[1, -1, -1], [-1, 1, 3], [2, 0, -2]])
strided_by_hand = np.array([[0, -1], [2, -1]])
sizes = [24, 13, 6]
same_pad = (1, 1)

def conv2d(image, kernel, stride=1, padding="valid"):
    from numpy.lib.stride_tricks import sliding_window_view
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    return np.einsum("ijkl,kl->ij", sliding_window_view(image, kernel.shape), kernel)
"""


def write_class(folder: Path, built: Path, size: int) -> dict[str, str]:
    """``size`` submissions, honest, blank and wrong in turn; returns {file: kind}."""
    honest = json.loads(make_assignments.solutions_copy(built).read_text())
    blank = json.loads(make_assignments.student_copy(built).read_text())
    wrong = json.loads(json.dumps(blank))
    wrong["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "source": WRONG_CELL,
            "outputs": [],
            "execution_count": None,
        }
    )
    kinds = {}
    for index in range(size):
        kind, notebook = [("honest", honest), ("blank", blank), ("wrong", wrong)][index % 3]
        name = f"student{index:02d}_{kind}.ipynb"
        (folder / name).write_text(json.dumps(notebook))
        kinds[name] = kind
    return kinds


PEAK_CELL = (
    "print('PEAK', *[line.split()[1] for line in open('/proc/self/status')\n"
    "                if line.startswith(('VmPeak', 'VmHWM'))])"
)


def sandbox_peak_memory(scratch: Path, name: str = "04_mnist") -> tuple[float, float]:
    """Peak address space and peak resident memory (GiB) of ``name``'s solutions, sandboxed."""
    built = make_assignments.build_one(ROOT / "assignments" / f"{name}.ipynb", scratch)
    grader = make_assignments.make_grader(built)
    notebook = json.loads(make_assignments.solutions_copy(built).read_text())
    notebook["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "source": PEAK_CELL,
            "outputs": [],
            "execution_count": None,
        }
    )
    _, folder = grader.run(notebook, grader.plan_for(b"memory"))
    try:
        line = next(x for x in (folder / "log.txt").read_text().splitlines() if "PEAK" in x)
    finally:
        sandbox.remove_folder(folder)
    peak, resident = (int(value) / 2**20 for value in line.split()[1:3])
    return peak, resident


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-size", type=int, default=30)
    parser.add_argument("--overhead-rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--save", help="also write the report to this file")
    args = parser.parse_args(argv)

    load_before = timing.load_average()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as scratch:
        scratch = Path(scratch)
        built = make_assignments.build_one(ROOT / "assignments" / f"{NAME}.ipynb", scratch)
        submissions = scratch / "class"
        submissions.mkdir()
        kinds = write_class(submissions, built, args.class_size)
        limits = sandbox.Limits(seconds=args.timeout)
        grader = Grader(NAME, make_assignments.student_copy(built), limits=limits)
        started = time.perf_counter()
        grades = [grader.grade(path) for path in sorted(submissions.iterdir())]
        total = time.perf_counter() - started
        by_kind: dict[str, list[float]] = {}
        for grade in grades:
            by_kind.setdefault(kinds[grade.submission], []).append(grade.total)

        unsafe = Grader(
            NAME, make_assignments.student_copy(built), limits=limits, use_sandbox=False
        )
        honest = make_assignments.solutions_copy(built)
        with_sandbox, without = [], []
        for _ in range(args.overhead_rounds):
            for target, runner in ((with_sandbox, grader), (without, unsafe)):
                graded = runner.grade(honest)
                assert graded.total == graded.out_of, graded.failed_checks
                target.append(graded.seconds)
        peak, resident = sandbox_peak_memory(scratch)
    load_after = timing.load_average()

    per_submission = [g.seconds for g in grades]
    median_with, median_without = statistics.median(with_sandbox), statistics.median(without)
    lines = [
        (
            f"grading a class: {args.class_size} submissions of {NAME}, one after the other, "
            "each in its own bubblewrap sandbox"
        ),
        timing.environment_line(
            packages=("numpy",), extra=[os.popen("bwrap --version").read().strip()]
        ),
        (
            f"load average before / after: {load_before:.1f} / {load_after:.1f} (a shared "
            "machine: other processes used the CPUs, so these are timings of a busy machine; "
            "run with nice)"
        ),
        "",
        f"whole class:              {total:7.1f} s  ({total / 60:.1f} min)",
        (
            f"per submission:           median {statistics.median(per_submission):.2f} s, "
            f"min {min(per_submission):.2f} s, max {max(per_submission):.2f} s"
        ),
        "marks by kind:            "
        + ", ".join(f"{kind} {sorted(set(marks))}" for kind, marks in sorted(by_kind.items())),
        "",
        (
            f"sandbox overhead (the honest notebook, {args.overhead_rounds} interleaved rounds, "
            "median):"
        ),
        f"  with the sandbox:       {median_with:.2f} s",
        f"  without (unsafe):       {median_without:.2f} s",
        (
            f"  overhead:               {median_with - median_without:+.2f} s "
            f"({median_with / median_without:.2f}x)"
        ),
    ]
    lines += [
        "",
        "memory in the sandbox, the solutions of 04_mnist (TensorFlow, MNIST, a Keras model):",
        f"  peak address space:     {peak:.2f} GiB  (the --memory-gb limit caps this; default 8)",
        f"  peak resident memory:   {resident:.2f} GiB",
    ]
    text = "\n".join(lines) + "\n"
    timing.publish_report(text, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
