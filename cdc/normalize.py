"""Row changes → versioned change events: pure, no I/O.

A row change from the binlog arrives as raw Python values (as python-mysql-replication
decoded them) for a table whose shape (primary key, column kinds, rule) is known. This
module turns it into :class:`schemas.events.ChangeEvent` values:

- every value in its lossless wire form (:mod:`schemas.values`);
- the partition key as text: the column's wire value, or for a composite key the JSON
  array of the values;
- the version: the table's version column, else ``binlog_version(epoch, file, txn_pos,
  row_index)`` where ``row_index`` numbers the row changes of configured tables inside the
  transaction from 1;
- an update that moves the primary key or the partition key becomes a delete of the old
  key and an insert of the new one (same version: they touch different keys).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from schemas.config import TableConfig
from schemas.events import ChangeEvent, Op, RowImage, Source
from schemas.values import Kind, to_wire
from schemas.versions import binlog_version, column_version


@dataclass(frozen=True, slots=True)
class TableShape:
    """What normalizing a table's rows needs to know about it."""

    name: str
    """``db.table``."""
    rule: TableConfig
    pk: tuple[str, ...]
    kinds: Mapping[str, Kind]
    """Column name → kind, from the source's catalog."""

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return (self.rule.partition_key,) if self.rule.partition_key else self.pk


@dataclass(frozen=True, slots=True)
class TxnContext:
    """The transaction a row change belongs to."""

    server_id: int
    server_uuid: str | None
    epoch: int
    gtid: str | None
    file: str
    file_index: int
    txn_pos: int
    ts_ms: int


class NormalizeError(ValueError):
    """A row cannot become an event (e.g. its key column is NULL)."""


def wire_row(values: Mapping[str, Any], kinds: Mapping[str, Kind]) -> RowImage:
    """A row's values in wire form; a column missing from ``kinds`` keeps a JSON-safe form."""
    out: RowImage = {}
    for name, value in values.items():
        kind = kinds.get(name)
        out[name] = to_wire(kind, value) if kind is not None else _fallback(value)
    return out


def _fallback(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return msgspec.json.decode(msgspec.json.encode(value, enc_hook=str))


def partition_key(row: RowImage, columns: Sequence[str], table: str) -> str:
    values = [row.get(name) for name in columns]
    if any(value is None for value in values):
        missing = [name for name, value in zip(columns, values, strict=True) if value is None]
        raise NormalizeError(f"{table}: partition key column(s) {missing} are NULL or missing")
    if len(values) == 1:
        return str(values[0])
    return msgspec.json.encode(values).decode()


def _version(shape: TableShape, row: RowImage, ctx: TxnContext, row_index: int) -> str:
    column = shape.rule.version_column
    if column is None:
        return binlog_version(ctx.epoch, ctx.file_index, ctx.txn_pos, row_index)
    value = row.get(column)
    if value is None:
        raise NormalizeError(f"{shape.name}: version column {column!r} is NULL")
    return column_version(value)


def _event(op: Op, shape: TableShape, before: RowImage | None, after: RowImage | None, *,
           ctx: TxnContext, row_index: int) -> ChangeEvent:
    row = after if after is not None else before
    assert row is not None
    return ChangeEvent(
        op=op,
        table=shape.name,
        pk={name: row.get(name) for name in shape.pk},
        key=partition_key(row, shape.partition_columns, shape.name),
        before=before,
        after=after,
        version=_version(shape, row, ctx, row_index),
        source=Source(
            server_id=ctx.server_id, server_uuid=ctx.server_uuid, epoch=ctx.epoch,
            gtid=ctx.gtid, file=ctx.file, pos=ctx.txn_pos, row_index=row_index, ts_ms=ctx.ts_ms,
        ),
    )


def row_events(op: Op, shape: TableShape, before_raw: Mapping[str, Any] | None,
               after_raw: Mapping[str, Any] | None, *, ctx: TxnContext,
               row_index: int) -> list[ChangeEvent]:
    """The change events of one row change (two when an update moves the key)."""
    before = wire_row(before_raw, shape.kinds) if before_raw is not None else None
    after = wire_row(after_raw, shape.kinds) if after_raw is not None else None
    if op == "update" and before is not None and after is not None:
        moved = any(
            before.get(name) != after.get(name)
            for name in (*shape.pk, *shape.partition_columns)
        )
        if moved:
            return [
                _event("delete", shape, before, None, ctx=ctx, row_index=row_index),
                _event("insert", shape, None, after, ctx=ctx, row_index=row_index),
            ]
    return [_event(op, shape, before, after, ctx=ctx, row_index=row_index)]
