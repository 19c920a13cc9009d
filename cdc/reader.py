"""The binlog reader: python-mysql-replication in a thread, turned into send batches.

The library is synchronous, so it runs in its own thread and hands the asyncio side
batches of :class:`Emit` (an encoded event to send) and :class:`Commit` (a transaction is
complete) through a bounded queue: a slow Kafka makes the reader wait, so memory stays
bounded even inside a transaction of a million rows.

The library reconnects by itself on a lost connection, but from its original
``auto_position``, replaying the stream from the start. The reader notices a GTID that
goes backwards and raises :class:`StreamRewound` instead, so the worker reopens the stream
from its own checkpoint.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import (
    GtidEvent,
    HeartbeatLogEvent,
    MariadbGtidEvent,
    QueryEvent,
    RotateEvent,
    XidEvent,
)
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from cdc.normalize import TableShape, TxnContext, row_events
from cdc.partition import partition_for
from cdc.position import Flavor, Position, advance_gtid, gtid_seq
from schemas.config import Dsn
from schemas.events import encode_event
from schemas.versions import binlog_file_index

log = logging.getLogger(__name__)

BATCH_ROWS: Final = 1000
BATCH_SECONDS: Final = 0.02
_DDL: Final = ("ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE")


@dataclass(frozen=True, slots=True)
class Emit:
    partition: int
    key: bytes
    value: bytes
    table: str
    op: str
    position: Position
    """The checkpoint once this send (and all before it) is acknowledged: after the row
    change for its last event, before it for the delete half of a key move."""


@dataclass(frozen=True, slots=True)
class Commit:
    position: Position
    ts_ms: int


class StreamRewound(RuntimeError):
    """The stream went back to an earlier GTID (the library reconnected on its own)."""


class ReaderStopped(Exception):
    """Raised inside the reader thread when the worker asked it to stop."""


@dataclass(frozen=True, slots=True)
class SourceIdentity:
    server_id: int
    server_uuid: str | None
    epoch: int


class BinlogReader:
    """Reads from ``start`` and puts lists of :class:`Emit`/:class:`Commit` on ``out``."""

    def __init__(self, *, dsn: Dsn, flavor: Flavor, replica_id: int, start: Position,
                 shapes: Callable[[], Mapping[str, TableShape]],
                 refresh_shapes: Callable[[], None], identity: SourceIdentity,
                 partitions: int, out: queue.Queue[list[Emit | Commit] | BaseException],
                 heartbeat_s: float) -> None:
        self._dsn = dsn
        self._flavor = flavor
        self._replica_id = replica_id
        self._start = start
        self._shapes = shapes
        self._refresh_shapes = refresh_shapes
        self._identity = identity
        self._partitions = partitions
        self._out = out
        self._heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self.last_event_ts: float = 0.0

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Thread body: stream until stopped; any error is handed to the worker."""
        try:
            self._stream()
        except ReaderStopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the worker
            self._put(exc)

    def _put(self, item: list[Emit | Commit] | BaseException) -> None:
        while True:
            try:
                self._out.put(item, timeout=0.2)
                return
            except queue.Full:
                if self._stop.is_set():
                    raise ReaderStopped from None

    def _open(self) -> BinLogStreamReader:
        shapes = self._shapes()
        schemas = sorted({name.partition(".")[0] for name in shapes})
        tables = sorted({name.partition(".")[2] for name in shapes})
        return BinLogStreamReader(
            connection_settings={
                "host": self._dsn.host, "port": self._dsn.port or 3306,
                "user": self._dsn.user or "", "password": self._dsn.password or "",
            },
            server_id=self._replica_id,
            blocking=True,
            resume_stream=True,
            is_mariadb=self._flavor == "mariadb",
            auto_position=self._start.gtid,
            only_schemas=schemas,
            only_tables=tables,
            only_events=[MariadbGtidEvent, GtidEvent, XidEvent, QueryEvent, RotateEvent,
                         HeartbeatLogEvent, WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
            freeze_schema=False,
            slave_heartbeat=self._heartbeat_s,
            enable_logging=False,
        )

    def _stream(self) -> None:
        stream = self._open()
        state = self._start.gtid
        seen: dict[int, int] = {}
        if state and self._flavor == "mariadb":
            seen = dict(gtid_seq(part) for part in state.split(","))
        file = self._start.file
        skip = self._start.row_index
        gtid: str | None = None
        ctx: TxnContext | None = None
        row_index = 0
        batch: list[Emit | Commit] = []
        flushed_at = time.monotonic()
        identity = self._identity
        try:
            while not self._stop.is_set():
                event = stream.fetchone()
                if event is None:
                    continue
                if isinstance(event, RotateEvent):
                    file = event.next_binlog
                elif isinstance(event, HeartbeatLogEvent):
                    self.last_event_ts = time.time()
                elif isinstance(event, (MariadbGtidEvent, GtidEvent)):
                    gtid = event.gtid
                    if self._flavor == "mariadb":
                        domain, seq = gtid_seq(gtid)
                        if seq <= seen.get(domain, -1):
                            raise StreamRewound(f"stream went back to {gtid}")
                        seen[domain] = seq
                    txn_pos = event.packet.log_pos - event.packet.event_size
                    ctx = TxnContext(
                        server_id=identity.server_id, server_uuid=identity.server_uuid,
                        epoch=identity.epoch, gtid=gtid, file=file,
                        file_index=binlog_file_index(file), txn_pos=txn_pos,
                        ts_ms=event.timestamp * 1000,
                    )
                    row_index = 0
                    self.last_event_ts = float(event.timestamp)
                elif isinstance(event, (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent)):
                    if ctx is None:
                        continue  # rows before the first GTID event of a resumed stream
                    shape = self._shapes().get(f"{event.schema}.{event.table}")
                    if shape is None:
                        continue
                    for row in event.rows:
                        row_index += 1
                        if skip:
                            skip -= 1
                            continue
                        batch += self._emits(event, shape, row, ctx=ctx, row_index=row_index,
                                             state=state)
                elif isinstance(event, (XidEvent, QueryEvent)):
                    if isinstance(event, QueryEvent):
                        query = event.query.strip().upper()
                        if query == "BEGIN":
                            continue
                        if query.startswith(_DDL):
                            self._refresh_shapes()
                    if gtid is not None and ctx is not None:
                        state = advance_gtid(state, gtid, self._flavor)
                        batch.append(Commit(Position(state, file, event.packet.log_pos),
                                            ctx.ts_ms))
                        gtid, ctx, skip = None, None, 0
                now = time.monotonic()
                if batch and (len(batch) >= BATCH_ROWS or now - flushed_at >= BATCH_SECONDS):
                    self._put(batch)
                    batch = []
                    flushed_at = now
            if batch:
                self._put(batch)
        finally:
            stream.close()

    def _emits(self, event: Any, shape: TableShape, row: Mapping[str, Any], *,
               ctx: TxnContext, row_index: int, state: str | None) -> list[Emit | Commit]:
        if isinstance(event, WriteRowsEvent):
            events = row_events("insert", shape, None, row["values"], ctx=ctx,
                                row_index=row_index)
        elif isinstance(event, DeleteRowsEvent):
            events = row_events("delete", shape, row["values"], None, ctx=ctx,
                                row_index=row_index)
        else:
            events = row_events("update", shape, row["before_values"], row["after_values"],
                                ctx=ctx, row_index=row_index)
        out: list[Emit | Commit] = []
        last = len(events) - 1
        for i, change in enumerate(events):
            key = change.key.encode()
            out.append(Emit(
                partition=partition_for(key, self._partitions), key=key,
                value=encode_event(change), table=change.table, op=change.op,
                position=Position(state, ctx.file, ctx.txn_pos,
                                  row_index if i == last else row_index - 1),
            ))
        return out
