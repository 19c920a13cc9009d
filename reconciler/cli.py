"""``cachesync reconcile`` (cron job) and ``cachesync replay`` (incidents)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from cachesync.settings_cli import config_option, load_or_exit
from cdc.catalog import SourceConfigError
from reconciler.adapters import ReplayRequest, run_reconcile, run_replay
from reconciler.engine import ReconcileOptions, SelectionError
from reconciler.replay_plan import (
    BinlogCoordinate,
    BinlogRange,
    Gtid,
    KafkaRange,
    ReplayFilter,
    ReplayMode,
    ReplayRangeError,
    check_tables,
    parse_time,
    read_keys_file,
)
from reconciler.report import EXIT_ERROR, human_summary
from reconciler.runs import RunLockedError
from schemas.actions import CacheAction

log = logging.getLogger(__name__)


def _emit_report(report: dict[str, Any], report_path: str | None) -> None:
    text = json.dumps(report, indent=2, sort_keys=True, default=str)
    if report_path is None:
        click.echo(text)
    else:
        Path(report_path).write_text(text + "\n", encoding="utf-8")
    click.echo(human_summary(report), err=True)


@click.command()
@config_option
@click.option("--table", "tables", multiple=True, metavar="DB.TABLE",
              help="Only this configured table (repeatable); default: all.")
@click.option("--region", "regions", multiple=True, metavar="NAME",
              help="Only this region (repeatable); default: all.")
@click.option("--dry-run", is_flag=True, help="Compare and report; write nothing to any cache.")
@click.option("--max-rows-per-second", type=click.FloatRange(min=1), default=None,
              help="Rate limit of the DB scan (rows per second, all regions together).")
@click.option("--resume/--restart", default=False, show_default=True,
              help="--resume continues the newest unfinished run from its cursor; "
                   "--restart marks unfinished runs abandoned and starts over.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Write the JSON report here instead of stdout.")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Rows per keyset chunk.")
@click.option("--orphan-scan/--no-orphan-scan", default=True, show_default=True,
              help="SCAN each region for entries whose row is gone.")
def reconcile(
    *, config_path: str, tables: tuple[str, ...], regions: tuple[str, ...], dry_run: bool,
    max_rows_per_second: float | None, resume: bool, report_path: str | None,
    chunk_rows: int, orphan_scan: bool,
) -> None:
    """Compare the DB at a consistent snapshot with every region's cache and repair drift.

    Exit code: 0 no drift, 1 drift found (and repaired unless --dry-run), 2 error.
    The JSON report goes to stdout (or --report), a summary to stderr.
    """
    settings = load_or_exit(config_path)
    options = ReconcileOptions(
        tables=list(tables) or None, dry_run=dry_run, max_rows_per_second=max_rows_per_second,
        resume=resume, chunk_rows=chunk_rows, orphan_scan=orphan_scan,
    )
    try:
        report = asyncio.run(run_reconcile(settings, list(regions) or None, options))
    except (SelectionError, RunLockedError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # cron contract: any failure exits 2, never 1 (drift)
        log.exception("reconcile failed before the run started")
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    _emit_report(report, report_path)
    sys.exit(int(report["exit_code"]))


def _time(value: str | None) -> dt.datetime | None:
    return parse_time(value) if value is not None else None


@click.command()
@config_option
@click.option("--from-gtid", help="Binlog: first GTID to replay (domain-server-seq).")
@click.option("--to-gtid", help="Binlog: last GTID to replay (inclusive).")
@click.option("--from-pos", help="Binlog: start at FILE:POS (a transaction's first event).")
@click.option("--to-pos", help="Binlog: stop after transactions starting at or before FILE:POS.")
@click.option("--from-time", help="Binlog: transactions committed at or after this time "
                                  "(ISO-8601, naive = UTC, or Unix seconds).")
@click.option("--to-time", help="Binlog: ... and at or before this time.")
@click.option("--kafka-from-time", help="Kafka: records timestamped at or after this time.")
@click.option("--kafka-to-time", help="Kafka: ... and at or before this time.")
@click.option("--kafka-from-offset", type=click.IntRange(min=0),
              help="Kafka: first offset, in every partition.")
@click.option("--kafka-to-offset", type=click.IntRange(min=0),
              help="Kafka: last offset (inclusive), in every partition.")
@click.option("--table", "tables", multiple=True, metavar="DB.TABLE",
              help="Only events of this configured table (repeatable).")
@click.option("--key", "keys", multiple=True,
              help="Only this partition (user) key or cache key (repeatable).")
@click.option("--keys-file", type=click.File("r", encoding="utf-8"),
              help="Keys, one a line (# comments allowed).")
@click.option("--region", "regions", multiple=True, metavar="NAME",
              help="Only this region (repeatable); default: all.")
@click.option("--mode", type=click.Choice(["invalidate", "rewrite"]), default=None,
              help="Override each table's configured action.")
@click.option("--max-events-per-second", type=click.FloatRange(min=1), default=None)
@click.option("--dry-run", is_flag=True,
              help="Print the planned actions per region; write nothing.")
def replay(
    *, config_path: str, from_gtid: str | None, to_gtid: str | None, from_pos: str | None,
    to_pos: str | None, from_time: str | None, to_time: str | None,
    kafka_from_time: str | None, kafka_to_time: str | None, kafka_from_offset: int | None,
    kafka_to_offset: int | None, tables: tuple[str, ...], keys: tuple[str, ...],
    keys_file: TextIO | None, regions: tuple[str, ...], mode: ReplayMode | None,
    max_events_per_second: float | None, dry_run: bool,
) -> None:
    """Re-drive cache actions for a binlog or Kafka range (incidents). Safe to run twice.

    Exit code: 0 done, 2 error (bad range, unknown table, a region failed).
    """
    settings = load_or_exit(config_path)
    binlog_given = any((from_gtid, to_gtid, from_pos, to_pos, from_time, to_time))
    kafka_given = any(value is not None for value in
                      (kafka_from_time, kafka_to_time, kafka_from_offset, kafka_to_offset))
    if binlog_given == kafka_given:
        raise click.UsageError("give a binlog range (--from-*) or a Kafka range "
                               "(--kafka-from-*), not both and not neither")
    try:
        wanted_keys = set(keys) | (read_keys_file(keys_file) if keys_file else set())
        selection = ReplayFilter(
            tables=check_tables(tables, settings.tables) if tables else None,
            keys=frozenset(wanted_keys) if wanted_keys else None,
        )
        request = ReplayRequest(
            binlog=BinlogRange(
                from_gtid=Gtid.parse(from_gtid) if from_gtid else None,
                to_gtid=Gtid.parse(to_gtid) if to_gtid else None,
                from_pos=BinlogCoordinate.parse(from_pos) if from_pos else None,
                to_pos=BinlogCoordinate.parse(to_pos) if to_pos else None,
                from_time=_time(from_time), to_time=_time(to_time),
            ) if binlog_given else None,
            kafka=KafkaRange(
                from_time=_time(kafka_from_time), to_time=_time(kafka_to_time),
                from_offset=kafka_from_offset, to_offset=kafka_to_offset,
            ) if kafka_given else None,
            selection=selection, mode=mode, max_events_per_second=max_events_per_second,
            regions=list(regions) or None,
        )
    except ReplayRangeError as exc:
        raise click.UsageError(str(exc)) from None

    def show(region: str, action: CacheAction) -> None:
        click.echo(f"{region}\t{action.kind}\t{action.key}\t{action.version}")

    try:
        stats = asyncio.run(run_replay(settings, request, printer=show if dry_run else None))
    except (ReplayRangeError, SelectionError, SourceConfigError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # any failure exits 2
        log.exception("replay failed")
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    summary = stats.to_json() | {"dry_run": dry_run}
    click.echo(json.dumps(summary, sort_keys=True), err=dry_run)
    if dry_run:
        return
    click.echo(
        f"replayed {stats.events_matched} of {stats.events_read} events: "
        + "; ".join(f"{region}: applied {counts['applied']}, fenced {counts['fenced']}"
                    for region, counts in sorted(stats.by_region.items())),
        err=True,
    )
