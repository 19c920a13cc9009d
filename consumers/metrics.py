"""Prometheus metrics of the region consumers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("cachesync_consumer_events_total",
                 "Change-topic records handled (applied, coalesced or dead-lettered)", ["region"])
APPLIED = Counter("cachesync_consumer_applied_total", "Cache actions applied",
                  ["region", "action"])
FENCED = Counter("cachesync_consumer_fenced_total", "Cache actions rejected by the version fence",
                 ["region"])
DLQ = Counter("cachesync_consumer_dlq_total", "Records sent to the dead-letter topic", ["region"])
LAG = Gauge("cachesync_consumer_lag_records", "Records behind the partition's end",
            ["region", "partition"])
LATENCY = Histogram(
    "cachesync_commit_to_applied_seconds",
    "Source commit to applied in the region, observed once per applied batch for its oldest event",
    ["region"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RETRIES = Counter("cachesync_consumer_redis_retries_total", "Redis writes retried", ["region"])
