"""Region consumer throughput: events applied per second by one ``cachesync consume`` process
per region, next to the Redis-side baseline, in one run.

    .venv/bin/python -m bench.apply_throughput [--stack-dir DIR --base-port N]
        [--events 200000] [--keys 4000] [--partitions 8] [--max-records 5000]

Pre-produces ``--events`` change events (``--keys`` items, each updated in rounds, so
versions grow round by round as a real binlog's do) to a fresh topic, then for each region
starts one ``cachesync consume --region R`` subprocess with a fresh consumer group and
polls the group's committed offsets until they reach the topic's end. The rate is
measured from the first commit to the last, so process start-up and the group join are not
counted: ``(events committed after the first commit) / (time between the two commits)``.
A committed offset means the region's Redis acknowledged every write before it. Regions run
one after the other, so each process has the machine to itself.

Also reported, per region: how many fenced writes reached Redis (a batch coalesces the
events of one key to the newest, so there are fewer writes than events), scraped from the
process's Prometheus endpoint; and the Redis-side baseline: ``redis-benchmark -P 64 -t set``
against the same Redis, and a plain redis-py (hiredis) pipelined ``SET`` loop from Python.
Every region's final state is checked: each key holds its newest round.

The last line of output is one JSON object:
``{"apply_events_per_s_per_process": {region: value}, "redis_baseline_ops_per_s": value}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from bench.proc import add_stack_options
from cachesync.kafka import delete_topics
from cachesync.stack import Stack, StackInfo
from cachesync.stack.probes import free_port
from cdc.partition import partition_for
from consumers.store import RedisStore
from schemas.config import Dsn
from schemas.events import ChangeEvent, Source, encode_event
from schemas.versions import binlog_version

REPO = Path(__file__).resolve().parents[1]
CACHESYNC = str(Path(sys.executable).with_name("cachesync"))
TABLE = "app.bench_items"


def events(prefix: str, total: int, keys: int) -> list[ChangeEvent]:
    """``total`` changes in rounds over ``keys`` items; round n gives item k version (n, k)."""
    now_ms = int(time.time() * 1000)
    out = []
    for i in range(total):
        n, k = divmod(i, keys)
        image = {"id": k, "prefix": prefix, "n": n + 1, "name": f"user{k}",
                 "amount": f"{k}.{n % 100:02d}", "updated": "2024-01-02T03:04:05.123456"}
        out.append(ChangeEvent(
            op="insert" if n == 0 else "update", table=TABLE, pk={"id": k}, key=str(k),
            before=None if n == 0 else image, after=image,
            version=binlog_version(0, 1, n + 1, k + 1),
            source=Source(server_id=1, file="b.000001", pos=n + 1, row_index=k + 1,
                          ts_ms=now_ms),
        ))
    return out


async def produce(bootstrap: str, topic: str, partitions: int,
                  batch: list[ChangeEvent]) -> None:
    """Create the topic and write the events with batches built by hand (fast to produce)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                max_batch_size=1 << 20, linger_ms=5)
    await producer.start()
    try:
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        for event in batch:
            key = event.key.encode()
            by_partition.setdefault(partition_for(key, partitions), []).append(
                (key, encode_event(event)))
        for partition, records in by_partition.items():
            kafka_batch = producer.create_batch()
            for key, value in records:
                if kafka_batch.append(key=key, value=value, timestamp=None) is None:
                    await (await producer.send_batch(kafka_batch, topic, partition=partition))
                    kafka_batch = producer.create_batch()
                    kafka_batch.append(key=key, value=value, timestamp=None)
            await (await producer.send_batch(kafka_batch, topic, partition=partition))
    finally:
        await producer.stop()


async def committed(admin: AIOKafkaAdminClient, group: str, topic: str,
                    partitions: int) -> int:
    offsets = await admin.list_consumer_group_offsets(
        group, partitions=[TopicPartition(topic, p) for p in range(partitions)])
    return sum(meta.offset for meta in offsets.values() if meta.offset > 0)


def scrape(port: int, metric: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(metric + "{"))


async def run_consumer(info: StackInfo, region: str, *, config_dir: Path, topic: str,
                       prefix: str, args: argparse.Namespace) -> dict[str, float]:
    """One consumer process for a region, timed from its first commit to the topic's end."""
    group = f"bench-{region}-{uuid.uuid4().hex[:8]}"
    metrics_port = free_port()
    config = config_dir / f"{region}.yaml"  # JSON is valid YAML
    config.write_text(json.dumps({
        "source": {"dsn": info.repl_dsn},
        "kafka": {"bootstrap_servers": [info.kafka_bootstrap], "topic": topic,
                  "dlq_topic": f"{topic}.dlq", "partitions": args.partitions},
        "regions": {name: {"redis_url": url} for name, url in info.redis_urls.items()},
        "tables": {TABLE: {"cache_keys": [f"{prefix}:{{id}}"], "action": "rewrite",
                           "columns": ["id", "n", "name", "amount", "updated"]}},
        "metrics": {"port": metrics_port},
    }))
    log = (config_dir / f"{region}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        CACHESYNC, "consume", "--config", str(config), "--region", region, "--group-id", group,
        "--max-records", str(args.max_records), "--commit-interval-ms", "100",
        stdout=log, stderr=subprocess.STDOUT)
    admin = AIOKafkaAdminClient(bootstrap_servers=info.kafka_bootstrap)
    await admin.start()
    try:
        first: tuple[float, int] | None = None
        deadline = time.monotonic() + 600
        while True:
            done = await committed(admin, group, topic, args.partitions)
            now = time.perf_counter()
            if first is None and done > 0:
                first = (now, done)
            if done >= args.events:
                break
            if proc.returncode is not None or time.monotonic() > deadline:
                tail = (config_dir / f"{region}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"consumer for {region} stopped or stalled at {done}:\n"
                                   f"{tail}")
            await asyncio.sleep(0.02)
        assert first is not None
        if first[1] >= args.events:
            raise RuntimeError("the first commit already covered every event: use more events")
        writes = (scrape(metrics_port, "cachesync_consumer_applied_total")
                  + scrape(metrics_port, "cachesync_consumer_fenced_total"))
    finally:
        await admin.close()
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)
        log.close()
    if proc.returncode != 0:
        raise RuntimeError(f"consumer for {region} exited with {proc.returncode}")
    seconds = now - first[0]
    return {"events_per_s": (args.events - first[1]) / seconds, "seconds": seconds,
            "redis_writes": writes}


async def check_state(url: str, region: str, prefix: str, keys: int, rounds: int) -> None:
    store = RedisStore(region, Dsn(url))
    try:
        entries = await store.read([f"{prefix}:{k}" for k in range(keys)])
    finally:
        await store.close()
    wrong = [k for k, e in enumerate(entries)
             if e is None or e.value is None or json.loads(e.value)["n"] != rounds]
    if wrong:
        raise RuntimeError(f"{region}: {len(wrong)} keys do not hold round {rounds}, e.g. "
                           f"{wrong[:5]}")


def redis_benchmark(url: str) -> float:
    port = Dsn(url).port or 6379
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-P", "64", "-t", "set",
         "-n", "1000000", "-q", "-r", "100000"], capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r"SET: ([\d.]+) requests per second", out.replace("\r", "\n"))
    if match is None:
        raise RuntimeError(f"unexpected redis-benchmark output: {out!r}")
    return float(match.group(1))


async def python_pipelined_set(url: str, total: int = 200_000, batch: int = 500) -> float:
    store = RedisStore("baseline", Dsn(url))
    prefix = f"bench-set-{uuid.uuid4().hex[:8]}"
    try:
        started = time.perf_counter()
        for start in range(0, total, batch):
            async with store.client.pipeline(transaction=False) as pipe:
                for i in range(start, start + batch):
                    pipe.set(f"{prefix}:{i % 4000}", b"x" * 100)
                await pipe.execute()
        elapsed = time.perf_counter() - started
        await store.client.delete(*(f"{prefix}:{i}" for i in range(4000)))
    finally:
        await store.close()
    return total / elapsed


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    info = Stack(Path(args.stack_dir), args.base_port).up()
    topic, prefix = f"bench-apply-{uuid.uuid4().hex[:8]}", f"ba{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    await produce(info.kafka_bootstrap, topic, args.partitions,
                  events(prefix, args.events, args.keys))
    print(f"produced {args.events:,} events over {args.keys:,} keys to {args.partitions} "
          f"partitions in {time.perf_counter() - started:.1f} s", flush=True)
    rounds = args.events // args.keys
    regions: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
            for region in sorted(info.redis_urls):
                result = await run_consumer(info, region, config_dir=Path(tmp), topic=topic,
                                            prefix=prefix, args=args)
                await check_state(info.redis_urls[region], region, prefix, args.keys, rounds)
                regions[region] = result
                print(f"{region}: {result['events_per_s']:,.0f} events/s per process "
                      f"({result['seconds']:.2f} s, {result['redis_writes']:,.0f} fenced writes "
                      f"after coalescing: {result['redis_writes'] / result['seconds']:,.0f}/s); "
                      "final state checked", flush=True)
    finally:
        await delete_topics(info.kafka_bootstrap, [topic, f"{topic}.dlq"])
    baseline_url = info.redis_urls[sorted(info.redis_urls)[0]]
    baseline = redis_benchmark(baseline_url)
    client = await python_pipelined_set(baseline_url)
    print(f"redis-benchmark -P 64 -t set: {baseline:,.0f} ops/s; "
          f"redis-py pipelined SET loop: {client:,.0f} ops/s")
    return {"apply_events_per_s_per_process": {r: round(v["events_per_s"])
                                               for r, v in regions.items()},
            "redis_baseline_ops_per_s": round(baseline)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_stack_options(parser, "stack-consumers", 25300)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=4000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--max-records", type=int, default=5000)
    args = parser.parse_args()
    if args.events % args.keys:
        parser.error("--events must be a multiple of --keys (whole rounds)")
    print(json.dumps(asyncio.run(bench(args))))


if __name__ == "__main__":
    main()
