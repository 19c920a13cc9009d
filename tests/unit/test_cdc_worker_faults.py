"""Which Kafka failures make the CDC worker replace its producer and resend (pure)."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    LeaderNotAvailableError,
    NotLeaderForPartitionError,
    RecordTooLargeError,
    RequestTimedOutError,
    TopicAuthorizationFailedError,
)

from cdc.worker import kafka_unavailable


@pytest.mark.parametrize(("error", "expected"), [
    (LeaderNotAvailableError(), True),
    (NotLeaderForPartitionError(), True),
    (KafkaConnectionError("broker down"), True),
    (RequestTimedOutError(), True),
    (KafkaTimeoutError(), True),
    (RecordTooLargeError(), False),
    (TopicAuthorizationFailedError(), False),
    (ConnectionError("not a Kafka error"), False),
    (ValueError("bug"), False),
])
def test_kafka_unavailable(error: BaseException, expected: bool) -> None:
    assert kafka_unavailable(error) is expected
