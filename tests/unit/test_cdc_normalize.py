"""Row changes → change events (cdc.normalize), table-driven, no services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pymysqlreplication.constants import FIELD_TYPE

from cdc.normalize import (
    NormalizeError,
    RowConverter,
    TableShape,
    TxnContext,
    binlog_kind,
    row_events,
)
from schemas.config import TableConfig
from schemas.values import Kind
from schemas.versions import binlog_version, column_version, unpack_binlog_version

CTX = TxnContext(server_id=1, server_uuid=None, epoch=2, gtid="0-1-42", file="mariadb-bin.000007",
                 file_index=7, txn_pos=1234, ts_ms=1_700_000_000_000)

KINDS = {"id": Kind.INT, "user_id": Kind.INT, "name": Kind.TEXT, "amount": Kind.DECIMAL,
         "v": Kind.INT, "at": Kind.DATETIME, "tenant": Kind.TEXT}


def shape(**rule: Any) -> TableShape:
    return TableShape(name="app.t", rule=TableConfig(cache_keys=["t:{id}"], **rule),
                      pk=("id",), kinds=KINDS)


def row(**values: Any) -> dict[str, Any]:
    return {"id": 1, "user_id": 10, "name": "a", "amount": "1.50", "v": 5,
            "at": dt.datetime(2024, 1, 1), "tenant": "t1"} | values


@pytest.mark.parametrize(
    ("op", "before", "after", "expected"),
    [
        ("insert", None, row(), [("insert", "1", None, row())]),
        ("delete", row(), None, [("delete", "1", row(), None)]),
        ("update", row(), row(name="b"), [("update", "1", row(), row(name="b"))]),
        # The primary key changes: delete the old row, insert the new one.
        ("update", row(), row(id=2), [("delete", "1", row(), None),
                                       ("insert", "2", None, row(id=2))]),
    ],
)
def test_ops(op: Any, before: Any, after: Any, expected: list[tuple[Any, ...]]) -> None:
    events = row_events(op, shape(), before, after, ctx=CTX, row_index=3)
    got = [(e.op, e.key, e.before and e.before["name"], e.after and e.after["name"])
           for e in events]
    assert got == [(o, k, b and b["name"], a and a["name"]) for o, k, b, a in expected]
    for event in events:
        assert event.table == "app.t"
        assert event.version == binlog_version(2, 7, 1234, 3)
        assert event.source.row_index == 3
        assert event.source.gtid == "0-1-42"
        assert event.source.pos == 1234
        assert event.source.file == "mariadb-bin.000007"
        assert event.source.ts_ms == 1_700_000_000_000
        assert event.pk == {"id": (event.after or event.before or {})["id"]}


def test_values_are_in_wire_form() -> None:
    [event] = row_events("insert", shape(), None, row(at=dt.datetime(2024, 1, 2, 3, 4, 5)),
                         ctx=CTX, row_index=1)
    assert event.after is not None
    assert event.after["at"] == "2024-01-02T03:04:05.000000"
    assert event.after["amount"] == "1.50"


@pytest.mark.parametrize(
    ("before", "after", "ops"),
    [
        (row(user_id=10), row(user_id=11), ["delete", "insert"]),  # partition key moves
        (row(user_id=10), row(user_id=10, name="x"), ["update"]),
    ],
)
def test_partition_key_change(before: Any, after: Any, ops: list[str]) -> None:
    events = row_events("update", shape(partition_key="user_id"), before, after, ctx=CTX,
                        row_index=1)
    assert [e.op for e in events] == ops
    assert [e.key for e in events] == (["10", "11"] if len(ops) == 2 else ["10"])


def test_composite_partition_key_is_json_array_text() -> None:
    composite = TableShape(name="app.t", rule=TableConfig(cache_keys=["t:{id}"]),
                           pk=("tenant", "id"), kinds=KINDS)
    [event] = row_events("insert", composite, None, row(tenant='t"1', id=7), ctx=CTX,
                         row_index=1)
    assert event.key == '["t\\"1",7]'
    assert event.pk == {"tenant": 't"1', "id": 7}


@pytest.mark.parametrize(
    ("rule", "image", "version"),
    [
        ({}, row(), binlog_version(2, 7, 1234, 4)),
        ({"version_column": "v"}, row(v=99), column_version(99)),
        ({"version_column": "at"}, row(at=dt.datetime(1970, 1, 1, 0, 0, 1, 5)),
         f"{1_000_005:032x}"),
    ],
)
def test_version(rule: dict[str, Any], image: Any, version: str) -> None:
    [event] = row_events("insert", shape(**rule), None, image, ctx=CTX, row_index=4)
    assert event.version == version


def test_binlog_version_orders_rows_inside_a_transaction() -> None:
    versions = [row_events("insert", shape(), None, row(id=i), ctx=CTX, row_index=i)[0].version
                for i in range(1, 4)]
    assert versions == sorted(versions)
    assert unpack_binlog_version(versions[0]) == (2, 7, 1234, 1)


@pytest.mark.parametrize(
    ("rule", "image", "message"),
    [
        ({}, row(id=None), "partition key column"),
        ({"partition_key": "user_id"}, row(user_id=None), r"\['user_id'\] are NULL"),
        ({"version_column": "v"}, row(v=None), "version column 'v' is NULL"),
    ],
)
def test_null_key_is_refused(rule: dict[str, Any], image: Any, message: str) -> None:
    with pytest.raises(NormalizeError, match=message):
        row_events("insert", shape(**rule), None, image, ctx=CTX, row_index=1)


def test_unknown_column_keeps_a_json_safe_value() -> None:
    [event] = row_events("insert", shape(), None, row(extra=dt.date(2024, 1, 1)), ctx=CTX,
                         row_index=1)
    assert event.after is not None
    assert event.after["extra"] == "2024-01-01"


@pytest.mark.parametrize(
    ("field_type", "charset", "catalog", "kind"),
    [
        (FIELD_TYPE.LONGLONG, None, Kind.INT, Kind.INT),
        (FIELD_TYPE.INT24, None, None, Kind.INT),
        (FIELD_TYPE.NEWDECIMAL, None, Kind.DECIMAL, Kind.DECIMAL),
        (FIELD_TYPE.FLOAT, None, Kind.FLOAT32, Kind.FLOAT32),
        (FIELD_TYPE.DOUBLE, None, Kind.FLOAT, Kind.FLOAT),
        (FIELD_TYPE.BIT, None, Kind.BIT, Kind.BIT),
        (FIELD_TYPE.DATE, None, Kind.DATE, Kind.DATE),
        (FIELD_TYPE.TIME2, None, Kind.TIME, Kind.TIME),
        (FIELD_TYPE.DATETIME2, None, Kind.DATETIME, Kind.DATETIME),
        (FIELD_TYPE.TIMESTAMP2, None, Kind.TIMESTAMP, Kind.TIMESTAMP),
        (FIELD_TYPE.YEAR, None, Kind.YEAR, Kind.YEAR),
        (FIELD_TYPE.VARCHAR, "utf8mb4", Kind.TEXT, Kind.TEXT),
        (FIELD_TYPE.STRING, "latin1", Kind.TEXT, Kind.TEXT),
        (FIELD_TYPE.STRING, "binary", Kind.BINARY, Kind.BINARY),
        (FIELD_TYPE.BLOB, "binary", Kind.BINARY, Kind.BINARY),
        (FIELD_TYPE.BLOB, "utf8mb4", Kind.TEXT, Kind.TEXT),
        # MariaDB JSON: a LONGTEXT in the table map; only the catalog knows it is JSON.
        (FIELD_TYPE.BLOB, "utf8mb4", Kind.JSON, Kind.JSON),
        (FIELD_TYPE.JSON, None, Kind.JSON, Kind.JSON),
        (FIELD_TYPE.ENUM, "utf8mb4", Kind.ENUM, Kind.ENUM),
        (FIELD_TYPE.SET, "utf8mb4", Kind.SET, Kind.SET),
        (FIELD_TYPE.GEOMETRY, "binary", Kind.GEOMETRY, Kind.GEOMETRY),
        # An event written before ALTER TABLE ... MODIFY a VARCHAR: the table map decides.
        (FIELD_TYPE.LONG, None, Kind.TEXT, Kind.INT),
        (FIELD_TYPE.VARCHAR, "utf8mb4", Kind.INT, Kind.TEXT),
        # A column dropped since: unknown to the catalog.
        (FIELD_TYPE.VARCHAR, "utf8mb4", None, Kind.TEXT),
    ],
)
def test_binlog_kind(field_type: int, charset: str | None, catalog: Kind | None,
                     kind: Kind) -> None:
    assert binlog_kind(field_type, charset, catalog) is kind


def test_unknown_binlog_type_is_refused() -> None:
    with pytest.raises(NormalizeError, match="type 6 is not supported"):
        binlog_kind(FIELD_TYPE.NULL, None, None)


def test_event_kinds_override_the_catalog() -> None:
    [event] = row_events("insert", shape(), None, row(user_id="10"), ctx=CTX, row_index=1,
                         convert=RowConverter(KINDS | {"user_id": Kind.TEXT}))
    assert event.after is not None
    assert event.after["user_id"] == "10"
