"""Kafka administration shared by the workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Final

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.config import KafkaConfig

log = logging.getLogger(__name__)

GROUP_METADATA_MAX_AGE_MS: Final = 5_000
"""How often a group member refreshes its topic metadata. A member that joins its group
while the topic is being created (by a worker started at the same moment) can be assigned
no partitions; it rejoins as soon as a refresh shows them, which at Kafka's default age
(5 minutes) left a consumer idle that long."""


def group_consumer(kafka: KafkaConfig, group_id: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer in ``group_id`` that commits only when told to."""
    return AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=group_id,
                            enable_auto_commit=False,
                            metadata_max_age_ms=GROUP_METADATA_MAX_AGE_MS, **options)


DELETE_WAIT_S: Final = 30.0
"""How long :func:`delete_topics` waits for the broker to stop listing deleted topics (Kafka
deletes them asynchronously), asking every ``DELETE_POLL_S``."""
DELETE_POLL_S: Final = 0.2
UNKNOWN_TOPIC_OR_PARTITION: Final = 3
"""Kafka's error code for a topic that does not exist (gone already: nothing to delete)."""


class TopicPartitionsMismatch(RuntimeError):
    """The change topic has another number of partitions than ``kafka.partitions``."""


async def ensure_topic(kafka: KafkaConfig, topic: str) -> int:
    """Create ``topic`` with the configured partitions and replication factor if missing;
    how many partitions it has."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            try:
                await admin.create_topics(
                    [NewTopic(topic, kafka.partitions, kafka.replication_factor)]
                )
            except TopicAlreadyExistsError:
                pass  # created meanwhile by another worker: read what it has below
            else:
                log.info("created topic %s with %d partitions", topic, kafka.partitions)
                return kafka.partitions
        (described,) = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()


class TopicDeletionFailed(RuntimeError):
    """Kafka refused to delete a topic."""


async def delete_topics(bootstrap_servers: str | list[str], topics: Iterable[str]) -> list[str]:
    """Delete those of ``topics`` that exist (a run's own topics, once the run is over) and
    wait until the broker no longer lists them; the ones deleted. Raises
    :class:`TopicDeletionFailed` naming each topic Kafka refused or still lists after
    :data:`DELETE_WAIT_S`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        present = sorted(set(topics) & set(await admin.list_topics()))
        if not present:
            return []
        response = await admin.delete_topics(present)
        refused = [f"{topic} (error code {code})"
                   for topic, code, *_ in response.topic_error_codes
                   if code not in (0, UNKNOWN_TOPIC_OR_PARTITION)]
        if refused:
            raise TopicDeletionFailed(f"Kafka did not delete {', '.join(refused)}")
        for _ in range(int(DELETE_WAIT_S / DELETE_POLL_S)):
            listed = set(present) & set(await admin.list_topics())
            if not listed:
                break
            await asyncio.sleep(DELETE_POLL_S)
        else:
            raise TopicDeletionFailed(f"Kafka still lists {', '.join(sorted(listed))} "
                                      f"{DELETE_WAIT_S:.0f} s after deleting it")
        log.info("deleted topic(s) %s", ", ".join(present))
        return present
    finally:
        await admin.close()


def own_topics(kafka: KafkaConfig) -> list[str]:
    """The change topic and its dead-letter topic: what a run with topics of its own (the
    demo, the torture run) creates."""
    return [kafka.topic, kafka.dlq_topic]


def tidy_own_topics(kafka: KafkaConfig, *, keep: bool) -> None:
    """At the end of a run with topics of its own: delete them, or log that they are kept.
    A failed deletion is logged, not raised, so it cannot hide how the run ended."""
    topics = own_topics(kafka)
    if keep:
        log.info("kept the run's topics %s", ", ".join(topics))
        return
    try:
        asyncio.run(delete_topics(kafka.bootstrap_servers, topics))
    except (KafkaError, OSError, TopicDeletionFailed) as exc:
        log.warning("could not delete the run's topics %s: %s", ", ".join(topics), exc)


def check_partitions(kafka: KafkaConfig, topic: str, partitions: int) -> None:
    """Raise :class:`TopicPartitionsMismatch` unless the topic has ``kafka.partitions``."""
    if partitions != kafka.partitions:
        raise TopicPartitionsMismatch(
            f"kafka.partitions is {kafka.partitions}, but topic {topic!r} has {partitions} "
            "partitions: the CDC worker routes each key by the configured count, so set "
            f"kafka.partitions to {partitions} (or use a new topic)")
