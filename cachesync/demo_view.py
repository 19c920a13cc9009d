"""What the demo shows: the live table (rich), the plain progress line, the summary, the plot.

Formatting only; the figures come from :mod:`cachesync.demo_stats`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from cachesync.demo_stats import (
    Nines,
    Point,
    Rates,
    RegionRates,
    latency_quantiles,
    observations,
    rates,
    window_seconds,
)


def _num(value: float | None, unit: str = "", digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{unit}"


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds:,.1f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def _nines(nines: Mapping[str, Nines]) -> str:
    if not nines:
        return "n/a"
    return ", ".join(
        f"{label} {'≥' if figure.bound_only else ''}{figure.nines:.1f} "
        f"({figure.inconsistent:,.0f}/{figure.checked:,.0f})" if figure.checked else
        f"{label} n/a"
        for label, figure in sorted(nines.items(), key=lambda item: window_seconds(item[0])))


def _quantiles(region: RegionRates) -> tuple[float | None, float | None]:
    found = latency_quantiles(region.latency)
    return found if found is not None else (None, None)


def live_table(figures: Rates, *, phase: str, elapsed_s: float, duration_s: float) -> Table:
    """The live table: one row for the writers, one for the CDC worker, one per region."""
    title = f"cachesync demo: {phase}, {elapsed_s:.0f} s (workload: {duration_s:.0f} s)"
    table = Table(title=title, caption=(
        f"over the last {figures.window_s:.0f} s: rates, commit→applied p50/p99; "
        f"cache-aside reads {figures.reads_per_s:,.0f}/s"))
    for column in ("", "rows/s", "lag", "p50", "p99", "fenced", "DLQ", "inspector nines"):
        table.add_column(column, justify="left" if column in {"", "inspector nines"}
                         else "right")
    table.add_row("writers", _num(figures.write_rows_per_s), "", "", "", "", "", "")
    table.add_row("cdc", _num(figures.cdc_events_per_s),
                  _num(figures.binlog_lag_s, " s", 2), "", "", "", "", "")
    for name, region in figures.regions.items():
        p50, p99 = _quantiles(region)
        table.add_row(f"region {name}", _num(region.events_per_s),
                      _num(region.lag_records, " rec"), _ms(p50), _ms(p99),
                      _num(region.fenced), _num(region.dlq), _nines(region.nines))
    return table


def live_line(figures: Rates, *, phase: str, elapsed_s: float) -> str:
    """The same figures as one plain line, for logs and CI."""
    parts = [
        f"[{elapsed_s:4.0f}s {phase}] writers {_num(figures.write_rows_per_s)} rows/s",
        f"cdc {_num(figures.cdc_events_per_s)} events/s, binlog lag "
        f"{_num(figures.binlog_lag_s, ' s', 2)}",
    ]
    for name, region in figures.regions.items():
        p50, p99 = _quantiles(region)
        parts.append(
            f"{name} {_num(region.events_per_s)} rec/s, lag {_num(region.lag_records)}, "
            f"p50 {_ms(p50)}, p99 {_ms(p99)}, fenced {_num(region.fenced)}, "
            f"dlq {_num(region.dlq)}, nines {_nines(region.nines)}")
    parts.append(f"reads {_num(figures.reads_per_s)}/s")
    return " | ".join(parts)


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """The end-of-run summary (see ``cachesync.demo._summary`` for the fields)."""
    work = summary["workload"]
    lines = [
        "",
        f"workload: {work['transactions']:,} transactions, {work['rows']:,} row changes in "
        f"{work['seconds']:.0f} s ({work['rows_per_s']:,.0f} rows/s)",
    ]
    lines += [f"  {op:30s} {count:>9,}" for op, count in sorted(work["ops"].items())]
    if summary["reads"]:
        lines.append("cache-aside reads (read through Redis, fill a miss under a lease):")
        lines += [f"  {outcome:40s} {count:>9,}"
                  for outcome, count in sorted(summary["reads"].items())]
    cdc = summary["cdc"]
    lines.append(f"cdc: {_num(cdc['events'])} change events published; binlog lag at most "
                 f"{_num(cdc['max_binlog_lag_s'], ' s', 1)} during the workload")
    if not summary["kept_up"]:
        lines.append("  the pipeline fell behind the workload on this machine: the latencies "
                     "below include that backlog (a lower --rate keeps it live)")
    lines.append("regions (commit→applied over the whole run, row clock):")
    for name, region in summary["regions"].items():
        lines.append(
            f"  {name}: {_num(region['events'])} records, p50 {_ms(region['p50_s'])}, "
            f"p99 {_ms(region['p99_s'])} ({_num(region['latency_observations'])} observed), "
            f"fenced {_num(region['fenced'])}, DLQ {_num(region['dlq'])}, consumer lag at "
            f"most {_num(region['max_lag_records'])} records")
    inspector = summary["inspector"]
    if inspector is None:
        lines.append("inspector: no report (see its log)")
    else:
        events = inspector["events"] or {}
        lines.append(
            f"inspector: checked {events.get('sampled', 0):,} of the "
            f"{events.get('received', 0):,} change events it received, in every region, "
            f"{' and '.join(f'{w} s' for w in inspector['windows_s'])} after receiving them:")
        lines += [f"  {figures['summary']}" for windows in inspector["regions"].values()
                  for figures in sorted(windows.values(), key=lambda f: f["window_s"])]
    check = summary["consistency"]
    lines.append(
        f"consistency check: {check['rows_scanned']:,} rows compared with every region "
        f"(dry-run reconcile): {check['drift']} inconsistencies; by class: "
        + ", ".join(f"{k} {v}" for k, v in sorted(check["totals"].items())))
    lines.append(f"plot: {summary['plot']}")
    lines.append(f"summary: {summary['summary_file']}, worker logs: {summary['log_dir']}")
    return lines


def run_totals(series: Sequence[Point]) -> dict[str, dict[str, Any]]:
    """Per region over the whole run: records, p50/p99 and how many latencies they rest on."""
    whole = rates(series, window_s=series[-1].t_s - series[0].t_s)
    out: dict[str, dict[str, Any]] = {}
    for name, region in whole.regions.items():
        p50, p99 = _quantiles(region)
        out[name] = {
            "events": series[-1].regions[name].events,
            "p50_s": p50, "p99_s": p99,
            "latency_observations": observations(region.latency),
            "fenced": region.fenced, "dlq": region.dlq,
        }
    return out


def plot(series: Sequence[Point], path: Path, *, workload_end_s: float,
         window_s: float = 2.0) -> None:
    """A PNG of throughput, commit→applied p50/p99 per region and the lags over time."""
    import matplotlib  # noqa: PLC0415  (heavy; only the end of a run needs it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    points = [rates(series[: i + 1], window_s) for i in range(1, len(series))]
    t = [p.t_s for p in points]
    regions = list(series[-1].regions)
    fig, (ax_rate, ax_lat, ax_lag) = plt.subplots(3, 1, sharex=True, figsize=(10, 9))
    ax_rate.plot(t, [p.write_rows_per_s for p in points], label="writers rows/s")
    ax_rate.plot(t, [_nan(p.cdc_events_per_s) for p in points], label="cdc events/s")
    for name in regions:
        ax_rate.plot(t, [_nan(p.regions[name].events_per_s) for p in points],
                     label=f"{name} records/s")
    ax_rate.set_ylabel("per second")
    for name in regions:
        quantiles = [_quantiles(p.regions[name]) for p in points]
        ax_lat.plot(t, [_as_ms(q[0]) for q in quantiles], label=f"{name} p50")
        ax_lat.plot(t, [_as_ms(q[1]) for q in quantiles], label=f"{name} p99")
    ax_lat.set_ylabel(f"commit→applied (ms, {window_s:.0f} s windows)")
    ax_lat.set_yscale("log")
    for name in regions:
        ax_lag.plot(t, [_nan(p.regions[name].lag_records) for p in points],
                    label=f"{name} consumer lag (records)")
    ax_lag.set_ylabel("consumer lag (records)")
    ax_binlog = ax_lag.twinx()
    ax_binlog.plot(t, [_nan(p.binlog_lag_s) for p in points], color="black", linestyle=":",
                   label="binlog lag (s)")
    ax_binlog.set_ylabel("binlog lag (s)")
    ax_lag.set_xlabel("seconds since the workload started")
    for ax in (ax_rate, ax_lat, ax_lag):
        ax.axvline(workload_end_s, color="grey", linestyle="--", linewidth=0.8)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
    ax_binlog.legend(loc="upper right", fontsize="small")
    ax_rate.set_title("cachesync demo (dashed line: the workload stops, the pipeline drains)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _as_ms(seconds: float | None) -> float:
    return math.nan if seconds is None else seconds * 1000


def _nan(value: float | None) -> float:
    return math.nan if value is None else value
