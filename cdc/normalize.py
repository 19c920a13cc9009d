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

import datetime as dt
import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from pymysqlreplication.constants import FIELD_TYPE

from schemas.config import TableConfig
from schemas.events import ChangeEvent, Op, RowImage, Source
from schemas.values import Kind, to_wire
from schemas.versions import binlog_version, binlog_version_base, column_version


@dataclass(frozen=True, slots=True)
class TableShape:
    """What normalizing a table's rows needs to know about it."""

    name: str
    """``db.table``."""
    rule: TableConfig
    pk: tuple[str, ...]
    kinds: Mapping[str, Kind]
    """Column name → kind, from the source's catalog."""
    convert: RowConverter = field(init=False, repr=False, compare=False)
    """Wire conversion with the catalog's kinds."""
    partition_columns: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The partition key's columns: ``partition_key``, else the primary key."""
    key_columns: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """Primary-key and partition-key columns: an update that changes one moves the row."""

    def __post_init__(self) -> None:
        # Worked out once: they are read for every row.
        partition = (self.rule.partition_key,) if self.rule.partition_key else self.pk
        object.__setattr__(self, "convert", RowConverter(self.kinds))
        object.__setattr__(self, "partition_columns", partition)
        object.__setattr__(self, "key_columns", tuple(dict.fromkeys((*self.pk, *partition))))


@dataclass(slots=True)
class TxnContext:
    """The transaction a row change belongs to. Treat it as immutable: it is not frozen
    only because the CDC worker makes one per transaction, and a frozen dataclass costs
    three times as much to build."""

    server_id: int
    server_uuid: str | None
    epoch: int
    gtid: str | None
    file: str
    file_index: int
    txn_pos: int
    ts_ms: int
    version_base: int = field(init=False, repr=False, compare=False)
    """The transaction's binlog version with row index 0, to add row indexes to."""

    def __post_init__(self) -> None:
        self.version_base = binlog_version_base(self.epoch, self.file_index, self.txn_pos)


class NormalizeError(ValueError):
    """A row cannot become an event (e.g. its key column is NULL)."""


_KIND_OF_FIELD_TYPE: Final = {
    **dict.fromkeys((FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.INT24, FIELD_TYPE.LONG,
                     FIELD_TYPE.LONGLONG), Kind.INT),
    **dict.fromkeys((FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL), Kind.DECIMAL),
    FIELD_TYPE.FLOAT: Kind.FLOAT32,
    FIELD_TYPE.DOUBLE: Kind.FLOAT,
    FIELD_TYPE.BIT: Kind.BIT,
    **dict.fromkeys((FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE), Kind.DATE),
    **dict.fromkeys((FIELD_TYPE.TIME, FIELD_TYPE.TIME2), Kind.TIME),
    **dict.fromkeys((FIELD_TYPE.DATETIME, FIELD_TYPE.DATETIME2), Kind.DATETIME),
    **dict.fromkeys((FIELD_TYPE.TIMESTAMP, FIELD_TYPE.TIMESTAMP2), Kind.TIMESTAMP),
    FIELD_TYPE.YEAR: Kind.YEAR,
    FIELD_TYPE.JSON: Kind.JSON,
    FIELD_TYPE.ENUM: Kind.ENUM,
    FIELD_TYPE.SET: Kind.SET,
    FIELD_TYPE.GEOMETRY: Kind.GEOMETRY,
}
_STRING_FIELD_TYPES: Final = frozenset((
    FIELD_TYPE.VARCHAR, FIELD_TYPE.VAR_STRING, FIELD_TYPE.STRING, FIELD_TYPE.BLOB,
    FIELD_TYPE.TINY_BLOB, FIELD_TYPE.MEDIUM_BLOB, FIELD_TYPE.LONG_BLOB,
))


def binlog_kind(field_type: int, charset: str | None, catalog: Kind | None) -> Kind:
    """The kind of a column as the binlog's table map describes it.

    The table map, not today's catalog, decides: an event written before an ALTER TABLE
    that changed a column's type is decoded with the type it was written with. The catalog
    only adds what the binlog cannot say: MariaDB's ``JSON`` is a ``LONGTEXT`` (a BLOB in
    the table map) with a ``json_valid`` check, so a text BLOB the catalog calls JSON is JSON.
    """
    if field_type in _STRING_FIELD_TYPES:
        if charset == "binary":
            return Kind.BINARY
        return Kind.JSON if catalog is Kind.JSON else Kind.TEXT
    try:
        return _KIND_OF_FIELD_TYPE[field_type]
    except KeyError:
        raise NormalizeError(f"binlog column type {field_type} is not supported") from None


def wire_row(values: Mapping[str, Any], kinds: Mapping[str, Kind]) -> RowImage:
    """A row's values in wire form; a column missing from ``kinds`` keeps a JSON-safe form."""
    out: RowImage = {}
    for name, value in values.items():
        kind = kinds.get(name)
        out[name] = to_wire(kind, value) if kind is not None else _fallback(value)
    return out


def _iso_datetime(value: dt.datetime) -> Any:
    if value.tzinfo is None:
        return value.isoformat(timespec="microseconds")
    return to_wire(Kind.DATETIME, value)


def _plain_decimal(value: decimal.Decimal) -> str:
    return format(value, "f")


class _Never:
    """A type no decoded value has: its kinds always go through ``to_wire``."""


_FAST: Final[dict[Kind, tuple[type, Callable[[Any], Any] | None]]] = {
    Kind.INT: (int, None),
    Kind.YEAR: (int, None),
    Kind.FLOAT: (float, None),
    Kind.TEXT: (str, None),
    Kind.ENUM: (str, None),
    Kind.DECIMAL: (decimal.Decimal, _plain_decimal),
    Kind.DATETIME: (dt.datetime, _iso_datetime),
    Kind.TIMESTAMP: (dt.datetime, _iso_datetime),
    Kind.DATE: (dt.date, dt.date.isoformat),
}
"""Per kind: the Python type the binlog decoder hands out, and how to turn exactly that
type into the same wire form as :func:`schemas.values.to_wire` (None: it already is)."""


class RowConverter:
    """:func:`wire_row` for one set of column kinds, worked out once: the worker's hot path.

    The same result as :func:`wire_row`, but a value of the type the decoder hands out for
    its column takes a direct path (kept as is, or one formatting call), and only other
    values go through :func:`schemas.values.to_wire`.
    """

    __slots__ = ("_names", "_plan")

    def __init__(self, kinds: Mapping[str, Kind]) -> None:
        self._names = frozenset(kinds)
        self._plan = [(name, *_FAST.get(kind, (_Never, None)), kind)
                      for name, kind in kinds.items()]

    def __call__(self, values: Mapping[str, Any]) -> RowImage:
        out = dict(values)
        for name, native, fast, kind in self._plan:
            value = out.get(name)
            if value is None:
                continue
            if type(value) is native:
                if fast is not None:
                    out[name] = fast(value)
            else:
                out[name] = to_wire(kind, value)
        if out.keys() != self._names:
            for name in out.keys() - self._names:
                out[name] = _fallback(out[name])
        return out


def _fallback(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return msgspec.json.decode(msgspec.json.encode(value, enc_hook=str))


def partition_key(row: RowImage, columns: Sequence[str], table: str) -> str:
    if len(columns) == 1:
        value = row.get(columns[0])
        if value is not None:
            return str(value)
    values = [row.get(name) for name in columns]
    if any(value is None for value in values):
        missing = [name for name, value in zip(columns, values, strict=True) if value is None]
        raise NormalizeError(f"{table}: partition key column(s) {missing} are NULL or missing")
    return msgspec.json.encode(values).decode()


_ROW_INDEX_LIMIT: Final = 1 << 48


def version_of(shape: TableShape, row: RowImage, ctx: TxnContext, row_index: int) -> str:
    """The event's version: the table's version column, else the binlog version."""
    column = shape.rule.version_column
    if column is None:
        if not 0 < row_index < _ROW_INDEX_LIMIT:
            return binlog_version(ctx.epoch, ctx.file_index, ctx.txn_pos, row_index)  # raises
        # The same as binlog_version(...), which checked the other parts for this txn.
        return f"{ctx.version_base + row_index:032x}"
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
        version=version_of(shape, row, ctx, row_index),
        source=Source(
            server_id=ctx.server_id, server_uuid=ctx.server_uuid, epoch=ctx.epoch,
            gtid=ctx.gtid, file=ctx.file, pos=ctx.txn_pos, row_index=row_index, ts_ms=ctx.ts_ms,
        ),
    )


def row_events(op: Op, shape: TableShape, before_raw: Mapping[str, Any] | None,
               after_raw: Mapping[str, Any] | None, *, ctx: TxnContext, row_index: int,
               convert: RowConverter | None = None) -> list[ChangeEvent]:
    """The change events of one decoded row change (two when an update moves the key).

    ``convert``: wire conversion with the columns' kinds as the event's table map gives
    them (see :func:`binlog_kind`); defaults to the catalog's kinds.
    """
    convert = shape.convert if convert is None else convert
    before = convert(before_raw) if before_raw is not None else None
    after = convert(after_raw) if after_raw is not None else None
    return wire_events(op, shape, before, after, ctx=ctx, row_index=row_index)


def wire_events(op: Op, shape: TableShape, before: RowImage | None, after: RowImage | None,
                *, ctx: TxnContext, row_index: int) -> list[ChangeEvent]:
    """:func:`row_events` of images already in wire form."""
    if op == "update" and before is not None and after is not None:
        moved = any(before.get(name) != after.get(name) for name in shape.key_columns)
        if moved:
            return [
                _event("delete", shape, before, None, ctx=ctx, row_index=row_index),
                _event("insert", shape, None, after, ctx=ctx, row_index=row_index),
            ]
    return [_event(op, shape, before, after, ctx=ctx, row_index=row_index)]
