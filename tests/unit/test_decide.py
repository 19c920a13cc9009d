"""The consumers' pure core: the rule table, key rendering, coalescing, batch planning."""

from __future__ import annotations

import msgspec
import pytest

from consumers.decide import (
    RULES,
    DecisionError,
    compile_rules,
    decide,
    render_key,
    row_commit_time,
)
from consumers.plan import Poison, Record, dead_letter_headers, plan_batch
from consumers.store import pack
from schemas.actions import CacheAction
from schemas.config import TableConfig
from schemas.events import ChangeEvent, Op, Source, encode_event
from schemas.versions import binlog_version

REWRITE = TableConfig(cache_keys=["user:{id}", "email:{email}"], action="rewrite",
                      columns=["id", "name"], ttl_seconds=60, tombstone_ttl_seconds=600)
INVALIDATE = TableConfig(cache_keys=["user:{id}:profile"], action="invalidate",
                         tombstone_ttl_seconds=900)


def event(op: Op, *, id_: int = 7, name: str = "ada", row: int = 1,
          table: str = "app.users") -> ChangeEvent:
    image = {"id": id_, "name": name, "email": f"{name}@x", "secret": "s"}
    return ChangeEvent(
        op=op, table=table, pk={"id": id_}, key=str(id_),
        before=image if op != "insert" else None, after=image if op != "delete" else None,
        version=binlog_version(0, 1, 100, row),
        source=Source(server_id=1, file="b.000001", pos=100, row_index=row, ts_ms=0),
    )


@pytest.mark.parametrize(
    ("rule", "op", "kind", "ttl", "value"),
    [
        (REWRITE, "insert", "rewrite", 60, b'{"id":7,"name":"ada"}'),
        (REWRITE, "update", "rewrite", 60, b'{"id":7,"name":"ada"}'),
        (REWRITE, "delete", "invalidate", 600, None),
        (INVALIDATE, "insert", "invalidate", 900, None),
        (INVALIDATE, "update", "invalidate", 900, None),
        (INVALIDATE, "delete", "invalidate", 900, None),
    ],
)
def test_rule_table(rule: TableConfig, op: Op, kind: str, ttl: int, value: bytes | None) -> None:
    actions = decide(event(op), rule)
    assert {a.kind for a in actions} == {kind}
    assert all(a.ttl_seconds == ttl and a.value == value for a in actions)
    assert all(a.version == event(op).version for a in actions)


def test_every_rule_is_covered() -> None:
    assert set(RULES) == {(a, o) for a in ("rewrite", "invalidate")
                          for o in ("insert", "update", "delete")}


def test_every_template_gets_an_action() -> None:
    keys = [a.key for a in decide(event("update"), REWRITE)]
    assert keys == ["user:7", "email:ada@x"]


def test_projection_defaults_to_every_column() -> None:
    rule = REWRITE.model_copy(update={"columns": None})
    [first, _] = decide(event("insert"), rule)
    assert msgspec.json.decode(first.value or b"") == {"id": 7, "name": "ada", "email": "ada@x",
                                                       "secret": "s"}


def test_missing_template_column() -> None:
    with pytest.raises(DecisionError, match="'region'"):
        render_key("user:{region}", {"id": 1})
    with pytest.raises(DecisionError, match="NULL"):
        render_key("user:{id}", {"id": None})


@pytest.mark.parametrize("compiled", [True, False])
def test_plan_keeps_the_newest_per_key_in_first_seen_order(compiled: bool) -> None:
    batch = [event("update", id_=7, name="new", row=2), event("update", id_=8, row=1),
             event("update", id_=7, name="old", row=1),  # older than the first: loses
             event("update", id_=8, name="same", row=1)]  # as new as the second: loses
    records = [Record("t", 0, n, b"7", encode_event(e)) for n, e in enumerate(batch)]
    plan = plan_batch(records, compile_rules({"app.users": INVALIDATE.model_copy(
        update={"action": "rewrite", "columns": ["name"]})}), compiled=compiled)
    assert [(a.key, a.value) for a in plan.actions] == [
        ("user:7:profile", b'{"name":"new"}'), ("user:8:profile", b'{"name":"ada"}')]
    assert plan.keys == [a.key for a in plan.actions]
    assert plan.packed == [pack(a) for a in plan.actions]
    assert [plan.origins[key].record.offset for key in plan.keys] == [0, 1]


def test_plan_batch_poison_and_offsets() -> None:
    good = encode_event(event("update"))
    unknown_version = msgspec.json.encode(
        msgspec.structs.replace(event("update"), schema_version=99))
    unconfigured = encode_event(event("update", table="app.other"))
    missing_column = encode_event(msgspec.structs.replace(
        event("update", row=2), after={"id": 7, "email": None}))
    bad_version = encode_event(msgspec.structs.replace(event("update"), version="ab" * 16 + "0"))
    records = [Record("t", 0, 10, b"7", good), Record("t", 0, 11, b"7", b"{garbage"),
               Record("t", 0, 12, b"7", unknown_version), Record("t", 0, 13, b"7", unconfigured),
               Record("t", 0, 14, b"7", missing_column), Record("t", 0, 15, b"7", bad_version)]
    plan = plan_batch(records, compile_rules({"app.users": REWRITE}))
    assert plan.next_offset == 16
    assert [p.record.offset for p in plan.poison] == [11, 12, 13, 14, 15]
    errors = [p.error for p in plan.poison]
    assert "undecodable" in errors[0]
    assert "schema_version" in errors[1]
    assert "not configured" in errors[2]
    assert "'email'" in errors[3]
    assert "32 lowercase hex" in errors[4]
    # Only the missing column leaves something derivable: the key that still renders.
    assert [p.invalidate for p in plan.poison[:3]] == [(), (), ()]
    assert plan.poison[3].invalidate == [CacheAction(
        "invalidate", "user:7", binlog_version(0, 1, 100, 2), REWRITE.tombstone_ttl_seconds)]
    assert [a.key for a in plan.actions] == ["user:7", "email:ada@x"]
    assert plan.origins["user:7"].record.offset == 10
    assert plan.origins["user:7"].tombstone_ttl_seconds == 600


@pytest.mark.parametrize("version", ["AB" * 16, "0x" + "0" * 30, " " + "1" * 31, "1" * 33, ""])
def test_only_canonical_versions_reach_the_fence(version: str) -> None:
    bad = msgspec.structs.replace(event("update"), version=version)
    with pytest.raises(DecisionError, match="32 lowercase hex"):
        decide(bad, REWRITE)


def test_plan_coalesces_one_key_to_its_newest_event() -> None:
    history: list[tuple[Op, str, int]] = [("insert", "a", 1), ("update", "b", 3),
                                          ("update", "c", 2)]
    records = [Record("t", 3, off, b"7", encode_event(event(op, name=name, row=row)))
               for off, (op, name, row) in enumerate(history)]
    plan = plan_batch(records, compile_rules({"app.users": INVALIDATE.model_copy(
        update={"action": "rewrite", "columns": ["name"]})}))
    assert [(a.key, a.value) for a in plan.actions] == [("user:7:profile", b'{"name":"b"}')]
    assert plan.origins["user:7:profile"].record.offset == 1
    # Coalesced away or not, every planned event is applied with the batch and measured.
    assert plan.binlog_commit_s == [0.0, 0.0, 0.0]
    assert plan.row_commit_s == []


@pytest.mark.parametrize(
    ("after", "column", "expected"),
    [
        ({"t": "1970-01-01T00:00:01.000001"}, "t", 1.000001),
        ({"t": "2026-11-23T10:15:03.123456"}, "t", 1795428903.123456),
        ({"t": "2026-11-23T10:15:03"}, "t", 1795428903.0),
        ({"t": "2026-11-23T10:15:03.123456"}, None, None),  # no commit_time_column
        ({"t": None}, "t", None),  # NULL
        ({}, "t", None),  # not in the image
        ({"t": 1795428903}, "t", None),  # not a datetime's wire form
        ({"t": "yesterday"}, "t", None),
        (None, "t", None),  # a delete has no after image
    ],
)
def test_row_commit_time(after: dict[str, object] | None, column: str | None,
                         expected: float | None) -> None:
    found = row_commit_time(after, column)
    if expected is None:
        assert found is None
    else:
        assert found == pytest.approx(expected, abs=1e-7)


def test_plan_measures_each_event_on_its_clock() -> None:
    rule = INVALIDATE.model_copy(update={"commit_time_column": "at"})
    ops: tuple[Op, ...] = ("insert", "update", "delete")
    stamped = [event(op, row=n) for n, op in enumerate(ops, 1)]
    stamped = [msgspec.structs.replace(
        e, after=None if e.after is None else {**e.after, "at": f"1970-01-01T00:00:0{n}.5"},
        source=msgspec.structs.replace(e.source, ts_ms=n * 1000))
        for n, e in enumerate(stamped, 1)]
    records = [Record("t", 0, n, b"7", encode_event(e)) for n, e in enumerate(stamped)]
    records.append(Record("t", 0, 3, b"7", b"not json"))  # poison: not measured
    plan = plan_batch(records, compile_rules({"app.users": rule}))
    assert plan.row_commit_s == [1.5, 2.5]
    assert plan.binlog_commit_s == [3.0]  # the delete: binlog clock


def test_dead_letter_headers_carry_the_position() -> None:
    poison = Poison(Record("changes", 2, 41, b"k", b"x"), "boom",
                    [CacheAction("invalidate", "user:1", "0" * 32, 60)])
    assert dict(dead_letter_headers(poison, "east", "cachesync.east")) == {
        "cachesync.error": b"boom", "cachesync.topic": b"changes",
        "cachesync.partition": b"2", "cachesync.offset": b"41", "cachesync.region": b"east",
        "cachesync.group": b"cachesync.east", "cachesync.invalidate": b"user:1"}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # The email template moves: the old key gets a tombstone at the event's version.
        (REWRITE, [("rewrite", "user:7"), ("rewrite", "email:bob@x"),
                   ("invalidate", "email:ada@x")]),
        (INVALIDATE, [("invalidate", "user:7:profile")]),
    ],
)
def test_an_update_that_moves_a_templated_column_tombstones_the_old_key(
        rule: TableConfig, expected: list[tuple[str, str]]) -> None:
    moved = msgspec.structs.replace(
        event("update"), before={"id": 7, "name": "ada", "email": "ada@x"},
        after={"id": 7, "name": "bob", "email": "bob@x"})
    actions = decide(moved, rule)
    assert [(a.kind, a.key) for a in actions] == expected
    assert {a.version for a in actions} == {moved.version}
    assert [a.ttl_seconds for a in actions if a.kind == "invalidate"] == [
        rule.tombstone_ttl_seconds] * sum(1 for kind, _ in expected if kind == "invalidate")


def test_a_null_before_column_renders_no_old_key() -> None:
    moved = msgspec.structs.replace(
        event("update"), before={"id": 7, "name": "ada", "email": None},
        after={"id": 7, "name": "ada", "email": "ada@x"})
    assert [(a.kind, a.key) for a in decide(moved, REWRITE)] == [
        ("rewrite", "user:7"), ("rewrite", "email:ada@x")]
