"""Shared helpers of the CDC integration tests (no tests here).

Each test gets its own tables, topic and ``source_name`` (its positions row), so tests
never see each other's rows or checkpoints. The worker runs either in-process (an asyncio
task) or as a ``cachesync cdc run`` subprocess (for kill tests) with a YAML config written
to the test's tmp_path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition

from cachesync import db
from cachesync.stack import StackInfo
from cdc.worker import CdcWorker, reset_to_current
from schemas.config import Settings, parse_settings
from schemas.events import ChangeEvent, decode_event
from tests.integration.conftest import unique_name
from tests.integration.settings import stack_config

REPO = Path(__file__).resolve().parents[2]
CACHESYNC = REPO / ".venv" / "bin" / "cachesync"


@dataclass
class CdcSetup:
    """One test's worker configuration: raw (for a config file) and parsed."""

    raw: dict[str, Any]
    settings: Settings

    @property
    def topic(self) -> str:
        return self.settings.kafka.topic

    def write_config(self, directory: Path) -> Path:
        path = directory / f"cdc-{self.settings.source.name}.yaml"
        path.write_text(yaml.safe_dump(self.raw), encoding="utf-8")
        return path


def cdc_setup(stack: StackInfo, tables: dict[str, dict[str, Any]], *, name: str,
              partitions: int = 4, server_id: int = 4300, dsn: str | None = None) -> CdcSetup:
    """Settings for a test: topic ``name``, positions row ``name``; engine schema migrated."""
    raw = stack_config(stack, tables, topic=name, partitions=partitions, source_name=name,
                       server_id=server_id)
    raw["source"].update(dsn=dsn or stack.repl_dsn, heartbeat_interval_ms=200)
    raw["engine"]["dsn"] = stack.repl_dsn
    settings = parse_settings(raw)
    db.upgrade(settings)
    return CdcSetup(raw, settings)


def start_here(setup: CdcSetup) -> None:
    """Point the test's checkpoint at the binlog's current end (before the test writes)."""
    reset_to_current(setup.settings)


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[asyncio.Task[None]]:
    """The worker in-process until the block ends (then stopped cleanly, errors raised)."""
    stop = asyncio.Event()
    task = asyncio.create_task(CdcWorker(settings).run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.shield(task), 60)


def worker_process(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """``cachesync cdc run`` as a child process, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(CACHESYNC), "cdc", "run", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CACHESYNC), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, check=False)


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes
    event: ChangeEvent


async def consume(bootstrap: str, topic: str, *, until: Callable[[list[Record]], bool],
                  timeout: float = 60) -> list[Record]:  # noqa: ASYNC109
    """Every record of ``topic`` from the beginning, polling until ``until(records)``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", group_id=None,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    records: list[Record] = []
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] | None = None
        while partitions is None:
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                if time.monotonic() > deadline:
                    raise AssertionError(f"topic {topic} never appeared")
                await consumer._client.force_metadata_update()
                await asyncio.sleep(0.1)
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        await consumer.seek_to_beginning()
        while not until(records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout}s with {len(records)} records of {topic}")
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for tp, messages in batches.items():
                for message in messages:
                    assert message.value is not None
                    records.append(Record(tp.partition, message.offset, message.key or b"",
                                          decode_event(message.value)))
    finally:
        await consumer.stop()
    return records


async def topic_size(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds (the sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        await consumer.stop()
    return sum(ends.values())


def mysql(stack: StackInfo, database: str | None = "app", *, autocommit: bool = True
          ) -> pymysql.Connection[pymysql.cursors.Cursor]:
    return pymysql.connect(host="127.0.0.1", port=stack.mariadb_port, user="root",
                           password="cachesync-root", database=database,
                           autocommit=autocommit, charset="utf8mb4")


def create_table(stack: StackInfo, prefix: str, columns: str) -> str:
    """A new table with a unique name in the ``app`` schema (created if missing); its name."""
    ensure_app_schema(stack)
    name = unique_name(prefix)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} ({columns})")
    return name


def ensure_app_schema(stack: StackInfo) -> None:
    with contextlib.closing(mysql(stack, None)) as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS app")
