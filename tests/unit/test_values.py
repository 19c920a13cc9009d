"""The wire form of every column kind (schemas/types.md), table-driven."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from schemas.values import Kind, UnsupportedValueError, encode_projection, kind_of, to_wire

PLUS5 = dt.timezone(dt.timedelta(hours=5))


@pytest.mark.parametrize(
    ("kind", "value", "wire"),
    [
        (Kind.INT, 0, 0),
        (Kind.INT, -9223372036854775808, -9223372036854775808),
        (Kind.INT, 18446744073709551615, 18446744073709551615),
        (Kind.YEAR, 2155, 2155),
        (Kind.DECIMAL, decimal.Decimal("1.50"), "1.50"),
        (Kind.DECIMAL, decimal.Decimal("-0.000000000000000000000000000001"),
         "-0.000000000000000000000000000001"),
        (Kind.DECIMAL,
         decimal.Decimal("12345678901234567890123456789012345.123456789012345678901234567890"),
         "12345678901234567890123456789012345.123456789012345678901234567890"),
        (Kind.DECIMAL, decimal.Decimal("1E+3"), "1000"),
        (Kind.DECIMAL, "3.14", "3.14"),
        (Kind.FLOAT, 0.1, 0.1),
        (Kind.FLOAT, -1.7976931348623157e308, -1.7976931348623157e308),
        (Kind.FLOAT32, 0.10000000149011612, 0.1),
        (Kind.FLOAT32, 16777216.0, 16777200.0),
        (Kind.FLOAT32, 1.5, 1.5),
        (Kind.BIT, "1", 1),
        (Kind.BIT, "1000000001", 513),
        (Kind.BIT, "", 0),
        (Kind.BIT, b"\xff" * 8, 2**64 - 1),
        (Kind.BIT, 5, 5),
        (Kind.DATE, dt.date(2024, 2, 29), "2024-02-29"),
        (Kind.TIME, dt.timedelta(0), "00:00:00.000000"),
        (Kind.TIME, dt.timedelta(seconds=-1.5), "-00:00:01.500000"),
        (Kind.TIME, -dt.timedelta(hours=838, minutes=59, seconds=59), "-838:59:59.000000"),
        (Kind.TIME, dt.timedelta(hours=123, minutes=45, seconds=6, microseconds=789012),
         "123:45:06.789012"),
        (Kind.TIME, dt.timedelta(days=1, seconds=1), "24:00:01.000000"),
        (Kind.DATETIME, dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05.000000"),
        (Kind.DATETIME, dt.datetime(2024, 1, 2, 3, 4, 5, 123456), "2024-01-02T03:04:05.123456"),
        (Kind.TIMESTAMP, dt.datetime(2024, 5, 6, 12, 8, 9, 654321, tzinfo=PLUS5),
         "2024-05-06T07:08:09.654321"),
        (Kind.TIMESTAMP, dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
         "2024-05-06T07:08:09.000000"),
        (Kind.TEXT, "emoji 😀", "emoji 😀"),
        (Kind.TEXT, b"caf\xc3\xa9", "café"),
        (Kind.ENUM, "medium", "medium"),
        (Kind.BINARY, b"\x00\xff\x7f\x80", "AP9/gA=="),
        (Kind.BINARY, b"", ""),
        (Kind.BINARY, bytearray(b"ab"), "YWI="),
        (Kind.GEOMETRY, b"\x00\x00\x00\x00\x01", "AAAAAAE="),
        (Kind.JSON, '{"a": [1, 2.5, null]}', {"a": [1, 2.5, None]}),
        (Kind.JSON, b'"x"', "x"),
        (Kind.JSON, {b"k": [b"v", 1], "n": {b"deep": True}}, {"k": ["v", 1], "n": {"deep": True}}),
        (Kind.SET, {"d", "a", "c"}, ["a", "c", "d"]),
        (Kind.SET, "d,a,c", ["a", "c", "d"]),
        (Kind.SET, "", []),
        (Kind.SET, set(), []),
    ],
)
def test_to_wire(kind: Kind, value: Any, wire: Any) -> None:
    got = to_wire(kind, value)
    assert got == wire
    assert type(got) is type(wire)


@pytest.mark.parametrize("kind", list(Kind))
def test_null_stays_null(kind: Kind) -> None:
    assert to_wire(kind, None) is None


def test_wire_values_encode_as_json() -> None:
    row = {"b": to_wire(Kind.BINARY, b"\x00"), "a": to_wire(Kind.DECIMAL, "1.0")}
    assert encode_projection(row, None) == b'{"a":"1.0","b":"AA=="}'
    assert encode_projection(row, ["b", "missing"]) == b'{"b":"AA==","missing":null}'


@pytest.mark.parametrize(
    ("sql_type", "kind"),
    [
        ("tinyint", Kind.INT), ("SMALLINT", Kind.INT), ("mediumint", Kind.INT),
        ("int", Kind.INT), ("bigint", Kind.INT), ("decimal", Kind.DECIMAL),
        ("numeric", Kind.DECIMAL), ("float", Kind.FLOAT32), ("double", Kind.FLOAT),
        ("real", Kind.FLOAT), ("bit", Kind.BIT), ("date", Kind.DATE), ("time", Kind.TIME),
        ("datetime", Kind.DATETIME), ("timestamp", Kind.TIMESTAMP), ("year", Kind.YEAR),
        ("char", Kind.TEXT), ("varchar", Kind.TEXT), ("longtext", Kind.TEXT),
        ("binary", Kind.BINARY), ("varbinary", Kind.BINARY), ("blob", Kind.BINARY),
        ("longblob", Kind.BINARY), ("json", Kind.JSON), ("enum", Kind.ENUM),
        ("set", Kind.SET), ("point", Kind.GEOMETRY), ("geometry", Kind.GEOMETRY),
    ],
)
def test_kind_of(sql_type: str, kind: Kind) -> None:
    assert kind_of(sql_type) is kind


@pytest.mark.parametrize("sql_type", ["vector", "uuid", ""])
def test_kind_of_unknown(sql_type: str) -> None:
    with pytest.raises(UnsupportedValueError, match="not supported"):
        kind_of(sql_type)


def test_bit_of_unknown_type() -> None:
    with pytest.raises(UnsupportedValueError, match="BIT"):
        to_wire(Kind.BIT, 1.5)
