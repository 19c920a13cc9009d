"""Column values on the wire: one lossless, JSON-safe form per MySQL column kind.

The CDC worker (values decoded from the binlog) and the reconciler (values read through
SQLAlchemy) both pass every value through :func:`to_wire` with the column's kind, so a row
renders to the same cache value byte for byte whichever path read it. See
``schemas/types.md`` for the table.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, Final

import msgspec


class Kind(Enum):
    """The wire form a column's values take."""

    INT = "int"
    DECIMAL = "decimal"
    FLOAT = "float"
    FLOAT32 = "float32"
    BIT = "bit"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    TIMESTAMP = "timestamp"
    YEAR = "year"
    TEXT = "text"
    BINARY = "binary"
    JSON = "json"
    ENUM = "enum"
    SET = "set"
    GEOMETRY = "geometry"


_BY_SQL_TYPE: Final = {
    **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "integer", "bigint"), Kind.INT),
    **dict.fromkeys(("decimal", "numeric"), Kind.DECIMAL),
    "float": Kind.FLOAT32,
    **dict.fromkeys(("double", "real"), Kind.FLOAT),
    "bit": Kind.BIT,
    "date": Kind.DATE,
    "time": Kind.TIME,
    "datetime": Kind.DATETIME,
    "timestamp": Kind.TIMESTAMP,
    "year": Kind.YEAR,
    **dict.fromkeys(("char", "varchar", "tinytext", "text", "mediumtext", "longtext"), Kind.TEXT),
    **dict.fromkeys(
        ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"), Kind.BINARY
    ),
    "json": Kind.JSON,
    "enum": Kind.ENUM,
    "set": Kind.SET,
    **dict.fromkeys(
        ("geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
         "multipolygon", "geometrycollection", "geomcollection"),
        Kind.GEOMETRY,
    ),
}


class UnsupportedValueError(ValueError):
    """A column type or value that has no wire form."""


def kind_of(sql_type: str) -> Kind:
    """Kind of an ``information_schema.COLUMNS.DATA_TYPE`` such as ``varchar``."""
    try:
        return _BY_SQL_TYPE[sql_type.lower()]
    except KeyError:
        raise UnsupportedValueError(f"column type {sql_type!r} is not supported") from None


def _time(value: dt.timedelta) -> str:
    micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micro = divmod(rest, 1_000_000)
    return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}.{micro:06d}"


def _bits(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    if isinstance(value, str):  # python-mysql-replication renders BIT as a '0'/'1' string
        return int(value, 2) if value else 0
    raise UnsupportedValueError(f"BIT value of type {type(value).__name__}")


def _json(value: Any) -> Any:
    if isinstance(value, (bytes, str)):
        return json.loads(value)
    return _json_keys(value)


def _json_keys(value: Any) -> Any:
    # The binlog decoder may hand out bytes for JSON keys and strings.
    if isinstance(value, dict):
        return {_text(k): _json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return str(value)


def _set(value: Any) -> list[str]:
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",") if value else []
    else:
        items = value
    return sorted(_text(item) for item in items)


def to_wire(kind: Kind, value: Any) -> Any:
    """The JSON-safe wire form of ``value`` for a column of ``kind`` (None stays None)."""
    if value is None:
        return None
    match kind:
        case Kind.INT | Kind.YEAR:
            return int(value)
        case Kind.DECIMAL:
            return format(decimal.Decimal(value), "f")
        case Kind.FLOAT:
            return float(value)
        case Kind.FLOAT32:
            # Single precision: 6 significant digits, as the server renders FLOAT in a
            # SELECT (the binlog holds the float32, e.g. 0.10000000149011612 for 0.1).
            return float(f"{float(value):.6g}")
        case Kind.BIT:
            return _bits(value)
        case Kind.DATE:
            return value.isoformat() if isinstance(value, dt.date) else str(value)
        case Kind.TIME:
            return _time(value) if isinstance(value, dt.timedelta) else str(value)
        case Kind.DATETIME | Kind.TIMESTAMP:
            if isinstance(value, dt.datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(dt.UTC).replace(tzinfo=None)
                return value.isoformat(timespec="microseconds")
            return str(value)
        case Kind.TEXT | Kind.ENUM:
            return _text(value)
        case Kind.BINARY | Kind.GEOMETRY:
            raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
            return base64.b64encode(raw).decode("ascii")
        case Kind.JSON:
            return _json(value)
        case Kind.SET:
            return _set(value)
    raise UnsupportedValueError(f"unknown kind {kind}")  # pragma: no cover - match is exhaustive


encode_sorted: Final = msgspec.json.Encoder(order="sorted").encode
"""JSON with the keys of every object sorted: the cache value's encoding."""


def encode_projection(row: Mapping[str, Any], columns: Iterable[str] | None) -> bytes:
    """The cache value of a row: its projected wire values as JSON with sorted keys."""
    picked = row if columns is None else {name: row.get(name) for name in columns}
    return encode_sorted(picked)
