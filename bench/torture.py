"""The torture run: one fault after another under load; nothing lost, nothing stale.

    .venv/bin/python -m bench.torture [--stack-dir DIR --base-port N] [--faults a,b,...]
        [--redis-outage-s 30] [--big-txn-rows 100000] [--rate 200] [--partitions 12]
        [--instance-ids]

It starts the local stack (if needed), the CDC worker and one consumer per region as child
processes (their own topic and checkpoint for the run), and an application's traffic:
writers of the demo workload (:mod:`cachesync.workload`: upserts, version-column balance
changes, partition-key moves, deletes), cache-aside readers in every region that fill under
leases and so race the invalidations, and a *ledger* writer that inserts rows with known ids
into an insert-only table. Under that load it injects, one after another (``--faults``,
default all of them, in this order):

``cdc-kill``          SIGKILL of the CDC worker at a random moment, restarted at once
``cdc-kill-big-txn``  SIGKILL of the CDC worker while its checkpoint is inside a
                      ``--big-txn-rows`` row transaction (it is publishing it), restarted
``consumer-kill``     SIGKILL of a region's consumer (alternating regions), restarted
``consumers-1-3-1``   two more consumers join one region's group; once they hold partitions,
                      one is SIGKILLed and the other stopped: 1 → 3 → 1
``kafka-restart``     the Kafka broker stopped and started
``redis-outage``      one region's Redis down for ``--redis-outage-s`` (it comes back empty)
``mariadb-restart``   MariaDB stopped and started (the CDC worker and the writers reconnect)
``alter-table``       ``ALTER TABLE app.users ADD COLUMN ... AFTER name`` under load (the
                      columns after it move; the CDC worker must keep decoding)

The default sequence is cdc-kill, cdc-kill-big-txn, cdc-kill, consumer-kill three times,
consumers-1-3-1, kafka-restart, redis-outage, mariadb-restart, alter-table (11 faults).
With ``--instance-ids`` every consumer joins with static membership (``--instance-id``, its
name): a consumer restarted after a kill gets its partitions back without waiting for the
killed one's session to expire.

For each fault it measures:

time to recover
    from the kill (kills, 1 → 3 → 1: from the scale-down) or from the heal (the service
    is back: restarts, outage, ALTER done) until the pipeline has caught up with the
    writers, who keep writing throughout. A *marker* table holds one row per Kafka partition
    (ids chosen so that row ``p`` goes to partition ``p``); a marker round updates all of
    them in one transaction and is applied when every region's Redis holds it for every
    marker. Since each partition is applied in order, every change committed before the
    round is then in every region. Rounds follow one another from the fault on; the pipeline
    has caught up when a round reaches every region within ``--caught-up-lag-s`` (default
    2 s) of its commit, i.e. the backlog built up during the fault is gone.
stale keys after 5 s
    at recovery the traffic pauses (writers, readers, ledger); 5 s after recovery a dry-run
    reconcile (``cachesync reconcile --dry-run``) compares every row of every configured
    table with every region. The count is its ``drift``: stale + corrupt + orphan +
    tombstone-over-live-row entries (a ``missing`` entry of a table that is not ``warm`` is
    a normal cache miss, not drift). Then the traffic resumes.
events lost
    every committed ledger id (commit returned, or the commit's outcome was unknown and the
    row is in the table) must be in the change topic: at the end the whole topic is read
    from the beginning. A missing id is attributed to the fault whose window (from its
    start to the next fault's start) committed it.

Child processes that exit on their own are started again (as a service manager would) and
counted in the table's ``exits`` column. After the last fault the traffic stops, the
pipeline drains (a final marker round) and a last dry-run reconcile compares every row with
every region (the ``final check`` row). The run prints a table (fault, time to recover,
events lost, stale keys after 5 s) and exits 1 on any loss, stale key or fault that did not
recover. Its last line is one JSON object: ``{"faults": N, "lost": N, "stale_after_5s": N,
"unplanned_exits": N}`` (the final check's drift counts in ``stale_after_5s``; unplanned
exits are reported, not failed on: nothing is lost when a worker restarts). Logs of the
workers are in ``<stack-dir>/torture-logs/<run>/``; the run's topics are deleted at the end of
a clean run and kept otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import logging
import random
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pymysql
import redis
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.proc import add_stack_options
from cachesync import db
from cachesync.demo import wait_for_cdc_start
from cachesync.kafka import tidy_own_topics
from cachesync.stack import Stack, StackInfo
from cachesync.supervise import CACHESYNC, Child, keep_running
from cachesync.workload import APP_TABLES, CacheAsideReader, WorkloadStats, Writer, connect, prepare
from cdc.partition import partition_for
from schemas.config import Settings, parse_settings
from schemas.events import decode_event
from tests.integration.settings import stack_config

log = logging.getLogger("bench.torture")

REPO: Final = Path(__file__).resolve().parents[1]
FAULTS: Final = ("cdc-kill", "cdc-kill-big-txn", "cdc-kill", "consumer-kill", "consumer-kill",
                 "consumer-kill", "consumers-1-3-1", "kafka-restart", "redis-outage",
                 "mariadb-restart", "alter-table")
LEDGER: Final = "app.torture_ledger"
MARKERS: Final = "app.torture_markers"
TORTURE_SCHEMA: Final = (
    f"DROP TABLE IF EXISTS {LEDGER}",
    f"DROP TABLE IF EXISTS {MARKERS}",
    f"CREATE TABLE {LEDGER} (id BIGINT PRIMARY KEY, txn BIGINT NOT NULL,"
    " pad VARCHAR(32) NOT NULL)",
    f"CREATE TABLE {MARKERS} (id BIGINT PRIMARY KEY, round BIGINT NOT NULL)",
)
STALE_AFTER_S: Final = 5.0


def table_rules() -> dict[str, dict[str, Any]]:
    """The demo's table rules (config/example.toml) plus the ledger and the markers."""
    rules: dict[str, dict[str, Any]] = tomllib.loads(
        (REPO / "config" / "example.toml").read_text(encoding="utf-8"))["tables"]
    rules[LEDGER] = {"cache_keys": ["ledger:{id}"], "action": "rewrite"}
    rules[MARKERS] = {"cache_keys": ["marker:{id}"], "action": "rewrite"}
    return rules


def _seq(gtid: str | None) -> int:
    """The sequence number of a single-domain MariaDB GTID (position) ``d-s-n``."""
    return int(gtid.rsplit("-", 1)[1]) if gtid else 0


class Ledger:
    """Inserts rows with unique ids into the insert-only ledger table and remembers them:
    ``acked`` (the commit returned) and ``uncertain`` (the connection died around it)."""

    def __init__(self, info: StackInfo, *, rate_per_s: float, seed: int) -> None:
        self._info = info
        self._rate = rate_per_s
        self._rng = random.Random(seed)
        self._next = 1
        self._txns = itertools.count(1)
        self._lock = threading.Lock()
        self.acked: set[int] = set()
        self.uncertain: set[int] = set()

    def next_id(self) -> int:
        """The id the next insert will use (ids grow with time)."""
        with self._lock:
            return self._next

    def _take(self, count: int) -> list[int]:
        with self._lock:
            first, self._next = self._next, self._next + count
        return list(range(first, first + count))

    def _insert(self, conn: pymysql.Connection[pymysql.cursors.Cursor], ids: list[int]) -> None:
        txn = next(self._txns)
        try:
            with conn.cursor() as cur:
                for start in range(0, len(ids), 1000):
                    cur.executemany(f"INSERT INTO {LEDGER} (id, txn, pad) VALUES (%s, %s, %s)",
                                    [(i, txn, f"row {i}") for i in ids[start:start + 1000]])
            conn.commit()
        except BaseException:
            with self._lock:
                self.uncertain.update(ids)
            raise
        with self._lock:
            self.acked.update(ids)

    def run(self, stop: threading.Event) -> None:
        """Small transactions (1 to 5 rows) at the configured rate until ``stop``."""
        conn = connect(self._info)
        try:
            while not stop.is_set():
                self._insert(conn, self._take(self._rng.randint(1, 5)))
                stop.wait(1 / self._rate)
        finally:
            conn.close()

    def big_transaction(self, rows: int) -> int:
        """One transaction of ``rows`` inserts; the sequence number of its GTID."""
        conn = connect(self._info)
        try:
            self._insert(conn, self._take(rows))
            with conn.cursor() as cur:
                cur.execute("SELECT @@last_gtid")
                row = cur.fetchone()
            return _seq(str(row[0])) if row else 0
        finally:
            conn.close()


class Markers:
    """One row per partition; a round updates them all in one transaction, and has been
    applied when every region holds it for every row."""

    def __init__(self, info: StackInfo, partitions: int) -> None:
        self._info = info
        found: dict[int, int] = {}
        for candidate in itertools.count(1):
            found.setdefault(partition_for(str(candidate).encode(), partitions), candidate)
            if len(found) == partitions:
                break
        self.ids = sorted(found.values())
        self.round = 0
        self._clients = {region: redis.Redis.from_url(url, socket_timeout=2)
                         for region, url in info.redis_urls.items()}

    def create(self) -> None:
        self._write(f"INSERT INTO {MARKERS} (id, round) VALUES (%s, 0)", [(i,) for i in self.ids])

    def bump(self, timeout_s: float = 120) -> int:
        """A new round, committed (retried while the database is unreachable)."""
        self.round += 1
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._write(f"UPDATE {MARKERS} SET round = %s WHERE id = %s",
                            [(self.round, i) for i in self.ids])
                return self.round
            except pymysql.err.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _write(self, sql: str, rows: list[tuple[int, ...]]) -> None:
        conn = connect(self._info)
        try:
            with conn.cursor() as cur:
                cur.executemany(sql, rows)
            conn.commit()
        finally:
            conn.close()

    def applied(self, round_: int) -> bool:
        for client in self._clients.values():
            try:
                values = client.pipeline(transaction=False)
                for i in self.ids:
                    values.hget(f"marker:{i}", "d")
                held = values.execute()
            except redis.RedisError:
                return False
            if any(v is None or json.loads(v)["round"] < round_ for v in held):
                return False
        return True

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


class Traffic:
    """The application's threads: demo writers, cache-aside readers, the ledger writer.
    Each thread survives lost connections (:func:`keep_running`); pause/resume between
    checks."""

    def __init__(self, info: StackInfo, settings: Settings, ledger: Ledger,
                 args: argparse.Namespace) -> None:
        self._info = info
        self._settings = settings
        self._ledger = ledger
        self._args = args
        self.stats = WorkloadStats()
        self.restarts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._generation = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._generation += 1
        self._stop = stop = threading.Event()
        args, seed = self._args, self._generation * 1000
        loops: list[tuple[str, Callable[[], None]]] = [
            (f"writer-{i}", Writer(self._info, seed=seed + i, users=args.users,
                                   rate_per_s=args.rate / args.writers, max_rows=args.max_rows,
                                   stats=self.stats, stop=stop).run)
            for i in range(args.writers)
        ]
        if args.read_rate > 0:
            loops += [
                (f"reader-{region}", CacheAsideReader(
                    self._settings, region=region, seed=seed + 100 + i, users=args.users,
                    rate_per_s=args.read_rate, stats=self.stats, stop=stop,
                    tables=APP_TABLES).run)
                for i, region in enumerate(sorted(self._settings.regions))
            ]
        loops.append(("ledger", lambda: self._ledger.run(stop)))
        self._threads = [
            threading.Thread(target=keep_running, name=name, daemon=True,
                             args=(name, loop, stop, self.restarts, self._lock))
            for name, loop in loops
        ]
        for thread in self._threads:
            thread.start()

    def pause(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads = []


@dataclass
class FaultResult:
    name: str
    detail: str = ""
    recover_s: float | None = None
    stale: int = 0
    lost: int = 0
    exits: int = 0
    first_ledger_id: int = 0
    drift_classes: dict[str, int] = field(default_factory=dict)


class Torture:
    def __init__(self, stack: Stack, args: argparse.Namespace) -> None:
        self.stack = stack
        self.info = stack.info()
        self.args = args
        self.rng = random.Random(args.seed)
        run_id = time.strftime("%Y%m%d%H%M%S")
        self.log_dir = self.info.data_dir / "torture-logs" / run_id
        self.log_dir.mkdir(parents=True, exist_ok=True)
        raw = stack_config(self.info, table_rules(), topic=f"torture.{run_id}",
                           partitions=args.partitions, source_name=f"torture-{run_id}")
        self.config = self.log_dir / "config.yaml"  # JSON is valid YAML
        self.config.write_text(json.dumps(raw, indent=2), encoding="utf-8")
        self.settings = parse_settings(raw)
        self.regions = sorted(self.settings.regions)
        self.children: dict[str, Child] = {"cdc": self._child("cdc", ["cdc", "run"])}
        for region in self.regions:
            self.children[f"consumer-{region}"] = self._consumer(region, f"consumer-{region}")
        self.ledger = Ledger(self.info, rate_per_s=args.ledger_rate, seed=args.seed)
        self.markers = Markers(self.info, args.partitions)
        self.traffic = Traffic(self.info, self.settings, self.ledger, args)
        self.results: list[FaultResult] = []
        self._extra = itertools.count(1)
        self._consumer_kills = 0
        self._alters = 0

    def _child(self, name: str, args: list[str]) -> Child:
        return Child(name, [*args, "--config", str(self.config)], self.log_dir / f"{name}.log")

    def _consumer(self, region: str, name: str) -> Child:
        static = ["--instance-id", name] if self.args.instance_ids else []
        return self._child(name, ["consume", "--region", region, *static])

    # -- set-up and checks ----------------------------------------------------------------

    def prepare(self) -> None:
        db.upgrade(self.settings)
        prepare(self.info)
        conn = connect(self.info)
        try:
            with conn.cursor() as cur:
                for ddl in TORTURE_SCHEMA:
                    cur.execute(ddl)
            conn.commit()
        finally:
            conn.close()
        self.markers.create()

    def _checkpoint(self) -> tuple[int, int] | None:
        conn = connect(self.info)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT gtid, row_index FROM cachesync.positions"
                            " WHERE source_name = %s", (self.settings.source.name,))
                row = cur.fetchone()
            return (_seq(row[0]), int(row[1])) if row else None
        finally:
            conn.close()

    def revive(self) -> int:
        return sum(child.revive() for child in self.children.values())

    def wait_recovered(self, since: float) -> float | None:
        """Seconds from ``since`` until the pipeline has caught up: marker rounds, one after
        another, until one is in every region within ``--caught-up-lag-s`` of its commit."""
        deadline = time.monotonic() + self.args.recover_timeout_s
        while True:
            committed = time.monotonic()
            round_ = self.markers.bump()
            while not self.markers.applied(round_):
                if time.monotonic() > deadline:
                    return None
                self.results[-1].exits += self.revive()
                time.sleep(0.05)
            applied = time.monotonic()
            if applied - committed <= self.args.caught_up_lag_s:
                return applied - since

    def stale_entries(self) -> tuple[int, dict[str, int]]:
        """A dry-run reconcile of every row with every region: drift count, by class."""
        result = subprocess.run(
            [CACHESYNC, "reconcile", "--config", str(self.config), "--dry-run", "--restart"],
            capture_output=True, check=False)
        if result.returncode == 2:
            raise RuntimeError("the dry-run reconcile failed: "
                               + result.stderr.decode(errors="replace")[-2000:])
        report = json.loads(result.stdout)
        classes = {name: count for name, count in report["totals"].items()
                   if count and name not in ("planned", "applied", "fenced")}
        if report["drift"]:
            (self.log_dir / f"reconcile-{len(self.results)}.json").write_bytes(result.stdout)
        return int(report["drift"]), classes

    # -- faults ---------------------------------------------------------------------------

    def fault_cdc_kill(self) -> tuple[float, str]:
        time.sleep(self.rng.uniform(0.5, 2.5))
        cdc = self.children["cdc"]
        cdc.kill()
        killed = time.monotonic()
        cdc.start()
        return killed, "SIGKILL at a random moment under load"

    def fault_cdc_kill_big_txn(self) -> tuple[float, str]:
        rows = self.args.big_txn_rows
        cdc = self.children["cdc"]
        for attempt in range(1, 4):
            big = self.ledger.big_transaction(rows)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                checkpoint = self._checkpoint()
                if checkpoint is None or checkpoint[0] >= big:
                    break  # missed it: the worker got past the transaction
                if checkpoint[0] == big - 1 and checkpoint[1] > 0:
                    cdc.kill()
                    killed = time.monotonic()
                    cdc.start()
                    return killed, (f"SIGKILL inside a {rows}-row transaction (checkpoint at "
                                    f"row {checkpoint[1]}, attempt {attempt})")
                time.sleep(0.005)
            log.info("the checkpoint never stopped inside the %d-row transaction; again", rows)
        cdc.kill()
        killed = time.monotonic()
        cdc.start()
        return killed, f"SIGKILL after a {rows}-row transaction (never caught inside it)"

    def fault_consumer_kill(self) -> tuple[float, str]:
        region = self.regions[self._consumer_kills % len(self.regions)]
        self._consumer_kills += 1
        time.sleep(self.rng.uniform(0.5, 2.5))
        consumer = self.children[f"consumer-{region}"]
        consumer.kill()
        killed = time.monotonic()
        consumer.start()
        return killed, f"SIGKILL of {region}'s consumer, restarted at once"

    def fault_consumers_1_3_1(self) -> tuple[float, str]:
        region = self.regions[0]
        extra = [self._consumer(region, f"consumer-{region}-extra{next(self._extra)}")
                 for _ in range(2)]
        for child in extra:
            child.start()
        deadline = time.monotonic() + 90
        assigned = re.compile(rb"assigned partitions \[\d")
        while not all(child.log_path.exists() and assigned.search(child.log_path.read_bytes())
                      for child in extra):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the extra consumers of {region} got no partitions")
            time.sleep(0.2)
        time.sleep(self.args.gap_s)  # three members share the region's partitions under load
        extra[0].kill()
        status = extra[1].stop()
        scaled_down = time.monotonic()
        return scaled_down, (f"{region}: 1 → 3 → 1 (one extra SIGKILLed, one stopped, exit "
                             f"{status})")

    def _restart(self, service: str) -> tuple[float, str]:
        started = time.monotonic()
        self.stack.stop_service(service)
        self.stack.start_service(service)
        healed = time.monotonic()
        return healed, f"{service} down {healed - started:.1f} s"

    def fault_kafka_restart(self) -> tuple[float, str]:
        return self._restart("kafka")

    def fault_redis_outage(self) -> tuple[float, str]:
        region = self.regions[-1]
        self.stack.stop_service(f"redis-{region}")
        time.sleep(self.args.redis_outage_s)
        self.stack.start_service(f"redis-{region}")
        return time.monotonic(), f"{region}'s Redis down {self.args.redis_outage_s:.0f} s"

    def fault_mariadb_restart(self) -> tuple[float, str]:
        return self._restart("mariadb")

    def fault_alter_table(self) -> tuple[float, str]:
        self._alters += 1
        column = f"torture_{self._alters}"
        conn = connect(self.info)
        try:
            with conn.cursor() as cur:
                cur.execute(f"ALTER TABLE app.users ADD COLUMN {column} VARCHAR(32) NULL"
                            " AFTER name")
        finally:
            conn.close()
        return time.monotonic(), f"app.users ADD COLUMN {column} AFTER name"

    # -- the run --------------------------------------------------------------------------

    def run(self, faults: list[str]) -> None:
        self.prepare()
        for child in self.children.values():
            child.start()
        clean = False
        try:
            wait_for_cdc_start(self.info, self.settings.source.name)
            self.traffic.start()
            time.sleep(self.args.warmup_s)
            for number, name in enumerate(faults, 1):
                self._one_fault(number, name, len(faults))
                if number < len(faults):
                    self.traffic.start()
                    time.sleep(self.args.gap_s)
            self.results.append(FaultResult("final check", "traffic stopped, pipeline "
                                            "drained", first_ledger_id=self.ledger.next_id()))
            final = self.results[-1]
            final.recover_s = self.wait_recovered(time.monotonic())
            final.stale, final.drift_classes = self.stale_entries()
            self._count_lost()
            clean = not any(r.lost or r.stale or r.recover_s is None for r in self.results)
        finally:
            self.traffic.pause()
            for child in self.children.values():
                status = child.stop()
                if status not in (0, None):
                    log.warning("%s exited with status %s on SIGTERM", child.name, status)
            self.markers.close()
        # A run with something to look into keeps its topics.
        tidy_own_topics(self.settings.kafka, keep=not clean)

    def _one_fault(self, number: int, name: str, total: int) -> None:
        result = FaultResult(name, first_ledger_id=self.ledger.next_id())
        self.results.append(result)
        result.exits += self.revive()
        log.info("[%d/%d] %s", number, total, name)
        inject: Callable[[], tuple[float, str]] = getattr(self, "fault_" + name.replace("-", "_"))
        since, result.detail = inject()
        result.recover_s = self.wait_recovered(since)
        recovered = time.monotonic()
        self.traffic.pause()
        time.sleep(max(0.0, recovered + STALE_AFTER_S - time.monotonic()))
        result.stale, result.drift_classes = self.stale_entries()
        log.info("[%d/%d] %s: %s; recovered in %s s, %d stale after %.0f s", number, total, name,
                 result.detail, "--" if result.recover_s is None else f"{result.recover_s:.1f}",
                 result.stale, STALE_AFTER_S)

    def _count_lost(self) -> None:
        """Committed ledger ids missing from the topic, by the fault window that wrote them."""
        conn = connect(self.info)
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT id FROM {LEDGER}")
                in_db = {int(row[0]) for row in cur.fetchall()}
        finally:
            conn.close()
        committed = self.ledger.acked | (self.ledger.uncertain & in_db) | in_db
        published = asyncio.run(ledger_ids_in_topic(self.info.kafka_bootstrap,
                                                    self.settings.kafka.topic,
                                                    self.args.partitions))
        missing = sorted(committed - published)
        if missing:
            log.error("%d committed ledger ids are not in the topic, e.g. %s", len(missing),
                      missing[:20])
        by_window = losses_by_window(missing, [r.first_ledger_id for r in self.results])
        for result, lost in zip(self.results, by_window, strict=True):
            result.lost = lost
        log.info("ledger: %d ids committed (%d with an unknown commit outcome, %d of them in "
                 "the table), %d read back from the topic", len(committed),
                 len(self.ledger.uncertain), len(self.ledger.uncertain & in_db), len(published))


def losses_by_window(missing: list[int], starts: list[int]) -> list[int]:
    """How many ``missing`` ids each window holds; window ``i`` starts at id ``starts[i]``
    (ascending) and ends where the next begins; ids before the first count in the first."""
    counts = [0] * len(starts)
    for lost_id in missing:
        window = bisect.bisect_right(starts, lost_id) - 1
        counts[max(window, 0)] += 1
    return counts


async def ledger_ids_in_topic(bootstrap: str, topic: str, partitions: int) -> set[int]:
    """The ids of every ledger insert in the topic, read from the beginning to the end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    ids: set[int] = set()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        remaining = {tp for tp in parts if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=10_000)
            for tp, records in batches.items():
                for record in records:
                    if record.value is None:
                        continue
                    event = decode_event(record.value)
                    if event.table == LEDGER and event.after is not None:
                        ids.add(int(event.after["id"]))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return ids


def print_table(results: list[FaultResult], traffic: Traffic, ledger: Ledger,
                elapsed_s: float) -> None:
    transactions, rows, reads = traffic.stats.snapshot()
    print(f"\nworkload: {transactions} writer transactions ({rows} row changes), "
          f"{sum(reads.values())} cache-aside reads "
          f"({reads.get('fill refused (a write won the race)', 0)} fills refused), "
          f"{len(ledger.acked)} ledger rows, in {elapsed_s:.0f} s")
    if traffic.restarts:
        print("traffic threads restarted after lost connections: "
              + ", ".join(f"{n} {c}" for n, c in sorted(traffic.restarts.items())))
    header = (f"{'#':>2}  {'fault':<18} {'recover s':>9} {'events lost':>11} "
              f"{'stale after 5 s':>15} {'exits':>5}  detail")
    print("\n" + header)
    print("-" * len(header))
    for number, r in enumerate(results, 1):
        recover = "timeout" if r.recover_s is None else f"{r.recover_s:.1f}"
        drift = f" drift {r.drift_classes}" if r.stale else ""
        label = str(number) if r.name != "final check" else ""
        print(f"{label:>2}  {r.name:<18} {recover:>9} {r.lost:>11} {r.stale:>15} "
              f"{r.exits:>5}  {r.detail}{drift}")


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_stack_options(parser, "stack-torture", 25500)
    parser.add_argument("--faults", default=",".join(FAULTS),
                        help="comma-separated fault names, in order (default: all, see above)")
    parser.add_argument("--redis-outage-s", type=float, default=30)
    parser.add_argument("--big-txn-rows", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200,
                        help="writer transactions per second, all writers together")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--max-rows", type=int, default=3)
    parser.add_argument("--read-rate", type=float, default=50,
                        help="cache-aside reads per second in each region")
    parser.add_argument("--ledger-rate", type=float, default=50,
                        help="ledger transactions (1-5 rows) per second")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--warmup-s", type=float, default=5)
    parser.add_argument("--gap-s", type=float, default=5,
                        help="seconds of traffic between faults")
    parser.add_argument("--recover-timeout-s", type=float, default=180)
    parser.add_argument("--caught-up-lag-s", type=float, default=2.0,
                        help="caught up: a marker round reaches every region this soon")
    parser.add_argument("--instance-ids", action="store_true",
                        help="consumers use static group membership (--instance-id: the "
                             "child's name), so a restarted one gets its partitions at once")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    faults = [name.strip() for name in args.faults.split(",") if name.strip()]
    unknown = sorted(set(faults) - set(FAULTS))
    if unknown or not faults:
        parser.error(f"unknown fault(s) {unknown}; faults: {', '.join(sorted(set(FAULTS)))}")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SIGTERM unwinds like Ctrl-C, so the workers it started are stopped on the way out.
    signal.signal(signal.SIGTERM, _interrupted)
    stack = Stack(Path(args.stack_dir), args.base_port)
    stack.up()
    torture = Torture(stack, args)
    started = time.monotonic()
    try:
        torture.run(faults)
    finally:
        print_table(torture.results, torture.traffic, torture.ledger,
                    time.monotonic() - started)
    faults_done = [r for r in torture.results if r.name != "final check"]
    lost = sum(r.lost for r in torture.results)
    stale = sum(r.stale for r in torture.results)
    unrecovered = [r.name for r in torture.results if r.recover_s is None]
    if unrecovered:
        print(f"did not recover within {args.recover_timeout_s:.0f} s: {unrecovered}")
    exits = sum(r.exits for r in torture.results)
    print(json.dumps({"faults": len(faults_done), "lost": lost, "stale_after_5s": stale,
                      "unplanned_exits": exits}))
    sys.exit(1 if lost or stale or unrecovered or len(faults_done) < len(faults) else 0)


if __name__ == "__main__":
    main()
