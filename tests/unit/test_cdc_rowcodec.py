"""The row codec's column readers on hand-made bytes, and its refusals (no services).

Its agreement with python-mysql-replication on real binlogs is tested in
``tests/integration/test_cdc_fastpath.py``.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from pymysqlreplication.constants import FIELD_TYPE

from cdc.rowcodec import compile_table
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
    image, end = codec.image(b"\x00" + raw, 0)  # a NULL bitmap with no NULL
    assert (image, end) == ({"v": wire}, 1 + len(raw))
    assert type(image["v"]) is type(wire)


def test_null_bitmap_and_row_boundaries() -> None:
    codec = compile_table([Column("a", FIELD_TYPE.LONG), Column("b", FIELD_TYPE.SHORT)],
                          {"a": Kind.INT, "b": Kind.INT})
    assert codec is not None
    rows = b"\x02" + struct.pack("<i", 7) + b"\x00" + struct.pack("<ih", -1, 3)
    assert codec.images(rows, 0, len(rows)) == [{"a": 7, "b": None}, {"a": -1, "b": 3}]
    with pytest.raises(ValueError, match="overran"):
        codec.images(rows, 0, len(rows) - 1)
