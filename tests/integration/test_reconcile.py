"""The reconciler against real MariaDB and Redis (the test stack): detect, classify, repair."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cachesync import db
from cachesync.stack import StackInfo
from reconciler.adapters import Regions, open_regions, run_reconcile
from reconciler.codec import TableCodec
from reconciler.engine import ReconcileOptions
from schemas.actions import CacheAction, CacheEntry
from schemas.config import Settings, parse_settings
from schemas.versions import binlog_version, encode_version

pytestmark = pytest.mark.integration

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
CLI = [sys.executable, "-c", "from cachesync.cli import main; main()"]
OLD = binlog_version(0, 1, 4, 1)
"""A binlog version older than any snapshot of the test stack."""


def raw_settings(stack: StackInfo, tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "source": {"dsn": stack.repl_dsn},
        "kafka": {"bootstrap_servers": [stack.kafka_bootstrap]},
        "regions": {name: {"redis_url": url} for name, url in stack.redis_urls.items()},
        "tables": tables,
    }


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def root(stack: StackInfo) -> Iterator[sa.Engine]:
    engine = db.create_engine(parse_settings(raw_settings(stack, {"app.x": {
        "cache_keys": ["x:{id}"]}}) | {"source": {"dsn": stack.root_dsn}}).source.dsn, "app")
    yield engine
    engine.dispose()


@pytest.fixture
def upgraded(stack: StackInfo) -> Iterator[sa.Engine]:
    """The engine schema, migrated; yields an engine on it."""
    settings = parse_settings(raw_settings(stack, {"app.x": {"cache_keys": ["x:{id}"]}}))
    db.upgrade(settings)
    engine = db.engine_for(settings)
    yield engine
    engine.dispose()


def write_config(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "reconcile", "--config", str(config), *args],
        capture_output=True, text=True, timeout=300, check=False, env=ENV,
    )


@pytest.fixture
async def regions(stack: StackInfo) -> AsyncIterator[Regions]:
    settings = parse_settings(raw_settings(stack, {"app.x": {"cache_keys": ["x:{id}"]}}))
    async with open_regions(settings, None) as opened:
        yield opened


def rows_of(root: sa.Engine, table: str) -> list[dict[str, Any]]:
    with root.connect() as conn:
        return [dict(row._mapping) for row in conn.exec_driver_sql(f"SELECT * FROM {table}")]


def codec_for(root: sa.Engine, settings: Settings, table: str) -> TableCodec:
    schema, _, name = table.partition(".")
    with root.connect() as conn:
        types: dict[str, str] = dict(conn.execute(sa.text(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = :s AND TABLE_NAME = :t"), {"s": schema, "t": name}).all())
    return TableCodec(settings.tables[table], types)


def expected_value(root: sa.Engine, settings: Settings, table: str,
                   row: dict[str, Any]) -> bytes:
    codec = codec_for(root, settings, table)
    return codec.value(codec.wire(list(row), list(row.values())))


async def test_every_drift_class_in_every_region_is_found_and_repaired(
    stack: StackInfo, root: sa.Engine, upgraded: sa.Engine, regions: Regions, uid: str,
    tmp_path: Path,
) -> None:
    binlog_t, vcol_t = f"app.rc_b_{uid}", f"app.rc_v_{uid}"
    with root.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {binlog_t} (id INT PRIMARY KEY, name VARCHAR(32), "
                             "secret VARCHAR(32))")
        conn.exec_driver_sql(f"INSERT INTO {binlog_t} SELECT seq, CONCAT('n', seq), 'pw' "
                             "FROM seq_1_to_6")
        conn.exec_driver_sql(f"CREATE TABLE {vcol_t} (user_id INT, currency CHAR(3), "
                             "amount DECIMAL(10,2), version BIGINT, "
                             "PRIMARY KEY (user_id, currency))")
        conn.exec_driver_sql(f"INSERT INTO {vcol_t} VALUES (1,'EUR',1.50,10),(1,'USD',2.00,20),"
                             "(2,'EUR',3.25,30)")
    tables: dict[str, dict[str, Any]] = {
        binlog_t: {"cache_keys": [f"rc{uid}:b:{{id}}"], "action": "rewrite",
                   "columns": ["id", "name"], "warm": True},
        vcol_t: {"cache_keys": [f"rc{uid}:v:{{user_id}}:{{currency}}"], "action": "rewrite",
                 "version_column": "version", "columns": ["user_id", "currency", "amount",
                                                           "version"]},
    }
    raw = raw_settings(stack, tables)
    settings = parse_settings(raw)
    config = write_config(tmp_path / "cachesync.yaml", raw)
    b_rows = {row["id"]: row for row in rows_of(root, binlog_t)}
    v_rows = {(row["user_id"], row["currency"]): row for row in rows_of(root, vcol_t)}

    def b_val(i: int) -> bytes:
        return expected_value(root, settings, binlog_t, b_rows[i])

    def v_val(k: tuple[int, str]) -> bytes:
        return expected_value(root, settings, vcol_t, v_rows[k])

    bad = b'{"tampered":true}'
    injected = [
        CacheAction("rewrite", f"rc{uid}:b:1", OLD, 600, b_val(1)),      # consistent
        CacheAction("rewrite", f"rc{uid}:b:2", OLD, 600, bad),           # stale
        CacheAction("invalidate", f"rc{uid}:b:3", OLD, 600),             # tombstone/live row
        # b:4 missing (warm table: filled)
        CacheAction("rewrite", f"rc{uid}:b:5", OLD, 600, b_val(5)),      # consistent
        CacheAction("rewrite", f"rc{uid}:b:6", OLD, 600, b_val(6)),      # consistent
        CacheAction("rewrite", f"rc{uid}:b:99", OLD, 600, bad),          # orphan
        CacheAction("rewrite", f"rc{uid}:v:1:EUR", encode_version(10), 600, bad),   # corrupt
        CacheAction("rewrite", f"rc{uid}:v:1:USD", encode_version(19), 600, bad),   # stale
        CacheAction("rewrite", f"rc{uid}:v:2:EUR", encode_version(30), 600,
                    v_val((2, "EUR"))),                                             # consistent
        CacheAction("rewrite", f"rc{uid}:v:3:EUR", encode_version(5), 600, bad),    # orphan
    ]
    east, west = regions.stores["east"], regions.stores["west"]
    await east.apply(injected)
    # west: as if flushed, plus one orphan and one tombstone over a live row
    await west.apply([injected[2], injected[5], injected[9]])

    first = cli(config)
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    counts = report["tables"]
    expect_east_b = {"stale": 1, "tombstone_over_live_row": 1, "missing": 1, "orphan": 1,
                     "corrupt": 0}
    expect_west_b = {"stale": 0, "tombstone_over_live_row": 1, "missing": 5, "orphan": 1,
                     "corrupt": 0}
    for region, expected in (("east", expect_east_b), ("west", expect_west_b)):
        got = counts[binlog_t]["regions"][region]
        assert {name: got[name] for name in expected} == expected, (region, got)
    v_east = counts[vcol_t]["regions"]["east"]
    assert (v_east["corrupt"], v_east["stale"], v_east["orphan"], v_east["missing"]) == \
        (1, 1, 1, 0)
    v_west = counts[vcol_t]["regions"]["west"]
    assert (v_west["orphan"], v_west["missing"]) == (1, 3)
    assert report["drift"] == 4 + 7 + 3 + 1  # missing counts on the warm table only
    assert "pw" not in first.stdout + first.stderr  # unprojected columns never leak

    for store in (east, west):
        got = await store.read([f"rc{uid}:b:{i}" for i in range(1, 7)])
        assert [entry.value if entry else None for entry in got] == [b_val(i) for i in
                                                                     range(1, 7)]
        orphans = await store.read([f"rc{uid}:b:99", f"rc{uid}:v:3:EUR"])
        assert all(entry is not None and entry.is_tombstone for entry in orphans)
    fixed = await east.read([f"rc{uid}:v:1:EUR", f"rc{uid}:v:1:USD"])
    # corrupt at the row's own version: replaced by a tombstone at V+1 (never stale data)
    assert fixed[0] == CacheEntry(encode_version(11), None)
    assert fixed[1] == CacheEntry(encode_version(20), v_val((1, "USD")))

    second = cli(config)
    assert second.returncode == 0, second.stdout + second.stderr
    assert json.loads(second.stdout)["drift"] == 0

    dry = cli(config, "--dry-run")
    assert dry.returncode == 0


async def test_dry_run_changes_nothing(
    stack: StackInfo, root: sa.Engine, upgraded: sa.Engine, regions: Regions, uid: str,
    tmp_path: Path,
) -> None:
    table = f"app.rc_d_{uid}"
    with root.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(32))")
        conn.exec_driver_sql(f"INSERT INTO {table} SELECT seq, 'x' FROM seq_1_to_3")
    raw = raw_settings(stack, {table: {"cache_keys": [f"rc{uid}:d:{{id}}"],
                                       "action": "rewrite", "warm": True}})
    east = regions.stores["east"]
    await east.apply([CacheAction("rewrite", f"rc{uid}:d:1", OLD, 600, b"wrong")])
    before = await east.read([f"rc{uid}:d:{i}" for i in (1, 2, 3)])
    result = cli(write_config(tmp_path / "c.yaml", raw), "--dry-run", "--region", "east")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert {(a["key"], a["class"], a["kind"]) for a in report["actions"]} == {
        (f"rc{uid}:d:1", "stale", "fill"), (f"rc{uid}:d:2", "missing", "fill"),
        (f"rc{uid}:d:3", "missing", "fill")}
    assert "west" not in report["tables"][table]["regions"]
    assert await east.read([f"rc{uid}:d:{i}" for i in (1, 2, 3)]) == before


async def test_unknown_table_is_an_error(stack: StackInfo, upgraded: sa.Engine,
                                         tmp_path: Path, uid: str) -> None:
    raw = raw_settings(stack, {f"app.rc_missing_{uid}": {"cache_keys": ["m:{id}"]}})
    result = cli(write_config(tmp_path / "c.yaml", raw))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    result = cli(write_config(tmp_path / "c.yaml", raw), "--table", "app.other")
    assert result.returncode == 2
    assert "not in the configuration" in result.stderr


async def test_live_updates_on_hot_keys_never_end_older_than_the_db(
    stack: StackInfo, root: sa.Engine, upgraded: sa.Engine, regions: Regions, uid: str,
) -> None:
    """A writer bumps hot rows and applies each change's rewrite (as the consumers would)
    while the reconciler runs at full speed; at the end every entry matches the DB."""
    table = f"app.rc_h_{uid}"
    hot = 20
    with root.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (id INT PRIMARY KEY, n BIGINT, "
                             "version BIGINT)")
        conn.exec_driver_sql(f"INSERT INTO {table} SELECT seq, 0, 1 FROM seq_1_to_{hot}")
    rule: dict[str, Any] = {"cache_keys": [f"rc{uid}:h:{{id}}"], "action": "rewrite",
            "version_column": "version", "warm": True}
    settings = parse_settings(raw_settings(stack, {table: rule}))
    codec = codec_for(root, settings, table)
    stop = asyncio.Event()
    writes = 0

    async def writer() -> None:
        nonlocal writes
        i = 0
        while not stop.is_set():
            key_id = i % hot + 1
            i += 1

            def bump(key_id: int = key_id) -> dict[str, Any]:
                with root.begin() as conn:
                    conn.exec_driver_sql(f"UPDATE {table} SET n = n + 1, version = version + 1 "
                                         f"WHERE id = {key_id}")
                    row = conn.exec_driver_sql(f"SELECT id, n, version FROM {table} "
                                               f"WHERE id = {key_id}").one()
                return codec.wire(["id", "n", "version"], list(row))

            row = await asyncio.to_thread(bump)
            action = CacheAction("rewrite", codec.keys(row)[0], codec.version(row) or "",
                                 600, codec.value(row))
            # The stream applies late sometimes: the reconciler may fill first.
            if i % 3 == 0:
                await asyncio.sleep(0.005)
            await asyncio.gather(*(store.apply([action])
                                   for store in regions.stores.values()))
            writes += 1

    task = asyncio.create_task(writer())
    runs = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        report = await run_reconcile(settings, None,
                                     ReconcileOptions(chunk_rows=7, orphan_scan=False))
        assert report["exit_code"] in (0, 1), report["error"]
        runs += 1
    stop.set()
    await task
    assert writes > 50 and runs > 3
    final = {row["id"]: codec.wire(list(row), list(row.values()))
             for row in rows_of(root, table)}
    for store in regions.stores.values():
        entries = await store.read([f"rc{uid}:h:{i}" for i in range(1, hot + 1)])
        for i, entry in zip(range(1, hot + 1), entries, strict=True):
            assert entry is not None
            assert entry.version == codec.version(final[i])
            assert entry.value == codec.value(final[i])


def run_status(engine: sa.Engine, run_id: int) -> tuple[str, int]:
    with engine.connect() as conn:
        status = conn.execute(sa.select(db.reconciler_runs.c.status)
                              .where(db.reconciler_runs.c.id == run_id)).scalar_one()
        scanned = conn.execute(sa.select(sa.func.sum(db.reconciler_cursors.c.rows_scanned))
                               .where(db.reconciler_cursors.c.run_id == run_id)).scalar()
    return str(status), int(scanned or 0)


def latest_run(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(db.reconciler_runs.c.id))).scalar() or 0)


async def test_sigkill_then_resume_finishes_from_the_cursor(
    stack: StackInfo, root: sa.Engine, upgraded: sa.Engine, regions: Regions, uid: str,
    tmp_path: Path,
) -> None:
    table = f"app.rc_k_{uid}"
    total = 6000
    with root.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (a INT, b VARCHAR(8), v INT, "
                             "PRIMARY KEY (a, b))")
        conn.exec_driver_sql(f"INSERT INTO {table} SELECT seq DIV 3, CONCAT('k', seq MOD 3), "
                             f"seq FROM seq_1_to_{total}")
    raw = raw_settings(stack, {table: {"cache_keys": [f"rc{uid}:k:{{a}}:{{b}}"],
                                       "action": "rewrite", "warm": True}})
    config = write_config(tmp_path / "c.yaml", raw)
    with root.connect() as conn:
        keys = [f"rc{uid}:k:{a}:{b}" for a, b in conn.exec_driver_sql(
            f"SELECT a, b FROM {table}")]
    previous = latest_run(upgraded)
    process = await asyncio.create_subprocess_exec(
        *CLI, "reconcile", "--config", str(config),
        "--max-rows-per-second", "1500", "--chunk-rows", "250",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
    )
    try:
        deadline = time.monotonic() + 60
        run_id = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            run_id = latest_run(upgraded)
            if run_id > previous and run_status(upgraded, run_id)[1] >= 2000:
                break
        process.send_signal(signal.SIGKILL)
    finally:
        await asyncio.wait_for(process.wait(), 30)
    status, scanned = run_status(upgraded, run_id)
    assert status == "running"
    assert 2000 <= scanned < total
    filled = sum(entry is not None for entry in await regions.stores["east"].read(keys))
    assert filled >= scanned  # everything before the cursor was repaired

    resumed = cli(config, "--resume")
    assert resumed.returncode == 1, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["resumed"] is True
    assert report["run_id"] == run_id
    assert report["rows_scanned"] == total
    assert run_status(upgraded, run_id) == ("done", total)
    for store in regions.stores.values():
        entries = await store.read(keys)
        assert all(entry is not None and not entry.is_tombstone for entry in entries)
    again = cli(config, "--resume")  # nothing unfinished: a new, clean run
    assert again.returncode == 0, again.stdout
    assert json.loads(again.stdout)["resumed"] is False


async def test_reconciler_racing_the_real_pipeline_on_hot_keys(
    stack: StackInfo, root: sa.Engine, upgraded: sa.Engine, regions: Regions, uid: str,
    tmp_path: Path,
) -> None:
    """Binlog versions end to end: CDC worker + consumers apply a writer's updates of hot
    rows while the reconciler runs at full speed; once the stream drains, every region
    holds exactly the DB's rows (nothing ended older than the DB)."""
    table = f"app.rc_p_{uid}"
    hot = 10
    with root.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (id INT PRIMARY KEY, n BIGINT)")
        conn.exec_driver_sql(f"INSERT INTO {table} SELECT seq, 0 FROM seq_1_to_{hot}")
    raw = raw_settings(stack, {table: {"cache_keys": [f"rc{uid}:p:{{id}}"],
                                       "action": "rewrite", "warm": True}})
    raw["source"] |= {"name": f"rc_{uid}", "server_id": 5000 + int(uid[:3], 16)}
    raw["kafka"] |= {"topic": f"rc.{uid}", "dlq_topic": f"rc.{uid}.dlq", "partitions": 2}
    settings = parse_settings(raw)
    config = write_config(tmp_path / "p.yaml", raw)
    # The consumer does not pick up a topic created after it subscribed: create it first.
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(f"rc.{uid}", 2, 1)])
    finally:
        await admin.close()
    logs = [(tmp_path / "cdc.log").open("wb"), (tmp_path / "consume.log").open("wb")]
    workers = [
        await asyncio.create_subprocess_exec(*CLI, "cdc", "run", "--config", str(config),
                                             stderr=logs[0], env=ENV),
        await asyncio.create_subprocess_exec(*CLI, "consume", "--config", str(config),
                                             "--regions", "east,west", "--group-id",
                                             f"rc-{uid}", stderr=logs[1], env=ENV),
    ]
    codec = codec_for(root, settings, table)
    keys = [f"rc{uid}:p:{i}" for i in range(1, hot + 1)]

    def bump(key_id: int) -> None:
        with root.begin() as conn:
            conn.exec_driver_sql(f"UPDATE {table} SET n = n + 1 WHERE id = {key_id}")

    async def differences() -> list[tuple[str, str, bytes | None, bytes]]:
        final = [codec.value(codec.wire(list(row), list(row.values())))
                 for row in sorted(rows_of(root, table), key=lambda r: r["id"])]
        wrong = []
        for region, store in regions.stores.items():
            entries = await store.read(keys)
            wrong += [(region, key, entry.value if entry else None, value)
                      for key, entry, value in zip(keys, entries, final, strict=True)
                      if entry is None or entry.value != value]
        return wrong

    try:
        deadline = time.monotonic() + 90
        while True:  # the pipeline is up once a change reaches both regions
            await asyncio.to_thread(bump, 1)
            entries = [await store.read(keys[:1]) for store in regions.stores.values()]
            if all(entry[0] is not None for entry in entries):
                break
            assert time.monotonic() < deadline, \
                f"CDC worker + consumers did not start (logs: {[log.name for log in logs]})"
            await asyncio.sleep(0.5)
        stop = asyncio.Event()

        async def writer() -> int:
            count = 0
            while not stop.is_set():
                await asyncio.to_thread(bump, count % hot + 1)
                count += 1
                await asyncio.sleep(0.001)  # a hot key, not a flood the stream lags behind
            return count

        task = asyncio.create_task(writer())
        runs = 0
        until = time.monotonic() + 8
        while time.monotonic() < until:
            report = await run_reconcile(settings, None,
                                         ReconcileOptions(chunk_rows=3, orphan_scan=False))
            assert report["exit_code"] in (0, 1), report["error"]
            runs += 1
        stop.set()
        writes = await task
        assert writes > 50 and runs > 3
        deadline = time.monotonic() + 120
        while wrong := await differences():
            assert time.monotonic() < deadline, f"regions did not converge to the DB: {wrong}"
            await asyncio.sleep(0.5)
    finally:
        for process in workers:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        for log in logs:
            log.close()
