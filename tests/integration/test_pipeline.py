"""End to end: MariaDB rows → CDC worker → Kafka → a consumer per region → both Redis."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pymysql

from cachesync import db
from cachesync.promquantile import histogram_buckets, scrape
from cachesync.stack import StackInfo
from cachesync.stack.probes import free_port
from tests.integration.conftest import unique_name
from tests.integration.consumer_support import (
    region_store,
    start_cdc,
    start_consumer,
    stop_consumer,
    users_and_notes,
    wait_for_cdc_start,
    wait_until,
)
from tests.integration.settings import stack_settings, write_config

LATENCY = "cachesync_commit_to_applied_seconds"


async def test_rows_reach_both_regions(stack: StackInfo, tmp_path: Path,
                                       mariadb_root: pymysql.Connection[pymysql.cursors.Cursor]
                                       ) -> None:
    app = users_and_notes(stack, mariadb_root, tmp_path, server_id=4300)
    users, notes, prefix, config = app.users, app.notes, app.prefix, app.config
    cdc = start_cdc(config, tmp_path)
    group = unique_name("g")
    consumers = [start_consumer(config, r, f"{group}-{r}", tmp_path) for r in ("east", "west")]
    stores = [region_store(stack.redis_urls, r) for r in ("east", "west")]
    try:
        await wait_for_cdc_start(mariadb_root, app.source_name)
        with mariadb_root.cursor() as cur:
            for i in range(1, 201):
                cur.execute(f"INSERT INTO app.{users} VALUES (%s, %s, 'pw')", (i, f"n{i}"))
                cur.execute(f"INSERT INTO app.{notes} VALUES (%s, %s, 'x')", (i, i % 7))
            cur.execute(f"UPDATE app.{users} SET name = CONCAT(name, '!') WHERE id % 3 = 0")
            cur.execute(f"DELETE FROM app.{users} WHERE id % 10 = 0")
            cur.execute(f"UPDATE app.{users} SET id = id + 1000 WHERE id % 10 = 5")  # key moves
            cur.execute(f"UPDATE app.{notes} SET user_id = 99 WHERE id <= 5")  # partition moves
            cur.execute(f"SELECT id, name FROM app.{users}")
            live = {int(i): name for i, name in cur.fetchall()}
            cur.execute(f"SELECT id, user_id FROM app.{notes}")
            note_keys = [f"{prefix}:{u}:note:{i}" for i, u in cur.fetchall()]
        gone = [f"{prefix}:{i}" for i in range(1, 201) if i not in live]
        expected = {f"{prefix}:{i}": json.dumps({"id": i, "name": name},
                                                separators=(",", ":")).encode()
                    for i, name in live.items()}
        moved_notes = [f"{prefix}:{i % 7}:note:{i}" for i in range(1, 6)]

        for store in stores:
            async def converged(store: object = store) -> bool:
                s = store  # the region's RedisStore
                values = await s.read(list(expected))  # type: ignore[attr-defined]
                if [e.value if e else None for e in values] != list(expected.values()):
                    return False
                tombs = await s.read(gone + note_keys + moved_notes)  # type: ignore[attr-defined]
                return all(e is not None and e.is_tombstone for e in tombs)

            await wait_until(converged, 90, f"region {store.region} to match the database")
    finally:
        for proc in consumers:
            stop_consumer(proc)
        stop_consumer(cdc)
        for store in stores:
            await store.close()
    assert cdc.returncode == 0


async def test_latency_is_measured_per_event_on_the_row_clock(
        stack: StackInfo, tmp_path: Path,
        mariadb_root: pymysql.Connection[pymysql.cursors.Cursor]) -> None:
    """A TIMESTAMP(6) commit_time_column as MariaDB publishes it: inserts and updates are
    measured from it (clock=row), deletes from the binlog; each event once per region."""
    table, prefix = unique_name("stamped"), unique_name("s")
    tables = {f"app.{table}": {"cache_keys": [f"{prefix}:{{id}}"], "action": "rewrite",
                               "columns": ["id", "n", "updated_at"],
                               "commit_time_column": "updated_at"}}
    options = {"topic": unique_name("changes"), "source_name": unique_name("src"),
               "server_id": 4301}
    with mariadb_root.cursor() as cur:
        # A session time zone far from UTC: TIMESTAMP values must still be read as instants.
        cur.execute("SET time_zone = '-07:00'")
        cur.execute(f"CREATE TABLE app.{table} (id INT PRIMARY KEY, n INT, updated_at "
                    "TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) "
                    "ON UPDATE CURRENT_TIMESTAMP(6))")
    db.upgrade(stack_settings(stack, tables, **options))
    config = write_config(tmp_path / "c.yaml", stack, tables, **options)
    cdc = start_cdc(config, tmp_path)
    ports = {r: free_port() for r in ("east", "west")}
    group = unique_name("g")
    consumers = [start_consumer(config, r, f"{group}-{r}", tmp_path, metrics_port=ports[r])
                 for r in ("east", "west")]
    try:
        await wait_for_cdc_start(mariadb_root, str(options["source_name"]))
        with mariadb_root.cursor() as cur:
            for i in range(1, 21):
                cur.execute(f"INSERT INTO app.{table} (id, n) VALUES (%s, 1)", (i,))
            cur.execute(f"UPDATE app.{table} SET n = 2 WHERE id <= 5")
            cur.execute(f"DELETE FROM app.{table} WHERE id > 17")
        for region, port in ports.items():
            def measured(port: int = port, region: str = region) -> bool:
                families = scrape(f"http://127.0.0.1:{port}/metrics")
                binlog = histogram_buckets(families, LATENCY, region=region, clock="binlog")
                return bool(binlog) and binlog[-1][1] >= 3
            await wait_until(measured, 90, f"region {region} to apply every event")
            families = scrape(f"http://127.0.0.1:{port}/metrics")
            row = histogram_buckets(families, LATENCY, region=region, clock="row")
            binlog = histogram_buckets(families, LATENCY, region=region, clock="binlog")
            assert row[-1] == (math.inf, 25.0)  # 20 inserts + 5 updates
            assert binlog[-1] == (math.inf, 3.0)  # 3 deletes
            # Read as the right instant: within a minute, not hours off (nor clamped to 0 by
            # a clock in the future: some time always passes between write and apply).
            assert row[-2] == (60.0, 25.0)
            total = sum(s.value for s in families[LATENCY].samples
                        if s.name == LATENCY + "_sum" and s.labels["clock"] == "row")
            assert total > 0
    finally:
        for proc in consumers:
            stop_consumer(proc)
        stop_consumer(cdc)
    assert cdc.returncode == 0
