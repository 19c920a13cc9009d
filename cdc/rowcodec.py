"""Row images straight from a rows event's bytes into wire form: the reader's fast path. Pure.

python-mysql-replication decodes every value of every row through a chain of generic
calls (a dozen per column), then :class:`cdc.normalize.RowConverter` turns the result
into wire form. For a table map whose columns are all of known types, :func:`compile_table`
works out once how each column is read (:func:`column_step`): natively by the compiled core
(``cdc/_binlog.c``: integers, DOUBLE, YEAR, UTF-8 text, DATETIME, DECIMAL of up to 18 digits
on each side of the point), or by a Python reader of this module, which the core calls for
that column; :class:`TableCodec` wraps the core's decoder for the table.

The result is exactly what the library path gives, value for value and key for key (the
integration test ``test_cdc_fastpath`` checks it against the library on every column type
and on random rows): the library's own quirks are reproduced on purpose (a DATE or
DATETIME with a zero part is NULL, an empty SET is ``[]``, a ``BINARY(n)`` is padded back to
``n`` bytes, TIME as :mod:`cdc.reader`'s corrected reader decodes it, FLOAT to 6 significant
digits). A column type not listed here makes :func:`compile_table` answer None, and the
reader decodes that table's events with the library.
"""

from __future__ import annotations

import base64
import codecs
import datetime as dt
import json
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from pymysqlreplication.constants import FIELD_TYPE
from pymysqlreplication.row_event import RowsEvent

from cdc import _binlog
from cdc.normalize import NormalizeError, binlog_kind
from schemas.values import Kind, to_wire

Reader = Callable[[bytes, int], tuple[Any, int]]
"""Reads one non-NULL value at an offset: its wire form and the offset after it."""

Image = dict[str, Any]

_DECIMAL_CHUNK: Final = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)
"""Bytes of a DECIMAL group of 0..9 digits."""


class UnsupportedColumn(Exception):
    """A column this module does not decode: the table goes through the library."""


_FLOAT: Final = struct.Struct("<f").unpack_from


def _float(data: bytes, pos: int) -> tuple[Any, int]:
    return float(f"{_FLOAT(data, pos)[0]:.6g}"), pos + 4  # as to_wire(Kind.FLOAT32, ...)


def _bit(column: Any) -> Reader:
    size = column.bytes
    mask = (1 << column.bits) - 1  # the library reads only the column's bits of byte 0

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        return int.from_bytes(data[pos:pos + size], "big") & mask, pos + size
    return read


def _new_decimal(column: Any) -> Reader:
    """DECIMAL(p, s) as the library reads it, formatted as ``format(Decimal, "f")`` formats
    what it builds.

    The value is groups of 9 digits (the first and last group shorter), each a big-endian
    field, all bytes inverted for a negative number, whose sign is the top bit. Read here
    as one integer, sign bit flipped (and inverted if negative), then cut into its fields.
    """
    integral = column.precision - column.decimals
    scale = column.decimals
    lead_size = _DECIMAL_CHUNK[integral % 9]
    tail_digits = scale % 9
    tail_size = _DECIMAL_CHUNK[tail_digits]
    sizes = [(lead_size, 10 ** (integral % 9))] * bool(lead_size) \
        + [(4, 10 ** 9)] * (integral // 9)
    frac_sizes = [(4, 10 ** 9)] * (scale // 9) + [(tail_size, 10 ** tail_digits)] * bool(
        tail_size)
    size = sum(part for part, _ in sizes + frac_sizes)
    top = 0x80 << 8 * (size - 1)
    flip_negative = top ^ ((1 << 8 * size) - 1)

    def fields(parts: list[tuple[int, int]], below: int) -> list[tuple[int, int, int]]:
        """(shift, mask, the multiplier of the digits before it) of each field."""
        out = []
        shift = below + 8 * sum(part for part, _ in parts)
        for part, digits in parts:
            shift -= 8 * part
            out.append((shift, (1 << 8 * part) - 1, digits))
        return out

    frac_bits = 8 * sum(part for part, _ in frac_sizes)
    int_fields = fields(sizes, frac_bits)
    frac_fields = fields(frac_sizes, 0)

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        raw = int.from_bytes(data[pos:pos + size], "big")
        if raw & top:
            raw ^= top
            sign = ""
        else:
            raw ^= flip_negative
            sign = "-"
        whole = 0
        for shift, mask, digits in int_fields:
            whole = whole * digits + (raw >> shift & mask)
        if not scale:
            return f"{sign}{whole}", pos + size
        frac = 0
        for shift, mask, digits in frac_fields:
            frac = frac * digits + (raw >> shift & mask)
        return f"{sign}{whole}.{frac:0{scale}d}", pos + size
    return read


def _fraction(fsp: int) -> tuple[int, Callable[[bytes], int]]:
    """Bytes and reader of the fractional seconds of a DATETIME2/TIMESTAMP2 (microseconds),
    as the library's ``__read_fsp`` reads them."""
    size = (fsp + 1) // 2
    scale = 10 ** (6 - fsp)
    if not size:
        return 0, lambda raw: 0
    if fsp % 2:
        return size, lambda raw: int(int.from_bytes(raw, "big", signed=True) / 10) * scale
    return size, lambda raw: int.from_bytes(raw, "big", signed=True) * scale


_MONTH_DAYS: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


_SECONDS_KEPT: Final = 4096
"""Formatted seconds a DATETIME/TIMESTAMP reader keeps: a stream's rows mostly fall in few."""


def _iso_seconds(parts: Sequence[int]) -> str | None:
    """``datetime(*parts).isoformat()`` up to the seconds' dot, or None where ``datetime``
    refuses the parts (the library then hands out None), without building the datetime."""
    year, month, day, hour, minute, second = parts
    if not (1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month]
            and hour < 24 and minute < 60 and second < 60):
        return None
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 or year % 400 == 0)):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}."


def _with_micro(seconds: str | None, micro: int) -> str | None:
    """``isoformat(timespec="microseconds")`` from :func:`_iso_seconds`'s text."""
    if seconds is None:
        return None
    if micro >= 1_000_000:  # the library's replace() raises, and so does this
        raise ValueError(f"microsecond {micro} out of range")
    return f"{seconds}{micro if micro > 0 else 0:06d}"


def _seconds_reader(size: int, frac_size: int, frac: Callable[[bytes], int],
                    text: Callable[[int], str | None]) -> Reader:
    """A DATETIME2/TIMESTAMP2 reader: ``size`` bytes of big-endian seconds part, formatted
    by ``text`` once per distinct value (up to :data:`_SECONDS_KEPT`), then the fraction."""
    known: dict[int, str | None] = {}
    end = size + frac_size

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        packed = int.from_bytes(data[pos:pos + size], "big")
        try:
            seconds = known[packed]
        except KeyError:
            if len(known) >= _SECONDS_KEPT:
                known.clear()
            seconds = known[packed] = text(packed)
        return _with_micro(seconds, frac(data[pos + size:pos + end])), pos + end
    return read


def _timestamp2(column: Any) -> Reader:
    frac_size, frac = _fraction(column.fsp)

    def text(packed: int) -> str | None:
        # utcfromtimestamp(seconds), as the library (signed); gmtime gives the same parts.
        return _iso_seconds(time.gmtime(packed - (packed >> 31 << 32))[:6])
    return _seconds_reader(4, frac_size, frac, text)


def _time2(column: Any) -> Reader:
    """TIME(fsp) as :func:`cdc.reader._read_time2` decodes it, in wire form."""
    frac_bytes = (column.fsp + 1) // 2
    size = 3 + frac_bytes
    frac_bits = 8 * frac_bytes
    frac_scale = 10_000 if frac_bytes == 1 else 100

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        raw = int.from_bytes(data[pos:pos + size], "big")
        if frac_bytes == 3:
            packed = raw - 0x800000000000
        else:
            intpart = (raw >> frac_bits) - 0x800000
            fraction = raw & ((1 << frac_bits) - 1)
            if intpart < 0 and fraction:
                intpart += 1
                fraction -= 1 << frac_bits
            packed = (intpart << 24) + fraction * frac_scale
        negative = packed < 0
        packed = abs(packed)
        hms = packed >> 24
        micros = ((((hms >> 12) % 1024) * 60 + (hms >> 6) % 64) * 60 + hms % 64) * 1_000_000 \
            + packed % (1 << 24)
        return to_wire(Kind.TIME, dt.timedelta(microseconds=-micros if negative else micros)), \
            pos + size
    return read


def _date(data: bytes, pos: int) -> tuple[Any, int]:
    packed = int.from_bytes(data[pos:pos + 3], "little")
    year, month, day = packed >> 9 & 0x7FFF, packed >> 5 & 15, packed & 31
    if not (year and month and day):
        return None, pos + 3
    return dt.date(year, month, day).isoformat(), pos + 3


def _length_prefixed(prefix: int, convert: Callable[[bytes], Any]) -> Reader:
    if prefix == 1:
        def read(data: bytes, pos: int) -> tuple[Any, int]:
            end = pos + 1 + data[pos]
            return convert(data[pos + 1:end]), end
    else:
        def read(data: bytes, pos: int) -> tuple[Any, int]:
            end = pos + prefix + int.from_bytes(data[pos:pos + prefix], "little")
            return convert(data[pos + prefix:end]), end
    return read


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _text_converter(column: Any, kind: Kind) -> Callable[[bytes], Any] | None:
    """Bytes of a string column → wire form, decoded as the library decodes them; None for
    UTF-8 text, which the compiled decoder decodes itself (``OP_UTF8``)."""
    charset = column.character_set_name
    encoding = RowsEvent.charset_to_encoding(charset) if charset is not None else "utf-8"
    try:
        codec = codecs.lookup(encoding)
    except LookupError:  # the library keeps such values as bytes
        if kind is Kind.BINARY:
            return _b64
        raise UnsupportedColumn(f"charset {charset!r}") from None
    if kind is Kind.BINARY:  # a binary column whose charset Python knows: not MySQL's
        raise UnsupportedColumn(f"binary column with charset {charset!r}")
    if kind is Kind.JSON:
        return lambda raw: json.loads(raw.decode(encoding))
    if kind is not Kind.TEXT:
        raise UnsupportedColumn(f"string column of kind {kind}")
    if codec.name == "utf-8":
        return None
    return lambda raw: raw.decode(encoding)


def _padded_binary(length: int) -> Callable[[bytes], Any]:
    """``BINARY(n)``: the binlog drops trailing zero bytes; padded back as SELECT shows it."""
    return lambda raw: _b64(raw.ljust(length, b"\0"))


def _enum(column: Any) -> Reader:
    values = column.enum_values
    size = column.size
    if not values:
        return lambda data, pos: (None, pos + size)

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        return values[int.from_bytes(data[pos:pos + size], "little")], pos + size
    return read


def _set(column: Any) -> Reader:
    values = list(enumerate(column.set_values or ()))
    size = column.size

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        mask = int.from_bytes(data[pos:pos + size], "little")
        return sorted({value for index, value in values if mask >> index & 1}), pos + size
    return read


_INTS: Final = {
    # type: (signed, unsigned)
    FIELD_TYPE.TINY: (_binlog.OP_I8, _binlog.OP_U8),
    FIELD_TYPE.SHORT: (_binlog.OP_I16, _binlog.OP_U16),
    FIELD_TYPE.INT24: (_binlog.OP_I24, _binlog.OP_U24),
    FIELD_TYPE.LONG: (_binlog.OP_I32, _binlog.OP_U32),
    FIELD_TYPE.LONGLONG: (_binlog.OP_I64, _binlog.OP_U64),
}
_STRINGS: Final = frozenset((FIELD_TYPE.VARCHAR, FIELD_TYPE.STRING))

_NATIVE_DIGITS: Final = 18
"""The most integral digits, and digits of scale, of a DECIMAL decoded natively."""

Step = tuple[int, int, Reader | None]
"""How the compiled decoder reads a column: ``(operation, argument, reader)``; the reader
(``OP_PY``) for a column it does not decode natively."""


def _python(reader: Reader) -> Step:
    return _binlog.OP_PY, 0, reader


def _string(prefix: int, column: Any, kind: Kind) -> Step:
    convert = _text_converter(column, kind)
    if convert is None:
        return _binlog.OP_UTF8, prefix, None
    return _python(_length_prefixed(prefix, convert))


def column_step(column: Any, kind: Kind) -> Step:
    """How to read one column of a table map (a library ``Column``)."""
    ftype = column.type
    if ftype in _INTS:
        return _INTS[ftype][bool(column.unsigned)], 0, None
    if ftype == FIELD_TYPE.DOUBLE:
        return _binlog.OP_F64, 0, None
    if ftype == FIELD_TYPE.YEAR:
        return _binlog.OP_YEAR, 0, None
    if ftype == FIELD_TYPE.DATETIME2:
        return _binlog.OP_DATETIME2, column.fsp, None
    if ftype == FIELD_TYPE.NEWDECIMAL and column.precision - column.decimals <= _NATIVE_DIGITS \
            and column.decimals <= _NATIVE_DIGITS:
        return _binlog.OP_DECIMAL, column.precision << 8 | column.decimals, None
    if ftype in _STRINGS:
        prefix = 2 if column.max_length > 255 else 1
        if ftype == FIELD_TYPE.STRING and kind is Kind.BINARY:
            return _python(_length_prefixed(prefix, _padded_binary(column.max_length)))
        return _string(prefix, column, kind)
    if ftype == FIELD_TYPE.BLOB:
        return _string(column.length_size, column, kind)
    readers: dict[int, Callable[[Any], Reader]] = {
        FIELD_TYPE.FLOAT: lambda _: _float,
        FIELD_TYPE.NEWDECIMAL: _new_decimal,
        FIELD_TYPE.BIT: _bit,
        FIELD_TYPE.DATE: lambda _: _date,
        FIELD_TYPE.TIME2: _time2,
        FIELD_TYPE.TIMESTAMP2: _timestamp2,
        FIELD_TYPE.GEOMETRY: lambda column: _length_prefixed(column.length_size, _b64),
        FIELD_TYPE.ENUM: _enum,
        FIELD_TYPE.SET: _set,
    }
    if ftype in readers:
        return _python(readers[ftype](column))
    raise UnsupportedColumn(f"column type {ftype}")


class TableCodec:
    """Decodes the row images of one table map's rows events into wire form."""

    __slots__ = ("columns", "kinds", "native")

    def __init__(self, names: Sequence[str], kinds: Sequence[Kind], steps: Sequence[Step]
                 ) -> None:
        self.columns = len(names)
        """How many columns a rows event of this table map has."""
        self.kinds = dict(zip(names, kinds, strict=True))
        """Column name → kind, as the table map gives them (see ``binlog_kind``)."""
        self.native = _binlog.Codec([(name, op, arg, reader) for name, (op, arg, reader)
                                     in zip(names, steps, strict=True)])
        """The compiled decoder (which :func:`cdc._binlog.scan` uses too)."""

    def images(self, data: bytes, pos: int, end: int) -> list[Image]:
        """Every row image from ``pos`` to ``end`` (one per row; two per row of an update);
        ValueError if they do not end exactly at ``end``."""
        return self.native.images(data, pos, end)


def compile_table(columns: Sequence[Any], catalog: Mapping[str, Kind]) -> TableCodec | None:
    """The codec of a table map's columns (the library's ``Column`` objects); None if any
    column has no name or a type this module does not decode.

    ``catalog``: the table's kinds from the source's catalog, which only decide whether a
    text BLOB is JSON (as in :func:`cdc.normalize.binlog_kind`).
    """
    names, kinds, steps = [], [], []
    try:
        for column in columns:
            if not column.name:
                return None
            kind = binlog_kind(column.type, column.character_set_name,
                               catalog.get(column.name))
            names.append(column.name)
            kinds.append(kind)
            steps.append(column_step(column, kind))
    except (UnsupportedColumn, NormalizeError):
        return None
    if len(set(names)) != len(names):
        return None
    return TableCodec(names, kinds, steps)


__all__ = ["Image", "Step", "TableCodec", "UnsupportedColumn", "column_step", "compile_table"]
