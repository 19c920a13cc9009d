"""Kafka administration shared by the workers."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.config import KafkaConfig

log = logging.getLogger(__name__)


async def ensure_topic(kafka: KafkaConfig, topic: str) -> None:
    """Create ``topic`` with the configured partitions and replication factor if missing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        if topic in await admin.list_topics():
            return
        try:
            await admin.create_topics(
                [NewTopic(topic, kafka.partitions, kafka.replication_factor)]
            )
        except TopicAlreadyExistsError:
            return
        log.info("created topic %s with %d partitions", topic, kafka.partitions)
    finally:
        await admin.close()
