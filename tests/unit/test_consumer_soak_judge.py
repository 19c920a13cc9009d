"""The soak benchmark's verdict on a consumer's RSS samples (bench/consumer_soak.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.consumer_soak import judge


def _samples(mb_at: Callable[[int], float], minutes: int = 10, every_s: int = 5
             ) -> list[tuple[float, float]]:
    return [(float(t), float(mb_at(t))) for t in range(0, minutes * 60 + 1, every_s)]


@pytest.mark.parametrize(("mb_at", "growth", "flat"), [
    (lambda t: 60, 0.0, True),
    (lambda t: 90 if t < 60 else 60, 0.0, True),  # a warm-up peak is not judged
    (lambda t: 60 + (t % 10) / 5, 0.0, True),  # jitter between batches averages out
    (lambda t: 60 + t / 60, 8.1, False),  # 1 MB a minute: a leak
    (lambda t: 60 + 4 * t / 600, 3.2, True),  # below the 5 MB bound
])
def test_growth_after_warm_up_decides(mb_at: Callable[[int], float], growth: float,
                                      flat: bool) -> None:
    figures = judge(_samples(mb_at), warmup_s=60, flat_mb=5)
    assert figures["growth"] == pytest.approx(growth, abs=0.15)
    assert figures["flat"] is flat


def test_the_slope_is_per_hour() -> None:
    figures = judge(_samples(lambda t: 60 + t / 60), warmup_s=60, flat_mb=5)
    assert figures["slope_per_hour"] == pytest.approx(60.0, abs=0.1)
    assert figures["max"] == pytest.approx(70.0)


def test_no_sample_after_warm_up_is_an_error() -> None:
    with pytest.raises(ValueError, match="no sample after the 60 s warm-up"):
        judge([(0.0, 60.0), (30.0, 61.0)], warmup_s=60, flat_mb=5)
