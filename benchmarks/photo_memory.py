"""Peak memory of loading the cats-vs-dogs photos and training one epoch on them.

    python benchmarks/photo_memory.py                 # train split at 1x and 2x
    python benchmarks/photo_memory.py --scales 1,2,4 --save benchmarks/results/photo_memory.txt

Two ways to feed the photos to a network, each at 1x and 2x the training photos (2x
lists every photo twice, as a folder twice the size would; ``--scales`` adds more):

- ``numpy``: the original course's way, every photo decoded with Pillow, resized to a
  quarter of the most common shape and stacked in one float32 array
  (``cnnbook.photos.load_photos_in_memory``), then ``model.fit`` on the array;
- ``pipeline``: the book's way, every file checked (``check_photos``), then streamed
  from disk by ``cnnbook.photos.photo_dataset`` (decode and resize in parallel, a cache
  *file* of the small photos, a bounded shuffle buffer, batches, prefetch).

Each of the four cases runs in its own fresh Python process, which reports its own peak
resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``) after importing TensorFlow and
building the model (the baseline), after loading, and after one epoch of the ladder's
rung 2 (one Conv2D, a small model, so that the photos, not the network, dominate). The
goal: the pipeline's peak stays flat as the set doubles.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from cnnbook import timing

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

APPROACHES = ("numpy", "pipeline")
DEFAULT_SCALES = "1,2"
BATCH_SIZE = 32
RESULT_PREFIX = "RESULT "


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(approach: str, scale: int, split: str) -> dict:
    """Load ``scale`` copies of the photo list one way, train one epoch; report memory."""
    import numpy as np

    from cnnbook import ladder, photos, set_seed
    from cnnbook.data import cats_and_dogs_files

    set_seed(0)
    paths, labels = photos.labelled_paths(cats_and_dogs_files(split))
    paths, labels = photos.shuffled(paths * scale, np.tile(labels, scale), seed=0)
    image_shape = photos.scaled_shape(photos.most_common_shape(paths))
    model = ladder.build_one_conv(image_shape + (3,))
    baseline = peak_mb()

    start = time.perf_counter()
    if approach == "numpy":
        images = photos.load_photos_in_memory(paths, image_shape)
        targets = labels.astype("float32")
        fit_args = {"x": images, "y": targets, "batch_size": BATCH_SIZE, "shuffle": True}
    else:
        check = photos.check_photos(paths)
        keep = [path not in check.broken for path in paths]
        dataset = photos.photo_dataset(
            check.good, labels[keep], image_shape, batch_size=BATCH_SIZE, shuffle=True
        )
        fit_args = {"x": dataset}
    load_seconds = time.perf_counter() - start
    after_loading = peak_mb()

    start = time.perf_counter()
    model.fit(epochs=1, verbose=0, **fit_args)
    epoch_seconds = time.perf_counter() - start
    return {
        "approach": approach,
        "scale": scale,
        "photos": len(paths),
        "image_shape": list(image_shape),
        "baseline_mb": baseline,
        "after_loading_mb": after_loading,
        "peak_mb": peak_mb(),
        "load_seconds": load_seconds,
        "epoch_seconds": epoch_seconds,
    }


def measure(approach: str, scale: int, split: str) -> dict:
    """Run one case in a fresh Python process and read the result it prints."""
    command = [
        sys.executable,
        __file__,
        "--case",
        approach,
        "--scale",
        str(scale),
        "--split",
        split,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{approach} x{scale} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def report(results: list[dict], split: str, scales: list[int], load_before: float) -> str:

    by_case = {(r["approach"], r["scale"]): r for r in results}
    height, width = results[0]["image_shape"]
    lines = [
        (
            f"photo memory: the cats-vs-dogs '{split}' photos at "
            f"{', '.join(f'{s}x' for s in scales)} (each photo listed that many times), "
            f"resized to {height}x{width}; load them, then one epoch of ladder rung 2, "
            f"batch {BATCH_SIZE}; each case in a fresh process, peak RSS from getrusage"
        ),
        timing.environment_line(),
        (
            f"load average before the run: {load_before:.1f} (other processes share the CPUs: "
            "the seconds are those of a busy machine; the memory is not affected)"
        ),
        "",
        (
            f"{'approach':10s} {'scale':>5s} {'photos':>7s} {'baseline MB':>12s} "
            f"{'after load MB':>14s} {'peak MB':>9s} {'peak - base':>12s} {'load s':>8s} "
            f"{'epoch s':>8s}"
        ),
    ]
    for r in results:
        lines.append(
            f"{r['approach']:10s} {r['scale']:>4d}x {r['photos']:>7d} {r['baseline_mb']:>12.0f} "
            f"{r['after_loading_mb']:>14.0f} {r['peak_mb']:>9.0f} "
            f"{r['peak_mb'] - r['baseline_mb']:>12.0f} {r['load_seconds']:>8.1f} "
            f"{r['epoch_seconds']:>8.1f}"
        )
    lines.append("")
    for approach in APPROACHES:
        one = by_case[(approach, 1)]
        for scale in scales[1:]:
            more = by_case[(approach, scale)]
            growth = more["peak_mb"] - one["peak_mb"]
            extra = more["photos"] - one["photos"]
            lines.append(
                f"{approach:10s} peak at {scale}x / peak at 1x: "
                f"{more['peak_mb'] / one['peak_mb']:.2f}   ({growth:+.0f} MB for {extra} more "
                f"photos, {growth * 1e3 / extra:.0f} kB a photo)"
            )
    flat = by_case[("pipeline", 2)]["peak_mb"] / by_case[("pipeline", 1)]["peak_mb"]
    lines.append(
        f"goal: the pipeline's peak stays flat as the set doubles (ratio {flat:.2f}; "
        f"{'met' if flat < 1.1 else 'NOT met'} at a 10% tolerance)"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="train", choices=("train", "validation"))
    parser.add_argument(
        "--scales",
        default=DEFAULT_SCALES,
        help="how many times to list the photos, comma-separated; 1 and 2 "
        f"are always measured (default {DEFAULT_SCALES})",
    )
    parser.add_argument("--save", type=Path, help="also write the report to this file")
    parser.add_argument("--case", choices=APPROACHES, help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:  # a worker: one case, in this fresh process
        print(RESULT_PREFIX + json.dumps(run_case(args.case, args.scale, args.split)))
        return 0
    scales = sorted({1, 2, *(int(s) for s in args.scales.split(",") if s.strip())})
    if scales[0] < 1:
        parser.error(f"scales must be positive integers, not {args.scales!r}")
    load_before = timing.load_average()
    results = []
    for approach in APPROACHES:
        for scale in scales:
            print(f"measuring {approach} x{scale} ...", file=sys.stderr, flush=True)
            results.append(measure(approach, scale, args.split))
    text = report(results, args.split, scales, load_before)
    timing.publish_report(text, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
