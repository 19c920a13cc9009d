"""End to end: MariaDB rows → CDC worker → Kafka → a consumer per region → both Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pymysql

from cachesync.stack import StackInfo
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
