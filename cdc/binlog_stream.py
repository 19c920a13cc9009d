"""The library's binlog connection, read in bulk: the reader's fast path.

python-mysql-replication builds an event object (and re-reads the table map) for every
event, about 95 µs each; the dump packets themselves arrive at ~590k a second. This stream
keeps the library for what it does well (the connection, the dump request, GTID
positioning, checksums, table maps and every event we do not need fast), reads the socket
in large chunks, and hands the chunks to the compiled core (``cdc/_binlog.c``), which
splits them into packets and parses the events of a busy stream:

- a MariaDB GTID event and an XID event become the tuples ``(ITEM_GTID, gtid, flags,
  timestamp, txn_pos)`` and ``(ITEM_XID, log_pos)``;
- a table map the stream follows, with the very bytes it was followed with, changes nothing;
- a rows event of a followed table becomes ``(ITEM_ROWS, op, tag, images)``: its row
  images decoded by the table's :class:`cdc.rowcodec.TableCodec`.

A table is followed once the reader has decoded one of its rows events here
(:meth:`PacketStream.follow`); until then, and for any packet the core does not parse, the
core hands the packet's bytes back and this module decides: a rows event becomes
:class:`RawRows` (where its row images are, for the reader to decode, or to hand back to
:meth:`PacketStream.library_event` when it has no codec for the table), and every other
packet goes through the library's own ``fetchone`` (fed that one packet), so rotations,
format descriptions, queries and heartbeats are handled exactly as the library does.
Unlike ``fetchone``, a lost connection is not reopened here from the original position:
the error goes to the worker, which reopens from its checkpoint.
"""

from __future__ import annotations

import errno
import select
from typing import Any, Final, NamedTuple

import pymysql
from pymysql.protocol import MysqlPacket
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import GtidEvent, MariadbGtidEvent, XidEvent

from cdc import _binlog
from cdc.rowcodec import TableCodec

ITEM_GTID: Final = _binlog.ITEM_GTID
ITEM_XID: Final = _binlog.ITEM_XID
ITEM_ROWS: Final = _binlog.ITEM_ROWS
_HEADER: Final = 20
"""The OK byte and the 19-byte event header."""
_CHECKSUM: Final = 4
_TABLE_MAP: Final = 0x13
_ROWS: Final = {
    # event type: (op, post-header length)
    0x17: ("insert", 8), 0x18: ("update", 8), 0x19: ("delete", 8),
    0x1E: ("insert", 10), 0x1F: ("update", 10), 0x20: ("delete", 10),
}
_TABLE_MAPS_KEPT: Final = 1024
_MAX_PACKET: Final = 0xFFFFFF
_CR_SERVER_LOST: Final = 2013
_READ_BYTES: Final = 1 << 18
"""The most one read of the socket takes."""
_ITEMS: Final = 512
"""The most items, counting each decoded row as one, that one call of the core returns (a
little more: it ends with the event that reaches it)."""


class RawRows(NamedTuple):
    """A rows event of a table the stream follows, not yet decoded."""

    op: str
    table_id: int
    table: Any
    """The library's ``Table`` (its table map)."""
    name: str
    """``schema.table``."""
    data: bytes
    """The dump packet (for :meth:`PacketStream.library_event` too)."""
    pos: int
    """Where the row images start in ``data``."""
    end: int
    """Where they end."""


class _Handled(Exception):
    """The library's ``fetchone`` consumed the one packet it was given."""


class PacketStream(BinLogStreamReader):  # type: ignore[misc]
    """``BinLogStreamReader`` (same arguments), read with :meth:`next_items`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._table_maps: dict[bytes, tuple[int, Any]] = {}
        self._bodies: dict[int, bytes] = {}
        """The body of each table id's current table map."""
        self._followed: dict[int, tuple[_binlog.Codec, bytes, Any]] = {}
        """Table id → (codec, table map body, tag): what the core decodes itself."""
        self._tables: dict[int, Any] = {}
        """Table id → the library's table a followed table id was followed with."""
        self._buffer = b""
        self._at = 0
        self._checksum = 0
        self._rows_ok = False
        self._formats()

    def _connect(self) -> None:
        if not self._BinLogStreamReader__connected_stream:
            self._BinLogStreamReader__connect_to_stream()
            self._formats()  # the checksum is known once connected
        if not self._BinLogStreamReader__connected_ctl:
            self._BinLogStreamReader__connect_to_ctl()

    def next_items(self, wait_s: float | None = None) -> list[Any]:
        """The next events: the core's tuples (see the module's doc), and :class:`RawRows`,
        library events or None (a packet that yields nothing: filtered, a table map, ...).

        ``wait_s``: how long to wait for the source when nothing is buffered; none came in
        that time: an empty list. None: wait as long as it takes (the source's heartbeats
        end the wait while it is idle)."""
        self._connect()
        connection = self._stream_connection
        while True:
            items, self._at, connection._next_seq_id, stop = _binlog.scan(
                self._buffer, self._at, connection._next_seq_id, self._checksum,
                self._rows_ok, self._followed, _ITEMS)
            if items:
                if type(items[-1]) is bytes:
                    items[-1] = self._dispatch(items[-1])
                return items
            if stop == _binlog.STOP_SLOW:
                item = _binlog.parse(self._next_packet(), self._checksum, self._rows_ok,
                                     self._followed)
                return [self._dispatch(item) if type(item) is bytes else item]
            if wait_s is not None and not self._readable(wait_s):
                return []
            self._fill()

    def _readable(self, wait_s: float) -> bool:
        """Whether the source sent something within ``wait_s`` (or the connection is gone,
        which reading then reports)."""
        sock = self._stream_connection._sock
        if sock is None:
            return True
        return bool(select.select([sock], [], [], wait_s)[0])

    def follow(self, rows: RawRows, codec: TableCodec, tag: Any) -> None:
        """Decode the rows events of ``rows``'s table map in the core from now on, with
        ``codec``, as ``(ITEM_ROWS, op, tag, images)``, while that table map lasts."""
        body = self._bodies.get(rows.table_id)
        if body is not None and self.table_map.get(rows.table_id) is rows.table:
            self._followed[rows.table_id] = (codec.native, body, tag)
            self._tables[rows.table_id] = rows.table

    def unfollow(self) -> None:
        """Forget every followed table (the reader's codecs changed)."""
        self._followed.clear()
        self._tables.clear()

    def _dispatch(self, data: bytes) -> Any:
        """The event of a packet the core handed back (see :meth:`next_items`)."""
        try:
            return self._event(data)
        finally:
            # What the library did with the packet may have ended a followed table map
            # (a new map for its id, a rotation), or changed the checksum or the rows
            # events' layout.
            for table_id, table in list(self._tables.items()):
                if self.table_map.get(table_id) is not table:
                    del self._followed[table_id], self._tables[table_id]
            self._formats()

    def _event(self, data: bytes) -> Any:
        if data[0] != 0 or len(data) < _HEADER:
            return self.library_event(data)
        event_type = data[5]
        if event_type in _ROWS:
            return self._rows(event_type, data)
        if event_type == _TABLE_MAP:
            self._table_map(data)
            return None
        event = self.library_event(data)  # MySQL's GTIDs among them
        if isinstance(event, (MariadbGtidEvent, GtidEvent)):
            flags = event.flags if isinstance(event, MariadbGtidEvent) else 0
            return (ITEM_GTID, event.gtid, flags, event.timestamp,
                    event.packet.log_pos - event.packet.event_size)
        if isinstance(event, XidEvent):
            return (ITEM_XID, event.packet.log_pos)
        return event

    def _formats(self) -> None:
        self._checksum = _CHECKSUM if self._BinLogStreamReader__use_checksum else 0
        lengths = self._BinLogStreamReader__post_header_lengths
        self._rows_ok = all(
            not lengths or len(lengths) < event_type or lengths[event_type - 1] == post_header
            for event_type, (_, post_header) in _ROWS.items())

    def _fill(self) -> None:
        """Append what the socket has (at least one byte) to the unread bytes: PyMySQL's
        ``_read_bytes``, without its waiting for a given count."""
        connection = self._stream_connection
        if connection._current_timeout != connection._read_timeout:
            connection._sock.settimeout(connection._read_timeout)
            connection._current_timeout = connection._read_timeout
        while True:
            try:
                chunk = connection._rfile.read1(_READ_BYTES)
                break
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                connection._force_close()
                raise pymysql.err.OperationalError(
                    _CR_SERVER_LOST, f"Lost connection to MySQL server during query ({exc})"
                ) from exc
            except BaseException:
                connection._force_close()
                raise
        if not chunk:
            connection._force_close()
            raise pymysql.err.OperationalError(
                _CR_SERVER_LOST, "Lost connection to MySQL server during query")
        self._buffer = self._buffer[self._at:] + chunk
        self._at = 0

    def _read(self, count: int) -> bytes:
        while len(self._buffer) - self._at < count:
            self._fill()
        out = self._buffer[self._at:self._at + count]
        self._at += count
        return out

    def _next_packet(self) -> bytes:
        """The next packet's bytes, whole (the core leaves a packet of 16 MiB or more, a
        wrong sequence number and an error packet to this)."""
        connection = self._stream_connection
        chunks: list[bytes] = []
        while True:
            header = self._read(4)
            length = header[0] | header[1] << 8 | header[2] << 16
            if header[3] != connection._next_seq_id:
                connection._force_close()
                if header[3] == 0:  # MariaDB's error packet at shutdown
                    raise pymysql.err.OperationalError(
                        _CR_SERVER_LOST, "Lost connection to MySQL server during query")
                raise pymysql.err.InternalError(
                    f"Packet sequence number wrong - got {header[3]} expected "
                    f"{connection._next_seq_id}")
            connection._next_seq_id = (header[3] + 1) % 256
            chunk = self._read(length)
            if length < _MAX_PACKET and not chunks:
                data: bytes = chunk
                break
            chunks.append(chunk)
            if length < _MAX_PACKET:
                data = b"".join(chunks)
                break
        if data[0] == 0xFF:  # an error packet
            MysqlPacket(data, connection.encoding).raise_for_error()
        return data

    def library_event(self, data: bytes) -> Any:
        """The library's event for the packet ``data`` (None when it filters it out), from
        the library's own ``fetchone``: table maps, rotations and filters stay its business."""
        connection = self._stream_connection
        handed = [MysqlPacket(data, connection.encoding)]

        def read_packet(*_: Any) -> Any:
            if handed:
                return handed.pop()
            raise _Handled

        connection._read_packet = read_packet
        try:
            return self.fetchone()
        except _Handled:
            return None
        finally:
            del connection._read_packet
            if not self._BinLogStreamReader__connected_stream:
                raise ConnectionError("the source ended the binlog stream")

    def _table_map(self, data: bytes) -> None:
        # The body without the checksum: the key the library's parse depends on.
        body = data[_HEADER:len(data) - self._checksum]
        table_id = int.from_bytes(data[_HEADER:_HEADER + 6], "little")
        if len(self._bodies) >= _TABLE_MAPS_KEPT:
            self._bodies.clear()
        self._bodies[table_id] = body
        known = self._table_maps.get(body)
        if known is not None:
            self.table_map[table_id] = known[1]
            return
        self.library_event(data)
        table = self.table_map.get(table_id)
        if table is not None:
            if len(self._table_maps) >= _TABLE_MAPS_KEPT:
                self._table_maps.clear()
            self._table_maps[body] = (table_id, table)

    def _rows(self, event_type: int, data: bytes) -> Any:
        table_id = int.from_bytes(data[_HEADER:_HEADER + 6], "little")
        table = self.table_map.get(table_id)
        if table is None:  # a table the stream does not follow (the library skips it too)
            return None
        span = _binlog.rows_span(data, self._checksum, self._rows_ok, len(table.columns))
        if span is None:  # another layout, or a partial row image: the library's business
            return self.library_event(data)
        return RawRows(_ROWS[event_type][0], table_id, table,
                       f"{table.schema}.{table.table}", data, *span)
