"""Decoded rows → encoded, partitioned sends: the second half of the reader's work. Pure.

The binlog reader decodes each row into its wire image and writes a compact *record*
(plain tuples, cheap to pickle); :class:`Assembler` turns records into :class:`Emit`
(the change event encoded, its Kafka key and partition, and the checkpoint once it is
acknowledged) and :class:`Commit` (a transaction is complete). Split this way the two
halves can run in two processes: decoding next to the library in the reader process,
assembling next to the Kafka client.

Records, in stream order:

- ``("S", shape)``: a table's shape, before its first row and again after it changed;
- ``("T", server_id, server_uuid, epoch, gtid, file, file_index, txn_pos, ts_ms, state)``:
  a transaction starts; ``state`` is the GTID state before it;
- ``("R", op, table, before, after, row_index)``: a row change, images in wire form;
- ``("C", state, file, pos, ts_ms)``: the transaction is complete; the checkpoint after it.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import msgspec

from cdc import _assemble
from cdc.normalize import TableShape, TxnContext, partition_key, version_of, wire_events
from cdc.partition import partition_for
from cdc.position import Position
from schemas.events import SCHEMA_VERSION, encode_event

Record = tuple[Any, ...]

_json: Final = msgspec.json.Encoder()


class Emit(NamedTuple):
    """One encoded change event to send (a tuple: cheap to build)."""

    partition: int
    key: bytes
    value: bytes
    table: str
    op: str
    position: Position
    """The checkpoint once this send (and all before it) is acknowledged: after the row
    change for its last event, before it for the delete half of a key move."""


class Commit(NamedTuple):
    """A transaction is complete: the checkpoint may move past it."""

    position: Position
    ts_ms: int


Batch = list[Emit | Commit]

_OPS: Final = ("insert", "update", "delete")
_Plan = tuple[tuple[bytes, bytes, bytes], tuple[str, ...], tuple[str, ...], tuple[str, ...],
              bool]
"""What assembling a table's rows needs, worked out once per shape: the envelope's head
for each of :data:`_OPS`, the primary key's, partition key's and key-move columns, and
whether versions come from the binlog (no version column)."""


def _plan(shape: TableShape) -> _Plan:
    heads = tuple(b'{"schema_version":' + _json.encode(SCHEMA_VERSION) + b',"op":'
                  + _json.encode(op) + b',"table":' + _json.encode(shape.name) + b',"pk":'
                  for op in _OPS)
    return ((heads[0], heads[1], heads[2]), shape.pk, shape.partition_columns,
            shape.key_columns, shape.rule.version_column is None)


class Assembler:
    """Turns one stream's records into sends; keeps the current transaction and shapes.

    A change event is encoded by pieces: what is the same for every row of a transaction,
    table and op (the envelope's head and its ``source`` but for ``row_index``) is encoded
    once, and only the row's own parts per row. The bytes are exactly
    ``encode_event(ChangeEvent(...))``'s (tested against it); a key move, which is two
    events, goes the long way.
    """

    def __init__(self, partitions: int) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {partitions}")
        self._partitions = partitions
        self._shapes: dict[str, TableShape] = {}
        self._plans: dict[str, _Plan] = {}
        self._txn: tuple[Any, ...] | None = None
        """What :func:`cdc._assemble.rows` needs of the current transaction."""
        self._ctx: TxnContext | None = None
        self._state: str | None = None
        self._server: tuple[Any, ...] = ()
        self._server_json = b""
        self._file = ""
        self._file_json = b""
        self._source_head = b""
        self._source_tail = b""

    def feed(self, records: list[Record]) -> Batch:
        out: Batch = []
        i, count = 0, len(records)
        while i < count:
            if self._txn is not None:  # the compiled path takes what it can of the rows
                i = _assemble.rows(records, i, out, self._txn)
                if i == count:
                    break
            record = records[i]
            i += 1
            tag = record[0]
            if tag == "R":
                self._row(record, out)
            elif tag == "T":
                ctx = self._ctx = TxnContext(*record[1:9])
                self._state = record[9]
                if self._server != record[1:4]:  # the same for the whole stream
                    self._server = record[1:4]
                    self._server_json = (
                        b',"source":{"server_id":' + _json.encode(ctx.server_id)
                        + b',"server_uuid":' + _json.encode(ctx.server_uuid)
                        + b',"epoch":' + _json.encode(ctx.epoch) + b',"gtid":')
                if self._file != ctx.file:  # the same until the binlog rotates
                    self._file = ctx.file
                    self._file_json = b',"file":' + _json.encode(ctx.file) + b',"pos":'
                self._source_head = b"".join((
                    self._server_json, _json.encode(ctx.gtid), self._file_json,
                    _json.encode(ctx.txn_pos), b',"row_index":'))
                self._source_tail = b',"ts_ms":' + _json.encode(ctx.ts_ms) + b"}}"
                self._txn = (self._plans, self._source_head, self._source_tail, self._state,
                             ctx.file, ctx.txn_pos, f"{ctx.version_base:032x}"[:20].encode(),
                             self._partitions, _json.encode, Emit, Position)
            elif tag == "C":
                out.append(Commit(Position(record[1], record[2], record[3]), record[4]))
                self._ctx = self._txn = None
            elif tag == "S":
                shape: TableShape = record[1]
                self._shapes[shape.name] = shape
                self._plans[shape.name] = _plan(shape)
            else:
                raise ValueError(f"unknown reader record {tag!r}")
        return out

    def _row(self, record: Record, out: Batch) -> None:
        _, op, table, before, after, row_index = record
        ctx = self._ctx
        if ctx is None:
            raise ValueError(f"a row of {table} outside a transaction")
        shape = self._shapes[table]
        if op == "update" and any(before.get(name) != after.get(name)
                                  for name in shape.key_columns):
            self._key_move(shape, record, ctx, out)
            return
        row = after if after is not None else before
        head = self._plans[table][0][_OPS.index(op)]
        key_text = partition_key(row, shape.partition_columns, table)
        value = b"".join((
            head, _json.encode({name: row.get(name) for name in shape.pk}),
            b',"key":', _json.encode(key_text), b',"before":', _json.encode(before),
            b',"after":', _json.encode(after), b',"version":',
            _json.encode(version_of(shape, row, ctx, row_index)), self._source_head,
            str(row_index).encode(), self._source_tail))
        key = key_text.encode()
        out.append(Emit(partition_for(key, self._partitions), key, value, table, op,
                        Position(self._state, ctx.file, ctx.txn_pos, row_index)))

    def _key_move(self, shape: TableShape, record: Record, ctx: TxnContext, out: Batch
                  ) -> None:
        """An update that moves the row's key: the delete alone does not complete the row."""
        _, _, table, before, after, row_index = record
        partitions = self._partitions
        delete, insert = wire_events("update", shape, before, after, ctx=ctx,
                                     row_index=row_index)
        for change, done in ((delete, row_index - 1), (insert, row_index)):
            key = change.key.encode()
            out.append(Emit(partition_for(key, partitions), key, encode_event(change), table,
                            change.op, Position(self._state, ctx.file, ctx.txn_pos, done)))
