"""The cats-vs-dogs ladder over several seeds: mean and spread of each rung's test accuracy.

    python benchmarks/ladder_seeds.py                      # every rung, seeds 1 2 3
    python benchmarks/ladder_seeds.py --rungs 6 --seeds 42 --json out.json
    python benchmarks/ladder_seeds.py --rungs 6 --seeds 42 --test-dir my_pets --json out.json

Each (rung, seed) trains with the lab's builders under the fair budget by default
(every rung all 60 epochs, the epoch of lowest validation loss kept; ``--budget page``:
the lab's shorter default, with early stopping; the threshold chosen on validation;
``benchmarks/ladder_runs.py``) and is scored on the book's test split. The spread over
seeds (the order of the photos, the initial weights, the random augmentations) is what
one build's single run cannot show.

``--test-dir DIR`` scores the trained rungs on your own photos, laid out as
``DIR/cats/*.jpg`` and ``DIR/dogs/*.jpg`` (broken files are named and skipped); the
``test_*`` fields of ``--json`` are then that folder's, at the threshold chosen on the
book's validation photos. ``--json`` writes ``{"rungs": [{"rung", "seed",
"test_accuracy", "test_accuracy_at_0.5", "threshold", "n", ...}], "environment": {...}}``,
rewritten after every run. ``--save`` writes the text report; its ``steal`` column is
the share of the machine's CPU time its hypervisor gave to other virtual machines during
the run (``cnnbook.timing.CpuClock``), which is why the same run's minutes vary. A full
run of every rung over three seeds takes hours on a 2-core CPU; CNNBOOK_QUICK=1 makes it
a smoke test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# ladder_runs.py, beside this file: imported as benchmarks.ladder_runs (tests,
# python -m benchmarks.NAME) or, run as a script, from this folder on sys.path.
from cnnbook import timing

if __package__:
    from benchmarks import ladder_runs
else:
    import ladder_runs

DEFAULT_SEEDS = (1, 2, 3)


def parse_rungs(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--rungs takes numbers like 1,2,6, not {text!r}"
        ) from None
    if not numbers or any(not 1 <= n <= 6 for n in numbers):
        raise argparse.ArgumentTypeError(f"the rungs are 1 to 6, not {text!r}")
    return numbers


def replace_run(records: list[dict], record: dict) -> list[dict]:
    """``records`` with ``record`` added, in place of an earlier run of the same rung and
    seed on the same test photos (a rerun supersedes it: one run per seed in the mean)."""
    same = [
        r
        for r in records
        if (r["rung"], r["seed"], r.get("test_set"))
        == (record["rung"], record["seed"], record.get("test_set"))
    ]
    for earlier in same:
        print(
            f"rung {record['rung']}, seed {record['seed']}: replaces the run of "
            f"{earlier.get('date', 'an unknown date')} (test accuracy "
            f"{earlier['test_accuracy']:.3f}, now {record['test_accuracy']:.3f})",
            file=sys.stderr,
        )
    kept = [r for r in records if not any(r is earlier for earlier in same)]
    if same:  # where the earlier run stood, so the report keeps its order
        index = records.index(same[0])
        return [*kept[:index], record, *kept[index:]]
    return [*kept, record]


def _percent(fraction: float | None) -> str:
    """A share as a whole percentage; '?' for runs that did not record it."""
    return "?" if fraction is None else f"{100 * fraction:.0f}%"


def report(records: list[dict], env: dict) -> str:
    lines = ladder_runs.report_header(
        "cats-vs-dogs ladder over seeds: test accuracy at the threshold chosen on validation",
        records,
        env,
    )
    lines += [
        "",
        f"{'rung':>4}  {'seed':>5}  {'test acc':>8}  {'95% interval':>15}  {'n':>5}  "
        f"{'thr':>4}  {'epochs':>7}  {'s/epoch':>8}  {'minutes':>7}  {'steal':>5}  "
        f"{'cpu':>3}  started (load)    test set",
    ]
    keys = ladder_runs.machine_keys(records)
    for r in records:
        lines.append(
            f"{r['rung']:>4}  {r['seed']:>5}  {r['test_accuracy']:>8.3f}  "
            f"[{r['test_accuracy_low']:.3f}, {r['test_accuracy_high']:.3f}]  {r['n']:>5}  "
            f"{r['threshold']:>4.1f}  {r['epochs']:>3}/{r['max_epochs']:<3}  "
            f"{r['seconds_per_epoch']:>8.1f}  {r['train_seconds'] / 60:>7.1f}  "
            f"{_percent(r.get('steal_fraction')):>5}  {keys.get(r.get('machine'), '?'):>3}  "
            f"{r.get('date', '?')[11:16]} ({r.get('load_average_at_start', '?')})  "
            f"{r['test_set']}"
        )
    lines.append("")
    for number in sorted({r["rung"] for r in records}):
        values = [r["test_accuracy"] for r in records if r["rung"] == number]
        lines.append(f"rung {number}: test accuracy {ladder_runs.spread(values)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rungs",
        type=parse_rungs,
        default=[1, 2, 3, 4, 5, 6],
        help="comma-separated rung numbers (default: all six)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    parser.add_argument(
        "--test-dir", type=Path, help="also score on this folder of cats/*.jpg and dogs/*.jpg"
    )
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--save", type=Path, help="write the text report here")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the runs --json holds already (measured under the same budget); a "
        "rung and seed trained again replaces its earlier run",
    )
    ladder_runs.add_budget_argument(parser)
    args = parser.parse_args(argv)
    extra_test = ladder_runs.folder_photos(args.test_dir) if args.test_dir else None
    book = ladder_runs.book_photos()
    env = ladder_runs.environment(args.budget)
    records: list[dict] = (
        ladder_runs.earlier_records(args.json, "rungs", env) if args.append else []
    )
    for seed in args.seeds:
        for number in args.rungs:
            print(f"rung {number}, seed {seed} ...", file=sys.stderr, flush=True)
            record = ladder_runs.train_and_score(
                number, book, seed, extra_test=extra_test, budget_name=args.budget
            )
            records = replace_run(records, record)
            ladder_runs.write_json(args.json, "rungs", records, env)
    timing.publish_report(report(records, env), args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
