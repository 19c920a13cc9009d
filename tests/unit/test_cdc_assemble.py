"""Reader records → sends (cdc.assemble), and the fast row conversion, no services."""

from __future__ import annotations

import datetime as dt
import decimal
import pickle
from typing import Any

import pytest

from cdc.assemble import Assembler, Commit, Emit
from cdc.normalize import RowConverter, TableShape, wire_row
from cdc.partition import partition_for
from cdc.position import Position
from schemas.config import TableConfig
from schemas.events import decode_event
from schemas.values import Kind
from schemas.versions import binlog_version

SHAPE = TableShape(name="app.users", rule=TableConfig(cache_keys=["u:{id}"],
                                                      partition_key="email"),
                   pk=("id",), kinds={"id": Kind.INT, "email": Kind.TEXT})
TXN = ("T", 1, None, 0, "0-1-8", "mariadb-bin.000003", 3, 500, 1_700_000_000_000, "0-1-7")


def _records(*rows: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return [("S", SHAPE), TXN, *rows, ("C", "0-1-8", "mariadb-bin.000003", 900, 1)]


def test_records_become_sends_and_a_commit() -> None:
    batch = Assembler(6).feed(_records(
        ("R", "insert", "app.users", None, {"id": 1, "email": "a@x"}, 1),
        ("R", "delete", "app.users", {"id": 2, "email": "b@x"}, None, 2),
    ))
    first, second, commit = batch
    assert isinstance(first, Emit) and isinstance(second, Emit)
    assert (first.key, first.op, first.table) == (b"a@x", "insert", "app.users")
    assert first.partition == partition_for(b"a@x", 6)
    event = decode_event(first.value)
    assert event.version == binlog_version(0, 3, 500, 1)
    assert event.source.gtid == "0-1-8"
    # Acknowledged up to here: the transaction's rows so far, from the state before it.
    assert first.position == Position("0-1-7", "mariadb-bin.000003", 500, 1)
    assert second.position == Position("0-1-7", "mariadb-bin.000003", 500, 2)
    assert commit == Commit(Position("0-1-8", "mariadb-bin.000003", 900), 1)


def test_a_key_move_is_a_delete_then_an_insert_and_the_delete_does_not_checkpoint() -> None:
    batch = Assembler(6).feed(_records(
        ("R", "update", "app.users", {"id": 1, "email": "a@x"}, {"id": 1, "email": "c@x"}, 4),
    ))
    delete, insert = batch[0], batch[1]
    assert isinstance(delete, Emit) and isinstance(insert, Emit)
    assert [(delete.op, delete.key), (insert.op, insert.key)] == [
        ("delete", b"a@x"), ("insert", b"c@x")]
    assert delete.position.row_index == 3  # the row is done only once both are sent
    assert insert.position.row_index == 4


def test_a_transaction_spans_batches() -> None:
    assembler = Assembler(6)
    assembler.feed([("S", SHAPE), TXN])
    [emit] = assembler.feed([("R", "insert", "app.users", None, {"id": 1, "email": "a"}, 7)])
    assert isinstance(emit, Emit)
    assert emit.position == Position("0-1-7", "mariadb-bin.000003", 500, 7)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([("R", "insert", "app.users", None, {"id": 1, "email": "a"}, 1)], "outside a transaction"),
        ([("X",)], "unknown reader record"),
    ],
)
def test_bad_records_are_refused(records: list[tuple[Any, ...]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Assembler(6).feed(records)


def test_records_pickle() -> None:
    records = _records(("R", "insert", "app.users", None, {"id": 1, "email": "a@x"}, 1))
    assert Assembler(6).feed(pickle.loads(pickle.dumps(records))) == \
        Assembler(6).feed(records)


KINDS = {"i": Kind.INT, "y": Kind.YEAR, "f": Kind.FLOAT, "f32": Kind.FLOAT32, "t": Kind.TEXT,
         "e": Kind.ENUM, "d": Kind.DECIMAL, "dt": Kind.DATETIME, "ts": Kind.TIMESTAMP,
         "day": Kind.DATE, "tm": Kind.TIME, "b": Kind.BINARY, "bit": Kind.BIT, "j": Kind.JSON,
         "s": Kind.SET, "g": Kind.GEOMETRY}


@pytest.mark.parametrize(
    "row",
    [
        dict.fromkeys(KINDS),
        {"i": -5, "y": 2024, "f": 0.1, "f32": 0.10000000149011612, "t": "héllo", "e": "m",
         "d": decimal.Decimal("-1.50"), "dt": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
         "ts": dt.datetime(1970, 1, 1), "day": dt.date(2024, 2, 29),
         "tm": dt.timedelta(hours=-1, microseconds=5), "b": b"\x00\xff", "bit": "101",
         "j": {"a": [1, None]}, "s": {"b", "a"}, "g": b"\x00\x01"},
        # Values of another type than the decoder's usual one take the slow path.
        {"i": True, "t": b"bytes", "e": b"m", "d": "1.5", "f": 1,
         "dt": dt.datetime(2024, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=5))),
         "day": "2024-01-01"},
        {"i": 1, "extra": dt.date(2024, 1, 1)},  # a column the kinds do not know
    ],
)
def test_row_converter_equals_wire_row(row: dict[str, Any]) -> None:
    got = RowConverter(KINDS)(row)
    want = wire_row(row, KINDS)
    assert got == want
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in want.items()}
