"""Offset bookkeeping: which offsets are safe to commit, and the per-partition queue."""

from __future__ import annotations

import pytest

from consumers.offsets import OffsetBook, PartitionQueue
from consumers.plan import Record


def records(*offsets: int) -> list[Record]:
    return [Record("t", 0, offset, None, b"") for offset in offsets]


def test_nothing_is_due_before_a_batch_is_applied() -> None:
    book = OffsetBook()
    assert book.due() == {}
    book.applied(0, 10)
    book.applied(1, 5)
    assert book.due() == {0: 10, 1: 5}
    assert book.due([1, 7]) == {1: 5}


def test_committed_offsets_are_not_due_again() -> None:
    book = OffsetBook()
    book.applied(0, 10)
    book.committed({0: 10})
    assert book.due() == {}
    book.applied(0, 12)
    assert book.due() == {0: 12}
    book.committed({0: 11})  # a late, older commit never moves the book back
    book.committed({0: 12})
    book.committed({0: 11})
    assert book.due() == {}


def test_applied_offsets_never_go_back() -> None:
    book = OffsetBook()
    book.applied(0, 10)
    with pytest.raises(ValueError, match="went back"):
        book.applied(0, 9)


def test_a_revoked_partition_starts_over() -> None:
    book = OffsetBook()
    book.applied(0, 10)
    book.committed({0: 10})
    book.forget([0])
    assert book.position(0) is None
    book.applied(0, 4)  # the next assignment may resume from an older commit
    assert book.due() == {0: 4}


def test_queue_keeps_order_and_refuses_records_seen_before() -> None:
    queue = PartitionQueue(high_water=4, low_water=1)
    assert queue.feed(records(5, 6, 7)) == 3
    assert queue.feed(records(6, 7, 8)) == 1
    assert [r.offset for r in queue.take(2)] == [5, 6]
    assert [r.offset for r in queue.take(10)] == [7, 8]
    assert queue.take(10) == []
    assert queue.feed(records(8)) == 0


def test_queue_water_marks() -> None:
    queue = PartitionQueue(high_water=3, low_water=1)
    queue.feed(records(1, 2))
    assert not queue.full and not queue.drained
    queue.feed(records(3))
    assert queue.full
    queue.take(2)
    assert queue.drained
    queue.clear()
    assert len(queue) == 0
    with pytest.raises(ValueError, match="low_water"):
        PartitionQueue(high_water=1, low_water=1)
