"""Producing change events and running `cachesync consume` for consumer tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymysql
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cachesync import db
from cachesync.stack import StackInfo
from consumers.store import RedisStore
from schemas.config import Dsn
from schemas.events import ChangeEvent, Source, encode_event
from schemas.versions import binlog_version
from tests.integration.conftest import unique_name
from tests.integration.settings import stack_settings, write_config

CACHESYNC = str(Path(sys.executable).with_name("cachesync"))
TABLES = {"app.items": {"cache_keys": ["{prefix}:{id}"], "action": "rewrite",
                        "columns": ["id", "prefix", "n"]}}


def item_event(prefix: str, key: int, n: int) -> ChangeEvent:
    """The n-th change (from 1) of item ``key``: versions grow with n, across all keys."""
    image = {"id": key, "prefix": prefix, "n": n}
    return ChangeEvent(
        op="insert" if n == 1 else "update", table="app.items", pk={"id": key}, key=str(key),
        before=None if n == 1 else image, after=image,
        version=binlog_version(0, 1, n, key + 1),
        source=Source(server_id=1, file="b.000001", pos=n, row_index=key + 1,
                      ts_ms=int(time.time() * 1000)),
    )


async def create_topic(bootstrap: str, topic: str, partitions: int = 4) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def listed_topics(bootstrap: str) -> set[str]:
    """The topics the broker lists."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def encoded(events: list[ChangeEvent]) -> list[tuple[bytes, bytes]]:
    return [(e.key.encode(), encode_event(e)) for e in events]


_LOGS: dict[int, Path] = {}


def start_consumer(config: Path, region: str, group: str, log_dir: Path, *,
                   metrics_port: int = 0, instance_id: str | None = None
                   ) -> subprocess.Popen[bytes]:
    """``cachesync consume`` for a region; ``metrics_port`` serves its /metrics; its output
    is :func:`consumer_log`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CACHESYNC_METRICS__PORT": str(metrics_port)}
    path = log_dir / f"consumer-{region}-{time.monotonic_ns()}.log"
    extra = [] if instance_id is None else ["--instance-id", instance_id]
    with path.open("wb") as log:
        proc = subprocess.Popen(
            [CACHESYNC, "consume", "--config", str(config), "--region", region, "--group-id",
             group, "--max-records", "500", *extra],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    _LOGS[proc.pid] = path
    return proc


def consumer_log(proc: subprocess.Popen[bytes]) -> str:
    """What a consumer started by :func:`start_consumer` printed so far."""
    return _LOGS[proc.pid].read_text(errors="replace")


def start_cdc(config: Path, log_dir: Path) -> subprocess.Popen[bytes]:
    with (log_dir / f"cdc-{time.monotonic_ns()}.log").open("wb") as log:
        return subprocess.Popen([CACHESYNC, "cdc", "run", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT)


def stop_consumer(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    proc.wait(timeout=30)


async def stored_n(store: RedisStore, prefix: str, keys: range) -> list[int | None]:
    """The ``n`` each item holds in a region (None: nothing stored)."""
    import json  # noqa: PLC0415

    entries = await store.read([f"{prefix}:{k}" for k in keys])
    return [json.loads(e.value)["n"] if e is not None and e.value else None for e in entries]


async def all_at(store: RedisStore, prefix: str, keys: range, n: int) -> bool:
    """Whether every key holds round ``n`` in the region."""
    return await stored_n(store, prefix, keys) == [n] * len(keys)


async def wait_until(check: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


async def wait_for_cdc_start(root: pymysql.Connection[pymysql.cursors.Cursor],
                             source_name: str) -> None:
    """A first CDC run starts at the binlog's end: write only once the worker has its position."""
    def started() -> bool:
        with root.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM cachesync.positions WHERE source_name = %s",
                        (source_name,))
            row = cur.fetchone()
        return bool(row and row[0])

    await wait_until(started, 60, "the CDC worker to take its start position")


def region_store(urls: dict[str, str], region: str) -> RedisStore:
    return RedisStore(region, Dsn(urls[region]))


@dataclass(frozen=True)
class UsersAndNotes:
    """Fresh app tables and a config whose topic and CDC source are this test's alone."""

    users: str
    """``app.<users>`` (id, name, secret): ``rewrite`` of id and name to ``<prefix>:<id>``."""
    notes: str
    """``app.<notes>`` (id, user_id, body): ``invalidate`` of ``<prefix>:<user_id>:note:<id>``,
    partitioned by user_id."""
    prefix: str
    config: Path
    source_name: str


def users_and_notes(stack: StackInfo, root: pymysql.Connection[pymysql.cursors.Cursor],
                    config_dir: Path, *, server_id: int) -> UsersAndNotes:
    users, notes, prefix = unique_name("users"), unique_name("notes"), unique_name("u")
    tables = {
        f"app.{users}": {"cache_keys": [f"{prefix}:{{id}}"], "action": "rewrite",
                         "columns": ["id", "name"]},
        f"app.{notes}": {"partition_key": "user_id", "action": "invalidate",
                         "cache_keys": [f"{prefix}:{{user_id}}:note:{{id}}"]},
    }
    source_name = unique_name("src")
    options = {"topic": unique_name("changes"), "source_name": source_name,
               "server_id": server_id}
    with root.cursor() as cur:
        cur.execute(f"CREATE TABLE app.{users} (id INT PRIMARY KEY, name VARCHAR(40), "
                    "secret VARCHAR(10))")
        cur.execute(f"CREATE TABLE app.{notes} (id INT PRIMARY KEY, user_id INT, body TEXT)")
    db.upgrade(stack_settings(stack, tables, **options))
    config = write_config(config_dir / "c.yaml", stack, tables, **options)
    return UsersAndNotes(users, notes, prefix, config, source_name)
