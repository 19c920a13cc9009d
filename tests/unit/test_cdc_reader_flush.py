"""When the binlog reader hands on what it holds (pure: a scripted stream, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from cdc.binlog_stream import Gtid, Xid
from cdc.position import Position, SourceIdentity
from cdc.reader import BinlogReader, ReaderStopped
from schemas.config import Dsn


class _Sink:
    def __init__(self) -> None:
        self.items: list[Any] = []

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.items.append(item)


class _Script:
    """Two transactions back to back, then a read that would wait (it records what the
    reader had put by then, and stops the reader)."""

    def __init__(self, sink: _Sink, idle: bool) -> None:
        self._events: list[Any] = [Gtid("0-1-5", 0, 1_700_000_000, 100), Xid(200),
                                   Gtid("0-1-6", 0, 1_700_000_000, 200), Xid(300)]
        self._sink = sink
        self._idle = idle
        self.put_before_waiting: list[Any] | None = None

    def next_item(self) -> Any:
        if self._events:
            return self._events.pop(0)
        self.put_before_waiting = list(self._sink.items)
        raise ReaderStopped

    def idle(self) -> bool:
        return self._idle and not self._events

    def close(self) -> None:
        pass


def _commits(items: list[Any]) -> list[int]:
    """The log positions of the commits put, in order."""
    return [record[3] for batch in items for record in batch if record[0] == "C"]


@pytest.mark.parametrize(("idle", "expected"), [
    (True, [200, 300]),  # the server has nothing more: both commits are handed on at once
    (False, []),         # more is coming: keep batching (20 ms or 1,000 rows)
])
def test_commits_are_handed_on_when_the_stream_goes_idle(idle: bool, expected: list[int]
                                                         ) -> None:
    sink = _Sink()
    reader = BinlogReader(
        dsn=Dsn("mysql://u:secret@127.0.0.1:1/"), flavor="mariadb", replica_id=9,
        start=Position("0-1-4", "b.000001", 4), shapes=dict, refresh_shapes=lambda: None,
        identity=SourceIdentity(1, None, 0), partitions=4, out=sink, heartbeat_s=1.0, raw=True,
    )
    script = _Script(sink, idle)
    reader._open = lambda: script  # type: ignore[method-assign,assignment,return-value]
    reader.run()
    assert script.put_before_waiting is not None
    assert _commits(script.put_before_waiting) == expected
