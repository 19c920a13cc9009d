"""`cachesync inspect` on the real pipeline: a clean run, and a planted inconsistency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pymysql

from cachesync.inspector.core import window_label
from cachesync.stack import StackInfo
from consumers.store import RedisStore
from tests.integration.conftest import unique_name
from tests.integration.consumer_support import (
    CACHESYNC,
    region_store,
    start_cdc,
    start_consumer,
    stop_consumer,
    users_and_notes,
    wait_for_cdc_start,
    wait_until,
)

Cursor: TypeAlias = "pymysql.Connection[pymysql.cursors.Cursor]"
SHORT, LONG = 2.0, 5.0
"""Check windows. Short enough for a fast test, long enough that a consumer on a busy
2-core machine has applied a clean run's events (a slower one would be a real finding)."""
WINDOWS = (SHORT, LONG)


@dataclass
class Pipeline:
    config: Path
    users: str
    notes: str
    prefix: str
    stores: dict[str, RedisStore]
    report: Path
    inspector: subprocess.Popen[bytes]
    consumers: dict[str, subprocess.Popen[bytes]]


def _report(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except FileNotFoundError:
        return {}


def start_inspector(config: Path, report: Path, log_dir: Path) -> subprocess.Popen[bytes]:
    """`cachesync inspect` sampling every event, checking after each of the windows."""
    with (log_dir / "inspector.log").open("wb") as log:
        return subprocess.Popen(
            [CACHESYNC, "inspect", "--config", str(config), "--sample-rate", "1",
             *(arg for w in WINDOWS for arg in ("--window", str(w))),
             "--report", str(report), "--group-id", unique_name("inspector")],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


@asynccontextmanager
async def pipeline(stack: StackInfo, tmp_path: Path, root: Cursor) -> AsyncIterator[Pipeline]:
    """Users (rewrite) and notes (invalidate, partitioned by user) through the CDC worker,
    a consumer per region, and the inspector sampling every event, ready for the workload."""
    app = users_and_notes(stack, root, tmp_path, server_id=4310)
    config = app.config
    report = tmp_path / "inspector.json"
    cdc = start_cdc(config, tmp_path)
    group = unique_name("g")
    consumers = {r: start_consumer(config, r, f"{group}-{r}", tmp_path) for r in ("east", "west")}
    inspector = start_inspector(config, report, tmp_path)
    stores = {r: region_store(stack.redis_urls, r) for r in ("east", "west")}
    try:
        await wait_for_cdc_start(root, app.source_name)
        await wait_until(lambda: _report(report).get("partitions_assigned") == 4, 60,
                         "the inspector to be assigned every partition")
        yield Pipeline(config, app.users, app.notes, app.prefix, stores, report, inspector,
                       consumers)
    finally:
        if inspector.poll() is None:
            inspector.send_signal(signal.SIGKILL)
            inspector.wait(timeout=30)
        for proc in consumers.values():
            if proc.poll() is None:
                stop_consumer(proc)
        stop_consumer(cdc)
        for store in stores.values():
            await store.close()


def _insert_users(cur: pymysql.cursors.Cursor, users: str, count: int) -> None:
    """Users 1..count named n<id>, one autocommitted row (one change event) each."""
    for i in range(1, count + 1):
        cur.execute(f"INSERT INTO app.{users} VALUES (%s, %s, 'pw')", (i, f"n{i}"))


def _value(i: int, name: str) -> bytes:
    return json.dumps({"id": i, "name": name}, separators=(",", ":")).encode()


async def _converged(stores: dict[str, RedisStore], expected: dict[str, bytes | None]) -> None:
    for region, store in stores.items():
        async def done(store: RedisStore = store) -> bool:
            entries = await store.read(list(expected))
            return [e.value if e else None for e in entries] == list(expected.values())

        await wait_until(done, 60, f"region {region} to match the database")


async def _received(p: Pipeline, events: int) -> None:
    """The consumers having applied everything says nothing of the inspector's own consumer:
    stopping it before it has received every event would (rightly) leave the rest unsampled."""
    await wait_until(lambda: _report(p.report).get("events", {}).get("received") == events, 60,
                     f"the inspector to receive all {events} events")


def _finish(p: Pipeline) -> dict[str, Any]:
    """Stop sampling; the inspector runs the scheduled checks, writes the report, exits."""
    p.inspector.send_signal(signal.SIGTERM)
    assert p.inspector.wait(timeout=max(WINDOWS) + 30) == 0
    report = _report(p.report)
    assert report["running"] is False
    return report


async def test_clean_run_reports_no_inconsistency(
        stack: StackInfo, tmp_path: Path, mariadb_root: Cursor) -> None:
    async with pipeline(stack, tmp_path, mariadb_root) as p:
        with mariadb_root.cursor() as cur:
            _insert_users(cur, p.users, 60)
            cur.execute(f"UPDATE app.{p.users} SET name = CONCAT(name, '!') WHERE id % 3 = 0")
            cur.execute(f"UPDATE app.{p.users} SET secret = 'new' WHERE id % 4 = 0")
            cur.execute(f"DELETE FROM app.{p.users} WHERE id % 5 = 0")
            cur.execute(f"UPDATE app.{p.users} SET id = id + 1000 WHERE id % 10 = 1")  # moves
            for i in range(1, 31):
                cur.execute(f"INSERT INTO app.{p.notes} VALUES (%s, %s, 'x')", (i, i % 7))
            cur.execute(f"UPDATE app.{p.notes} SET body = 'y' WHERE id <= 10")
            cur.execute(f"UPDATE app.{p.notes} SET user_id = 99 WHERE id > 25")  # moves
            cur.execute(f"SELECT id, name FROM app.{p.users}")
            live = dict(cur.fetchall())
        # A key move is a delete and an insert; every event writes one cache key.
        events = 60 + 20 + 15 + 12 + 2 * 6 + 30 + 10 + 2 * 5
        expected: dict[str, bytes | None] = {
            f"{p.prefix}:{i}": _value(i, live[i]) if i in live else None
            for i in [*range(1, 61), *live]}
        expected |= {f"{p.prefix}:{user}:note:{i}": None  # tombstones: action invalidate
                     for i in range(1, 31) for user in (i % 7, 99)}
        await _converged(p.stores, expected)
        await _received(p, events)
        report = _finish(p)

    assert report["events"]["sampled"] == events
    assert report["events"]["dropped"] == 0
    assert report["events"]["pending_probes"] == 0
    assert report["inconsistencies"] == []
    for region in ("east", "west"):
        for window in (window_label(SHORT), window_label(LONG)):
            figures = report["regions"][region][window]
            assert figures["checked"] == figures["consistent"] == events, (region, window,
                                                                          figures)
            assert figures["inconsistent"] == 0, (region, window, figures)
            assert figures["errors"] == 0
            assert figures["nines"] is None
            assert figures["nines_supported"] > 1.5
            assert f"0 inconsistent in {events} checks" in figures["summary"]


async def test_planted_inconsistency_is_found_in_that_region_only(
        stack: StackInfo, tmp_path: Path, mariadb_root: Cursor) -> None:
    async with pipeline(stack, tmp_path, mariadb_root) as p:
        with mariadb_root.cursor() as cur:
            _insert_users(cur, p.users, 20)
        stale_key, filled_key = f"{p.prefix}:5", f"{p.prefix}:6"
        for store, key, i in ((p.stores["east"], stale_key, 5),
                              (p.stores["west"], filled_key, 6)):
            async def applied(store: RedisStore = store, key: str = key, i: int = i) -> bool:
                (entry,) = await store.read([key])
                return entry is not None and entry.value == _value(i, f"n{i}")

            await wait_until(applied, 30, f"{key} to be applied in {store.region}")
        # Straight into Redis, past the fence: east gets an old version with a wrong value
        # (an inconsistency); west an old version with the right value, as a cache-aside
        # fill that knew no version would leave it (the DB re-check clears it).
        await p.stores["east"].client.delete(stale_key)
        await p.stores["east"].client.hset(stale_key, mapping={"v": "0" * 32,
                                                               "d": _value(5, "wrong")})
        await p.stores["west"].client.delete(filled_key)
        await p.stores["west"].client.hset(filled_key, mapping={"v": "0" * 32,
                                                                "d": _value(6, "n6")})
        await _received(p, 20)
        report = _finish(p)

    long_, short = window_label(LONG), window_label(SHORT)
    east, west = report["regions"]["east"][long_], report["regions"]["west"][long_]
    assert east["checked"] == west["checked"] == 20
    assert east["inconsistent"] == 1
    assert east["nines"] is not None
    assert west["inconsistent"] == 0
    assert west["equal"] == 1
    assert report["regions"]["west"][short]["inconsistent"] == 0
    assert report["regions"]["east"][short]["inconsistent"] <= 1  # planted in time or not
    found = [f for f in report["inconsistencies"] if f["window_s"] == LONG]
    assert len(found) == 1
    (finding,) = found
    assert {k: finding[k] for k in ("region", "key", "table", "pk", "entry_version",
                                    "entry_value", "db_value")} == {
        "region": "east", "key": stale_key, "table": f"app.{p.users}", "pk": {"id": 5},
        "entry_version": "0" * 32, "entry_value": _value(5, "wrong").decode(),
        "db_value": _value(5, "n5").decode()}
    assert finding["event_version"] > "0" * 32
    assert all(f["region"] == "east" and f["key"] == stale_key
               for f in report["inconsistencies"])


async def test_a_region_whose_consumer_stopped_is_reported(
        stack: StackInfo, tmp_path: Path, mariadb_root: Cursor) -> None:
    async with pipeline(stack, tmp_path, mariadb_root) as p:
        with mariadb_root.cursor() as cur:
            _insert_users(cur, p.users, 10)
        await _converged(p.stores, {f"{p.prefix}:{i}": _value(i, f"n{i}") for i in range(1, 11)})
        stop_consumer(p.consumers["west"])
        with mariadb_root.cursor() as cur:
            cur.execute(f"UPDATE app.{p.users} SET name = 'renamed' WHERE id <= 4")
        await _converged({"east": p.stores["east"]},
                         {f"{p.prefix}:{i}": _value(i, "renamed") for i in range(1, 5)})
        await _received(p, 14)
        report = _finish(p)

    for window in (window_label(SHORT), window_label(LONG)):
        east_figures, west_figures = (report["regions"][r][window] for r in ("east", "west"))
        assert east_figures["checked"] == west_figures["checked"] == 14
        assert east_figures["inconsistent"] == 0
        # West still holds the four rows as inserted: older versions, other values.
        assert west_figures["inconsistent"] == 4
        assert west_figures["nines"] is not None
    assert sorted(f["key"] for f in report["inconsistencies"] if f["window_s"] == LONG) == \
        sorted(f"{p.prefix}:{i}" for i in range(1, 5))
    assert {f["region"] for f in report["inconsistencies"]} == {"west"}
