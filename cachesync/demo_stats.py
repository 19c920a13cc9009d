"""The demo's figures, pure: what one scrape of every worker says, and what a series means.

Once a second the demo scrapes the Prometheus endpoint of each child process (the CDC worker,
one consumer per region, the inspector) and records a :class:`Point`: cumulative counters and
histogram buckets, gauges, and the workload's own counts. Rates and latency quantiles are
differences between two points of the series, so a figure always covers a known window and
a worker's counters since its start never blur it. No I/O here: the demo does the scraping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.metrics_core import Metric

from cachesync.promquantile import (
    Buckets,
    bucket_delta,
    counter_value,
    histogram_buckets,
    histogram_quantile,
)

CDC_EVENTS: Final = "cachesync_cdc_events_total"
CDC_BEHIND: Final = "cachesync_cdc_seconds_behind_source"
CONSUMER_EVENTS: Final = "cachesync_consumer_events_total"
CONSUMER_LAG: Final = "cachesync_consumer_lag_records"
CONSUMER_FENCED: Final = "cachesync_consumer_fenced_total"
CONSUMER_DLQ: Final = "cachesync_consumer_dlq_total"
LATENCY: Final = "cachesync_commit_to_applied_seconds"
LATENCY_CLOCK: Final = "row"
"""The commit→applied clock the demo reports: the row's own commit-time column."""
INSPECTOR_NINES: Final = "cachesync_inspector_nines"
INSPECTOR_CHECKED: Final = "cachesync_inspector_checked_total"
INSPECTOR_INCONSISTENT: Final = "cachesync_inspector_inconsistent_total"

Families = Mapping[str, Metric]
"""One scrape of a worker: its metric families by name (:func:`cachesync.promquantile.scrape`)."""


def observations(cumulative: Buckets) -> float:
    """How many observations a cumulative histogram holds (its ``+Inf`` bucket)."""
    return cumulative[-1][1] if cumulative else 0.0


@dataclass(frozen=True)
class Nines:
    """The inspector's figure for one region and one window ("consistent within M s")."""

    nines: float
    """Measured nines; when nothing failed, the most the sample supports (rule of three)."""
    checked: float
    inconsistent: float

    @property
    def bound_only(self) -> bool:
        """No inconsistency yet: ``nines`` is a lower bound set by the sample size."""
        return self.inconsistent == 0


def window_seconds(label: str) -> float:
    """``"10s"`` → 10.0: the inspector labels its windows in seconds."""
    try:
        return float(label.removesuffix("s"))
    except ValueError:
        return math.inf


@dataclass(frozen=True)
class RegionPoint:
    """One region's counters at one scrape of its consumer (and of the inspector)."""

    events: float | None = None
    """Change records the consumer handled since it started; None before its first scrape."""
    lag_records: float | None = None
    """Records behind the partitions' ends, over every partition it owns."""
    fenced: float = 0.0
    """Cache actions the version fence refused (duplicates and late writes)."""
    dlq: float = 0.0
    """Records sent to the dead-letter topic."""
    latency: Buckets = field(default_factory=list)
    """Commit→applied histogram (row clock), cumulative."""
    nines: Mapping[str, Nines] = field(default_factory=dict)
    """The inspector's figures by window label (``1s``)."""


@dataclass(frozen=True)
class Point:
    """Everything the demo knows at one moment of the run."""

    t_s: float
    """Seconds since the workload started."""
    rows_written: int
    """Row changes the writers committed."""
    reads: int
    """Cache-aside reads done."""
    cdc_events: float | None
    """Change events the CDC worker published; None before its first scrape."""
    binlog_lag_s: float | None
    """Seconds between now and the newest binlog event the CDC worker handed to Kafka."""
    regions: Mapping[str, RegionPoint]


def _inspector_nines(inspector: Families, region: str) -> dict[str, Nines]:
    family = inspector.get(INSPECTOR_NINES)
    figures = {}
    for sample in family.samples if family is not None else ():
        window = sample.labels.get("window", "")
        if sample.labels.get("region") == region and not math.isnan(sample.value):
            figures[window] = Nines(
                sample.value,
                checked=counter_value(inspector, INSPECTOR_CHECKED, region=region,
                                      window=window),
                inconsistent=counter_value(inspector, INSPECTOR_INCONSISTENT, region=region,
                                           window=window))
    return figures


def region_point(consumer: Families | None, inspector: Families | None,
                 region: str) -> RegionPoint:
    """A region's figures from its consumer's scrape and the inspector's (None: no answer)."""
    nines = _inspector_nines(inspector, region) if inspector is not None else {}
    if consumer is None:
        return RegionPoint(nines=nines)
    return RegionPoint(
        events=counter_value(consumer, CONSUMER_EVENTS, region=region),
        lag_records=counter_value(consumer, CONSUMER_LAG, region=region),
        fenced=counter_value(consumer, CONSUMER_FENCED, region=region),
        dlq=counter_value(consumer, CONSUMER_DLQ, region=region),
        latency=histogram_buckets(consumer, LATENCY, region=region, clock=LATENCY_CLOCK),
        nines=nines,
    )


def point(t_s: float, *, rows_written: int, reads: int, cdc: Families | None,
          consumers: Mapping[str, Families | None], inspector: Families | None) -> Point:
    """One point of the series from the scrapes of every worker (None: it did not answer)."""
    return Point(
        t_s=t_s, rows_written=rows_written, reads=reads,
        cdc_events=counter_value(cdc, CDC_EVENTS) if cdc is not None else None,
        binlog_lag_s=counter_value(cdc, CDC_BEHIND) if cdc is not None else None,
        regions={region: region_point(families, inspector, region)
                 for region, families in consumers.items()},
    )


@dataclass(frozen=True)
class RegionRates:
    """A region's live figures over a window."""

    events_per_s: float | None
    lag_records: float | None
    latency: Buckets
    """Commit→applied observations made inside the window (not cumulative over the run)."""
    fenced: float
    dlq: float
    nines: Mapping[str, Nines]


@dataclass(frozen=True)
class Rates:
    """The live figures: rates over the last window, gauges and totals at its end."""

    t_s: float
    window_s: float
    write_rows_per_s: float
    reads_per_s: float
    cdc_events_per_s: float | None
    binlog_lag_s: float | None
    regions: Mapping[str, RegionRates]


def _rate(new: float | None, old: float | None, seconds: float) -> float | None:
    if new is None or seconds <= 0:
        return None
    return max(0.0, new - (old or 0.0)) / seconds


def window_start(series: Sequence[Point], window_s: float) -> Point:
    """The newest point at least ``window_s`` older than the last (or the first point)."""
    last = series[-1]
    for candidate in reversed(series):
        if last.t_s - candidate.t_s >= window_s:
            return candidate
    return series[0]


def rates(series: Sequence[Point], window_s: float) -> Rates:
    """The live figures over the last ``window_s`` seconds of a non-empty series."""
    new = series[-1]
    old = window_start(series, window_s)
    seconds = new.t_s - old.t_s
    regions = {}
    for name, region in new.regions.items():
        before = old.regions.get(name, RegionPoint())
        regions[name] = RegionRates(
            events_per_s=_rate(region.events, before.events, seconds),
            lag_records=region.lag_records,
            latency=bucket_delta(region.latency, before.latency),
            fenced=region.fenced, dlq=region.dlq, nines=region.nines,
        )
    return Rates(
        t_s=new.t_s, window_s=seconds,
        write_rows_per_s=_rate(new.rows_written, old.rows_written, seconds) or 0.0,
        reads_per_s=_rate(new.reads, old.reads, seconds) or 0.0,
        cdc_events_per_s=_rate(new.cdc_events, old.cdc_events, seconds),
        binlog_lag_s=new.binlog_lag_s, regions=regions,
    )


def drained(series: Sequence[Point], settle_s: float) -> bool:
    """Whether the pipeline has caught up: over the last ``settle_s`` seconds the CDC worker
    published nothing new and is not behind, and every region's consumer is at the end of
    every partition it owns."""
    if not series or series[-1].t_s - series[0].t_s < settle_s:
        return False
    new, old = series[-1], window_start(series, settle_s)
    if new.cdc_events is None or new.cdc_events != old.cdc_events or new.binlog_lag_s:
        return False
    return all(region.lag_records == 0 and region.events == old.regions[name].events
               for name, region in new.regions.items() if name in old.regions)


def latency_quantiles(window: Buckets) -> tuple[float, float] | None:
    """p50 and p99 (seconds) of the commit→applied observations in ``window``; None when it
    holds none."""
    p50, p99 = histogram_quantile(0.5, window), histogram_quantile(0.99, window)
    if p50 is None or p99 is None:
        return None
    return p50, p99


def stalled(series: Sequence[Point], seconds: float) -> bool:
    """Whether nothing moved for ``seconds``: the CDC worker published nothing and no region
    handled a record (a pipeline still draining a backlog is not stalled, however slow)."""
    if not series or series[-1].t_s - series[0].t_s < seconds:
        return False
    new, old = series[-1], window_start(series, seconds)
    return new.cdc_events == old.cdc_events and all(
        region.events == old.regions.get(name, RegionPoint()).events
        for name, region in new.regions.items())


def peak_lags(series: Sequence[Point], until_s: float) -> tuple[float | None,
                                                                  dict[str, float | None]]:
    """The highest binlog lag (seconds) and consumer lag per region (records) seen up to
    ``until_s``: whether the pipeline kept up with the workload."""
    points = [p for p in series if p.t_s <= until_s]
    binlog = [p.binlog_lag_s for p in points if p.binlog_lag_s is not None]
    regions = {name: [lag for p in points
                      if (lag := p.regions.get(name, RegionPoint()).lag_records) is not None]
               for name in (series[-1].regions if series else {})}
    return (max(binlog, default=None),
            {name: max(lags, default=None) for name, lags in regions.items()})
