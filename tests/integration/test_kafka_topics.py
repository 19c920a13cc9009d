"""A group member that joins before its topic exists gets the partitions once it does."""

from __future__ import annotations

import asyncio
import time

from aiokafka import ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from cachesync.kafka import GROUP_METADATA_MAX_AGE_MS, ensure_topic, group_consumer
from cachesync.stack import StackInfo
from schemas.config import KafkaConfig
from tests.integration.conftest import unique_name


class _Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.seen: list[set[TopicPartition]] = []
        self.changed = asyncio.Event()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.seen.append(set(assigned))
        self.changed.set()


def test_a_member_that_joined_before_its_topic_existed_gets_its_partitions(
        stack: StackInfo) -> None:
    """A CDC worker and its consumers started together: the consumers may join their group
    before the worker created the topic. They must not stay without partitions until
    Kafka's default metadata refresh (5 minutes)."""
    topic = unique_name("late.topic")
    kafka = KafkaConfig(bootstrap_servers=[stack.kafka_bootstrap], topic=topic, partitions=3)
    limit_s = 3 * GROUP_METADATA_MAX_AGE_MS / 1000

    async def run() -> float:
        consumer = group_consumer(kafka, unique_name("late.group"))
        listener = _Assignments()
        await consumer.start()
        try:
            consumer.subscribe([topic], listener=listener)
            async with asyncio.timeout(30):  # the group forms without the topic
                while not listener.seen:
                    await consumer.getmany(timeout_ms=200)
            assert listener.seen == [set()]
            await ensure_topic(kafka, topic)
            created = time.monotonic()
            while len(consumer.assignment()) < 3:
                assert time.monotonic() - created < limit_s, (
                    f"no partitions {time.monotonic() - created:.0f} s after the topic was "
                    "created")
                await consumer.getmany(timeout_ms=200)
            return time.monotonic() - created
        finally:
            await consumer.stop()

    assert asyncio.run(run()) < limit_s
