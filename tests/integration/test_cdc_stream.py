"""The CDC worker against the real stack: ops, order, start-up refusals, DDL, purged binlog."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
import time
from pathlib import Path

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from bench.proc import process_tree, status_kb
from cachesync.stack import StackInfo
from cdc.catalog import SourceConfigError
from cdc.worker import CdcWorker
from schemas.versions import binlog_file_index, snapshot_version
from tests.integration.test_cdc_support import (
    Record,
    cdc_setup,
    consume,
    create_table,
    mysql,
    run_cli,
    running_worker,
    start_here,
    worker_process,
)

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" /
                     "change_event.schema.json").read_text())


async def test_ops_order_and_schema(stack: StackInfo) -> None:
    name = create_table(stack, "cdc_s", "id INT PRIMARY KEY, user_id INT NOT NULL, n INT NOT NULL")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{user_id}}"],
                                              "partition_key": "user_id"}}, name=name)
    start_here(setup)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {name} VALUES (1, 100, 0), (2, 200, 0)")
        for n in range(1, 51):  # 50 updates of one key, one per transaction
            cur.execute(f"UPDATE {name} SET n = %s WHERE id = 1", (n,))
        cur.execute(f"UPDATE {name} SET user_id = 300 WHERE id = 2")  # partition key moves
        cur.execute(f"DELETE FROM {name} WHERE id = 1")
    async with running_worker(setup.settings):
        records = await consume(stack.kafka_bootstrap, setup.topic,
                                until=lambda got: len(got) >= 55)
    assert len(records) == 55
    for record in records:
        jsonschema.validate(json.loads(_payload(record)), SCHEMA,
                            cls=jsonschema.Draft202012Validator)
        assert record.key == record.event.key.encode()
    key100 = sorted((r for r in records if r.key == b"100"), key=lambda r: r.offset)
    assert len({r.partition for r in key100}) == 1
    assert [r.event.op for r in key100] == ["insert", *["update"] * 50, "delete"]
    assert [r.event.after["n"] for r in key100[1:-1] if r.event.after] == list(range(1, 51))
    versions = [r.event.version for r in key100]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    moved = [(r.event.op, r.event.key) for r in records if r.event.pk == {"id": 2}]
    assert moved == [("insert", "200"), ("delete", "200"), ("insert", "300")]


def _payload(record: Record) -> bytes:
    from schemas.events import encode_event  # noqa: PLC0415

    return encode_event(record.event)


async def test_bad_server_setting_is_refused_by_name(stack: StackInfo,
                                                      mariadb_root: object) -> None:
    name = create_table(stack, "cdc_s", "id INT PRIMARY KEY")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute("SET GLOBAL binlog_row_metadata = MINIMAL")
        try:
            with pytest.raises(SourceConfigError, match="binlog_row_metadata is 'MINIMAL'"):
                await CdcWorker(setup.settings).run(asyncio.Event())
        finally:
            cur.execute("SET GLOBAL binlog_row_metadata = FULL")


async def test_missing_key_column_is_refused_by_name(stack: StackInfo, tmp_path: Path) -> None:
    name = create_table(stack, "cdc_s", "id INT PRIMARY KEY")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"],
                                              "partition_key": "user_id"}}, name=name)
    result = run_cli("cdc", "run", "--config", str(setup.write_config(tmp_path)))
    assert result.returncode != 0
    assert f"app.{name}: partition_key column 'user_id' does not exist" in result.stderr


async def test_alter_table_under_a_concurrent_writer(stack: StackInfo) -> None:
    name = create_table(stack, "cdc_s", "id INT PRIMARY KEY, a INT, b VARCHAR(10)")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name)
    start_here(setup)
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
            i = 1000
            while not stop.is_set():
                i += 1
                cur.execute(f"INSERT INTO {name} (id, a) VALUES (%s, %s)", (i, i))
                written.append(i)

    thread = threading.Thread(target=writer)
    async with running_worker(setup.settings):
        thread.start()
        try:
            with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
                await asyncio.sleep(0.2)
                cur.execute(f"ALTER TABLE {name} ADD COLUMN c DECIMAL(5,2) AFTER a")
                cur.execute(f"INSERT INTO {name} (id, a, c, b) VALUES (1, 1, 1.25, 'x')")
                cur.execute(f"ALTER TABLE {name} DROP COLUMN b")
                cur.execute(f"INSERT INTO {name} (id, a, c) VALUES (2, 2, 2.5)")
                cur.execute(f"ALTER TABLE {name} MODIFY COLUMN a VARCHAR(20)")
                cur.execute(f"INSERT INTO {name} (id, a, c) VALUES (3, 'three', 3)")
                await asyncio.sleep(0.2)
        finally:
            stop.set()
            await asyncio.to_thread(thread.join)
        expected = 3 + len(written)
        records = await consume(stack.kafka_bootstrap, setup.topic,
                                until=lambda got: len(got) >= expected)
    after = {r.event.pk["id"]: r.event.after for r in records}
    assert after[1] == {"id": 1, "a": 1, "c": "1.25", "b": "x"}
    assert after[2] == {"id": 2, "a": 2, "c": "2.50"}
    assert after[3] == {"id": 3, "a": "three", "c": "3.00"}
    assert set(written) <= set(after)
    for i in written:
        assert after[i] is not None
        assert str((after[i] or {})["a"]) == str(i)  # int before the MODIFY, text after it


async def test_purged_binlog_exits_naming_position_and_recovery(
        stack: StackInfo, tmp_path: Path) -> None:
    name = create_table(stack, "cdc_s", "id INT PRIMARY KEY")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name)
    start_here(setup)
    from cachesync import db  # noqa: PLC0415
    from cdc.checkpoint import CheckpointStore  # noqa: PLC0415

    stored = CheckpointStore(db.engine_for(setup.settings), name).load()
    assert stored is not None
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {name} VALUES (1)")
        cur.execute("FLUSH BINARY LOGS")
        cur.execute("SHOW MASTER STATUS")
        current = cur.fetchone()[0]  # type: ignore[index]
        # The previous file stays until InnoDB's binlog checkpoint passes it: retry.
        for _ in range(100):
            cur.execute(f"PURGE BINARY LOGS TO '{current}'")
            cur.execute("SHOW BINARY LOGS")
            if stored.position.file not in {row[0] for row in cur.fetchall()}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{stored.position.file} was never purged")
    config = setup.write_config(tmp_path)
    result = run_cli("cdc", "run", "--config", str(config))
    assert result.returncode != 0, result.stderr
    assert f"GTID {stored.position.gtid}" in result.stderr
    assert stored.position.file in result.stderr
    assert "cachesync reconcile" in result.stderr
    assert "cachesync cdc reset-position" in result.stderr
    # The documented recovery works: reset to now, then the worker streams again.
    reset = run_cli("cdc", "reset-position", "--config", str(config), "--to-current")
    assert reset.returncode == 0, reset.stderr
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {name} VALUES (2)")
    async with running_worker(setup.settings):
        records = await consume(stack.kafka_bootstrap, setup.topic,
                                until=lambda got: len(got) >= 1)
    assert [r.event.pk for r in records] == [{"id": 2}]


async def test_snapshot_version_sits_between_the_changes_around_it(stack: StackInfo) -> None:
    """A consistent snapshot's ``Binlog_snapshot_position`` is the GTID event start of the
    next transaction, so the reconciler's snapshot version is above every change inside the
    snapshot and below every change after it."""
    name = create_table(stack, "cdc_s", "id INT PRIMARY KEY")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name)
    start_here(setup)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur, \
            contextlib.closing(mysql(stack)) as snap, snap.cursor() as snap_cur:
        cur.execute(f"INSERT INTO {name} VALUES (1)")
        snap_cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        snap_cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        status = {str(k): str(v) for k, v in snap_cur.fetchall()}
        snap_cur.execute("COMMIT")
        cur.execute(f"INSERT INTO {name} VALUES (2)")
        snap_file, snap_pos = status["Binlog_snapshot_file"], int(status[
            "Binlog_snapshot_position"])
        cur.execute(f"SHOW BINLOG EVENTS IN '{snap_file}' FROM {snap_pos} LIMIT 1")
        event_at_snapshot = cur.fetchone()
    async with running_worker(setup.settings):
        records = await consume(stack.kafka_bootstrap, setup.topic,
                                until=lambda got: len(got) >= 2)
    by_id = {r.event.pk["id"]: r.event for r in records}
    inside, after = by_id[1], by_id[2]
    assert event_at_snapshot is not None and event_at_snapshot[2] == "Gtid"
    assert (after.source.file, after.source.pos) == (snap_file, snap_pos)
    assert after.source.row_index == 1
    version = snapshot_version(after.source.epoch, binlog_file_index(snap_file), snap_pos)
    assert inside.version < version < after.version


async def test_lost_connection_reopens_from_the_checkpoint(stack: StackInfo) -> None:
    name = create_table(stack, "cdc_s", "id INT PRIMARY KEY")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name)
    start_here(setup)
    reconnects = REGISTRY.get_sample_value("cachesync_cdc_reconnects_total") or 0.0

    def insert(ids: range) -> None:
        with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
            for i in ids:
                cur.execute(f"INSERT INTO {name} VALUES (%s)", (i,))

    async def kill_binlog_connection() -> None:
        # The library would reconnect by itself and replay from its first position; the
        # worker notices and reopens from its own acknowledged position instead.
        with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
            for _ in range(200):
                cur.execute("SELECT ID FROM information_schema.PROCESSLIST "
                            "WHERE COMMAND LIKE 'Binlog Dump%%' AND USER = 'cachesync'")
                found = cur.fetchall()
                if found:
                    break
                await asyncio.sleep(0.05)
            assert found, "the worker never connected"
            for (thread_id,) in found:
                cur.execute(f"KILL {int(thread_id)}")

    async with running_worker(setup.settings) as task:
        await asyncio.to_thread(insert, range(1, 51))
        await kill_binlog_connection()
        await asyncio.to_thread(insert, range(51, 121))
        await kill_binlog_connection()
        await asyncio.to_thread(insert, range(121, 201))
        records = await consume(stack.kafka_bootstrap, setup.topic,
                                until=lambda got: {r.event.pk["id"] for r in got}
                                >= set(range(1, 201)))
        assert not task.done()
    assert (REGISTRY.get_sample_value("cachesync_cdc_reconnects_total") or 0.0) > reconnects
    ids = [r.event.pk["id"] for r in records]
    assert set(ids) == set(range(1, 201))
    assert len(ids) < 2 * 200, "the stream was replayed from its start"



def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the reader process), in MiB."""
    return sum(status_kb(p, "VmRSS:") or 0 for p in process_tree(pid)) / 1024


async def test_a_huge_transaction_streams_in_bounded_memory(stack: StackInfo,
                                                            tmp_path: Path) -> None:
    rows = 300_000
    name = create_table(stack, "cdc_s", "id INT PRIMARY KEY, pad CHAR(100) NOT NULL")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name)
    start_here(setup)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        # One transaction, one statement: about 35 MB of row images in the binlog.
        cur.execute(f"INSERT INTO {name} SELECT seq, REPEAT('x', 100) FROM seq_1_to_{rows}")
    proc = worker_process(setup.write_config(tmp_path), tmp_path / "worker.log")
    peak = 0.0
    try:
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap)
        await consumer.start()
        try:
            deadline = time.monotonic() + 120
            published = 0
            while published < rows:
                assert time.monotonic() < deadline, f"only {published} of {rows} published"
                assert proc.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
                peak = max(peak, _rss_mb(proc.pid))
                partitions = consumer.partitions_for_topic(setup.topic) or set()
                if partitions:
                    ends = await consumer.end_offsets(
                        [TopicPartition(setup.topic, p) for p in partitions])
                    published = sum(ends.values())
                else:
                    await consumer._client.force_metadata_update()
                await asyncio.sleep(0.2)
        finally:
            await consumer.stop()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert published == rows  # no restart: exactly once here
    logging.getLogger(__name__).info("worker peak RSS %.0f MiB for a %d-row transaction",
                                     peak, rows)
    assert peak < 400, f"the worker's memory grew to {peak:.0f} MiB"
