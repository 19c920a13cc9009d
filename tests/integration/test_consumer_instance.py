"""Static group membership (``cachesync consume --instance-id``) on the real broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cachesync.stack import StackInfo
from tests.integration.conftest import unique_name
from tests.integration.consumer_support import (
    TABLES,
    all_at,
    consumer_log,
    create_topic,
    encoded,
    item_event,
    produce,
    region_store,
    start_consumer,
    stop_consumer,
    wait_until,
)
from tests.integration.settings import write_config

INSTANCE = "east-0"
ASSIGNED = "assigned partitions [0, 1, 2, 3]"


@dataclass
class EastGroup:
    """East's consumer group on a topic of its own; every member joins as ``INSTANCE``."""

    stack: StackInfo
    log_dir: Path
    config: Path
    topic: str = field(default_factory=lambda: unique_name("changes"))
    group: str = field(default_factory=lambda: unique_name("g"))
    prefix: str = field(default_factory=lambda: unique_name("item"))
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    async def join(self, what: str) -> subprocess.Popen[bytes]:
        """A consumer, once it holds every partition."""
        proc = start_consumer(self.config, "east", self.group, self.log_dir,
                              instance_id=INSTANCE)
        self.procs.append(proc)
        await wait_until(lambda: ASSIGNED in consumer_log(proc), 60, what)
        return proc

    async def applies(self, n: int) -> None:
        """Round ``n`` of 40 keys reaches east's Redis."""
        keys = range(40)
        await produce(self.stack.kafka_bootstrap, self.topic,
                      encoded([item_event(self.prefix, k, n) for k in keys]))
        store = region_store(self.stack.redis_urls, "east")
        try:
            await wait_until(lambda: all_at(store, self.prefix, keys, n), 60,
                             f"round {n} in east")
        finally:
            await store.close()


@pytest.fixture
async def east(stack: StackInfo, tmp_path: Path) -> AsyncIterator[EastGroup]:
    group = EastGroup(stack, tmp_path, tmp_path / "c.yaml")
    write_config(group.config, stack, TABLES, topic=group.topic)
    await create_topic(stack.kafka_bootstrap, group.topic, partitions=4)
    yield group
    for proc in group.procs:
        if proc.poll() is None:
            stop_consumer(proc)


def _logged_at(log: str, text: str) -> dt.datetime:
    """When the last line containing ``text`` was logged."""
    line = [line for line in log.splitlines() if text in line][-1]
    stamp = re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", line)
    assert stamp is not None, line
    return dt.datetime.strptime(stamp.group(0), "%Y-%m-%d %H:%M:%S,%f")


async def test_a_consumer_restarted_with_its_instance_id_gets_its_partitions_at_once(
        east: EastGroup) -> None:
    first = await east.join("the first assignment")
    await east.applies(1)
    stop_consumer(first, kill=True)
    second = await east.join("the restart's assignment")
    log = consumer_log(second)
    # A dynamic member waits for the killed one's session (10 s) to expire: 9.3 s here.
    waited = _logged_at(log, ASSIGNED) - _logged_at(log, f"instance id {INSTANCE}")
    assert waited < dt.timedelta(seconds=3), log
    await east.applies(2)


async def test_a_second_consumer_with_the_same_instance_id_makes_the_first_exit(
        east: EastGroup) -> None:
    first = await east.join("the first assignment")
    second = await east.join("the second consumer's assignment")
    await wait_until(lambda: first.poll() is not None, 30, "the first consumer to exit")
    assert first.returncode == 1
    assert f"instance id {INSTANCE!r}" in consumer_log(first)
    assert "Traceback" not in consumer_log(first)
    # The second one keeps the id and the partitions: nobody takes them back.
    await asyncio.sleep(8)  # more than two heartbeat intervals (3 s)
    assert second.poll() is None, consumer_log(second)
    assert f"instance id {INSTANCE!r}" not in consumer_log(second)
    await east.applies(1)
    stop_consumer(second)
    assert second.returncode == 0
