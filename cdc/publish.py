"""Sends to Kafka as record batches built here: one future per partition batch, not per row.

``AIOKafkaProducer.send`` costs a future, a partition check and a done-callback per record,
which at tens of thousands of rows a second is most of the asyncio side's time. The worker
already holds its sends in batches (one per read from the binlog reader), so the publisher
appends each batch's records to one ``BatchBuilder`` per partition and hands the builders
to the producer with ``send_batch``: the idempotent producer numbers whole batches, and
the records of one partition keep their order, as batches of one partition are sent in the
order they are handed over.

The caller learns when a whole batch is acknowledged (:class:`Acked`), which is all the
checkpoint needs: it moves past a batch once every record of it, and of every batch before
it, is acknowledged.

The idempotent producer has one produce request in flight per broker, carrying at most one
batch per partition. Handed a small batch per partition for every read from the binlog
reader, it falls behind as soon as reads come faster than its round trips: the batches
queue, each waiting for a request of its own (measured: reads every 5 ms instead of every
20 ms at 5k rows/s took the worker's p50 from 16 ms to 177 ms). :class:`SendWindow` keeps
at most :data:`PUBLISHES_IN_FLIGHT` publishes unacknowledged and merges the reads that come
meanwhile into the next one, so the batches grow with the round trip: a read goes out at
once when Kafka keeps up, and in one request with the others when it does not.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Final, Protocol

from cdc import metrics
from cdc.assemble import Batch, Emit

PUBLISHES_IN_FLIGHT: Final = 2
"""Unacknowledged publishes: one in the producer's request, the next one ready behind it."""
MAX_MERGED: Final = 20_000
"""Entries merged while waiting; beyond it the worker stops reading, so the reader's pipe
fills and the reader blocks (memory stays bounded while Kafka is slow or down)."""


class SendWindow:
    """Reads from the binlog reader, merged while :data:`PUBLISHES_IN_FLIGHT` publishes are
    unacknowledged. Pure: the worker adds reads, asks whether to publish, and hands over the
    done-checks (:class:`Acked`) of what it published."""

    def __init__(self, in_flight: int = PUBLISHES_IN_FLIGHT, max_merged: int = MAX_MERGED
                 ) -> None:
        self._limit = in_flight
        self._max_merged = max_merged
        self._in_flight: deque[Callable[[], bool]] = deque()
        self.merged: Batch = []
        """What was read and not published yet, in order."""

    def add(self, batch: Batch) -> None:
        self.merged += batch

    @property
    def full(self) -> bool:
        """Read no more until some of it is published."""
        return len(self.merged) >= self._max_merged

    def ready(self) -> bool:
        """Whether to publish what is merged now; raises a send error of an earlier publish."""
        in_flight = self._in_flight
        while in_flight and in_flight[0]():
            in_flight.popleft()
        return bool(self.merged) and len(in_flight) < self._limit

    def take(self) -> Batch:
        """What is merged, to publish now."""
        batch, self.merged = self.merged, []
        return batch

    def published(self, done: Callable[[], bool] | None) -> None:
        """A publish was handed to the producer (``done``: its :class:`Acked`; None: it had
        no records)."""
        if done is not None:
            self._in_flight.append(done)


class Producer(Protocol):
    """The part of ``aiokafka.AIOKafkaProducer`` the publisher uses."""

    def create_batch(self) -> Any: ...

    async def send_batch(self, batch: Any, topic: str, *, partition: int
                         ) -> asyncio.Future[Any]: ...


class PublishError(RuntimeError):
    """A record could not be handed to the producer."""


class Acked:
    """Whether every record handed over with one :meth:`KafkaPublisher.publish` call is
    acknowledged; raises the first send error instead of answering."""

    __slots__ = ("_counted", "_futures", "records")

    def __init__(self, futures: list[asyncio.Future[Any]], records: int) -> None:
        self._futures = futures
        self._counted = False
        self.records = records
        """How many records were handed over."""

    def __call__(self) -> bool:
        futures = self._futures
        while futures:
            future = futures[-1]
            if not future.done():
                return False
            error = future.exception()
            if error is not None:
                # Kept: asked again (say, for the checkpoint on the way out), it raises
                # again, so the checkpoint never moves past a record that was not sent.
                if not self._counted:
                    metrics.PRODUCER_ERRORS.inc()
                    self._counted = True
                raise error
            futures.pop()
        return True


class KafkaPublisher:
    """Publishes the :class:`~cdc.assemble.Emit` entries of batches to ``topic``."""

    def __init__(self, producer: Producer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, batch: Batch) -> Acked | None:
        """Hand the batch's records to the producer; None when it has none."""
        create, submit, topic = self._producer.create_batch, self._producer.send_batch, \
            self._topic
        builders: dict[int, Any] = {}
        futures: list[asyncio.Future[Any]] = []
        counts: Counter[tuple[str, str]] = Counter()
        for entry in batch:
            if not isinstance(entry, Emit):
                continue
            partition = entry.partition
            builder = builders.get(partition)
            if builder is None:
                builder = builders[partition] = create()
            if builder.append(timestamp=None, key=entry.key, value=entry.value) is None:
                # Full: send it and start the next one.
                futures.append(await submit(builder, topic, partition=partition))
                builder = builders[partition] = create()
                if builder.append(timestamp=None, key=entry.key, value=entry.value) is None:
                    # aiokafka always takes a fresh batch's first record: never drop one.
                    raise PublishError(
                        f"a fresh Kafka batch refused a record of {entry.table} (key "
                        f"{entry.key!r}, {len(entry.value)} bytes)")
            counts[entry.table, entry.op] += 1
        for partition, builder in builders.items():
            futures.append(await submit(builder, topic, partition=partition))
        for (table, op), count in counts.items():
            metrics.EVENTS.labels(table, op).inc(count)
        return Acked(futures, counts.total()) if futures else None
