"""The binlog reader: the source's binlog, turned into batches of row records.

It reads the dump packets of python-mysql-replication's connection itself
(:mod:`cdc.binlog_stream`) and decodes the rows of each table with a codec compiled from
its table map (:mod:`cdc.rowcodec`); a table with a column type the codec does not know,
a partial row image, or any other event goes through the library's own decoding.

The library is synchronous, so the reader runs in a thread or in a process of its own
(:mod:`cdc.reader_process`, the worker's way) and hands its batches through a bounded sink:
a slow Kafka makes the reader wait, so memory stays bounded even inside a transaction of
a million rows. It decodes each row into its wire image, in the kinds of the event's own
table map, and numbers it inside its transaction (:class:`cdc.position.TxnCursor`);
batches are either those records (``raw=True``) or, assembled on the spot, :class:`Emit`
and :class:`Commit` (see :mod:`cdc.assemble`).

A lost connection ends the stream with the connection's error, and the worker reopens it
from its own checkpoint (the library's ``fetchone`` would reconnect by itself from its
original ``auto_position``, replaying the stream; should it ever, the cursor notices a GTID
that is already done and raises :class:`~cdc.position.StreamRewound`).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol

from pymysqlreplication.constants import FIELD_TYPE, NONE_SOURCE
from pymysqlreplication.event import (
    GtidEvent,
    HeartbeatLogEvent,
    MariadbGtidEvent,
    QueryEvent,
    RotateEvent,
    XidEvent,
)
from pymysqlreplication.row_event import (
    DeleteRowsEvent,
    RowsEvent,
    UpdateRowsEvent,
    WriteRowsEvent,
)

from cdc.assemble import Assembler, Batch, Commit, Emit, Record
from cdc.binlog_stream import ITEM_ROWS, ITEM_XID, PacketStream, RawRows
from cdc.normalize import RowConverter, TableShape, binlog_kind
from cdc.position import Flavor, Position, SourceIdentity, TxnCursor
from cdc.rowcodec import Image, TableCodec, compile_table
from schemas.config import Dsn
from schemas.events import Op
from schemas.values import Kind
from schemas.versions import binlog_file_index

__all__ = ["Batch", "BatchSink", "BinlogReader", "Commit", "Emit", "SourceIdentity"]

log = logging.getLogger(__name__)

BATCH_ROWS: Final = 1000
BATCH_SECONDS: Final = 0.02
_DDL: Final = ("ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE")
_FL_STANDALONE: Final = 0x01
"""MariaDB GTID event flag: the event group is one statement, no COMMIT/XID follows."""


class ReaderStopped(Exception):
    """Raised inside the reader thread when the worker asked it to stop."""


class BatchSink(Protocol):
    """Where the reader puts its batches (:class:`Batch`, or raw records when asked)."""

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None: ...


class BinlogReader:
    """Reads from ``start`` and puts batches (:class:`Emit`/:class:`Commit`) on ``out``."""

    def __init__(self, *, dsn: Dsn, flavor: Flavor, replica_id: int, start: Position,
                 shapes: Callable[[], Mapping[str, TableShape]],
                 refresh_shapes: Callable[[], None], identity: SourceIdentity,
                 partitions: int, out: BatchSink, heartbeat_s: float,
                 raw: bool = False) -> None:
        """``raw``: put lists of :mod:`cdc.assemble` records instead of batches, for an
        :class:`~cdc.assemble.Assembler` elsewhere (the reader process does)."""
        self._dsn = dsn
        self._flavor = flavor
        self._replica_id = replica_id
        self._start = start
        self._shapes = shapes
        self._refresh_shapes = refresh_shapes
        self._identity = identity
        self._out = out
        self._heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._codecs: dict[str, tuple[Any, TableShape, TableCodec | None]] = {}
        self._assembler = None if raw else Assembler(partitions)

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

    def _put(self, records: list[Record] | BaseException) -> None:
        item: Batch | list[Record] | BaseException = records
        if self._assembler is not None and not isinstance(records, BaseException):
            item = self._assembler.feed(records)
        while True:
            try:
                self._out.put(item, timeout=0.2)
                return
            except queue.Full:
                if self._stop.is_set():
                    raise ReaderStopped from None

    def _open(self) -> PacketStream:
        shapes = self._shapes()
        schemas = sorted({name.partition(".")[0] for name in shapes})
        tables = sorted({name.partition(".")[2] for name in shapes})
        return PacketStream(
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
            # Heartbeats make the stream return while the source is idle, so a stop is
            # seen within a heartbeat interval.
            only_events=[MariadbGtidEvent, GtidEvent, XidEvent, QueryEvent, RotateEvent,
                         HeartbeatLogEvent, WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
            freeze_schema=False,
            slave_heartbeat=self._heartbeat_s,
            enable_logging=False,
        )

    def _stream(self) -> None:
        stream = self._open()
        cursor = TxnCursor(self._start, self._flavor)
        file = self._start.file
        in_txn = False
        ts_ms = 0
        log_pos = 0
        announced: dict[str, TableShape] = {}
        batch: list[Record] = []
        rows = 0
        flushed_at = time.monotonic()
        identity = self._identity
        try:
            while not self._stop.is_set():
                # A batch waits at most BATCH_SECONDS for more, also when the source goes
                # quiet (the stream would otherwise hold it until the next event or heartbeat).
                wait = (max(0.0, BATCH_SECONDS - (time.monotonic() - flushed_at)) if batch
                        else None)
                events = stream.next_items(wait)
                if not events and batch:
                    self._put(batch)
                    batch = []
                    rows = 0
                    flushed_at = time.monotonic()
                for event in events:
                    state: str | None = None
                    kind = type(event)
                    if kind is tuple:
                        tag = event[0]
                        if tag == ITEM_ROWS:  # (tag, op, shape, images)
                            shape = event[2]
                            if in_txn:
                                _announce(shape, announced, batch)
                                rows += _fast_records(event[1], shape.name, event[3], cursor,
                                                      batch)
                        elif tag == ITEM_XID:
                            state = cursor.commit()
                            log_pos = event[1]
                        else:  # ITEM_GTID: (tag, gtid, flags, timestamp, txn_pos)
                            gtid = event[1]
                            explicit = (self._flavor == "mariadb"
                                        and not event[2] & _FL_STANDALONE)
                            before = cursor.state
                            cursor.begin(gtid, explicit=explicit)
                            in_txn = True
                            ts_ms = event[3] * 1000
                            batch.append(("T", identity.server_id, identity.server_uuid,
                                          identity.epoch, gtid, file, binlog_file_index(file),
                                          event[4], ts_ms, before))
                    elif kind is RawRows:
                        shape = self._shapes().get(event.name)
                        if shape is not None and in_txn:
                            _announce(shape, announced, batch)
                            images = self._decode(stream, event, shape)
                            if images is not None:
                                rows += _fast_records(event.op, shape.name, images, cursor,
                                                      batch)
                            else:  # the library decodes what the codec does not know
                                library = stream.library_event(event.data)
                                if library is not None:
                                    rows += _RowsPlan(library, shape).records(library.rows,
                                                                              cursor, batch)
                    elif isinstance(event, (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent)):
                        # A rows event the stream left to the library (a partial row image).
                        name = f"{event.schema}.{event.table}"
                        shape = self._shapes().get(name)
                        if shape is not None and in_txn:
                            _announce(shape, announced, batch)
                            rows += _RowsPlan(event, shape).records(event.rows, cursor, batch)
                    elif isinstance(event, QueryEvent):
                        query = event.query.lstrip()
                        state = cursor.query(query)
                        log_pos = event.packet.log_pos
                        if query[:8].upper().startswith(_DDL):
                            self._refresh_shapes()
                            stream.unfollow()  # the codecs' shapes are the old ones
                    elif isinstance(event, RotateEvent):
                        file = event.next_binlog
                    if state is not None and in_txn:
                        batch.append(("C", state, file, log_pos, ts_ms))
                        in_txn = False
                    now = time.monotonic()
                    if batch and (rows >= BATCH_ROWS or now - flushed_at >= BATCH_SECONDS):
                        self._put(batch)
                        batch = []
                        rows = 0
                        flushed_at = now
            if batch:
                self._put(batch)
        finally:
            stream.close()

    def _decode(self, stream: PacketStream, event: RawRows, shape: TableShape
                ) -> list[Image] | None:
        """The event's row images in wire form by the table's codec; None: not decodable
        here (a column type the codec does not know, or bytes it cannot make sense of).
        Once decoded, the stream's core decodes the table's next rows events itself."""
        known = self._codecs.get(event.name)
        if known is None or known[0] is not event.table or known[1] is not shape:
            codec = compile_table(event.table.columns, shape.kinds)
            if codec is None:
                log.info("%s: a column type without a fast decoder; the library decodes "
                         "its rows", event.name)
            known = self._codecs[event.name] = (event.table, shape, codec)
        codec = known[2]
        if codec is None:
            return None
        try:
            images = codec.images(event.data, event.pos, event.end)
        except Exception:  # whatever the codec trips on, the library decides
            log.warning("%s: the fast decoder failed on a rows event; the library decodes it",
                        event.name, exc_info=True)
            return None
        if event.op == "update" and len(images) % 2:
            return None
        stream.follow(event, codec, shape)
        return images


def _announce(shape: TableShape, announced: dict[str, TableShape], out: list[Record]
              ) -> None:
    """An ``("S", shape)`` record before a table's first row, and again once its shape
    changed."""
    if announced.get(shape.name) is not shape:
        announced[shape.name] = shape
        out.append(("S", shape))


def _fast_records(op: str, table: str, images: list[Image], cursor: TxnCursor,
                  out: list[Record]) -> int:
    """Append a ``("R", ...)`` record per row not yet delivered; how many rows."""
    count = 0
    if op == "update":
        for i in range(0, len(images), 2):
            row_index = cursor.row()
            if row_index:
                out.append(("R", op, table, images[i], images[i + 1], row_index))
                count += 1
    elif op == "insert":
        for image in images:
            row_index = cursor.row()
            if row_index:
                out.append(("R", op, table, None, image, row_index))
                count += 1
    else:
        for image in images:
            row_index = cursor.row()
            if row_index:
                out.append(("R", op, table, image, None, row_index))
                count += 1
    return count


class _RowsPlan:
    """What decoding the rows of one rows event needs, worked out once per event."""

    __slots__ = ("convert", "op", "pad", "sets", "shape")

    def __init__(self, event: Any, shape: TableShape) -> None:
        self.shape = shape
        self.op: Op = ("insert" if isinstance(event, WriteRowsEvent)
                       else "delete" if isinstance(event, DeleteRowsEvent) else "update")
        kinds: dict[str, Kind] = {}
        self.pad: list[tuple[str, int]] = []
        self.sets: list[str] = []
        for column in event.columns:
            name = column.name
            kinds[name] = binlog_kind(column.type, column.character_set_name,
                                      shape.kinds.get(name))
            if column.type == FIELD_TYPE.STRING and column.character_set_name == "binary":
                self.pad.append((name, column.max_length))
            elif column.type == FIELD_TYPE.SET:
                self.sets.append(name)
        self.convert = shape.convert if kinds == shape.kinds else RowConverter(kinds)

    def records(self, rows: Iterable[Mapping[str, Any]], cursor: TxnCursor,
                out: list[Record]) -> int:
        """Append a ``("R", ...)`` record per row not yet delivered; how many rows."""
        op, table, convert, restore = self.op, self.shape.name, self.convert, self.restore
        count = 0
        for row in rows:
            row_index = cursor.row()
            if not row_index:
                continue
            if op == "update":
                before = convert(restore(row["before_values"], row["before_none_sources"]))
                after = convert(restore(row["after_values"], row["after_none_sources"]))
                out.append(("R", op, table, before, after, row_index))
            else:
                image = convert(restore(row["values"], row["none_sources"]))
                out.append(("R", op, table, None, image, row_index) if op == "insert"
                           else ("R", op, table, image, None, row_index))
            count += 1
        return count

    def restore(self, values: dict[str, Any], none_sources: Mapping[str, str]
                ) -> dict[str, Any]:
        """Undo what the binlog (or the library) loses of a value, in place.

        - ``BINARY(n)``: the binlog drops trailing zero bytes; pad back to ``n`` bytes as
          ``SELECT`` returns them.
        - An empty ``SET`` is decoded as None (NULL); it is the empty set.
        """
        if not self.pad and not self.sets:
            return values
        for name, length in self.pad:
            value = values.get(name)
            if value == "":  # the library hands out an empty str for zero bytes
                value = b""
            if isinstance(value, bytes) and len(value) < length:
                values[name] = value.ljust(length, b"\0")
        for name in self.sets:
            if values.get(name) is None and none_sources.get(name) == NONE_SOURCE.EMPTY_SET:
                values[name] = set()
        return values


_TIMEF_INT_OFS: Final = 0x800000
_TIMEF_OFS: Final = 0x800000000000


def _read_time2(self: Any, column: Any) -> dt.timedelta:
    """TIME(fsp) from the binlog, as MySQL's ``my_time_packed_from_binary`` reads it.

    Replaces the library's reader, which decodes the integer and fractional parts of a
    negative time separately and gets e.g. ``-00:00:00.001`` and ``-838:59:58.999999`` wrong.
    """
    frac_bytes = (column.fsp + 1) // 2
    raw = int.from_bytes(self.packet.read(3 + frac_bytes), "big")
    if frac_bytes == 3:
        packed = raw - _TIMEF_OFS
    else:
        intpart = (raw >> (8 * frac_bytes)) - _TIMEF_INT_OFS
        frac = raw & ((1 << (8 * frac_bytes)) - 1)
        if intpart < 0 and frac:
            intpart += 1
            frac -= 1 << (8 * frac_bytes)
        packed = (intpart << 24) + frac * (10_000 if frac_bytes == 1 else 100)
    negative = packed < 0
    packed = abs(packed)
    hms = packed >> 24
    value = dt.timedelta(hours=(hms >> 12) % (1 << 10), minutes=(hms >> 6) % (1 << 6),
                         seconds=hms % (1 << 6), microseconds=packed % (1 << 24))
    return -value if negative else value


RowsEvent._RowsEvent__read_time2 = _read_time2

