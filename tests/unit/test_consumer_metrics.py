"""The consumers' batch-observed latency histogram, as Prometheus exposes it."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from consumers.metrics import LatencyHistogram


def exposed(registry: CollectorRegistry) -> dict[tuple[str, ...], float]:
    text = generate_latest(registry).decode()
    (family,) = text_string_to_metric_families(text)
    return {(s.name, s.labels.get("region", ""), s.labels.get("clock", ""),
             s.labels.get("le", "")): s.value for s in family.samples}


@pytest.mark.parametrize(
    ("batches", "le_counts", "count", "total"),
    [
        # (region, clock, now, commit times) batches; expected cumulative count per le.
        ([("east", "row", 10.0, [9.9995, 9.99, 9.9])], {"0.001": 1, "0.01": 2, "0.1": 3}, 3,
         0.1105),
        # An upper bound is inclusive; a value past the last bound only counts in +Inf.
        ([("east", "row", 0.1, [0.0]), ("east", "row", 100.0, [0.0])],
         {"0.001": 0, "0.01": 0, "0.1": 1, "+Inf": 2}, 2, 100.1),
        # A commit time in the future (clock skew) counts as 0.
        ([("east", "row", 5.0, [6.0])], {"0.001": 1, "+Inf": 1}, 1, 0.0),
        ([("east", "row", 5.0, [])], {}, 0, 0.0),  # an empty batch adds no series
    ],
)
def test_batches_accumulate_per_series(batches: list[tuple[str, str, float, list[float]]],
                                       le_counts: dict[str, int], count: int,
                                       total: float) -> None:
    registry = CollectorRegistry()
    histogram = LatencyHistogram("lat_seconds", "test", (0.001, 0.01, 0.1), registry)
    for region, clock, now, started in batches:
        histogram.observe_since(region, clock, now, started)  # type: ignore[arg-type]
    samples = exposed(registry)
    for le, expected in le_counts.items():
        assert samples[("lat_seconds_bucket", "east", "row", le)] == expected
    if count:
        assert samples[("lat_seconds_count", "east", "row", "")] == count
        assert samples[("lat_seconds_sum", "east", "row", "")] == pytest.approx(total)
    else:
        assert not samples


def test_series_are_kept_apart_by_region_and_clock() -> None:
    registry = CollectorRegistry()
    histogram = LatencyHistogram("lat_seconds", "test", (0.5, 1.0), registry)
    histogram.observe_since("east", "row", 10.0, [9.8, 9.7])
    histogram.observe_since("west", "row", 10.0, [9.0])
    histogram.observe_since("east", "binlog", 10.0, [8.0, 9.0, 9.0])
    samples = exposed(registry)
    assert samples[("lat_seconds_count", "east", "row", "")] == 2
    assert samples[("lat_seconds_bucket", "west", "row", "0.5")] == 0
    assert samples[("lat_seconds_bucket", "west", "row", "1.0")] == 1
    assert samples[("lat_seconds_bucket", "east", "binlog", "1.0")] == 2
    assert samples[("lat_seconds_count", "east", "binlog", "")] == 3
