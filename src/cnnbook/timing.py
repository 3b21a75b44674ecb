"""Timing for the benchmarks: the book's convolutions against ``tf.nn.conv2d``, and the
header (date, machine, versions) every benchmark result starts with.

The measuring code lives here, apart from the convolutions themselves
(:mod:`cnnbook.ops`): ``benchmarks/conv2d_speed.py`` and the convolution lab call
:func:`time_conv2d`. Timings are never asserted in tests; the benchmark commits its
results with the machine and the versions, in the header :func:`environment_line` writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from cnnbook.checks import check_positive_int
from cnnbook.ops import conv2d, conv2d_naive, conv2d_windows, output_size

if TYPE_CHECKING:
    import datetime
    from pathlib import Path

__all__ = [
    "SPEED_METHODS",
    "cpu_model",
    "environment_line",
    "CpuClock",
    "load_average",
    "publish_report",
    "time_conv2d",
]

SPEED_METHODS = {
    "conv2d": "cnnbook.ops.conv2d (shift and add)",
    "windows": "cnnbook.ops.conv2d_windows (all tiles, einsum)",
    "tensorflow": "tf.nn.conv2d (numpy in, numpy out)",
    "tensorflow_tensors": "tf.nn.conv2d (tensors already in TensorFlow)",
    "naive": "cnnbook.ops.conv2d_naive (loop; timed smaller, scaled)",
}


def time_conv2d(
    size: int = 1024, kernel_size: int = 3, repeats: int = 20, naive_size: int = 128, seed: int = 0
) -> dict:
    """Time the convolutions on a ``size`` x ``size`` float32 image, all in one run.

    Each round times every method once (so a busy machine slows them alike) and the
    best round of each is kept. TensorFlow is timed from a numpy array to a numpy array,
    as ``conv2d`` is, and also on tensors it already holds. The naive loop, one Python
    iteration per output pixel, runs on a ``naive_size`` crop and its time is scaled by
    the ratio of output pixels. Every method is first checked to give the same answer.

    Returns ``{"seconds": {key: best time}, "naive_seconds_measured": ...,
    "naive_scale": ..., "tensorflow_version": ...}`` with the keys of ``SPEED_METHODS``.
    Needs TensorFlow.
    """
    import timeit

    import tensorflow as tf

    size = check_positive_int(size, "size", "the image side")
    kernel_size = check_positive_int(kernel_size, "kernel_size", "the kernel side")
    repeats = check_positive_int(repeats, "repeats", "rounds of timing")
    naive_size = check_positive_int(naive_size, "naive_size", "the crop for the naive loop")
    if not kernel_size <= naive_size <= size:
        raise ValueError(
            f"Need kernel_size <= naive_size <= size, got {kernel_size}, {naive_size}, {size}."
        )
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((size, size)).astype(np.float32)
    kernel = rng.standard_normal((kernel_size, kernel_size)).astype(np.float32)
    image_tensor = tf.constant(image[None, :, :, None])
    kernel_tensor = tf.constant(kernel[:, :, None, None])
    methods = {
        "conv2d": lambda: conv2d(image, kernel),
        "windows": lambda: conv2d_windows(image, kernel),
        "tensorflow": lambda: tf.nn.conv2d(
            image[None, :, :, None], kernel[:, :, None, None], 1, "VALID"
        ).numpy()[0, :, :, 0],
        "tensorflow_tensors": lambda: tf.nn.conv2d(image_tensor, kernel_tensor, 1, "VALID"),
    }
    reference = methods["tensorflow"]()
    for name, method in methods.items():
        result = np.asarray(method()).reshape(reference.shape)
        if not np.allclose(result, reference, rtol=1e-4, atol=1e-4):
            raise AssertionError(f"{name} disagrees with tf.nn.conv2d")
    seconds = dict.fromkeys(methods, float("inf"))
    for _ in range(repeats):
        for name, method in methods.items():
            seconds[name] = min(seconds[name], timeit.timeit(method, number=1))

    crop = image[:naive_size, :naive_size]
    if not np.allclose(conv2d_naive(crop, kernel), conv2d(crop, kernel), rtol=1e-4, atol=1e-4):
        raise AssertionError("conv2d_naive disagrees with conv2d")
    naive_measured = min(
        timeit.repeat(lambda: conv2d_naive(crop, kernel), number=1, repeat=max(1, repeats // 5))
    )
    scale = (output_size(size, kernel_size) / output_size(naive_size, kernel_size)) ** 2
    seconds["naive"] = naive_measured * scale
    return {
        "seconds": seconds,
        "naive_seconds_measured": naive_measured,
        "naive_scale": scale,
        "tensorflow_version": tf.__version__,
    }


# --------------------------------------------------------------------------- benchmark headers
#: How a benchmark's header names the packages it reports (distribution -> shown name).
PACKAGE_NAMES = {"numpy": "numpy", "tensorflow": "TensorFlow", "keras": "Keras"}


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), or what ``platform`` knows."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> float:
    """The 1-minute load average (NaN where the system has none): how busy the CPUs are."""
    import os

    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _host_cpu_ticks(stat: Path | str = "/proc/stat") -> tuple[int, int] | None:
    """(stolen, total) CPU ticks of the whole machine since boot, from Linux's
    ``/proc/stat``; None where there is no such file."""
    from pathlib import Path as _Path

    try:
        first = _Path(stat).read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not first or first[0] != "cpu" or len(first) < 9:
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
    # already counted in user and nice, so the total stops at steal
    try:
        ticks = [int(value) for value in first[1:9]]
    except ValueError:  # not numbers: not a Linux /proc/stat
        return None
    return ticks[7], sum(ticks)


class CpuClock:
    """Where a run's time went: wall seconds, this process's CPU seconds (all its
    threads) and the share of the machine's CPU time its hypervisor gave to other
    virtual machines (*steal*).

    On a shared cloud machine the same training can take 20 or 40 seconds an epoch;
    the steal share says how much of that was the neighbours. Start it, run, then read
    :meth:`usage`. The steal share is None where the system does not report it.
    """

    def __init__(self, stat: Path | str = "/proc/stat") -> None:
        import time

        self._stat = stat
        self._wall = time.perf_counter()
        self._process = time.process_time()
        self._host = _host_cpu_ticks(stat)

    def usage(self) -> dict:
        """``{"wall_seconds", "process_cpu_seconds", "steal_fraction"}`` since the start."""
        import time

        host = _host_cpu_ticks(self._stat)
        steal = None
        if host is not None and self._host is not None and host[1] > self._host[1]:
            steal = (host[0] - self._host[0]) / (host[1] - self._host[1])
        return {
            "wall_seconds": time.perf_counter() - self._wall,
            "process_cpu_seconds": time.process_time() - self._process,
            "steal_fraction": steal,
        }


def utc_now() -> datetime.datetime:
    """Now, in UTC: when a measurement starts (``environment_line(when=...)``)."""
    import datetime as _datetime

    return _datetime.datetime.now(_datetime.timezone.utc)


def machine() -> str:
    """The CPU and how many of them: ``AMD EPYC, 2 CPUs``, as every benchmark names a
    machine (its header line; each run of a results file grown over sessions)."""
    import os

    return f"{cpu_model()}, {os.cpu_count()} CPUs"


def environment_line(
    packages: Sequence[str] = ("numpy", "tensorflow", "keras"),
    extra: Sequence[str] = (),
    when: datetime.datetime | None = None,
) -> str:
    """The line every benchmark result starts with: date, machine and versions.

    ``measured 2026-12-01 03:40 UTC on <CPU model>, 2 CPUs, Linux 6.8 x86_64, Python
    3.11.7, numpy 2.1.3, TensorFlow 2.19.0, Keras 3.9.2``, then ``extra`` (a browser's or
    a sandbox's version, say). Versions are read from the installed distributions, so
    nothing is imported (TensorFlow would only log noise); a missing one says so.
    """
    import platform
    from importlib.metadata import PackageNotFoundError, version

    when = when or utc_now()
    parts = [
        f"measured {when:%Y-%m-%d %H:%M} UTC on {machine()}",
        f"{platform.system()} {platform.release()} {platform.machine()}",
        f"Python {platform.python_version()}",
    ]
    for package in packages:
        try:
            installed = version(package)
        except PackageNotFoundError:
            installed = "not installed"
        parts.append(f"{PACKAGE_NAMES.get(package, package)} {installed}")
    return ", ".join([*parts, *extra])


def publish_report(text: str, save: Path | str | None = None) -> None:
    """Print a benchmark's report and, if ``save`` names a file (``--save``), write it
    there too (folders made as needed), saying where on stderr."""
    import sys
    from pathlib import Path

    text = text.rstrip("\n") + "\n"
    print(text, end="")
    if save is not None:
        path = Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"saved to {path}", file=sys.stderr)
