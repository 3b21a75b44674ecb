"""cnnbook.timing: the convolution timer times every method and checks its arguments.

No timing is asserted here (the benchmarks own timings): only that every method is
timed, agrees with TensorFlow, and that the naive loop's time is scaled as documented.
"""

from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from cnnbook import timing  # noqa: E402


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
