"""The publisher: per-partition record batches in emit order, one acknowledgement per call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from cdc.assemble import Batch, Commit, Emit
from cdc.position import Position
from cdc.publish import KafkaPublisher, PublishError, SendWindow

POS = Position("0-1-1", "b.000001", 4)


class FakeProducer:
    """Keeps what is handed over: (topic, partition, [(key, value)], future)."""

    def __init__(self, batch_size: int = 16_384, refuse: bool = False) -> None:
        self.sent: list[tuple[str, int, list[tuple[bytes, bytes]], asyncio.Future[Any]]] = []
        self._batch_size = batch_size
        self._refuse = refuse

    def create_batch(self) -> Any:
        if self._refuse:
            return _Refusing()
        return BatchBuilder(self._batch_size, 0)

    async def send_batch(self, batch: Any, topic: str, *, partition: int
                         ) -> asyncio.Future[Any]:
        records = [] if isinstance(batch, _Refusing) else [
            (bytes(r.key), bytes(r.value)) for r in DefaultRecordBatch(bytes(batch._build()))]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, partition, records, future))
        return future


class _Refusing:
    def append(self, **_: Any) -> None:
        return None


def _emit(partition: int, key: bytes, size: int = 10) -> Emit:
    return Emit(partition, key, b"v" * size, "app.t", "insert", POS)


async def test_records_go_to_their_partition_in_order() -> None:
    producer = FakeProducer()
    batch: Batch = [_emit(0, b"a"), _emit(1, b"b"), _emit(0, b"c"), Commit(POS, 1),
                    _emit(1, b"d")]
    acked = await KafkaPublisher(producer, "t").publish(batch)
    assert acked is not None and acked.records == 4
    assert [(topic, p, [k for k, _ in records]) for topic, p, records, _ in producer.sent] == [
        ("t", 0, [b"a", b"c"]), ("t", 1, [b"b", b"d"])]


async def test_acked_once_every_batch_is_and_a_failed_send_keeps_raising() -> None:
    producer = FakeProducer()
    acked = await KafkaPublisher(producer, "t").publish([_emit(0, b"a"), _emit(1, b"b")])
    assert acked is not None and not acked()
    producer.sent[0][3].set_result(None)
    assert not acked()
    producer.sent[1][3].set_exception(RuntimeError("broker said no"))
    for _ in range(2):  # and again: a failed send never counts as acknowledged
        with pytest.raises(RuntimeError, match="broker said no"):
            acked()


async def test_a_full_batch_is_sent_and_the_next_one_started() -> None:
    producer = FakeProducer(batch_size=300)
    batch: Batch = [_emit(0, str(i).encode(), size=100) for i in range(10)]
    acked = await KafkaPublisher(producer, "t").publish(batch)
    assert acked is not None and acked.records == 10
    assert len(producer.sent) > 1
    keys = [k for _, _, records, _ in producer.sent for k, _ in records]
    assert keys == [str(i).encode() for i in range(10)]


async def test_a_batch_of_commits_only_needs_no_acknowledgement() -> None:
    assert await KafkaPublisher(FakeProducer(), "t").publish([Commit(POS, 1)]) is None


async def test_a_record_no_fresh_batch_takes_is_an_error() -> None:
    with pytest.raises(PublishError, match=r"app\.t"):
        await KafkaPublisher(FakeProducer(refuse=True), "t").publish([_emit(0, b"a")])


class _Done:
    """A publish's done-check, acknowledged (or failed) when the test says so."""

    def __init__(self) -> None:
        self.acked = False
        self.error: Exception | None = None

    def __call__(self) -> bool:
        if self.error is not None:
            raise self.error
        return self.acked


def test_send_window_publishes_at_once_while_kafka_keeps_up() -> None:
    window = SendWindow(in_flight=2)
    assert not window.ready()  # nothing read yet
    window.add([_emit(0, b"a")])
    assert window.ready()
    assert window.take() == [_emit(0, b"a")]
    window.published(_Done())
    window.add([_emit(1, b"b")])
    assert window.ready()  # one in flight, room for a second


def test_send_window_merges_reads_until_the_oldest_publish_is_acknowledged() -> None:
    window = SendWindow(in_flight=2)
    first, second = _Done(), _Done()
    for done in (first, second):
        window.add([_emit(0, b"x")])
        window.take()
        window.published(done)
    window.add([_emit(0, b"c")])
    window.add([_emit(1, b"d"), _emit(0, b"e")])
    assert not window.ready()
    second.acked = True  # out of order: the oldest still holds the window
    assert not window.ready()
    first.acked = True
    assert window.ready()
    assert window.take() == [_emit(0, b"c"), _emit(1, b"d"), _emit(0, b"e")]
    assert window.merged == []


def test_send_window_ignores_publishes_without_records() -> None:
    window = SendWindow(in_flight=1)
    window.published(None)
    window.add([Commit(POS, 7)])
    assert window.ready()


def test_send_window_is_full_at_its_bound_and_raises_a_failed_send() -> None:
    window = SendWindow(in_flight=1, max_merged=3)
    failed = _Done()
    window.published(failed)
    window.add([_emit(0, b"a"), _emit(0, b"b")])
    assert not window.full
    window.add([_emit(0, b"c")])
    assert window.full
    failed.error = RuntimeError("broker refused")
    with pytest.raises(RuntimeError, match="broker refused"):
        window.ready()
