"""``cachesync replay`` from the binlog against the real stack."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from cachesync import db
from cachesync.stack import StackInfo
from consumers.store import RedisStore
from schemas.config import parse_settings

pytestmark = pytest.mark.integration

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
CLI = [sys.executable, "-c", "from cachesync.cli import main; main()"]


def raw_settings(stack: StackInfo, tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "source": {"dsn": stack.repl_dsn},
        "kafka": {"bootstrap_servers": [stack.kafka_bootstrap]},
        "regions": {name: {"redis_url": url} for name, url in stack.redis_urls.items()},
        "tables": tables,
    }


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args, "--config", str(config)], capture_output=True,
                          text=True, timeout=300, check=False, env=ENV)


@pytest.fixture
def root(stack: StackInfo) -> Iterator[sa.Engine]:
    settings = parse_settings(raw_settings(stack, {"app.x": {"cache_keys": ["x:{id}"]}})
                              | {"source": {"dsn": stack.root_dsn}})
    engine = db.create_engine(settings.source.dsn, "app")
    yield engine
    engine.dispose()


@pytest.fixture
async def west(stack: StackInfo) -> AsyncIterator[RedisStore]:
    settings = parse_settings(raw_settings(stack, {"app.x": {"cache_keys": ["x:{id}"]}}))
    store = RedisStore("west", settings.regions["west"].redis_url)
    yield store
    await store.close()


async def test_replay_restores_a_flushed_region_and_is_idempotent(
    stack: StackInfo, root: sa.Engine, west: RedisStore, tmp_path: Path,
) -> None:
    uid = uuid.uuid4().hex[:8]
    table = f"app.rp_{uid}"
    prefix = f"rp{uid}"
    db.upgrade(parse_settings(raw_settings(stack, {table: {"cache_keys": ["x:{id}"]}})))
    started = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    with root.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(32), "
                             "amount DECIMAL(8,2), at DATETIME(6))")
    with root.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO {table} VALUES (1,'a',1.50,'2026-01-02 03:04:05'),"
                             "(2,'b',2.00,NULL),(3,'c',3.25,NULL)")
    with root.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {table} SET name = 'b2' WHERE id = 2")
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE id = 3")
    raw = raw_settings(stack, {table: {"cache_keys": [f"{prefix}:{{id}}"], "action": "rewrite"}})
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    keys = [f"{prefix}:{i}" for i in (1, 2, 3)]
    since = started.isoformat()

    dry = cli(config, "replay", "--from-time", since, "--region", "west", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    planned = [line.split("\t") for line in dry.stdout.splitlines()]
    assert {(region, kind, key) for region, kind, key, _ in planned} >= {
        ("west", "rewrite", keys[0]), ("west", "rewrite", keys[1]),
        ("west", "invalidate", keys[2])}
    assert all(region == "west" for region, *_ in planned)
    assert await west.read(keys) == [None, None, None]

    first = cli(config, "replay", "--from-time", since, "--region", "west")
    assert first.returncode == 0, first.stderr
    restored = await west.read(keys)
    assert restored[0] is not None and restored[1] is not None and restored[2] is not None
    assert json.loads(restored[0].value or b"") == {
        "id": 1, "name": "a", "amount": "1.50", "at": "2026-01-02T03:04:05.000000"}
    assert json.loads(restored[1].value or b"")["name"] == "b2"
    assert restored[2].is_tombstone
    check = cli(config, "reconcile", "--region", "west", "--dry-run", "--no-orphan-scan")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["totals"]["missing"] == 0

    second = cli(config, "replay", "--from-time", since, "--region", "west")
    assert second.returncode == 0, second.stderr
    stats = json.loads(second.stdout)
    assert stats["regions"]["west"]["applied"] == 0
    assert stats["regions"]["west"]["fenced"] == stats["regions"]["west"]["planned"] > 0
    assert await west.read(keys) == restored


@pytest.mark.parametrize(("args", "message"), [
    (["--from-time", "2999-01-01T00:00:00"], "in the future"),
    (["--from-pos", "mariadb-bin.999999:4"], "does not exist"),
    (["--from-gtid", "0-1-1", "--table", "app.nope"], "unknown table"),
    (["--from-pos", "nonsense"], "FILE:POS"),
    ([], "give a binlog range"),
])
def test_replay_refuses_bad_ranges(stack: StackInfo, root: sa.Engine, tmp_path: Path,
                                   args: list[str], message: str) -> None:
    with root.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS app.rp_errors (id INT PRIMARY KEY)")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(raw_settings(
        stack, {"app.rp_errors": {"cache_keys": ["rperr:{id}"]}})), encoding="utf-8")
    result = cli(config, "replay", *args)
    assert result.returncode == 2
    assert message in result.stderr
