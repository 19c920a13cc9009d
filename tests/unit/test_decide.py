"""The consumers' pure core: the rule table, key rendering, coalescing, batch planning."""

from __future__ import annotations

import msgspec
import pytest

from consumers.decide import RULES, DecisionError, coalesce, decide, render_key
from consumers.plan import Record, plan_batch
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


def test_coalesce_keeps_the_newest_per_key() -> None:
    a = CacheAction("rewrite", "k1", binlog_version(0, 1, 1, 2), 60, b"new")
    b = CacheAction("rewrite", "k1", binlog_version(0, 1, 1, 1), 60, b"old")
    c = CacheAction("invalidate", "k2", binlog_version(0, 1, 1, 1), 60)
    assert coalesce([b, c, a]) == [a, c]


def test_plan_batch_poison_and_offsets() -> None:
    good = encode_event(event("update"))
    unknown_version = msgspec.json.encode(
        msgspec.structs.replace(event("update"), schema_version=99))
    unconfigured = encode_event(event("update", table="app.other"))
    missing_column = encode_event(msgspec.structs.replace(
        event("update"), after={"id": None, "name": "x"}))
    records = [Record("t", 0, 10, b"7", good), Record("t", 0, 11, b"7", b"{garbage"),
               Record("t", 1, 5, b"7", unknown_version), Record("t", 1, 6, b"7", unconfigured),
               Record("t", 2, 3, b"7", missing_column)]
    plan = plan_batch(records, {"app.users": REWRITE})
    assert plan.commit == {0: 12, 1: 7, 2: 4}
    assert [p.record.offset for p in plan.poison] == [11, 5, 6, 3]
    assert "schema_version" in plan.poison[1].error
    assert "not configured" in plan.poison[2].error
    assert [a.key for a in plan.actions] == ["user:7", "email:ada@x"]
    assert plan.sources["user:7"].offset == 10
