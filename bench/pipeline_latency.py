"""End-to-end commit→applied latency at a steady write rate, and sustained pipeline throughput.

    .venv/bin/python -m bench.pipeline_latency [--stack-dir DIR --base-port N]
        [--rate 5000 --seconds 30 --writers 4 --partitions 4]
        [--bulk-rows 200000 --statement-rows 1000]

Runs the real pipeline on the local stack as separate processes, as in production: the CDC
worker (``cachesync cdc run``) and one ``cachesync consume --region R`` per region (east,
west), each serving its own ``/metrics``. The table has ``updated_at TIMESTAMP(6) DEFAULT
CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)`` configured as its
``commit_time_column``, so the consumers measure each event from its write with microsecond
resolution (``cachesync_commit_to_applied_seconds{clock="row"}``).

Phase A (latency): ``--writers`` threads write ``--rate`` rows/s for ``--seconds``, paced by
token buckets, in small transactions of 1-10 rows (70% inserts of new rows, 30% updates of
rows the thread wrote); the achieved rate is reported. Once both regions applied every row,
each consumer's histogram (minus a scrape taken before the phase) gives p50/p99 per region
(:mod:`cachesync.promquantile`: interpolated inside buckets, so as precise as the bucket
widths). Cross-check, independent of the consumers' clock: every 100 ms a probe row is
inserted and both regions' Redis are polled every 2 ms until its key appears
(client-side commit-return → visible, plus up to ~2 ms of polling).

Where phase A's time goes: each Kafka record's CreateTime (set by the CDC worker's producer,
milliseconds) minus the row's ``updated_at`` is the CDC worker's share; the rest of
commit→applied is Kafka and the consumer.

Phase B (throughput): ``--bulk-rows`` rows written as fast as MariaDB takes them, as
``INSERT … SELECT`` statements of ``--statement-rows`` rows (server-side, so the writer is
not the bottleneck). Sustained rows/s = rows after the first statement / time from its
commit until both regions applied every row (their ``cachesync_consumer_events_total``).
Also reported: when the CDC worker had published every row to Kafka (the topic's end
offsets), which splits the time between the CDC worker and the consumers.

The CDC worker's peak RSS is the sum over its process tree (the worker and its binlog
reader child) of each process's ``VmHWM``, sampled from ``/proc`` all along.

The last line of output is one JSON object:
``{"sustained_rows_per_s": N, "p99_commit_to_applied_ms_at_5k": {"east": X, "west": Y},
"cdc_peak_rss_mb": Z}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import redis
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from bench.proc import add_stack_options, cpu_seconds, process_tree, status_kb
from cachesync import db
from cachesync.kafka import delete_topics
from cachesync.promquantile import (
    Buckets,
    bucket_delta,
    counter_value,
    histogram_buckets,
    histogram_quantile,
    scrape,
)
from cachesync.stack import Stack, StackInfo
from cachesync.stack.probes import free_port
from consumers.decide import row_commit_time
from schemas.config import parse_settings
from schemas.events import decode_event

REPO = Path(__file__).resolve().parents[1]
CACHESYNC = str(Path(sys.executable).with_name("cachesync"))
REGIONS = ("east", "west")
LATENCY = "cachesync_commit_to_applied_seconds"
EVENTS = "cachesync_consumer_events_total"
PARTITIONS = 4
"""The topic's partitions unless told otherwise: as the demo's config, sized for one
consumer per region (12, the engine's default, costs Kafka and the consumers more per
request: p99 at 5k rows/s 65-99 ms instead of 50 ms here)."""


def connect(port: int) -> pymysql.Connection[pymysql.cursors.Cursor]:
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password="cachesync-root",
                           database="app", autocommit=True)


@dataclass
class Pipeline:
    """The CDC worker and one consumer per region, as subprocesses."""

    table: str
    prefix: str
    topic: str
    partitions: int
    source_name: str
    cdc: subprocess.Popen[bytes]
    consumers: dict[str, subprocess.Popen[bytes]]
    metrics_ports: dict[str, int]
    log_dir: Path

    def scrape(self, region: str) -> dict[str, Any]:
        return scrape(f"http://127.0.0.1:{self.metrics_ports[region]}/metrics")

    def applied(self, region: str) -> float:
        """Events the region's consumer handled; 0 while its endpoint is not up yet."""
        try:
            families = self.scrape(region)
        except OSError:  # URLError: a process starting slowly on a busy machine
            return 0.0
        return counter_value(families, EVENTS, region=region)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of each process tree: cdc and each region."""
        return {name: sum(cpu_seconds(pid) for pid in process_tree(proc.pid))
                for name, proc in [("cdc", self.cdc), *self.consumers.items()]}

    def check_alive(self) -> None:
        for name, proc in [("cdc", self.cdc), *self.consumers.items()]:
            if proc.poll() is not None:
                logs = sorted(self.log_dir.glob(f"{name}*.log"))
                tail = logs[-1].read_text(errors="replace")[-3000:] if logs else ""
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    async def remove(self, info: StackInfo) -> None:
        """Once stopped: delete what the run created (its topics, table and CDC
        checkpoint), so that run after run does not fill the stack's disk."""
        await delete_topics(info.kafka_bootstrap, [self.topic, f"{self.topic}.dlq"])
        with connect(info.mariadb_port) as conn, conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS app.{self.table}")
            cur.execute("DELETE FROM cachesync.positions WHERE source_name = %s",
                        (self.source_name,))

    def stop(self) -> None:
        for proc in [*self.consumers.values(), self.cdc]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.consumers.values(), self.cdc]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _spawn(args: list[str], name: str, log_dir: Path, metrics_port: int
           ) -> subprocess.Popen[bytes]:
    with (log_dir / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [CACHESYNC, *args], stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1",
                 "CACHESYNC_METRICS__PORT": str(metrics_port)})


def start(info: StackInfo, log_dir: Path, partitions: int = PARTITIONS) -> Pipeline:
    run = uuid.uuid4().hex[:8]
    table, prefix = f"lat_{run}", f"lat{run}"
    with connect(info.mariadb_port) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE app.{table} (id BIGINT PRIMARY KEY, user_id INT NOT NULL, "
                    "name VARCHAR(64) NOT NULL, amount DECIMAL(12,2) NOT NULL, "
                    "updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) "
                    "ON UPDATE CURRENT_TIMESTAMP(6))")
    topic, source_name = f"bench-lat-{run}", f"bench_lat_{run}"
    raw = {
        "source": {"dsn": info.repl_dsn, "name": source_name,
                   "server_id": 100_000 + uuid.uuid4().int % 1_000_000_000},
        "kafka": {"bootstrap_servers": [info.kafka_bootstrap], "topic": topic,
                  "dlq_topic": f"{topic}.dlq", "partitions": partitions},
        "regions": {name: {"redis_url": url} for name, url in info.redis_urls.items()},
        "tables": {f"app.{table}": {
            "cache_keys": [f"{prefix}:{{id}}"], "action": "rewrite",
            "columns": ["id", "user_id", "name", "amount", "updated_at"],
            "commit_time_column": "updated_at"}},
    }
    db.upgrade(parse_settings(raw))
    config = log_dir / "config.yaml"  # JSON is valid YAML
    config.write_text(json.dumps(raw))
    ports = {name: free_port() for name in ("cdc", *REGIONS)}
    cdc = _spawn(["cdc", "run", "--config", str(config)], "cdc", log_dir, ports["cdc"])
    consumers = {
        region: _spawn(["consume", "--config", str(config), "--region", region,
                        "--group-id", f"bench-lat-{region}-{run}"], region, log_dir, ports[region])
        for region in REGIONS}
    return Pipeline(table, prefix, topic, partitions, source_name, cdc, consumers, ports,
                    log_dir)


class RssSampler(threading.Thread):
    """Peak memory of a process tree: the sum over its processes of each one's VmHWM."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._hwm_kb: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            for pid in process_tree(self._pid):
                kb = status_kb(pid, "VmHWM:")
                if kb is not None:
                    self._hwm_kb[pid] = max(self._hwm_kb.get(pid, 0), kb)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return sum(self._hwm_kb.values()) / 1024


async def wait_for(check: Callable[[], bool], timeout_s: float, what: str,
                   pipeline: Pipeline, interval_s: float = 0.05) -> float:
    """Poll until ``check()``; the perf_counter time it first held."""
    deadline = time.monotonic() + timeout_s
    while True:
        if await asyncio.to_thread(check):
            return time.perf_counter()
        pipeline.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(interval_s)


async def wait_started(info: StackInfo, pipeline: Pipeline) -> None:
    """Until the CDC worker saved its start position (it reads the binlog from there)."""
    def has_position() -> bool:
        with connect(info.mariadb_port) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM cachesync.positions WHERE source_name = %s",
                        (pipeline.source_name,))
            row = cur.fetchone()
        return bool(row and row[0])

    await wait_for(has_position, 90, "the CDC worker's start position", pipeline)


async def wait_applied(pipeline: Pipeline, targets: dict[str, float], timeout_s: float
                       ) -> dict[str, float]:
    """perf_counter time at which each region's events counter reached its target."""
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(done) < len(targets):
        for region, target in targets.items():
            if region not in done and await asyncio.to_thread(pipeline.applied, region) >= target:
                done[region] = time.perf_counter()
        pipeline.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: regions {sorted(set(targets) - set(done))} did not "
                               f"apply every row within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)
    return done


# --- phase A: a paced writer and probes ------------------------------------------------


@dataclass
class WriterStats:
    rows: int = 0
    transactions: int = 0


def writer(port: int, table: str, index: int, *, rate: float, until: float,
           counts: Any) -> None:
    """Small transactions (1-10 rows) at ``rate`` rows/s, paced by a token bucket."""
    rng = random.Random(index)
    conn = connect(port)
    next_id = index * 100_000_000
    written: list[int] = []
    tokens, burst = 0.0, 20.0
    rows = transactions = 0
    last = started = time.monotonic()
    with conn.cursor() as cur:
        while True:
            now = time.monotonic()
            if now >= until:
                break
            tokens = min(burst, tokens + (now - last) * rate)
            last = now
            size = rng.randint(1, 10)
            if tokens < size:
                time.sleep((size - tokens) / rate)
                continue
            tokens -= size
            if len(written) >= size and rng.random() < 0.3:
                ids = rng.sample(written[-1000:], size)
                cur.execute(f"UPDATE {table} SET amount = amount + 1 WHERE id IN "
                            f"({','.join(map(str, ids))})")
            else:
                ids = list(range(next_id, next_id + size))
                next_id += size
                cur.execute(f"INSERT INTO {table} (id, user_id, name, amount) VALUES "
                            + ",".join(f"({i}, {i % 9973}, 'user{i}', {i % 10000}.25)"
                                       for i in ids))
                written += ids
            rows += size
            transactions += 1
    conn.close()
    counts[0], counts[1], counts[2] = rows, transactions, time.monotonic() - started


def prober(port: int, table: str, prefix: str, *, redis_urls: dict[str, str], until: float,
           results: dict[str, list[float]], stats: WriterStats) -> None:
    """Every 100 ms a probe row until ``until``; each one's time from its commit's return
    until each region has its key (every outstanding key polled every 2 ms)."""
    conn = connect(port)
    clients = {region: redis.Redis.from_url(redis_urls[region]) for region in REGIONS}
    outstanding: dict[str, dict[str, float]] = {region: {} for region in REGIONS}
    probe_id, next_probe = 900_000_000, time.monotonic()
    give_up = until + 600
    with conn.cursor() as cur:
        while time.monotonic() < until or any(outstanding.values()):
            if time.monotonic() > give_up:
                raise RuntimeError(f"probes never applied: {outstanding}")
            if next_probe <= time.monotonic() < until:
                probe_id += 1
                cur.execute(f"INSERT INTO {table} (id, user_id, name, amount) VALUES "
                            f"({probe_id}, 0, 'probe', 0)")
                committed = time.perf_counter()
                stats.rows += 1
                for pending in outstanding.values():
                    pending[f"{prefix}:{probe_id}"] = committed
                next_probe += 0.1
            for region, pending in outstanding.items():
                if not pending:
                    continue
                keys = list(pending)
                with clients[region].pipeline(transaction=False) as pipe:
                    for key in keys:
                        pipe.exists(key)
                    found = pipe.execute()
                seen = time.perf_counter()
                for key, exists in zip(keys, found, strict=True):
                    if exists:
                        results[region].append(seen - pending.pop(key))
            time.sleep(0.002)
    for client in clients.values():
        client.close()
    conn.close()


@dataclass
class LatencyResult:
    achieved_rows_per_s: float
    transactions_per_s: float
    row_clock: dict[str, dict[str, float]] = field(default_factory=dict)
    probes: dict[str, dict[str, float]] = field(default_factory=dict)
    cpu_us_per_row: dict[str, float] = field(default_factory=dict)
    to_kafka: dict[str, float] = field(default_factory=dict)
    """Write (row clock) → the Kafka record's timestamp: the CDC worker's share."""


def _ms(seconds: float | None) -> float:
    return round(seconds * 1000, 1) if seconds is not None else float("nan")


def _quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "n": 0}
    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50_ms": _ms(pick(0.5)), "p99_ms": _ms(pick(0.99)), "n": len(ordered)}


async def phase_latency(info: StackInfo, pipeline: Pipeline, args: argparse.Namespace
                        ) -> LatencyResult:
    before = {r: await asyncio.to_thread(pipeline.scrape, r) for r in REGIONS}
    base_buckets = {r: histogram_buckets(f, LATENCY, region=r, clock="row")
                    for r, f in before.items()}
    base_events = {r: counter_value(f, EVENTS, region=r) for r, f in before.items()}
    table = f"app.{pipeline.table}"
    kafka = AIOKafkaConsumer(bootstrap_servers=info.kafka_bootstrap, enable_auto_commit=False)
    await kafka.start()
    partitions = [TopicPartition(pipeline.topic, p) for p in range(pipeline.partitions)]
    first_offsets = await kafka.end_offsets(partitions)
    cpu_before = pipeline.cpu_seconds()
    until = time.monotonic() + args.seconds
    probe_stats = WriterStats()
    probes: dict[str, list[float]] = {r: [] for r in REGIONS}
    # Writers are processes: in threads they would share one GIL with this process's polling.
    # Per writer: rows, transactions, seconds it wrote for.
    counts = [multiprocessing.Array("d", 3) for _ in range(args.writers)]
    writers = [multiprocessing.Process(target=writer, args=(info.mariadb_port, table, i + 1),
                                       kwargs={"rate": args.rate / args.writers, "until": until,
                                               "counts": counts[i]})
               for i in range(args.writers)]
    probe = threading.Thread(
        target=prober, args=(info.mariadb_port, table, pipeline.prefix),
        kwargs={"redis_urls": info.redis_urls, "until": until, "results": probes,
                "stats": probe_stats})
    for process in writers:
        process.start()
    probe.start()
    while probe.is_alive() or any(process.is_alive() for process in writers):
        pipeline.check_alive()
        await asyncio.sleep(0.5)
    if any(process.exitcode != 0 for process in writers):
        raise RuntimeError("a writer process failed")
    # The rate over the writers' own time (not their start-up, nor the last probe's wait).
    written = sum(c[0] for c in counts)
    elapsed = max(c[2] for c in counts)
    rows = int(written) + probe_stats.rows
    result = LatencyResult(written / elapsed, sum(c[1] for c in counts) / elapsed)
    await wait_applied(pipeline, {r: base_events[r] + rows for r in REGIONS}, 300)
    result.cpu_us_per_row = {name: (after - cpu_before[name]) / rows * 1e6
                             for name, after in pipeline.cpu_seconds().items()}
    try:
        result.to_kafka = _quantiles(await write_to_kafka(kafka, first_offsets))
    finally:
        await kafka.stop()
    for region in REGIONS:
        buckets: Buckets = bucket_delta(
            histogram_buckets(await asyncio.to_thread(pipeline.scrape, region), LATENCY,
                              region=region, clock="row"), base_buckets[region])
        result.row_clock[region] = {
            "p50_ms": _ms(histogram_quantile(0.5, buckets)),
            "p99_ms": _ms(histogram_quantile(0.99, buckets)),
            "n": buckets[-1][1] if buckets else 0,
            # A quantile in the +Inf bucket is only known to be at least the last bound.
            "last_bound_ms": _ms(buckets[-2][0]) if len(buckets) > 1 else math.inf}
        result.probes[region] = _quantiles(probes[region])
    return result


# --- phase B: bulk writes, sustained throughput ------------------------------------------


async def write_to_kafka(kafka: AIOKafkaConsumer, first: dict[TopicPartition, int]
                         ) -> list[float]:
    """Seconds from each row's write (its ``updated_at``) to the CDC worker's send (the Kafka
    record's CreateTime, milliseconds) for the records from ``first`` to the topic's end."""
    last = await kafka.end_offsets(list(first))
    kafka.assign(list(first))
    for tp, offset in first.items():
        kafka.seek(tp, offset)
    delays: list[float] = []
    remaining = {tp for tp in first if last[tp] > first[tp]}
    while remaining:
        for tp, records in (await kafka.getmany(*remaining, timeout_ms=1000)).items():
            for record in records:
                event = decode_event(record.value or b"")
                written = row_commit_time(event.after, "updated_at")
                if written is not None:
                    delays.append(max(0.0, record.timestamp / 1000 - written))
            if records and records[-1].offset + 1 >= last[tp]:
                remaining.discard(tp)
    return delays


async def topic_end(consumer: AIOKafkaConsumer, pipeline: Pipeline) -> int:
    offsets = await consumer.end_offsets([TopicPartition(pipeline.topic, p)
                                          for p in range(pipeline.partitions)])
    return sum(offsets.values())


async def phase_throughput(info: StackInfo, pipeline: Pipeline, args: argparse.Namespace
                           ) -> dict[str, float]:
    kafka = AIOKafkaConsumer(bootstrap_servers=info.kafka_bootstrap)
    await kafka.start()
    try:
        published_before = await topic_end(kafka, pipeline)
        cpu_before = pipeline.cpu_seconds()
        base_events = {r: await asyncio.to_thread(pipeline.applied, r) for r in REGIONS}
        total, per = args.bulk_rows, args.statement_rows
        marks: dict[str, float] = {}

        def write() -> None:
            with connect(info.mariadb_port) as conn, conn.cursor() as cur:
                marks["start"] = time.perf_counter()
                for first in range(1_000_000_000, 1_000_000_000 + total, per):
                    last = min(first + per, 1_000_000_000 + total) - 1
                    cur.execute(f"INSERT INTO app.{pipeline.table} (id, user_id, name, amount) "
                                f"SELECT seq, seq % 9973, CONCAT('user', seq), (seq % 10000) / 4 "
                                f"FROM seq_{first}_to_{last}")
                    marks.setdefault("first_commit", time.perf_counter())
                marks["written"] = time.perf_counter()

        writing = asyncio.create_task(asyncio.to_thread(write))
        applied = asyncio.create_task(wait_applied(
            pipeline, {r: base_events[r] + total for r in REGIONS}, 900))
        published_at: float | None = None
        while not applied.done():
            if published_at is None and \
                    await topic_end(kafka, pipeline) >= published_before + total:
                published_at = time.perf_counter()
            await asyncio.sleep(0.05)
        await writing
        done = applied.result()
        if published_at is None:
            published_at = min(done.values())  # published before the first poll saw it
        cpu = {name: (after - cpu_before[name]) / args.bulk_rows * 1e6
               for name, after in pipeline.cpu_seconds().items()}
    finally:
        await kafka.stop()
    first = marks["first_commit"]
    counted = total - min(per, total)
    end = max(done.values())
    return {
        "rows": total,
        "write_rows_per_s": total / (marks["written"] - marks["start"]),
        "cdc_published_rows_per_s": counted / (published_at - first),
        "cdc_published_after_s": published_at - first,
        **{f"{r}_applied_after_s": done[r] - first for r in REGIONS},
        "sustained_rows_per_s": counted / (end - first),
        **{f"{name}_cpu_us_per_row": value for name, value in cpu.items()},
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    info = Stack(Path(args.stack_dir), args.base_port).up()
    with tempfile.TemporaryDirectory(prefix="bench-lat-") as tmp:
        pipeline = start(info, Path(tmp), args.partitions)
        sampler = RssSampler(pipeline.cdc.pid)
        sampler.start()
        try:
            await wait_started(info, pipeline)
            # Warm up: every process connected, partitions assigned, the path exercised.
            with connect(info.mariadb_port) as conn, conn.cursor() as cur:
                cur.execute(f"INSERT INTO app.{pipeline.table} (id, user_id, name, amount) "
                            "SELECT seq, 0, 'warm', 0 FROM seq_1_to_100")
            await wait_applied(pipeline, dict.fromkeys(REGIONS, 100.0), 120)
            print(f"pipeline up (CDC worker pid {pipeline.cdc.pid}; consumers "
                  + ", ".join(f"{r} pid {p.pid}" for r, p in pipeline.consumers.items())
                  + "); warm-up applied in both regions", flush=True)

            latency = await phase_latency(info, pipeline, args)
            print(f"phase A: {latency.achieved_rows_per_s:,.0f} rows/s achieved "
                  f"(target {args.rate:,}) in {latency.transactions_per_s:,.0f} transactions/s "
                  f"for {args.seconds} s", flush=True)
            for region in REGIONS:
                row, probe = latency.row_clock[region], latency.probes[region]
                p50, p99 = (("≥ " if row[q] >= row["last_bound_ms"] else "") + f"{row[q]}"
                            for q in ("p50_ms", "p99_ms"))
                print(f"  {region}: commit→applied (row clock, {row['n']:,.0f} events) "
                      f"p50 {p50} ms, p99 {p99} ms; "
                      f"probes (commit return → visible in Redis, {probe['n']} probes) "
                      f"p50 {probe['p50_ms']} ms, p99 {probe['p99_ms']} ms", flush=True)
            print(f"  of which write → CDC worker's send to Kafka (record CreateTime, ms "
                  f"resolution, {latency.to_kafka['n']:,} records): p50 "
                  f"{latency.to_kafka['p50_ms']} ms, p99 {latency.to_kafka['p99_ms']} ms",
                  flush=True)
            print("  CPU per row: " + ", ".join(f"{name} {us:.0f} us" for name, us
                                                 in latency.cpu_us_per_row.items()), flush=True)

            throughput = await phase_throughput(info, pipeline, args)
            print(f"phase B: {throughput['rows']:,} rows in INSERT…SELECT statements of "
                  f"{args.statement_rows:,}: written at {throughput['write_rows_per_s']:,.0f} "
                  f"rows/s; CDC published all {throughput['cdc_published_after_s']:.2f} s after "
                  f"the first commit ({throughput['cdc_published_rows_per_s']:,.0f} rows/s); "
                  + "; ".join(f"{r} applied all after {throughput[f'{r}_applied_after_s']:.2f} s"
                              for r in REGIONS)
                  + f"; sustained end to end {throughput['sustained_rows_per_s']:,.0f} rows/s",
                  flush=True)
            print("  CPU per row: " + ", ".join(
                f"{name} {throughput[f'{name}_cpu_us_per_row']:.0f} us"
                for name in ("cdc", *REGIONS))
                + f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        finally:
            pipeline.stop()
            peak_mb = sampler.stop()
            await pipeline.remove(info)
        print(f"CDC worker peak RSS (process tree, sum of VmHWM): {peak_mb:.1f} MB", flush=True)
    return {"sustained_rows_per_s": round(throughput["sustained_rows_per_s"]),
            "p99_commit_to_applied_ms_at_5k": {r: latency.row_clock[r]["p99_ms"]
                                               for r in REGIONS},
            "cdc_peak_rss_mb": round(peak_mb, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_stack_options(parser, "stack-latency", 25500)
    parser.add_argument("--rate", type=int, default=5000, help="phase A rows/s")
    parser.add_argument("--seconds", type=float, default=30.0, help="phase A duration")
    parser.add_argument("--writers", type=int, default=4, help="phase A writer threads")
    parser.add_argument("--partitions", type=int, default=PARTITIONS,
                        help="the topic's partitions")
    parser.add_argument("--bulk-rows", type=int, default=200_000, help="phase B rows")
    parser.add_argument("--statement-rows", type=int, default=1000,
                        help="phase B rows per INSERT…SELECT statement")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args))))


if __name__ == "__main__":
    main()
