"""Reconciler throughput: rows compared per second per region, and the DB-scan-only rate.

    .venv/bin/python -m bench.reconcile_rate --config cachesync.toml --admin-dsn mysql://root@... \
        [--rows 1000000] [--table app.reconcile_bench]

Creates (or reuses) a table of ``--rows`` rows in one ``INSERT ... SELECT`` from MariaDB's
Sequence engine, fills every region with a first reconcile run (``warm``), then measures in
one process: (1) the keyset scan alone (same chunk queries, nothing compared), (2) a full
reconcile run with no drift and no orphan scan, which compares every row with every region
(regions are compared concurrently, so each region sees the run's row rate). The last line
of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import sqlalchemy as sa

from cachesync import db
from cachesync.logs import setup_logging
from reconciler.adapters import run_reconcile
from reconciler.engine import DEFAULT_CHUNK_ROWS, ReconcileOptions
from reconciler.keyset import chunk_query
from schemas.config import Dsn, Settings, TableConfig, load_settings


def prepare(admin: sa.Engine, table: str, rows: int) -> None:
    schema, _, name = table.partition(".")
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS `{schema}`.`{name}` (id BIGINT PRIMARY KEY, "
            "name VARCHAR(64) NOT NULL, email VARCHAR(128) NOT NULL, "
            "region VARCHAR(16) NOT NULL, amount DECIMAL(12,2) NOT NULL)"
        )
        have = conn.exec_driver_sql(f"SELECT COUNT(*) FROM `{schema}`.`{name}`").scalar_one()
        if have == rows:
            return
        conn.exec_driver_sql(f"TRUNCATE `{schema}`.`{name}`")
        conn.exec_driver_sql(
            f"INSERT INTO `{schema}`.`{name}` SELECT seq, CONCAT('user', seq), "
            "CONCAT('user', seq, '@example.com'), IF(MOD(seq, 2) = 1, 'east', 'west'), seq / 100 "
            f"FROM `{schema}`.seq_1_to_{rows}"
        )


def scan_only(settings: Settings, table: str, chunk_rows: int) -> tuple[int, float]:
    engine = db.create_engine(settings.source.dsn, "")
    schema, _, name = table.partition(".")
    try:
        with engine.connect() as conn:
            reflected = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
            columns = [column.name for column in reflected.columns]
            started = time.perf_counter()
            last: tuple[object, ...] | None = None
            total = 0
            while True:
                rows = conn.execute(chunk_query(reflected, columns, ["id"], last,
                                                chunk_rows)).all()
                if not rows:
                    break
                total += len(rows)
                last = (rows[-1][0],)
            return total, time.perf_counter() - started
    finally:
        engine.dispose()


async def measure(settings: Settings, table: str, chunk_rows: int) -> dict[str, Any]:
    options = ReconcileOptions(tables=[table], chunk_rows=chunk_rows, orphan_scan=False)
    warm = await run_reconcile(settings, None, options)
    print(f"warm-up fill: {warm['rows_scanned']} rows in {warm['elapsed_s']}s, "
          f"totals {warm['totals']}")
    scanned, scan_s = await asyncio.to_thread(scan_only, settings, table, chunk_rows)
    print(f"DB scan only: {scanned} rows in {scan_s:.2f}s = {scanned / scan_s:,.0f} rows/s")
    report = await run_reconcile(settings, None, options)
    rate = report["rows_scanned"] / report["elapsed_s"]
    print(f"compare: {report['rows_scanned']} rows x {len(settings.regions)} regions in "
          f"{report['elapsed_s']}s = {rate:,.0f} rows/s per region; drift {report['drift']}")
    return {
        "compare_rows_per_s_per_region": {region: round(rate) for region in settings.regions},
        "db_scan_rows_per_s": round(scanned / scan_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--admin-dsn", required=True,
                        help="A user that may create the bench table (e.g. root).")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--table", default="app.reconcile_bench")
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    args = parser.parse_args()
    setup_logging("WARNING")
    base = load_settings(args.config)
    rule = TableConfig(cache_keys=["bench:{id}"], action="rewrite", warm=True,
                       columns=["id", "name", "email", "region", "amount"])
    settings = base.model_copy(update={"tables": {args.table: rule}})
    admin = db.create_engine(Dsn(args.admin_dsn), "")
    try:
        started = time.perf_counter()
        prepare(admin, args.table, args.rows)
        print(f"table {args.table}: {args.rows} rows ready in "
              f"{time.perf_counter() - started:.1f}s")
    finally:
        admin.dispose()
    result = asyncio.run(measure(settings, args.table, args.chunk_rows))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
