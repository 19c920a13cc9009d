"""Topics on the real broker: a group member that joins before its topic exists gets the
partitions once it does; a change topic whose partitions differ from the configuration stops
the CDC worker with an error naming the field; a run's topics are deleted when asked."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka import ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from cachesync.kafka import (
    GROUP_METADATA_MAX_AGE_MS,
    delete_topics,
    ensure_topic,
    group_consumer,
)
from cachesync.stack import StackInfo
from schemas.config import KafkaConfig
from tests.integration.conftest import unique_name
from tests.integration.consumer_support import listed_topics
from tests.integration.test_cdc_support import cdc_setup, create_table, run_cli


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


def test_ensure_topic_answers_the_partitions_the_topic_has(stack: StackInfo) -> None:
    topic = unique_name("sized.topic")
    created = KafkaConfig(bootstrap_servers=[stack.kafka_bootstrap], topic=topic, partitions=3)
    other = created.model_copy(update={"partitions": 5})
    assert asyncio.run(ensure_topic(created, topic)) == 3
    assert asyncio.run(ensure_topic(other, topic)) == 3  # it exists: left as it is


def test_cdc_worker_refuses_a_topic_with_other_partitions(stack: StackInfo,
                                                           tmp_path: Path) -> None:
    name = create_table(stack, "kt", "id INT PRIMARY KEY")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name,
                      partitions=4)
    six = setup.settings.kafka.model_copy(update={"partitions": 6})
    assert asyncio.run(ensure_topic(six, setup.topic)) == 6
    result = run_cli("cdc", "run", "--config", str(setup.write_config(tmp_path)))
    assert result.returncode == 1
    assert (f"kafka.partitions is 4, but topic {setup.topic!r} has 6 partitions"
            in result.stderr)
    assert "Traceback" not in result.stderr


def test_delete_topics_deletes_those_that_exist_and_names_them(stack: StackInfo) -> None:
    kept, gone = unique_name("kept.topic"), unique_name("gone.topic")
    never = unique_name("never.topic")
    kafka = KafkaConfig(bootstrap_servers=[stack.kafka_bootstrap], topic=kept, partitions=2)

    async def run() -> tuple[list[str], set[str]]:
        for topic in (kept, gone):
            await ensure_topic(kafka, topic)
        deleted = await delete_topics(stack.kafka_bootstrap, [gone, never])
        return deleted, await listed_topics(stack.kafka_bootstrap)

    deleted, listed = asyncio.run(run())
    assert deleted == [gone]  # the one that never existed is not an error
    assert kept in listed and gone not in listed  # gone once it returns
