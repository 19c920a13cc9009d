"""Prometheus counters of the reconciler and replay (served by whoever runs the endpoint)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

DRIFT: Final = Counter(
    "cachesync_reconciler_drift",
    "Cache entries found drifted from the DB, by table, region and class.",
    ["table", "region", "drift_class"],
)
REPAIRS: Final = Counter(
    "cachesync_reconciler_repairs",
    "Reconciler repairs sent through the fence, by table, region and outcome.",
    ["table", "region", "outcome"],
)
ROWS_SCANNED: Final = Counter(
    "cachesync_reconciler_rows_scanned", "DB rows compared by the reconciler.", ["table"]
)
REPLAY_ACTIONS: Final = Counter(
    "cachesync_replay_actions",
    "Cache actions re-driven by replay, by region and outcome.",
    ["region", "outcome"],
)
