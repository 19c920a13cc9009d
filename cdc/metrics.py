"""Prometheus metrics of the CDC worker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS = Counter("cachesync_cdc_events_total", "Change events published", ["table", "op"])
BEHIND = Gauge("cachesync_cdc_seconds_behind_source",
               "Seconds between now and the newest binlog event read (0 when idle)")
PRODUCER_ERRORS = Counter("cachesync_cdc_producer_errors_total", "Kafka sends that failed")
CHECKPOINT_AGE = Gauge("cachesync_cdc_checkpoint_age_seconds",
                       "Seconds since the checkpoint last moved")
RECONNECTS = Counter("cachesync_cdc_reconnects_total", "Binlog stream reopened after a fault")
