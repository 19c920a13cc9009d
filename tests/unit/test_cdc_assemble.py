"""Reader records → sends (cdc.assemble), and the fast row conversion, no services."""

from __future__ import annotations

import datetime as dt
import decimal
import pickle
import random
from typing import Any

import pytest

from cdc.assemble import Assembler, Commit, Emit
from cdc.normalize import (
    NormalizeError,
    RowConverter,
    TableShape,
    TxnContext,
    wire_events,
    wire_row,
)
from cdc.partition import partition_for
from cdc.position import Position
from schemas.config import TableConfig
from schemas.events import decode_event, encode_event
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


COMPOSITE = TableShape(name="app.orders", rule=TableConfig(cache_keys=["o:{a}:{b}"],
                                                          version_column="v"),
                       pk=("a", "b"), kinds={"a": Kind.INT, "b": Kind.TEXT, "v": Kind.INT,
                                             "x": Kind.JSON})


def _random_image(rng: random.Random, shape: TableShape) -> dict[str, Any]:
    image: dict[str, Any] = {name: rng.randint(-10**12, 10**12) for name in shape.kinds}
    if "email" in image:
        image["email"] = rng.choice(["a@x", "b@x", "é\"\\\n😀@x"])
    if "b" in image:
        image["b"] = rng.choice(["k", "ü", "\x00"])
    if "v" in image:
        image["v"] = rng.randrange(2**40)
    if "x" in image:
        image["x"] = rng.choice([None, {"k": [1, 2.5, "s", True]}, [], "t"])
    return image


PLAIN = TableShape(name="app.items", rule=TableConfig(cache_keys=["i:{id}"]), pk=("id",),
                   kinds={"id": Kind.INT, "b": Kind.TEXT, "x": Kind.JSON})


@pytest.mark.parametrize("shape", [SHAPE, COMPOSITE, PLAIN])
def test_events_encode_by_pieces_exactly_as_encode_event(shape: TableShape) -> None:
    """The assembler's piecewise encoding against ``encode_event`` of ``wire_events``."""
    rng = random.Random(7)
    txn = ("T", 9, rng.choice([None, "uuid-1"]), 2, "0-9-44", "bin.000012", 12, 4096,
           1_700_000_000_123, "0-9-43")
    ctx = TxnContext(*txn[1:9])
    records: list[tuple[Any, ...]] = [("S", shape), txn]
    for row_index in range(1, 300):
        op = rng.choice(["insert", "update", "delete"])
        before = _random_image(rng, shape) if op != "insert" else None
        after = _random_image(rng, shape) if op != "delete" else None
        if op == "update" and rng.random() < 0.7:  # mostly the key stays
            assert before is not None and after is not None
            after.update({name: before[name] for name in shape.key_columns})
        records.append(("R", op, shape.name, before, after, row_index))
    emits = [e for e in Assembler(5).feed(records) if isinstance(e, Emit)]
    expected = [event for _, op, _, before, after, row_index in records[2:]
                for event in wire_events(op, shape, before, after, ctx=ctx,
                                         row_index=row_index)]
    assert len(emits) == len(expected) > 299
    assert any(e.op == "delete" for e in emits) and any(e.op == "update" for e in emits)
    for emit, event in zip(emits, expected, strict=True):
        assert emit.value == encode_event(event)
        assert emit.key == event.key.encode()
        assert (emit.table, emit.op) == (event.table, event.op)


@pytest.mark.parametrize(("shape", "in_python"), [
    (SHAPE, "key moves"),  # the compiled path takes the rest
    (PLAIN, "key moves"),
    (COMPOSITE, "every row"),  # a version column, and a partition key of two columns
])
def test_the_compiled_path_leaves_key_moves_and_version_columns_to_python(
        shape: TableShape, in_python: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    records: list[tuple[Any, ...]] = [("S", shape), TXN]
    moves = 0
    for row_index in range(1, 200):
        op = rng.choice(["insert", "update", "delete"])
        before = _random_image(rng, shape) if op != "insert" else None
        after = _random_image(rng, shape) if op != "delete" else None
        if op == "update":
            assert before is not None and after is not None
            if rng.random() < 0.8:
                after.update({name: before[name] for name in shape.key_columns})
            else:
                moves += 1
        records.append(("R", op, shape.name, before, after, row_index))
    slow: list[int] = []
    row = Assembler._row

    def counted(self: Assembler, record: tuple[Any, ...], out: Any) -> None:
        slow.append(record[5])
        row(self, record, out)

    monkeypatch.setattr(Assembler, "_row", counted)
    Assembler(4).feed(records)
    assert moves > 5
    assert len(slow) == (moves if in_python == "key moves" else 199)


@pytest.mark.parametrize(("row", "message"), [
    ({"id": 1, "email": None}, "partition key column"),
    ({"id": 1}, "partition key column"),
])
def test_a_null_partition_key_is_refused_on_either_path(row: dict[str, Any], message: str
                                                        ) -> None:
    with pytest.raises(NormalizeError, match=message):
        Assembler(4).feed(_records(("R", "insert", "app.users", None, row, 1)))


def test_each_transaction_encodes_its_own_source() -> None:
    """The source's server and file parts are reused while they stay the same: a rotation,
    a failover (new server, next epoch) and a return to an earlier file must each show."""
    txns = [
        ("T", 1, None, 0, "0-1-8", "bin.000003", 3, 500, 1_700_000_000_000, "0-1-7"),
        ("T", 1, None, 0, "0-1-9", "bin.000003", 3, 900, 1_700_000_000_001, "0-1-8"),
        ("T", 1, None, 0, "0-1-10", "bin.000004", 4, 4, 1_700_000_000_002, "0-1-9"),
        ("T", 2, "uuid-2", 1, "0-2-11", "bin.000004", 4, 4, 1_700_000_000_003, "0-1-10"),
        ("T", 2, "uuid-2", 1, "0-2-12", "bin.000003", 3, 77, 1_700_000_000_004, "0-2-11"),
    ]
    assembler = Assembler(6)
    assembler.feed([("S", SHAPE)])
    for number, txn in enumerate(txns):
        row = {"id": number, "email": f"{number}@x"}
        [emit, _] = assembler.feed([txn, ("R", "insert", "app.users", None, row, 1),
                                    ("C", txn[4], txn[5], txn[7] + 100, txn[8])])
        [event] = wire_events("insert", SHAPE, None, row, ctx=TxnContext(*txn[1:9]),
                              row_index=1)
        assert isinstance(emit, Emit)
        assert emit.value == encode_event(event), txn
