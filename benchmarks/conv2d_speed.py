"""How fast is the book's numpy convolution? Against tf.nn.conv2d and the naive loop.

    python benchmarks/conv2d_speed.py                 # 1024x1024 image, 3x3 kernel
    python benchmarks/conv2d_speed.py --size 2048 --kernel 5 --repeats 20
    python benchmarks/conv2d_speed.py --save benchmarks/results/conv2d_speed.txt

All timings come from one run, interleaved (each round times every method once), and
the best round of each is kept, so that a busy machine slows every method alike.
Inputs are float32, as TensorFlow computes. ``tf.nn.conv2d`` is timed from a numpy
array to a numpy array, like ``cnnbook.ops.conv2d``; it is also timed on tensors
already in TensorFlow, which leaves out the copies in and out.

The naive loop (one Python iteration per output pixel) would take minutes on the full
image: it is timed on a smaller image (``--naive-size``) and its time is scaled by the
ratio of output pixels, which is how its cost grows.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import timeit
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from cnnbook import ops  # noqa: E402


def best_time(function, repeats: int) -> float:
    """The shortest of ``repeats`` single calls, in seconds."""
    return min(timeit.repeat(function, number=1, repeat=repeats))


def measure(size: int, kernel_size: int, repeats: int, naive_size: int, seed: int = 0) -> dict:
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    image = rng.standard_normal((size, size)).astype(np.float32)
    kernel = rng.standard_normal((kernel_size, kernel_size)).astype(np.float32)
    image_tensor = tf.constant(image[None, :, :, None])
    kernel_tensor = tf.constant(kernel[:, :, None, None])

    methods = {
        "cnnbook.ops.conv2d (shift and add)": lambda: ops.conv2d(image, kernel),
        "cnnbook.ops.conv2d_windows (einsum)": lambda: ops.conv2d_windows(image, kernel),
        "tf.nn.conv2d (numpy in, numpy out)": lambda: tf.nn.conv2d(
            image[None, :, :, None], kernel[:, :, None, None], 1, "VALID"
        ).numpy()[0, :, :, 0],
        "tf.nn.conv2d (tensors)": lambda: tf.nn.conv2d(image_tensor, kernel_tensor, 1, "VALID"),
    }
    # The same answer from every method, before timing anything.
    reference = methods["tf.nn.conv2d (numpy in, numpy out)"]()
    for name, method in methods.items():
        result = np.asarray(method()).reshape(reference.shape)
        np.testing.assert_allclose(result, reference, rtol=1e-4, atol=1e-4, err_msg=name)

    times = {name: float("inf") for name in methods}
    for _ in range(repeats):
        for name, method in methods.items():
            times[name] = min(times[name], best_time(method, 1))

    small = image[:naive_size, :naive_size]
    np.testing.assert_allclose(ops.conv2d_naive(small, kernel), ops.conv2d(small, kernel),
                               rtol=1e-4, atol=1e-4)
    naive_small = best_time(lambda: ops.conv2d_naive(small, kernel), max(1, repeats // 5))
    scale = (ops.output_size(size, kernel_size) / ops.output_size(naive_size, kernel_size)) ** 2
    times["cnnbook.ops.conv2d_naive (loop, scaled)"] = naive_small * scale
    return {"times": times, "naive_small": naive_small, "scale": scale, "tf_version": tf.__version__}


def report(size, kernel_size, repeats, naive_size, result) -> str:
    times = result["times"]
    fast = times["cnnbook.ops.conv2d (shift and add)"]
    tf_numpy = times["tf.nn.conv2d (numpy in, numpy out)"]
    lines = [
        f"conv2d speed, {size}x{size} float32 image, {kernel_size}x{kernel_size} kernel, "
        f"'valid' padding, best of {repeats}",
        f"measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}, "
        f"TensorFlow {result['tf_version']}",
        "",
        f"{'method':44s} {'time (ms)':>12s} {'x conv2d':>10s}",
    ]
    for name, seconds in sorted(times.items(), key=lambda item: item[1]):
        lines.append(f"{name:44s} {seconds * 1e3:12.2f} {seconds / fast:10.2f}")
    lines += [
        "",
        f"conv2d / tf.nn.conv2d (numpy in and out): {fast / tf_numpy:.2f}  (goal: at most 3)",
        f"conv2d / tf.nn.conv2d (tensors):          "
        f"{fast / times['tf.nn.conv2d (tensors)']:.2f}",
        f"naive loop / conv2d:                      "
        f"{times['cnnbook.ops.conv2d_naive (loop, scaled)'] / fast:.0f}",
        f"(the naive loop ran on {naive_size}x{naive_size} in "
        f"{result['naive_small'] * 1e3:.1f} ms, scaled by {result['scale']:.1f} output pixels)",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="image side (default 1024)")
    parser.add_argument("--kernel", type=int, default=3, help="kernel side (default 3)")
    parser.add_argument("--repeats", type=int, default=30, help="rounds (default 30)")
    parser.add_argument("--naive-size", type=int, default=128,
                        help="image side for the naive loop (default 128)")
    parser.add_argument("--save", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.naive_size > args.size:
        parser.error(f"--naive-size {args.naive_size} is larger than --size {args.size}")
    result = measure(args.size, args.kernel, args.repeats, args.naive_size)
    text = report(args.size, args.kernel, args.repeats, args.naive_size, result)
    print(text, end="")
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
