"""Region consumers on real Kafka and Redis: both regions, poison records, outages, kills."""

from __future__ import annotations

import asyncio
import functools
import os
import random
import subprocess
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from cachesync.stack import Stack, StackInfo
from cdc.partition import partition_for
from tests.integration.conftest import unique_name
from tests.integration.consumer_support import (
    CACHESYNC,
    TABLES,
    all_at,
    create_topic,
    encoded,
    item_event,
    produce,
    region_store,
    start_consumer,
    stop_consumer,
    stored_n,
    wait_until,
)
from tests.integration.settings import write_config

OUTAGE_S = float(os.environ.get("CACHESYNC_TEST_OUTAGE_S", "30"))


async def dead_letters(bootstrap: str, topic: str, count: int) -> list[dict[str, bytes]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=unique_name("dlq-reader"))
    await consumer.start()
    found: list[dict[str, bytes]] = []
    try:
        async with asyncio.timeout(60):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    found += [dict(r.headers) | {"value": r.value} for r in records]
    finally:
        await consumer.stop()
    return found


async def test_both_regions_apply_and_poison_goes_to_the_dlq(stack: StackInfo,
                                                             tmp_path: Path) -> None:
    topic, prefix = unique_name("changes"), unique_name("item")
    config = write_config(tmp_path / "c.yaml", stack, TABLES, topic=topic)
    await create_topic(stack.kafka_bootstrap, topic)
    keys = range(40)
    first = [item_event(prefix, k, n) for n in (1, 2) for k in keys]
    later = [item_event(prefix, k, 3) for k in keys]
    # The poison record shares key 0's partition, so that partition must keep flowing after it.
    await produce(stack.kafka_bootstrap, topic,
                  [*encoded(first), (b"0", b"{not an event"), *encoded(later)])
    group = unique_name("g")
    procs = [start_consumer(config, region, f"{group}-{region}", tmp_path)
             for region in ("east", "west")]
    stores = {r: region_store(stack.redis_urls, r) for r in ("east", "west")}
    try:
        for store in stores.values():
            await wait_until(functools.partial(all_at, store, prefix, keys, 3), 60,
                             f"{store.region} to hold n=3 for every key")
        letters = await dead_letters(stack.kafka_bootstrap, f"{topic}.dlq", 2)
    finally:
        for proc in procs:
            stop_consumer(proc)
        for store in stores.values():
            await store.close()
    # Each region's group dead-letters the record once, naming itself.
    assert sorted(letter["cachesync.region"] for letter in letters) == [b"east", b"west"]
    for letter in letters:
        assert letter["value"] == b"{not an event"
        assert b"undecodable" in letter["cachesync.error"]
        assert letter["cachesync.topic"] == topic.encode()
        assert int(letter["cachesync.offset"]) == 2 * sum(
            1 for k in keys if _same_partition(k, 0))
    assert all(proc.returncode == 0 for proc in procs)


def _same_partition(key: int, other: int) -> bool:
    return partition_for(str(key).encode(), 4) == partition_for(str(other).encode(), 4)


async def test_a_region_outage_holds_back_only_that_region(stack: StackInfo,
                                                           stack_control: Stack,
                                                           tmp_path: Path) -> None:
    topic, prefix = unique_name("changes"), unique_name("item")
    config = write_config(tmp_path / "c.yaml", stack, TABLES, topic=topic)
    await create_topic(stack.kafka_bootstrap, topic)
    keys = range(200)
    group = unique_name("g")
    procs = {r: start_consumer(config, r, f"{group}-{r}", tmp_path) for r in ("east", "west")}
    east, west = (region_store(stack.redis_urls, r) for r in ("east", "west"))
    rounds = 0

    async def write_round() -> None:
        nonlocal rounds
        rounds += 1
        await produce(stack.kafka_bootstrap, topic,
                      encoded([item_event(prefix, k, rounds) for k in keys]))

    try:
        await write_round()
        await wait_until(lambda: all_at(west, prefix, keys, 1), 60, "west before the outage")
        stack_control.stop_service("redis-west")
        try:
            loop = asyncio.get_running_loop()
            ends = loop.time() + OUTAGE_S
            while loop.time() < ends:
                await write_round()
                # East keeps up while west is down.
                await wait_until(lambda: all_at(east, prefix, keys, rounds), 30,
                                 f"east to apply round {rounds} during the outage")
                await asyncio.sleep(1)
        finally:
            stack_control.start_service("redis-west")
        await wait_until(lambda: all_at(west, prefix, keys, rounds), 90,
                         "west to converge after the outage")
        assert await stored_n(east, prefix, keys) == [rounds] * len(keys)
    finally:
        for proc in procs.values():
            stop_consumer(proc)
        await east.close()
        await west.close()
    assert rounds > 3


async def test_kills_and_rescaling_never_move_a_key_backwards(stack: StackInfo,
                                                              tmp_path: Path) -> None:
    topic, prefix = unique_name("changes"), unique_name("item")
    config = write_config(tmp_path / "c.yaml", stack, TABLES, topic=topic)
    await create_topic(stack.kafka_bootstrap, topic, partitions=6)
    keys, rounds = range(300), 30
    group = unique_name("g")
    store = region_store(stack.redis_urls, "east")
    seen: dict[int, int] = {}
    went_back: list[str] = []
    done = asyncio.Event()

    async def monitor() -> None:
        while not done.is_set():
            for key, n in zip(keys, await stored_n(store, prefix, keys), strict=True):
                if n is not None:
                    if n < seen.get(key, 0):
                        went_back.append(f"key {key}: {seen[key]} -> {n}")
                    seen[key] = n
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(monitor())
    producer_done = asyncio.create_task(_produce_rounds(stack, topic, prefix, keys, rounds))
    procs = [start_consumer(config, "east", group, tmp_path)]
    try:
        await asyncio.sleep(2)
        stop_consumer(procs.pop(), kill=True)  # SIGKILL mid-stream: 1 -> 0
        procs = [start_consumer(config, "east", group, tmp_path) for _ in range(3)]  # -> 3
        await asyncio.sleep(4)
        stop_consumer(procs.pop(random.randrange(3)), kill=True)
        stop_consumer(procs.pop())  # -> 1
        await producer_done
        await wait_until(lambda: all_at(store, prefix, keys, rounds), 120,
                         "every key to reach the newest round")
    finally:
        done.set()
        await watcher
        for proc in procs:
            stop_consumer(proc)
        await store.close()
    assert went_back == []


async def _produce_rounds(stack: StackInfo, topic: str, prefix: str, keys: range,
                          rounds: int) -> None:
    for n in range(1, rounds + 1):
        await produce(stack.kafka_bootstrap, topic, encoded([item_event(prefix, k, n)
                                                              for k in keys]))
        await asyncio.sleep(0.2)


async def test_a_key_redis_refuses_is_dead_lettered_and_the_partition_flows(
        stack: StackInfo, tmp_path: Path) -> None:
    topic, prefix = unique_name("changes"), unique_name("item")
    config = write_config(tmp_path / "c.yaml", stack, TABLES, topic=topic)
    await create_topic(stack.kafka_bootstrap, topic)
    keys = range(20)
    east = region_store(stack.redis_urls, "east")
    foreign = f"{prefix}:3"
    await east.client.set(foreign, "an application's string")
    first = encoded([item_event(prefix, k, 1) for k in keys])
    await produce(stack.kafka_bootstrap, topic, first)
    proc = start_consumer(config, "east", unique_name("g"), tmp_path)
    try:
        others = [k for k in keys if k != 3]
        await wait_until(lambda: _some(east, prefix, others, 1), 60,
                         "east to apply round 1 around the refused key")
        [letter] = await dead_letters(stack.kafka_bootstrap, f"{topic}.dlq", 1)
        assert b"WRONGTYPE" in letter["cachesync.error"]
        assert letter["cachesync.invalidate"] == foreign.encode()
        assert letter["cachesync.partition"] == str(partition_for(b"3", 4)).encode()
        assert letter["value"] == first[3][1]
        await produce(stack.kafka_bootstrap, topic,
                      encoded([item_event(prefix, k, 2) for k in keys]))
        await wait_until(lambda: _some(east, prefix, others, 2), 60,
                         "the refused key's partition to keep flowing")
        assert await east.client.get(foreign) == b"an application's string"
    finally:
        stop_consumer(proc)
        await east.client.delete(foreign)
        await east.close()
    assert proc.returncode == 0


async def _some(store: object, prefix: str, keys: list[int], n: int) -> bool:
    held = await stored_n(store, prefix, keys)  # type: ignore[arg-type]
    return held == [n] * len(keys)


async def test_fan_out_writes_every_region_from_one_group(stack: StackInfo,
                                                          tmp_path: Path) -> None:
    topic, prefix = unique_name("changes"), unique_name("item")
    config = write_config(tmp_path / "c.yaml", stack, TABLES, topic=topic)
    await create_topic(stack.kafka_bootstrap, topic)
    keys = range(50)
    await produce(stack.kafka_bootstrap, topic,
                  encoded([item_event(prefix, k, n) for n in (1, 2) for k in keys]))
    proc = _start_fan_out(config, "east,west", tmp_path / "fanout.log")
    stores = [region_store(stack.redis_urls, r) for r in ("east", "west")]
    try:
        for store in stores:
            await wait_until(functools.partial(all_at, store, prefix, keys, 2), 60,
                             f"{store.region} to hold n=2 for every key")
    finally:
        stop_consumer(proc)
        for store in stores:
            await store.close()
    assert proc.returncode == 0


def _start_fan_out(config: Path, regions: str, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [CACHESYNC, "consume", "--config", str(config), "--regions", regions,
             "--group-id", unique_name("g")], stdout=log, stderr=subprocess.STDOUT)
