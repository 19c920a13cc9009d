"""Offset bookkeeping of one consumer process: pure, no I/O.

The contract: the offset committed for a partition is always the offset after a record
whose batch, and every batch before it, the region's Redis acknowledged (or whose poison
was dead-lettered). A crash therefore re-delivers at most the records after the last
commit, and those are fenced duplicates.

:class:`PartitionQueue` holds one assigned partition's fetched records until its task
applies them, in offset order; it refuses records it has already seen, so a record fetched
twice (a fetch racing a reassignment) cannot be applied out of order. Its high and low
water marks tell the fetch loop when to pause and resume the partition, so a region that
is down holds back its own partitions without the process leaving the group (the fetch loop
keeps polling, within ``max.poll.interval.ms``).

:class:`OffsetBook` records what each partition applied and what was committed, and
answers which offsets are due for a commit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from consumers.plan import KafkaRecord


class PartitionQueue:
    """Fetched, not yet applied records of one partition, in offset order."""

    def __init__(self, *, high_water: int, low_water: int) -> None:
        if not 0 <= low_water < high_water:
            raise ValueError("need 0 <= low_water < high_water")
        self._records: deque[KafkaRecord] = deque()
        self._next: int | None = None
        self.high_water = high_water
        self.low_water = low_water

    def __len__(self) -> int:
        return len(self._records)

    def feed(self, records: Sequence[KafkaRecord]) -> int:
        """Queue records (ascending offsets) after the last one seen; how many were taken."""
        if self._next is not None and records and records[0].offset < self._next:
            records = [record for record in records if record.offset >= self._next]
        if records:
            self._records.extend(records)
            self._next = records[-1].offset + 1
        return len(records)

    def take(self, limit: int) -> list[KafkaRecord]:
        """Up to ``limit`` records from the head, in order."""
        count = min(limit, len(self._records))
        return [self._records.popleft() for _ in range(count)]

    def clear(self) -> None:
        """Drop what is queued (a revoke: the next owner fetches it from the commit)."""
        self._records.clear()

    @property
    def full(self) -> bool:
        return len(self._records) >= self.high_water

    @property
    def drained(self) -> bool:
        return len(self._records) <= self.low_water


class OffsetBook:
    """Applied and committed offsets per partition number (one topic)."""

    def __init__(self) -> None:
        self._applied: dict[int, int] = {}
        self._committed: dict[int, int] = {}

    def applied(self, partition: int, next_offset: int) -> None:
        """Everything before ``next_offset`` is applied (batches complete in order)."""
        previous = self._applied.get(partition)
        if previous is not None and next_offset < previous:
            raise ValueError(
                f"partition {partition}: applied offset went back {previous} -> {next_offset}")
        self._applied[partition] = next_offset

    def position(self, partition: int) -> int | None:
        """Offset after the last applied record, if any was applied in this assignment."""
        return self._applied.get(partition)

    def due(self, partitions: Iterable[int] | None = None) -> dict[int, int]:
        """Offsets safe to commit and not committed yet (of ``partitions``, or of all)."""
        wanted = self._applied.keys() if partitions is None else partitions
        return {p: self._applied[p] for p in wanted
                if p in self._applied and self._applied[p] > self._committed.get(p, -1)}

    def committed(self, offsets: dict[int, int]) -> None:
        for partition, offset in offsets.items():
            self._committed[partition] = max(offset, self._committed.get(partition, -1))

    def forget(self, partitions: Iterable[int]) -> None:
        """A partition moved away: its next owner starts from the committed offset."""
        for partition in partitions:
            self._applied.pop(partition, None)
            self._committed.pop(partition, None)
