"""Prometheus metrics of the region consumers."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Final, Literal

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

EVENTS = Counter("cachesync_consumer_events_total",
                 "Change-topic records handled (applied, coalesced or dead-lettered)", ["region"])
APPLIED = Counter("cachesync_consumer_applied_total", "Cache actions applied",
                  ["region", "action"])
FENCED = Counter("cachesync_consumer_fenced_total", "Cache actions rejected by the version fence",
                 ["region"])
DLQ = Counter("cachesync_consumer_dlq_total", "Records sent to the dead-letter topic", ["region"])
LAG = Gauge("cachesync_consumer_lag_records", "Records behind the partition's end",
            ["region", "partition"])
RETRIES = Counter("cachesync_consumer_redis_retries_total", "Redis writes retried", ["region"])

Clock = Literal["row", "binlog"]
"""Where an event's commit time came from: the table's ``commit_time_column`` (microseconds)
or the binlog event's timestamp (whole seconds)."""

LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
                          0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class LatencyHistogram(Collector):
    """A histogram with labels ``region`` and ``clock``, observed a batch at a time.

    ``prometheus_client``'s ``Histogram.observe`` takes a lock and scans the buckets for
    every value; the consumers observe every applied event (50k+ per second), so this one
    bins a whole batch with :func:`bisect.bisect_left` and takes its lock once per batch.
    Exposed like any Prometheus histogram (``_bucket``/``_sum``/``_count``).
    """

    def __init__(self, name: str, documentation: str, buckets: Sequence[float],
                 registry: CollectorRegistry | None = REGISTRY) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = tuple(sorted(float(b) for b in buckets))
        self._les = [floatToGoString(b) for b in self._bounds  # type: ignore[no-untyped-call]
                     ] + ["+Inf"]
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        """(region, clock) → (count per bucket, not cumulative, the last one +Inf; [sum])."""
        if registry is not None:
            registry.register(self)

    def observe_since(self, region: str, clock: Clock, now: float,
                      started: Sequence[float]) -> None:
        """Observe ``now - t`` (seconds, negative clock skew counted as 0) for each ``t``."""
        if not started:
            return
        bounds = self._bounds
        counts = [0] * (len(bounds) + 1)
        total = 0.0
        for at in started:
            seconds = max(now - at, 0.0)
            counts[bisect_left(bounds, seconds)] += 1
            total += seconds
        with self._lock:
            series = self._series.get((region, clock))
            if series is None:
                self._series[(region, clock)] = (counts, [total])
                return
            kept, kept_sum = series
            for index, count in enumerate(counts):
                kept[index] += count
            kept_sum[0] += total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self._name, self._documentation,
                                       labels=["region", "clock"])
        with self._lock:
            series = [(labels, list(counts), total[0])
                      for labels, (counts, total) in sorted(self._series.items())]
        for labels, counts, total in series:
            cumulative = 0
            buckets = []
            for le, count in zip(self._les, counts, strict=True):
                cumulative += count
                buckets.append((le, float(cumulative)))
            family.add_metric(list(labels), buckets, total)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self._name, self._documentation, labels=["region", "clock"])


LATENCY = LatencyHistogram(
    "cachesync_commit_to_applied_seconds",
    "Source commit to applied in the region's Redis, per applied event; clock=row: from the "
    "table's commit_time_column (microseconds), clock=binlog: from the binlog timestamp "
    "(whole seconds, so up to 1 s more)",
    LATENCY_BUCKETS,
)
