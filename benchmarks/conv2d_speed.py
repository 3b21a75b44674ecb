"""How fast is the book's numpy convolution? Against tf.nn.conv2d and the naive loop.

    python benchmarks/conv2d_speed.py                 # 1024x1024 image, 3x3 kernel
    python benchmarks/conv2d_speed.py --size 2048 --kernel 5 --repeats 20
    python benchmarks/conv2d_speed.py --save benchmarks/results/conv2d_speed.txt

The measuring is ``cnnbook.timing.time_conv2d`` (the convolution lab calls it too): all
methods in one run, interleaved rounds, best round of each; float32 inputs, as
TensorFlow computes; ``tf.nn.conv2d`` from a numpy array to a numpy array like
``conv2d``, and also on tensors already in TensorFlow. The naive loop (one Python
iteration per output pixel) would take seconds to minutes on the full image: it runs
on a ``--naive-size`` crop and its time is scaled by the ratio of output pixels.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cnnbook import timing  # imports TensorFlow only when time_conv2d runs

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def report(size: int, kernel_size: int, repeats: int, naive_size: int, result: dict) -> str:
    seconds = result["seconds"]
    fast = seconds["conv2d"]
    lines = [
        (
            f"conv2d speed: {size}x{size} float32 image, {kernel_size}x{kernel_size} kernel, "
            f"'valid' padding, best of {repeats} interleaved rounds"
        ),
        timing.environment_line(packages=("numpy", "tensorflow")),
        (
            f"load average before the run: {result['load_average']:.1f} "
            "(other processes share the CPUs: timings of a busy machine)"
        ),
        "",
        f"{'method':56s} {'time (ms)':>10s} {'/ conv2d':>9s}",
    ]
    for key, value in sorted(seconds.items(), key=lambda item: item[1]):
        lines.append(f"{timing.SPEED_METHODS[key]:56s} {value * 1e3:10.2f} {value / fast:9.2f}")
    lines += [
        "",
        (
            f"conv2d / tf.nn.conv2d, numpy in and out: {fast / seconds['tensorflow']:6.2f}"
            "   (goal: at most 3)"
        ),
        f"conv2d / tf.nn.conv2d, on tensors:       {fast / seconds['tensorflow_tensors']:6.2f}",
        f"naive loop / conv2d:                     {seconds['naive'] / fast:6.0f}",
        (
            f"(the naive loop ran on a {naive_size}x{naive_size} crop in "
            f"{result['naive_seconds_measured'] * 1e3:.1f} ms; scaled by "
            f"{result['naive_scale']:.1f}, the ratio of output pixels)"
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="image side (default 1024)")
    parser.add_argument("--kernel", type=int, default=3, help="kernel side (default 3)")
    parser.add_argument("--repeats", type=int, default=30, help="rounds (default 30)")
    parser.add_argument(
        "--naive-size", type=int, default=128, help="crop side for the naive loop (default 128)"
    )
    parser.add_argument("--save", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    load_average = timing.load_average()
    result = timing.time_conv2d(args.size, args.kernel, args.repeats, args.naive_size)
    result["load_average"] = load_average
    text = report(args.size, args.kernel, args.repeats, args.naive_size, result)
    timing.publish_report(text, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
