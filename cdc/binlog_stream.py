"""The library's binlog connection, read packet by packet: the reader's fast path.

python-mysql-replication builds an event object (and re-reads the table map) for every
event, about 95 µs each; the dump packets themselves arrive at ~590k a second. This stream
keeps the library for what it does well (the connection, the dump request, GTID
positioning, checksums, table maps and every event we do not need fast) and reads the
events of a busy stream from the packet bytes itself:

- a MariaDB GTID event and an XID event become :class:`Gtid` and :class:`Xid`;
- a table map seen before (same bytes) takes the library's earlier parse;
- a rows event becomes :class:`RawRows`: where its row images are in the packet, for a
  :class:`cdc.rowcodec.TableCodec` to decode; the reader hands the packet back to
  :meth:`PacketStream.library_event` when it has no codec for the table.

Every other packet goes through the library's own ``fetchone`` (fed that one packet), so
rotations, format descriptions, queries and heartbeats are handled exactly as before.
Unlike ``fetchone``, a lost connection is not reopened here from the original position:
the error goes to the worker, which reopens from its checkpoint.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import pymysql
from pymysql.protocol import MysqlPacket
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import GtidEvent, MariadbGtidEvent, XidEvent

_HEADER: Final = 20
"""The OK byte and the 19-byte event header."""
_CHECKSUM: Final = 4
_MARIADB_GTID: Final = 0xA2
_XID: Final = 0x10
_TABLE_MAP: Final = 0x13
_ROWS: Final = {
    # event type: (op, post-header length, version 2)
    0x17: ("insert", 8, False), 0x18: ("update", 8, False), 0x19: ("delete", 8, False),
    0x1E: ("insert", 10, True), 0x1F: ("update", 10, True), 0x20: ("delete", 10, True),
}
_TABLE_MAPS_KEPT: Final = 1024
_MAX_PACKET: Final = 0xFFFFFF
_CR_SERVER_LOST: Final = 2013


class Gtid(NamedTuple):
    """A transaction starts (MariaDB GTID event, or MySQL's)."""

    gtid: str
    flags: int
    timestamp: int
    txn_pos: int
    """Position of the GTID event in its binlog file."""


class Xid(NamedTuple):
    """A transaction commits."""

    log_pos: int
    """Position after the event."""


class RawRows(NamedTuple):
    """A rows event of a table the stream follows, not yet decoded."""

    op: str
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
    """``BinLogStreamReader`` (same arguments), read with :meth:`next_item`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._table_maps: dict[bytes, tuple[int, Any]] = {}

    def _connect(self) -> None:
        if not self._BinLogStreamReader__connected_stream:
            self._BinLogStreamReader__connect_to_stream()
        if not self._BinLogStreamReader__connected_ctl:
            self._BinLogStreamReader__connect_to_ctl()

    def next_item(self) -> Any:
        """The next event: :class:`Gtid`, :class:`Xid`, :class:`RawRows`, a library event,
        or None for a packet that yields nothing (filtered, a table map, ...)."""
        self._connect()
        data = self._next_packet()
        if data[0] != 0 or len(data) < _HEADER:
            return self.library_event(data)
        event_type = data[5]
        if event_type in _ROWS:
            return self._rows(event_type, data)
        if event_type == _MARIADB_GTID:
            return Gtid(f"{int.from_bytes(data[28:32], 'little')}-"
                        f"{int.from_bytes(data[6:10], 'little')}-"
                        f"{int.from_bytes(data[20:28], 'little')}",
                        data[32], int.from_bytes(data[1:5], "little"),
                        int.from_bytes(data[14:18], "little")
                        - int.from_bytes(data[10:14], "little"))
        if event_type == _XID:
            return Xid(int.from_bytes(data[14:18], "little"))
        if event_type == _TABLE_MAP:
            self._table_map(data)
            return None
        event = self.library_event(data)
        if isinstance(event, (MariadbGtidEvent, GtidEvent)):
            flags = event.flags if isinstance(event, MariadbGtidEvent) else 0
            return Gtid(event.gtid, flags, event.timestamp,
                        event.packet.log_pos - event.packet.event_size)
        if isinstance(event, XidEvent):
            return Xid(event.packet.log_pos)
        return event

    def _next_packet(self) -> bytes:
        """The next packet's bytes: PyMySQL's ``_read_packet`` without the packet object."""
        connection = self._stream_connection
        if connection._current_timeout != connection._read_timeout:
            return bytes(connection._read_packet()._data)  # it sets the socket's timeout
        read = connection._read_bytes  # raises OperationalError on a lost connection
        chunks: list[bytes] = []
        while True:
            header = read(4)
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
            chunk = read(length)
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
        body = data[_HEADER:len(data) - self._checksum_len()]
        known = self._table_maps.get(body)
        if known is not None:
            table_id, table = known
            self.table_map[table_id] = table
            return
        self.library_event(data)
        table_id = int.from_bytes(data[_HEADER:_HEADER + 6], "little")
        table = self.table_map.get(table_id)
        if table is not None:
            if len(self._table_maps) >= _TABLE_MAPS_KEPT:
                self._table_maps.clear()
            self._table_maps[body] = (table_id, table)

    def _checksum_len(self) -> int:
        return _CHECKSUM if self._BinLogStreamReader__use_checksum else 0

    def _rows(self, event_type: int, data: bytes) -> Any:
        table = self.table_map.get(int.from_bytes(data[_HEADER:_HEADER + 6], "little"))
        if table is None:  # a table the stream does not follow (the library skips it too)
            return None
        op, post_header, version2 = _ROWS[event_type]
        lengths = self._BinLogStreamReader__post_header_lengths
        if lengths and len(lengths) >= event_type and lengths[event_type - 1] != post_header:
            return self.library_event(data)
        pos = _HEADER + post_header
        if version2:
            pos += int.from_bytes(data[_HEADER + 8:_HEADER + 10], "little") - 2
        columns = data[pos]
        if columns >= 251 or columns != len(table.columns):
            return self.library_event(data)
        pos += 1
        present = (1 << columns) - 1
        bitmap = (columns + 7) // 8
        for _ in range(2 if op == "update" else 1):
            # Only full row images: a column left out (binlog_row_image=MINIMAL) is the
            # library's business.
            if int.from_bytes(data[pos:pos + bitmap], "little") != present:
                return self.library_event(data)
            pos += bitmap
        return RawRows(op, table, f"{table.schema}.{table.table}", data, pos,
                       len(data) - self._checksum_len())
