"""cnnbook.timing: the convolution timer times every method and checks its arguments.

No timing is asserted here (the benchmarks own timings): only that every method is
timed, agrees with TensorFlow, and that the naive loop's time is scaled as documented.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from cnnbook import timing  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_time_conv2d_times_every_method_and_scales_the_naive_loop():
    result = timing.time_conv2d(size=40, kernel_size=3, repeats=2, naive_size=20)
    assert set(result["seconds"]) == set(timing.SPEED_METHODS)
    assert all(0 < value < 60 for value in result["seconds"].values())
    assert result["naive_scale"] == pytest.approx((38 / 18) ** 2)
    assert result["seconds"]["naive"] == pytest.approx(
        result["naive_seconds_measured"] * result["naive_scale"]
    )


@pytest.mark.parametrize(
    "kwargs", [{"size": 8, "naive_size": 16}, {"kernel_size": 5, "size": 4}, {"repeats": 0}]
)
def test_time_conv2d_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="size|repeats"):
        timing.time_conv2d(**kwargs)


def test_environment_line_names_date_machine_and_versions():
    import datetime
    import platform
    from importlib.metadata import version

    when = datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
    line = timing.environment_line(("numpy", "no-such-package"), ["Chromium 1"], when=when)
    assert line.startswith(f"measured 2026-01-02 03:04 UTC on {timing.cpu_model()}, ")
    assert f"Python {platform.python_version()}, numpy {version('numpy')}" in line
    assert line.endswith("no-such-package not installed, Chromium 1")
    assert "TensorFlow" in timing.environment_line()


BENCHMARKS = ROOT / "benchmarks"


@pytest.mark.parametrize(
    "name",
    # every script in benchmarks/ (ladder_runs.py is the two ladder scripts' shared part)
    sorted(
        path.stem
        for path in BENCHMARKS.glob("*.py")
        if path.stem not in {"__init__", "ladder_runs"}
    ),
)
def test_every_benchmark_heads_its_result_with_the_one_environment_line(name):
    source = (BENCHMARKS / f"{name}.py").read_text()
    if name.startswith("ladder_"):  # the two ladder scripts share ladder_runs.py
        source += (BENCHMARKS / "ladder_runs.py").read_text()
    assert "timing.environment_line(" in source
    assert "platform." not in source and "datetime.now" not in source, "one copy: cnnbook.timing"
    assert "timing.publish_report(" in source and "write_text(text" not in source


def test_publish_report_prints_and_saves_one_text(tmp_path, capsys):
    saved = tmp_path / "results" / "speed.txt"
    timing.publish_report("line one\nline two", saved)
    shown = capsys.readouterr()
    assert shown.out == saved.read_text() == "line one\nline two\n"
    assert str(saved) in shown.err
    timing.publish_report("only printed\n")
    assert capsys.readouterr().out == "only printed\n"


def _write_stat(path, steal, other):
    # user nice system idle iowait irq softirq steal guest guest_nice; guest counts twice
    path.write_text(f"cpu  {other} 0 0 0 0 0 0 {steal} 500 0\ncpu0 1 2 3\n")


def test_cpu_clock_reads_the_hypervisors_steal_share_between_two_moments(tmp_path):
    stat = tmp_path / "stat"
    _write_stat(stat, steal=100, other=900)
    clock = timing.CpuClock(stat)
    _write_stat(stat, steal=130, other=970)  # 30 of the next 100 ticks were stolen
    usage = clock.usage()
    assert usage["steal_fraction"] == pytest.approx(0.3)
    assert usage["wall_seconds"] >= 0 and usage["process_cpu_seconds"] >= 0


@pytest.mark.parametrize("text", [None, "", "intr 1 2 3\n", "cpu 1 2\n", "cpu a b c d e f g h\n"])
def test_cpu_clock_says_none_where_the_system_does_not_report_steal(tmp_path, text):
    stat = tmp_path / "stat"
    if text is not None:
        stat.write_text(text)
    usage = timing.CpuClock(stat).usage()
    assert usage["steal_fraction"] is None and usage["process_cpu_seconds"] >= 0
