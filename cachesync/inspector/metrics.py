"""Prometheus metrics of the consistency inspector."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CHECKED = Counter("cachesync_inspector_checked_total",
                  "Cache keys of sampled events checked in a region after a window",
                  ["region", "window"])
INCONSISTENT = Counter("cachesync_inspector_inconsistent_total",
                       "Checks whose entry was older than the event and not the DB's current "
                       "value", ["region", "window"])
MISSES = Counter("cachesync_inspector_misses_total",
                 "Checks that found no entry or an older tombstone (reads go to the DB)",
                 ["region", "window"])
NINES = Gauge("cachesync_inspector_nines",
              "Nines of writes consistent within the window: measured, or while nothing "
              "failed, the lower bound the sample size supports (rule of three, 95%)",
              ["region", "window"])
SAMPLED = Counter("cachesync_inspector_sampled_total", "Change events sampled for checks")
