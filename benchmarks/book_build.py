"""How long a full-mode build of the whole book takes, from a fresh clone, lab by lab.

    python benchmarks/book_build.py --save benchmarks/results/book_build.txt
    CNNBOOK_QUICK=1 python benchmarks/book_build.py      # quick mode: a smoke test

The committed state of the repository (``git clone`` of HEAD: nothing uncommitted, no
execution cache) is built with ``jupyter-book build -W --keep-going`` in full mode, as the
publishing workflow builds it, with this repository's ``node_modules`` (the build typesets
the maths with Node). The report gives the whole build's wall-clock time and each
notebook's execution time, as jupyter-cache recorded it, with the load average before
and after: on a shared machine the time depends on what else runs. The cats-vs-dogs lab
trains under the page budget (``cnnbook.ladder.PAGE_BUDGET``); the chapter promises a
build under half an hour on a 2-core CPU, and this is where that is measured.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cnnbook import book, config, ladder, timing

ROOT = Path(__file__).resolve().parent.parent
GOAL_MINUTES = 30


def cache_name() -> str:
    """The book keeps one execution cache per mode (_ext/cnnbook_sphinx.py)."""
    return "quick" if config.quick_mode() else "full"


def notebook_seconds(cache_dir: Path) -> dict[str, float]:
    """Each executed notebook's seconds, from the build's jupyter-cache (the book keeps
    one cache per mode: ``_build/.jupyter_cache/full`` or ``.../quick``)."""
    from jupyter_cache import get_cache

    return {
        Path(record.uri).name: float((record.data or {}).get("execution_seconds", float("nan")))
        for record in get_cache(cache_dir).list_cache_records()
    }


def build(clone: Path, output: Path) -> tuple[int, float]:
    """Build the clone in full mode (quick mode if CNNBOOK_QUICK is set here)."""
    start = time.perf_counter()
    finished = subprocess.run(
        [
            str(Path(sys.executable).with_name("jupyter-book")),
            "build",
            str(clone),
            "-W",
            "--keep-going",
            "--path-output",
            str(output),
        ],
        env={**os.environ, "PYTHONPATH": str(clone / "src")},
        check=False,
    )
    return finished.returncode, time.perf_counter() - start


def report(
    seconds: float, returncode: int, notebooks: dict[str, float], loads: tuple, started=None
) -> str:
    """The text report; ``started``: when the build began (a UTC datetime; default now)."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    mode = "QUICK MODE (not a measurement)" if config.quick_mode() else "full mode"
    lines = [
        f"the whole book built from a fresh clone of {commit}, {mode}",
        timing.environment_line(when=started),
        f"load average before: {loads[0]:.1f}, after: {loads[1]:.1f}",
        # the lab checks this line (cnnbook.book.measured_build): a time measured under
        # another page budget, or quick mode's, is not quoted
        f"{book.BUILD_BUDGET_PREFIX}{ladder.budget(ladder.PAGE_BUDGET.name).describe()}",
        "",
        f"{'notebook':40} {'minutes':>8}",
        *(
            f"{name:40} {notebook_seconds / 60:>8.1f}"
            for name, notebook_seconds in notebooks.items()
        ),
        f"{'all notebooks':40} {sum(notebooks.values()) / 60:>8.1f}",
        "",
        f"whole build: {seconds / 60:.1f} minutes (goal: under {GOAL_MINUTES}"
        f"{'' if seconds < GOAL_MINUTES * 60 else ': OVER THE GOAL'}), "
        f"{'succeeded' if returncode == 0 else f'FAILED (exit status {returncode})'}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path, help="write the text report here")
    parser.add_argument("--keep", type=Path, help="build here (kept) instead of a temp folder")
    args = parser.parse_args(argv)
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep} is not empty: name a new or empty folder")
    with tempfile.TemporaryDirectory(prefix="cnnbook-build-") as temporary:
        where = args.keep or Path(temporary)
        clone, output = where / "book", where / "out"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        if (ROOT / "node_modules").is_dir():
            (clone / "node_modules").symlink_to(ROOT / "node_modules")
        else:
            subprocess.run(["npm", "ci", "--prefix", str(clone)], check=True)
        load_before, started = timing.load_average(), timing.utc_now()
        returncode, seconds = build(clone, output)
        notebooks = notebook_seconds(output / "_build" / ".jupyter_cache" / cache_name())
        loads = (load_before, timing.load_average())
        text = report(seconds, returncode, notebooks, loads, started)
    timing.publish_report(text, args.save)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
