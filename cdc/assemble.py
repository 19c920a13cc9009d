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

from typing import Any, NamedTuple

from cdc.normalize import TableShape, TxnContext, wire_events
from cdc.partition import partition_for
from cdc.position import Position
from schemas.events import encode_event

Record = tuple[Any, ...]


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


class Assembler:
    """Turns one stream's records into sends; keeps the current transaction and shapes."""

    def __init__(self, partitions: int) -> None:
        self._partitions = partitions
        self._shapes: dict[str, TableShape] = {}
        self._ctx: TxnContext | None = None
        self._state: str | None = None

    def feed(self, records: list[Record]) -> Batch:
        out: Batch = []
        for record in records:
            tag = record[0]
            if tag == "R":
                self._row(record, out)
            elif tag == "T":
                self._ctx = TxnContext(*record[1:9])
                self._state = record[9]
            elif tag == "C":
                out.append(Commit(Position(record[1], record[2], record[3]), record[4]))
                self._ctx = None
            elif tag == "S":
                shape: TableShape = record[1]
                self._shapes[shape.name] = shape
            else:
                raise ValueError(f"unknown reader record {tag!r}")
        return out

    def _row(self, record: Record, out: Batch) -> None:
        _, op, table, before, after, row_index = record
        ctx = self._ctx
        if ctx is None:
            raise ValueError(f"a row of {table} outside a transaction")
        events = wire_events(op, self._shapes[table], before, after, ctx=ctx,
                             row_index=row_index)
        partitions = self._partitions
        if len(events) == 2:  # a key move: the delete alone does not complete the row
            change = events[0]
            key = change.key.encode()
            out.append(Emit(partition_for(key, partitions), key, encode_event(change), table,
                            change.op, Position(self._state, ctx.file, ctx.txn_pos,
                                                row_index - 1)))
        change = events[-1]
        key = change.key.encode()
        out.append(Emit(partition_for(key, partitions), key, encode_event(change), table,
                        change.op, Position(self._state, ctx.file, ctx.txn_pos, row_index)))
