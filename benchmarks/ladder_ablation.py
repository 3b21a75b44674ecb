"""What each ingredient of rung 6 buys: remove one at a time, measure the test accuracy.

    python benchmarks/ladder_ablation.py           # every variant, seed 42, short budget
    python benchmarks/ladder_ablation.py --variants "no augmentation" crop --seeds 1 2 3 \
        --json benchmarks/results/ladder_ablation.json --save benchmarks/results/ladder_ablation.txt

Variants of rung 6, each trained with the lab's builders and rule (``ladder_runs.py``)
under the short budget by default (``cnnbook.ladder.SHORT_BUDGET``, 8 epochs: the fair
budget's 60 would take hours a variant; ``--budget fair`` runs them; the short budget
stops early on the validation loss; the threshold chosen on validation), scored on the book's test
split with 95% Wilson intervals, and compared with the whole recipe of the same seed on
the same photos (``cnnbook.ladder.ablation_effects``: McNemar's exact test):

- ``rung 6``: the whole recipe (the reference);
- ``no augmentation``, ``no batch norm``, ``no dropout``: one ingredient removed;
- ``MSE loss``: the squared error instead of binary cross-entropy;
- ``no label smoothing``, ``no weight decay`` (Adam instead of AdamW);
- ``flatten + dense``: the last maps flattened into a dense layer instead of averaged;
- ``crop``, ``pad``: photos of another shape centre-cropped or padded
  (``tf.image.resize_with_pad``) instead of stretched.

``--json`` is rewritten after every run; ``CNNBOOK_QUICK=1`` makes it a smoke test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# ladder_runs.py, beside this file: imported as benchmarks.ladder_runs (tests,
# python -m benchmarks.NAME) or, run as a script, from this folder on sys.path.
from cnnbook import ladder, metrics, timing

if __package__:
    from benchmarks import ladder_runs
else:
    import ladder_runs

#: name -> (resize mode, build_modern switches)
VARIANTS: dict[str, tuple[str, dict]] = {
    "rung 6": ("stretch", {}),
    "no augmentation": ("stretch", {"augment": False}),
    "no batch norm": ("stretch", {"batch_norm": False}),
    "no dropout": ("stretch", {"dropout": 0.0}),
    "MSE loss": ("stretch", {"loss": "mse"}),
    "no label smoothing": ("stretch", {"label_smoothing": 0.0}),
    "no weight decay": ("stretch", {"weight_decay": 0.0}),
    "flatten + dense": ("stretch", {"head": "flatten"}),
    "crop": ("crop", {}),
    "pad": ("pad", {}),
}


def report(records: list[dict], env: dict) -> str:
    lines = ladder_runs.report_header(
        "rung 6 ablation: test accuracy at the threshold chosen on validation",
        records,
        env,
    )
    lines += [
        "",
        f"{'variant':18}  {'seed':>5}  {'test acc':>8}  {'95% interval':>15}  {'n':>5}  "
        f"{'epochs':>7}  {'s/epoch':>8}  {'cpu':>3}",
    ]
    keys = ladder_runs.machine_keys(records)
    for r in records:
        lines.append(
            f"{r['variant']:18}  {r['seed']:>5}  {r['test_accuracy']:>8.3f}  "
            f"[{r['test_accuracy_low']:.3f}, {r['test_accuracy_high']:.3f}]  {r['n']:>5}  "
            f"{r['epochs']:>3}/{r['max_epochs']:<3}  {r['seconds_per_epoch']:>8.1f}  "
            f"{keys.get(r.get('machine'), '?'):>3}"
        )
    lines.append("")
    for name in dict.fromkeys(r["variant"] for r in records):
        values = [r["test_accuracy"] for r in records if r["variant"] == name]
        lines.append(f"{name:18}: test accuracy {ladder_runs.spread(values)}")
    effects = ladder.ablation_effects(records)
    if effects:
        lines += [
            "",
            f"against the whole recipe ({ladder.ABLATION_REFERENCE}), on the same test photos "
            "and seeds (McNemar's exact test):",
        ]
    for effect in effects:
        compared = effect.comparison
        lines.append(
            f"{effect.variant:18}: {effect.change * 100:+5.1f} points, "
            f"{metrics.p_value_text(compared.p_value)} ({effect.verdict}; right only with it "
            f"{compared.only_first}, only with the whole recipe {compared.only_second})"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANTS),
        choices=list(VARIANTS),
        metavar="VARIANT",
        help=f"any of: {', '.join(VARIANTS)} (default: all)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--save", type=Path, help="write the text report here")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the runs --json holds already (measured under the same budget)",
    )
    ladder_runs.add_budget_argument(parser, default=ladder.SHORT_BUDGET.name)
    args = parser.parse_args(argv)
    env = ladder_runs.environment(args.budget)
    records: list[dict] = (
        ladder_runs.earlier_records(args.json, "variants", env) if args.append else []
    )
    earlier_machines = ladder_runs.file_machines(args.json) if records else set()
    if records and earlier_machines != {timing.machine()}:
        raise SystemExit(  # before hours of training, not after
            f"{args.json} holds runs trained on {', '.join(sorted(earlier_machines))}"
            f", not on this machine ({timing.machine()}). A variant is compared with the "
            "whole recipe of the same seed, and a seed fixes the random draws, not the order "
            "of the floating-point sums, which differs between CPUs: write to a new file."
        )
    unpaired = [f"{r['variant']} (seed {r['seed']})" for r in records if "test_correct" not in r]
    if unpaired:  # before hours of training, not after
        raise SystemExit(
            f"{args.json} holds runs without per-photo flags (test_correct), which the paired "
            f"comparison needs: {', '.join(unpaired)}. Write to a new file instead."
        )
    book = ladder_runs.book_photos()
    for seed in args.seeds:
        for name in args.variants:
            resize, switches = VARIANTS[name]
            print(f"{name}, seed {seed} ...", file=sys.stderr, flush=True)
            record = ladder_runs.train_and_score(
                6, book, seed, resize=resize, budget_name=args.budget, **switches
            )
            records.append({"variant": name, "resize": resize, **record})
            ladder_runs.write_json(args.json, "variants", records, env)
    timing.publish_report(report(records, env), args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
