"""Seconds per epoch of the MNIST convnet and of rung 6, on whatever device TensorFlow finds.

    python benchmarks/device_epoch_time.py                       # the labs' full sizes
    python benchmarks/device_epoch_time.py --quick               # a small, quick measure
    python benchmarks/device_epoch_time.py --mixed               # also mixed_float16 (GPU)
    python benchmarks/device_epoch_time.py --quick \
        --save benchmarks/results/device_epoch_time_cpu.txt

Each workload trains in a fresh Python process, through the package the labs check
themselves against: ``cnnbook.mnist`` (the source's 104,202-parameter convnet, rmsprop,
batch 64, 55,000 training digits) and ``cnnbook.ladder.build_modern`` (rung 6: augmentation,
four conv + batch-norm blocks, global average pooling; Adam, batch 32, the 2,000 training
photos at a quarter of their most common size, streamed by ``cnnbook.photos``). The first
epoch also traces the graph (and, for rung 6, decodes the photos into the pipeline's
cache), so it is reported apart from the mean of the later ones. The validation pass is
left out: these are training seconds. ``--mixed`` adds a run of each under the
``mixed_float16`` policy when there is a GPU (on a CPU it would be refused, and slower).

The device, the machine and the versions head the report, so GPU figures can be added to
``benchmarks/results/`` beside the CPU ones the day the project runs on one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from cnnbook import timing

WORKLOADS = ("mnist", "rung6")


def _timer():
    """A Keras callback: seconds of training in each epoch (validation not counted)."""
    from cnnbook.ladder import EpochTimer

    return EpochTimer()


def run_mnist(quick: bool, epochs: int, mixed: bool) -> dict:
    import cnnbook
    from cnnbook import mnist
    from cnnbook.data import load_mnist

    policy = cnnbook.use_mixed_precision(mixed)
    (images, labels), _ = load_mnist()
    if quick:
        images, labels = images[:6000], labels[:6000]
    images = mnist.preprocess(images)
    (images, labels), _ = mnist.split_validation(images, labels, num_validation=500, seed=0)
    cnnbook.set_seed(42)
    model = mnist.build_mnist_convnet()
    timer = _timer()
    mnist.train(
        model,
        images,
        labels,
        num_epochs=epochs,
        batch_size=mnist.BATCH_SIZE,
        callbacks=[timer],
        verbose=0,
    )
    return {"examples": len(labels), "seconds": timer.seconds, "policy": policy}


def run_rung6(quick: bool, epochs: int, mixed: bool) -> dict:
    import cnnbook
    from cnnbook import ladder, photos

    policy = cnnbook.use_mixed_precision(mixed)
    train = photos.cats_and_dogs_photos("train", limit=400 if quick else None, seed=0)
    shape = photos.scaled_shape(photos.most_common_shape(train.paths, sample_size=100))
    data = photos.photo_dataset(train.paths, train.labels, shape, batch_size=32, shuffle=True)
    cnnbook.set_seed(42)
    model = ladder.build_modern(shape + (3,), seed=42)
    timer = _timer()
    model.fit(data, epochs=epochs, callbacks=[timer], verbose=0)
    return {
        "examples": len(train.labels),
        "seconds": timer.seconds,
        "policy": policy,
        "image_shape": list(shape),
    }


def worker(workload: str, quick: bool, epochs: int, mixed: bool) -> int:
    import tensorflow as tf

    from cnnbook.book import compute_device

    if mixed and not tf.config.list_physical_devices("GPU"):
        print("RESULT " + json.dumps({"policy": "float32", "device": compute_device()}))
        return 0  # mixed precision is refused on a CPU: nothing to measure
    run = run_mnist if workload == "mnist" else run_rung6
    result = run(quick, epochs, mixed)
    result.update(device=compute_device(), tensorflow=tf.__version__)
    print("RESULT " + json.dumps(result))
    return 0


def run_in_fresh_process(workload: str, quick: bool, epochs: int, mixed: bool) -> dict:
    command = [sys.executable, __file__, "--worker", workload, "--epochs", str(epochs)]
    command += ["--quick"] * quick + ["--mixed"] * mixed
    load_before = timing.load_average()
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the {workload} run failed:\n{completed.stderr[-4000:]}")
    line = next(x for x in completed.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result.update(workload=workload, load_before=load_before, load_after=timing.load_average())
    return result


def report(runs: list[dict], quick: bool, epochs: int) -> str:
    devices = sorted({run["device"] for run in runs})
    lines = [
        "Seconds per training epoch on the device TensorFlow found: MNIST convnet and rung 6",
        timing.environment_line(),
        f"device: {', '.join(devices)}; {'quick' if quick else 'full'} sizes, {epochs} epochs "
        "each, each run in a fresh process (load = 1-minute load average before/after)",
        "",
        f"{'workload':9s} {'policy':14s} {'examples':>8s} {'epoch 1':>8s} {'later (mean)':>12s} "
        f"{'examples/s':>10s} {'load':>9s}",
    ]
    for run in runs:
        seconds = run["seconds"]
        later = seconds[1:] or seconds
        mean_later = sum(later) / len(later)
        lines.append(
            f"{run['workload']:9s} {run['policy']:14s} {run['examples']:8d} {seconds[0]:8.1f} "
            f"{mean_later:12.1f} {run['examples'] / mean_later:10.0f} "
            f"{run['load_before']:4.1f}/{run['load_after']:<4.1f}"
        )
    shapes = {tuple(r["image_shape"]) for r in runs if "image_shape" in r}
    lines += [
        "",
        "(training seconds per epoch, validation left out; epoch 1 includes tracing and, for",
        " rung 6, decoding the photos into the pipeline's cache"
        + (f"; rung 6 photos at {', '.join(f'{h}x{w}' for h, w in shapes)})" if shapes else ")"),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="6,000 digits and 400 photos instead of all of them"
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    parser.add_argument(
        "--mixed", action="store_true", help="also run under mixed_float16 (on a GPU only)"
    )
    parser.add_argument("--workloads", nargs="*", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--save", type=Path, help="also write the report to this file")
    parser.add_argument("--worker", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.worker:
        return worker(args.worker, args.quick, args.epochs, args.mixed)
    runs = []
    for workload in args.workloads:
        policies = [False]
        if args.mixed:
            policies.append(True)
        for mixed in policies:
            print(f"{workload}{' (mixed)' if mixed else ''} ...", file=sys.stderr, flush=True)
            run = run_in_fresh_process(workload, args.quick, args.epochs, mixed)
            if mixed and run["policy"] != "mixed_float16":
                print("  no GPU: mixed precision refused, run left out", file=sys.stderr)
                continue
            runs.append(run)
    text = report(runs, args.quick, args.epochs)
    timing.publish_report(text, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
