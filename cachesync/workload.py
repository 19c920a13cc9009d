"""An application's traffic on the demo schema: writers and cache-aside readers.

Used by ``cachesync demo`` and the benchmarks that need realistic traffic. The schema is
small (users, profiles, balances, all keyed by a user id) and each table carries an
``updated_at TIMESTAMP(6)`` that the database sets on every write, so the consumers can time
commit→applied to the millisecond (the tables' ``commit_time_column``).

- :class:`Writer` threads run small transactions (1 to ``max_rows`` row changes each):
  upserts, balance changes on a version-column table, profile moves that change the
  partition key, and deletes, at a paced rate.
- :class:`CacheAsideReader` threads read through one region's Redis like an application:
  a hit is served from the cache; on a miss they take a lease (:meth:`RedisStore.lease_get`),
  read the row from the database and fill through the fenced lease script. Their fills race
  the consumers' invalidations exactly as real cache-aside fills do; a fill that lost the
  race is refused by the lease, and counted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

import pymysql
import redis
import sqlalchemy as sa

from cachesync import db
from cachesync.stack import StackInfo
from cachesync.stack.layout import ROOT_PASSWORD
from consumers.store import RedisStore
from reconciler.codec import TableCodec
from reconciler.engine import TableSpec, resolve_table
from schemas.config import Settings, TableConfig

log = logging.getLogger(__name__)

APP_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS app.users (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL,"
    " email VARCHAR(128) NOT NULL, region VARCHAR(16) NOT NULL,"
    " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    " ON UPDATE CURRENT_TIMESTAMP(6))",
    "CREATE TABLE IF NOT EXISTS app.profiles (user_id BIGINT PRIMARY KEY, bio TEXT,"
    " avatar VARBINARY(64),"
    " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    " ON UPDATE CURRENT_TIMESTAMP(6))",
    "CREATE TABLE IF NOT EXISTS app.balances (user_id BIGINT NOT NULL, currency CHAR(3) NOT NULL,"
    " amount DECIMAL(18,2) NOT NULL, version BIGINT UNSIGNED NOT NULL,"
    " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    " ON UPDATE CURRENT_TIMESTAMP(6),"
    " PRIMARY KEY (user_id, currency))",
)
APP_TABLES: Final = ("app.users", "app.profiles", "app.balances")
CURRENCIES: Final = ("EUR", "USD", "JPY")


@dataclass
class WorkloadStats:
    """What writers and readers did, by kind, shared under a lock."""

    ops: Counter[str] = field(default_factory=Counter)
    """Writer transactions by kind."""
    rows: int = 0
    """Row changes committed (an upsert of an existing row counts once)."""
    reads: Counter[str] = field(default_factory=Counter)
    """Reader outcomes: hit, filled, fill refused, no row."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, rows: int) -> None:
        with self.lock:
            self.ops[op] += 1
            self.rows += rows

    def read(self, outcome: str) -> None:
        with self.lock:
            self.reads[outcome] += 1

    def snapshot(self) -> tuple[int, int, dict[str, int]]:
        """``(transactions, rows, reads by outcome)`` at this moment."""
        with self.lock:
            return sum(self.ops.values()), self.rows, dict(self.reads)


def connect(info: StackInfo, *, autocommit: bool = False
            ) -> pymysql.Connection[pymysql.cursors.Cursor]:
    """An application connection (root on the local stack)."""
    return pymysql.connect(host="127.0.0.1", port=info.mariadb_port, user="root",
                           password=ROOT_PASSWORD, autocommit=autocommit)


def prepare(info: StackInfo) -> None:
    """Fresh, empty demo tables in the ``app`` schema, and empty region caches to match."""
    for url in info.redis_urls.values():
        client = redis.Redis.from_url(url)
        try:
            # ASYNC: the keys are freed in the background; a cache that earlier runs left
            # with millions of keys would otherwise outlast the socket timeout.
            client.flushdb(asynchronous=True)
        finally:
            client.close()
    conn = connect(info)
    try:
        with conn.cursor() as cur:
            for table in ("balances", "profiles", "users"):
                cur.execute(f"DROP TABLE IF EXISTS app.{table}")
            for ddl in APP_SCHEMA:
                cur.execute(ddl)
        conn.commit()
    finally:
        conn.close()


class _Pacer:
    """Paces a loop at ``rate_per_s``; falls back to "as fast as possible" when behind."""

    def __init__(self, rate_per_s: float) -> None:
        self._interval = 1.0 / rate_per_s
        self._next = time.monotonic()

    def delay(self) -> float:
        """Seconds to wait before the next turn of the loop (0 when behind)."""
        self._next += self._interval
        delay = self._next - time.monotonic()
        if delay > 0:
            return delay
        self._next = time.monotonic()
        return 0.0


class Writer:
    """One application writer: small transactions at about ``rate_per_s``, each touching
    1 to ``max_rows`` rows of a few users."""

    def __init__(self, info: StackInfo, *, seed: int, users: int, rate_per_s: float,
                 max_rows: int, stats: WorkloadStats, stop: threading.Event) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self._info = info
        self._rng = random.Random(seed)
        self._users = users
        self._rate = rate_per_s
        self._max_rows = max_rows
        self._stats = stats
        self._stop = stop

    def run(self) -> None:
        # Every transaction is one statement (pymysql sends ``executemany`` of an INSERT as
        # one multi-row INSERT), so autocommit makes each its own transaction in one round
        # trip instead of two: the demo's load generator shares the machine with the
        # pipeline it measures.
        conn = connect(self._info, autocommit=True)
        pacer = _Pacer(self._rate)
        try:
            with conn.cursor() as cur:
                while not self._stop.is_set():
                    op, rows = self._transaction(cur)
                    self._stats.add(op, rows)
                    self._stop.wait(pacer.delay())
        finally:
            conn.close()

    def _ids(self) -> list[int]:
        """Distinct user ids, sorted so concurrent writers lock rows in one order."""
        count = self._rng.randint(1, self._max_rows)
        return sorted(self._rng.sample(range(self._users), count))

    def _transaction(self, cur: pymysql.cursors.Cursor) -> tuple[str, int]:
        """One transaction of a single statement; ``(kind, rows changed)``."""
        rng = self._rng
        ids = self._ids()
        roll = rng.random()
        if roll < 0.45:
            rows = [(uid, f"user-{uid}-{rng.randrange(10**6)}", f"u{uid}@example.com",
                     rng.choice(("east", "west"))) for uid in ids]
            cur.executemany(
                "INSERT INTO app.users (id, name, email, region) VALUES (%s, %s, %s, %s)"
                " ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email)", rows)
            return "upsert users", len(rows)
        if roll < 0.75:
            currency = rng.choice(CURRENCIES)
            rows_b = [(uid, currency, f"{rng.randrange(-5000, 10000) / 100:.2f}") for uid in ids]
            cur.executemany(
                "INSERT INTO app.balances (user_id, currency, amount, version)"
                " VALUES (%s, %s, %s, 1) ON DUPLICATE KEY UPDATE"
                " amount = amount + VALUES(amount), version = version + 1", rows_b)
            return "balance changes", len(rows_b)
        if roll < 0.9:
            rows_p = [(uid, f"bio {rng.randrange(10**6)}", rng.randbytes(8)) for uid in ids]
            cur.executemany(
                "INSERT INTO app.profiles (user_id, bio, avatar) VALUES (%s, %s, %s)"
                " ON DUPLICATE KEY UPDATE bio = VALUES(bio)", rows_p)
            return "upsert profiles", len(rows_p)
        if roll < 0.95:
            uid = ids[0]
            moved = cur.execute("UPDATE IGNORE app.profiles SET user_id = %s WHERE user_id = %s",
                                (rng.randrange(self._users, self._users * 2), uid))
            return "move profile (key change)", moved
        deleted = cur.execute("DELETE FROM app.users WHERE id IN %s", (ids,))
        return "delete users", deleted


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def select_by_pk(table: str, columns: Sequence[str], pk: Sequence[str]) -> str:
    """The query that reads ``columns`` of one row of ``schema.table`` by primary key, with
    a ``%s`` parameter per key column in ``pk``'s order."""
    schema, _, name = table.partition(".")
    where = " AND ".join(f"{_quoted(column)} = %s" for column in pk)
    return (f"SELECT {', '.join(_quoted(column) for column in columns)} FROM "
            f"{_quoted(schema)}.{_quoted(name)} WHERE {where}")


@dataclass(frozen=True)
class _ReadTarget:
    """A table the readers read through: its resolved spec, its codec, and the query that
    reads one row by primary key."""

    spec: TableSpec
    codec: TableCodec
    query: str


def _pk_only_tables(engine: sa.Engine, tables: Mapping[str, TableConfig]) -> list[_ReadTarget]:
    """The configured tables whose cache keys name primary-key columns only: a reader can
    render such a key before it reads the row, as an application does."""
    targets: list[_ReadTarget] = []
    with engine.connect() as conn:
        for name, rule in tables.items():
            codecs: list[TableCodec] = []

            def factory(rule: TableConfig, types: Mapping[str, str],
                        out: list[TableCodec] = codecs) -> TableCodec:
                out.append(TableCodec(rule, types))
                return out[-1]

            spec = resolve_table(conn, name, rule, factory)
            if set(rule.template_columns()) <= set(spec.pk):
                targets.append(_ReadTarget(spec, codecs[0],
                                           select_by_pk(name, spec.columns, spec.pk)))
            else:
                log.info("readers skip %s: its cache keys need non-key columns", name)
    return targets


class CacheAsideReader:
    """Reads through one region's cache at ``rate_per_s``; fills misses under a lease."""

    def __init__(self, settings: Settings, *, region: str, seed: int, users: int,
                 rate_per_s: float, stats: WorkloadStats, stop: threading.Event,
                 tables: Sequence[str] = APP_TABLES) -> None:
        unknown = sorted(set(tables) - set(settings.tables))
        if unknown:
            raise ValueError(f"readers: table(s) {', '.join(unknown)} are not in the config's "
                             "tables")
        if region not in settings.regions:
            raise ValueError(f"readers: region {region!r} is not in the config's regions")
        self._settings = settings
        self._tables = {name: settings.tables[name] for name in tables}
        self._region = region
        self._rng = random.Random(seed)
        self._users = users
        self._rate = rate_per_s
        self._stats = stats
        self._stop = stop

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        # No reset (rollback) when the connection goes back to the pool: it autocommits,
        # and after a lost connection a rollback would only fail again.
        engine = db.create_engine(self._settings.source.dsn, pool_size=1,
                                  pool_reset_on_return=None)
        store = RedisStore(self._region, self._settings.regions[self._region].redis_url)
        try:
            targets = _pk_only_tables(engine, self._tables)
            if targets:
                raw = engine.raw_connection()
                try:
                    # The driver's connection, autocommitting: a read is one round trip,
                    # without building a statement or ending a transaction (the readers
                    # share the machine with the pipeline they race).
                    conn = cast("pymysql.Connection[pymysql.cursors.Cursor]",
                                raw.driver_connection)
                    conn.autocommit(True)
                    with conn.cursor() as cur:
                        await self._read_loop(cur, store, targets)
                finally:
                    raw.close()
        finally:
            await store.close()
            engine.dispose()

    async def _read_loop(self, cur: pymysql.cursors.Cursor, store: RedisStore,
                         targets: Sequence[_ReadTarget]) -> None:
        # TIMESTAMP columns read as UTC, as the CDC worker decodes them.
        cur.execute("SET SESSION time_zone = '+00:00'")
        pacer = _Pacer(self._rate)
        while not self._stop.is_set():
            await self._read_one(cur, store, self._rng.choice(targets))
            await asyncio.sleep(pacer.delay())

    def _pk(self, spec: TableSpec) -> dict[str, Any]:
        """A random primary key of the demo schema's shape (a user id, maybe a currency)."""
        values: dict[str, Any] = {}
        for column in spec.pk:
            if column == "currency":
                values[column] = self._rng.choice(CURRENCIES)
            else:
                values[column] = self._rng.randrange(self._users)
        return values

    async def _read_one(self, cur: pymysql.cursors.Cursor, store: RedisStore,
                        target: _ReadTarget) -> None:
        spec, codec = target.spec, target.codec
        pk = self._pk(spec)
        key = codec.render(spec.rule.cache_keys[0], pk)
        _, token = await store.lease_get(key)
        if token is None:
            self._stats.read("hit")
            return
        cur.execute(target.query, [pk[name] for name in spec.pk])
        row = cur.fetchone()
        if row is None:
            self._stats.read("miss, no row")
            return
        wire = codec.wire(spec.columns, tuple(row))
        filled = await store.lease_fill(key, token, codec.value(wire), spec.rule.ttl_seconds)
        self._stats.read("filled" if filled else "fill refused (a write won the race)")
