"""The demo's figures from scrapes (cachesync.demo_stats), no services."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cachesync.demo_stats import (
    Families,
    Nines,
    Point,
    RegionPoint,
    drained,
    latency_quantiles,
    peak_lags,
    point,
    rates,
    stalled,
    window_seconds,
    window_start,
)


def _samples(registry: CollectorRegistry) -> Families:
    """What a worker's /metrics endpoint would serve, parsed as the demo parses it."""
    text = generate_latest(registry).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def _consumer(region: str, *, events: int, lags: dict[int, int], fenced: int = 0,
              latencies: tuple[float, ...] = ()) -> Families:
    registry = CollectorRegistry()
    Counter("cachesync_consumer_events_total", "", ["region"], registry=registry
            ).labels(region).inc(events)
    lag = Gauge("cachesync_consumer_lag_records", "", ["region", "partition"],
                registry=registry)
    for partition, value in lags.items():
        lag.labels(region, str(partition)).set(value)
    Counter("cachesync_consumer_fenced_total", "", ["region"], registry=registry
            ).labels(region).inc(fenced)
    latency = Histogram("cachesync_commit_to_applied_seconds", "", ["region", "clock"],
                        buckets=(0.01, 0.1, 1), registry=registry)
    for seconds in latencies:
        latency.labels(region, "row").observe(seconds)
        latency.labels(region, "binlog").observe(seconds + 5)  # another clock: not counted
    return _samples(registry)


def _cdc(events: dict[tuple[str, str], int], behind: float) -> Families:
    registry = CollectorRegistry()
    counter = Counter("cachesync_cdc_events_total", "", ["table", "op"], registry=registry)
    for (table, op), count in events.items():
        counter.labels(table, op).inc(count)
    Gauge("cachesync_cdc_seconds_behind_source", "", registry=registry).set(behind)
    return _samples(registry)


def _inspector(figures: dict[tuple[str, str], tuple[float, int, int]]) -> Families:
    """The inspector's metrics from (region, window) → (nines, checked, inconsistent)."""
    registry = CollectorRegistry()
    gauge = Gauge("cachesync_inspector_nines", "", ["region", "window"], registry=registry)
    checked = Counter("cachesync_inspector_checked_total", "", ["region", "window"],
                      registry=registry)
    bad = Counter("cachesync_inspector_inconsistent_total", "", ["region", "window"],
                  registry=registry)
    for (region, window), (nines, count, inconsistent) in figures.items():
        gauge.labels(region, window).set(nines)
        checked.labels(region, window).inc(count)
        bad.labels(region, window).inc(inconsistent)
    return _samples(registry)


def test_latency_of_the_row_clock_only_and_its_quantiles() -> None:
    before = point(0.0, rows_written=0, reads=0, cdc=None, inspector=None, consumers={
        "east": _consumer("east", events=3, lags={}, latencies=(0.005,) * 100)})
    after = point(1.0, rows_written=0, reads=0, cdc=None, inspector=None, consumers={
        "east": _consumer("east", events=3, lags={},
                          latencies=(0.005,) * 100 + (0.05,) * 100)})
    # whole histogram: half the observations at or below 10 ms
    whole = latency_quantiles(after.regions["east"].latency)
    assert whole is not None and whole[0] <= 0.01 < whole[1] <= 0.1
    # the window holds only the later 100 (between 10 and 100 ms)
    window = rates([before, after], window_s=1.0).regions["east"].latency
    found = latency_quantiles(window)
    assert found is not None and 0.01 < found[0] < found[1] <= 0.1
    assert latency_quantiles(rates([before, before], 1.0).regions["east"].latency) is None


def test_point_reads_every_worker_and_tolerates_silent_ones() -> None:
    p = point(
        3.0, rows_written=100, reads=40,
        cdc=_cdc({("app.users", "insert"): 90}, behind=0.5),
        consumers={"east": _consumer("east", events=80, lags={0: 4, 1: 6}, fenced=2,
                                     latencies=(0.05,)),
                   "west": None},
        inspector=_inspector({("east", "1s"): (2.3, 1000, 5), ("west", "1s"): (3.5, 9000, 0),
                              ("east", "10s"): (3.0, 3000, 0)}),
    )
    assert (p.cdc_events, p.binlog_lag_s, p.rows_written, p.reads) == (90.0, 0.5, 100, 40)
    east, west = p.regions["east"], p.regions["west"]
    assert (east.events, east.lag_records, east.fenced, east.dlq) == (80.0, 10.0, 2.0, 0.0)
    assert east.latency[-1] == (math.inf, 1.0)  # the row clock's one observation
    assert east.nines == {"1s": Nines(2.3, checked=1000, inconsistent=5),
                          "10s": Nines(3.0, checked=3000, inconsistent=0)}
    assert not east.nines["1s"].bound_only and east.nines["10s"].bound_only
    assert (west.events, west.lag_records) == (None, None)
    assert west.nines == {"1s": Nines(3.5, checked=9000, inconsistent=0)}


def _series(*rows: tuple[float, int, float | None, float, float | None, float | None]
            ) -> list[Point]:
    """Points from (t, rows written, cdc events, binlog lag, east events, east lag)."""
    return [Point(t_s=t, rows_written=rows_written, reads=0, cdc_events=cdc,
                  binlog_lag_s=behind,
                  regions={"east": RegionPoint(events=events, lag_records=lag)})
            for t, rows_written, cdc, behind, events, lag in rows]


@pytest.mark.parametrize(("window", "expected_t"), [(1.0, 3.0), (2.0, 2.0), (2.5, 1.0),
                                                    (10.0, 0.0)])
def test_window_start(window: float, expected_t: float) -> None:
    series = _series(*((float(t), 0, None, 0.0, None, None) for t in range(5)))
    assert window_start(series, window).t_s == expected_t


def test_rates_over_the_window() -> None:
    series = _series((0.0, 0, None, 0.0, None, None),
                     (1.0, 100, 50.0, 1.0, 40.0, 10.0),
                     (2.0, 300, 250.0, 0.5, 230.0, 20.0),
                     (3.0, 600, 540.0, 0.25, 520.0, 5.0))
    figures = rates(series, window_s=2.0)
    assert figures.window_s == 2.0
    assert figures.write_rows_per_s == 250.0
    assert figures.cdc_events_per_s == 245.0
    assert figures.binlog_lag_s == 0.25
    east = figures.regions["east"]
    assert (east.events_per_s, east.lag_records) == (240.0, 5.0)
    # a worker not scraped yet at the window's start counts from zero
    assert rates(series, window_s=3.0).cdc_events_per_s == 180.0


@pytest.mark.parametrize(("rows", "settle", "expected"), [
    # caught up and quiet for the whole settle time
    ([(0, 9, 100.0, 0.0, 100.0, 0.0), (1, 9, 100.0, 0.0, 100.0, 0.0),
      (2, 9, 100.0, 0.0, 100.0, 0.0)], 2.0, True),
    # quiet, but not for long enough yet
    ([(0, 9, 90.0, 0.0, 90.0, 0.0), (1, 9, 100.0, 0.0, 100.0, 0.0),
      (2, 9, 100.0, 0.0, 100.0, 0.0)], 2.0, False),
    # the CDC worker still published in the window
    ([(0, 9, 90.0, 0.0, 100.0, 0.0), (2, 9, 100.0, 0.0, 100.0, 0.0)], 2.0, False),
    # a consumer still behind
    ([(0, 9, 100.0, 0.0, 100.0, 3.0), (2, 9, 100.0, 0.0, 100.0, 3.0)], 2.0, False),
    # the CDC worker says it is behind
    ([(0, 9, 100.0, 1.0, 100.0, 0.0), (2, 9, 100.0, 1.0, 100.0, 0.0)], 2.0, False),
    # a worker never answered
    ([(0, 9, None, None, 100.0, 0.0), (2, 9, None, None, 100.0, 0.0)], 2.0, False),
    ([(0, 9, 100.0, 0.0, None, None), (2, 9, 100.0, 0.0, None, None)], 2.0, False),
    ([], 2.0, False),
])
def test_drained(rows: list[tuple[float, int, float | None, float, float | None,
                                  float | None]], settle: float, expected: bool) -> None:
    assert drained(_series(*rows), settle) is expected


@pytest.mark.parametrize(("rows", "seconds", "expected"), [
    # nothing moved for the whole time: stalled (drained or not)
    ([(0, 9, 100.0, 0.0, 90.0, 10.0), (3, 9, 100.0, 0.0, 90.0, 10.0)], 3.0, True),
    # a region still applies a backlog: slow, not stalled
    ([(0, 9, 100.0, 0.0, 80.0, 20.0), (3, 9, 100.0, 0.0, 90.0, 10.0)], 3.0, False),
    # the CDC worker still publishes
    ([(0, 9, 90.0, 5.0, 90.0, 0.0), (3, 9, 100.0, 5.0, 90.0, 0.0)], 3.0, False),
    # not watched for long enough
    ([(0, 9, 100.0, 0.0, 90.0, 10.0), (2, 9, 100.0, 0.0, 90.0, 10.0)], 3.0, False),
])
def test_stalled(rows: list[tuple[float, int, float | None, float, float | None,
                                  float | None]], seconds: float, expected: bool) -> None:
    assert stalled(_series(*rows), seconds) is expected


@pytest.mark.parametrize(("label", "seconds"), [("1s", 1.0), ("0.5s", 0.5), ("10", 10.0),
                                                 ("soon", math.inf)])
def test_window_seconds(label: str, seconds: float) -> None:
    assert window_seconds(label) == seconds


def test_peak_lags_during_the_workload_only() -> None:
    series = _series((0.0, 0, None, 0.0, None, None),
                     (1.0, 9, 10.0, 3.5, 10.0, 40.0),
                     (2.0, 9, 20.0, 1.0, 20.0, 7.0),
                     (3.0, 9, 30.0, 9.0, 30.0, 99.0))  # after the workload: not counted
    assert peak_lags(series, until_s=2.0) == (3.5, {"east": 40.0})
    assert peak_lags(series[:1], until_s=2.0) == (0.0, {"east": None})
    assert peak_lags([], until_s=2.0) == (None, {})
