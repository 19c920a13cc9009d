"""The row codec's column readers on hand-made bytes, and its refusals (no services).

Its agreement with python-mysql-replication on real binlogs is tested in
``tests/integration/test_cdc_fastpath.py``.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymysqlreplication.constants import FIELD_TYPE

from cdc import _binlog
from cdc.rowcodec import _new_decimal, column_step, compile_table
from schemas.values import Kind


class Column:
    """The attributes of the library's ``Column`` the codec reads."""

    def __init__(self, name: str, type_: int, **attributes: Any) -> None:
        self.name = name
        self.type = type_
        self.character_set_name: str | None = None
        self.unsigned = False
        self.__dict__.update(attributes)


@pytest.mark.parametrize("unknown", [FIELD_TYPE.DECIMAL, FIELD_TYPE.TIMESTAMP, FIELD_TYPE.TIME,
                                     FIELD_TYPE.DATETIME, FIELD_TYPE.JSON,
                                     FIELD_TYPE.VAR_STRING, FIELD_TYPE.NULL])
def test_a_table_with_an_unknown_column_type_has_no_codec(unknown: int) -> None:
    assert compile_table([Column("a", FIELD_TYPE.LONG), Column("b", unknown)], {}) is None


def test_nameless_or_duplicate_columns_have_no_codec() -> None:
    assert compile_table([Column("", FIELD_TYPE.LONG)], {}) is None
    assert compile_table([Column("a", FIELD_TYPE.LONG), Column("a", FIELD_TYPE.LONG)],
                         {}) is None


def test_an_unknown_charset_of_a_text_column_has_no_codec() -> None:
    column = Column("a", FIELD_TYPE.VARCHAR, max_length=10, character_set_name="swe7")
    assert compile_table([column], {}) is None


@pytest.mark.parametrize(("column", "raw", "wire"), [
    (Column("v", FIELD_TYPE.TINY), b"\xff", -1),
    (Column("v", FIELD_TYPE.TINY, unsigned=True), b"\xff", 255),
    (Column("v", FIELD_TYPE.INT24), b"\x00\x00\x80", -(2**23)),
    (Column("v", FIELD_TYPE.INT24, unsigned=True), b"\x00\x00\x80", 2**23),
    (Column("v", FIELD_TYPE.LONGLONG, unsigned=True), b"\xff" * 8, 2**64 - 1),
    (Column("v", FIELD_TYPE.FLOAT), struct.pack("<f", 0.1), 0.1),
    (Column("v", FIELD_TYPE.YEAR), b"\xff", 2155),
    (Column("v", FIELD_TYPE.BIT, bits=10, bytes=2), b"\xfe\x01", 0x201),
    (Column("v", FIELD_TYPE.NEWDECIMAL, precision=5, decimals=2), b"\x83\xe7\x63", "999.99"),
    (Column("v", FIELD_TYPE.NEWDECIMAL, precision=5, decimals=2), b"\x7c\x18\x9c", "-999.99"),
    (Column("v", FIELD_TYPE.DATE), (2024 << 9 | 2 << 5 | 29).to_bytes(3, "little"),
     "2024-02-29"),
    (Column("v", FIELD_TYPE.DATE), b"\x00\x00\x00", None),
    (Column("v", FIELD_TYPE.STRING, max_length=4, character_set_name="binary"), b"\x01a",
     "YQAAAA=="),
    (Column("v", FIELD_TYPE.SET, size=1, set_values=["a", "b", "c"]), b"\x05", ["a", "c"]),
    (Column("v", FIELD_TYPE.SET, size=1, set_values=["a", "b", "c"]), b"\x00", []),
    (Column("v", FIELD_TYPE.ENUM, size=1, enum_values=["", "s", "m"]), b"\x02", "m"),
])
def test_column_values_in_wire_form(column: Column, raw: bytes, wire: Any) -> None:
    codec = compile_table([column], {})
    assert codec is not None
    data = b"\x00" + raw  # a NULL bitmap with no NULL
    images = codec.images(data, 0, len(data))
    assert images == [{"v": wire}]
    assert type(images[0]["v"]) is type(wire)
    # One byte short: the compiled decoder's own columns and the Python readers both refuse.
    with pytest.raises((ValueError, struct.error)):
        codec.images(data[:-1], 0, len(data) - 1)


def test_null_bitmap_and_row_boundaries() -> None:
    codec = compile_table([Column("a", FIELD_TYPE.LONG), Column("b", FIELD_TYPE.SHORT)],
                          {"a": Kind.INT, "b": Kind.INT})
    assert codec is not None
    rows = b"\x02" + struct.pack("<i", 7) + b"\x00" + struct.pack("<ih", -1, 3)
    assert codec.images(rows, 0, len(rows)) == [{"a": 7, "b": None}, {"a": -1, "b": 3}]
    with pytest.raises(ValueError, match="overran"):
        codec.images(rows, 0, len(rows) - 1)


def _datetime2(year: int, month: int, day: int, hour: int, minute: int, second: int) -> bytes:
    packed = ((1 << 39) | (year * 13 + month) << 22 | day << 17 | hour << 12 | minute << 6
              | second)
    return packed.to_bytes(5, "big")


@pytest.mark.parametrize(("column", "rows", "wire"), [
    # The same second twice (the second read takes the formatted seconds kept by the first),
    # then another: each row keeps its own fraction.
    (Column("v", FIELD_TYPE.TIMESTAMP2, fsp=6),
     [(1709251198).to_bytes(4, "big") + (5).to_bytes(3, "big"),
      (1709251198).to_bytes(4, "big") + (999_999).to_bytes(3, "big"),
      (0).to_bytes(4, "big") + (0).to_bytes(3, "big")],
     ["2024-02-29T23:59:58.000005", "2024-02-29T23:59:58.999999",
      "1970-01-01T00:00:00.000000"]),
    (Column("v", FIELD_TYPE.TIMESTAMP2, fsp=0), [(1).to_bytes(4, "big")] * 2,
     ["1970-01-01T00:00:01.000000"] * 2),
    (Column("v", FIELD_TYPE.TIMESTAMP2, fsp=3),  # fsp 3: two bytes of 1/10000 s
     [(2**32 - 1).to_bytes(4, "big") + (1230).to_bytes(2, "big")],
     ["1969-12-31T23:59:59.123000"]),  # the library reads the seconds signed
    (Column("v", FIELD_TYPE.DATETIME2, fsp=6),
     [_datetime2(2024, 2, 29, 1, 2, 3) + (7).to_bytes(3, "big"),
      _datetime2(2024, 2, 29, 1, 2, 3) + (8).to_bytes(3, "big"),
      _datetime2(2023, 2, 29, 1, 2, 3) + (9).to_bytes(3, "big"),  # no such day: NULL
      _datetime2(2023, 2, 29, 1, 2, 3) + (9).to_bytes(3, "big")],
     ["2024-02-29T01:02:03.000007", "2024-02-29T01:02:03.000008", None, None]),
])
def test_datetime_and_timestamp_rows(column: Column, rows: list[bytes], wire: list[Any]
                                     ) -> None:
    codec = compile_table([column], {})
    assert codec is not None
    data = b"".join(b"\x00" + row for row in rows)
    assert [image["v"] for image in codec.images(data, 0, len(data))] == wire


def test_a_fraction_beyond_a_second_is_refused_even_for_known_seconds() -> None:
    codec = compile_table([Column("v", FIELD_TYPE.TIMESTAMP2, fsp=6)], {})
    assert codec is not None
    second = (1709251198).to_bytes(4, "big")
    data = b"\x00" + second + (1).to_bytes(3, "big")
    assert codec.images(data, 0, len(data)) == [{"v": "2024-02-29T23:59:58.000001"}]
    data = b"\x00" + second + (1_000_000).to_bytes(3, "big")
    with pytest.raises(ValueError, match="microsecond 1000000"):
        codec.images(data, 0, len(data))


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 36), st.data())
def test_native_decimals_read_as_the_python_reader(precision: int, data: st.DataObject
                                                   ) -> None:
    """DECIMALs of up to 18 integral digits and 18 of scale are decoded natively; wider
    ones by the Python reader, which is the reference here, on any bytes."""
    scale = data.draw(st.integers(0, min(precision, 30)))
    column = Column("v", FIELD_TYPE.NEWDECIMAL, precision=precision, decimals=scale)
    op, _, reader = column_step(column, Kind.DECIMAL)
    reference = _new_decimal(column)
    native = precision - scale <= 18 and scale <= 18
    assert (op == _binlog.OP_DECIMAL) is native and (reader is None) is native
    size = reference(bytes(64), 0)[1]  # the offset after a value read at 0
    raw = data.draw(st.binary(min_size=size, max_size=size))
    codec = compile_table([column], {})
    assert codec is not None
    assert codec.images(b"\x00" + raw, 0, 1 + size) == [{"v": reference(raw, 0)[0]}]


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 6), st.integers(0, 2**40 - 1), st.binary(min_size=3, max_size=3))
def test_native_datetimes_as_python_datetime_formats_them(fsp: int, packed: int,
                                                          fraction: bytes) -> None:
    """DATETIME(fsp) on any bytes: the text ``datetime.isoformat`` gives (microseconds as
    the library reads them: signed, an odd fsp's last digit dropped), None where
    ``datetime`` refuses the date, and an error for a fraction of a second or more."""
    frac_size = (fsp + 1) // 2
    raw = packed.to_bytes(5, "big") + fraction[:frac_size]
    micro = 0
    if frac_size:
        signed = int.from_bytes(fraction[:frac_size], "big", signed=True)
        micro = int(signed / 10 if fsp % 2 else signed) * 10 ** (6 - fsp)
    year, month = divmod(packed >> 22 & 0x1FFFF, 13)
    parts = (year, month, packed >> 17 & 31, packed >> 12 & 31, packed >> 6 & 63, packed & 63)
    try:
        want: str | None = dt.datetime(*parts).isoformat(timespec="seconds") + "."
    except ValueError:
        want = None
    codec = compile_table([Column("v", FIELD_TYPE.DATETIME2, fsp=fsp)], {})
    assert codec is not None
    data = b"\x00" + raw
    if want is not None and micro >= 1_000_000:
        with pytest.raises(ValueError, match="microsecond"):
            codec.images(data, 0, len(data))
        return
    if want is not None:
        want += f"{max(micro, 0):06d}"
    assert codec.images(data, 0, len(data)) == [{"v": want}]
