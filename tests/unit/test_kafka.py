"""The change topic's partitions against the configuration (no services)."""

from __future__ import annotations

import pytest

from cachesync.kafka import TopicPartitionsMismatch, check_partitions
from schemas.config import KafkaConfig

KAFKA = KafkaConfig(bootstrap_servers=["127.0.0.1:9092"], topic="changes", partitions=4)


def test_the_configured_partitions_pass() -> None:
    check_partitions(KAFKA, "changes", 4)


@pytest.mark.parametrize("found", [1, 3, 5, 12])
def test_other_partitions_are_refused_naming_the_field(found: int) -> None:
    with pytest.raises(TopicPartitionsMismatch) as error:
        check_partitions(KAFKA, "changes", found)
    assert str(error.value).startswith(
        f"kafka.partitions is 4, but topic 'changes' has {found} partitions")
    assert f"set kafka.partitions to {found}" in str(error.value)
