"""Keyset pagination over a primary key, and the persisted cursor: pure, no I/O.

A chunk is ``WHERE pk > last ORDER BY pk LIMIT n``, never ``OFFSET``: each chunk costs the
same however deep the scan is. A composite key compares as a row value,
``(a, b) > (:a, :b)``; MariaDB 10.11 does not turn a row-value comparison into an index
range (it walks the index from the start), so the predicate also carries the redundant
``a >= :a`` on the leading column, which it does use as a range. The result is exact either
way: the row-value comparison alone decides which rows qualify.

The cursor is the last primary key of the last chunk whose repairs were acknowledged. It is
stored as JSON; values that JSON cannot carry exactly (DECIMAL, DATETIME, BLOB) are tagged.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

JsonValue = Any


class CursorError(ValueError):
    """A stored cursor does not fit the table's primary key (the table changed)."""


def keyset_predicate(
    pk_columns: Sequence[sa.ColumnElement[Any]], last_pk: Sequence[object]
) -> sa.ColumnElement[bool]:
    """Rows strictly after ``last_pk`` in primary-key order."""
    if len(pk_columns) != len(last_pk):
        raise CursorError(
            f"cursor has {len(last_pk)} values for a {len(pk_columns)}-column primary key"
        )
    if len(pk_columns) == 1:
        return pk_columns[0] > last_pk[0]
    return sa.and_(
        pk_columns[0] >= last_pk[0],
        sa.tuple_(*pk_columns) > sa.tuple_(*(sa.literal(value) for value in last_pk)),
    )


def chunk_query(
    table: sa.Table,
    columns: Sequence[str],
    pk_names: Sequence[str],
    last_pk: Sequence[object] | None,
    limit: int,
) -> sa.Select[Any]:
    """The next chunk: ``columns`` of up to ``limit`` rows after ``last_pk`` (None: from start)."""
    pk_columns = [table.c[name] for name in pk_names]
    query = sa.select(*(table.c[name] for name in columns)).order_by(*pk_columns).limit(limit)
    if last_pk is not None:
        query = query.where(keyset_predicate(pk_columns, last_pk))
    return query


def select_columns(
    all_columns: Sequence[str],
    pk_names: Sequence[str],
    needed: Sequence[str] | None,
    extra: Sequence[str],
) -> list[str]:
    """Columns to read, in table order: the key, the projection (None: all) and ``extra``."""
    if needed is None:
        return list(all_columns)
    wanted = {*pk_names, *needed, *extra}
    return [name for name in all_columns if name in wanted]


def chunk_size(max_rows_per_second: float | None, *, default: int, floor: int = 10) -> int:
    """Rows per chunk: ``default``, or about half a second's worth under a rate limit."""
    if max_rows_per_second is None:
        return default
    return max(floor, min(default, int(max_rows_per_second / 2)))


def encode_cursor(values: Sequence[object]) -> list[JsonValue]:
    """A primary key as exact JSON."""
    return [_encode_value(value) for value in values]


def decode_cursor(values: object) -> tuple[object, ...]:
    if not isinstance(values, list):
        raise CursorError("a stored cursor must be a JSON list")
    return tuple(_decode_value(value) for value in values)


def _encode_value(value: object) -> JsonValue:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"float": value.hex()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"time_us": value // dt.timedelta(microseconds=1)}
    if isinstance(value, bytes | bytearray):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    raise CursorError(f"cannot store a primary-key value of type {type(value).__name__}")


def _decode_value(value: JsonValue) -> object:
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise CursorError("a tagged cursor value has exactly one tag")
    ((tag, raw),) = value.items()
    decoders: dict[str, Callable[[Any], object]] = {
        "float": float.fromhex,
        "decimal": Decimal,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "time_us": lambda us: dt.timedelta(microseconds=us),
        "bytes": base64.b64decode,
    }
    if tag not in decoders:
        raise CursorError(f"unknown cursor value tag {tag!r}")
    return decoders[tag](raw)
