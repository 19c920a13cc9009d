"""The consumer's compiled planning (consumers/_plan.c) against Python's path and a model.

``plan_batch(..., compiled=False)`` hands every record to Python's per-record path
(``consumers.plan._decide_one``), so comparing the two over random batches checks the
compiled decisions: keys, versions, values, commit times, and which records are poison.
The coalescing both share is checked against a few lines of Python below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers import _plan
from consumers import plan as plan_module
from consumers.decide import CompiledRule, DecisionError, compile_rules, row_commit_time, targets
from consumers.plan import Origin, Plan, Record, plan_batch
from consumers.store import pack
from schemas.actions import CacheAction
from schemas.config import TableConfig
from schemas.events import ChangeEvent, CodecError, Source, decode_event, encode_event
from schemas.values import encode_projection, encode_sorted

TABLES = ["app.users", "app.other", "app.unconfigured"]

rules_strategy = st.fixed_dictionaries({
    "app.users": st.builds(
        lambda keys, action, columns, at: TableConfig(
            cache_keys=keys, action=action, columns=columns, commit_time_column=at,
            ttl_seconds=60, tombstone_ttl_seconds=600),
        st.lists(st.sampled_from(["u:{id}", "{id}-{name}!{{x}}", "e:{email}", "{{{id}}}",
                                  "ü:{name}:{id}"]), min_size=1, max_size=3, unique=True),
        st.sampled_from(["rewrite", "invalidate"]),
        st.sampled_from([None, ["id", "name", "at"], ["name", "missing", "at"]]),
        st.sampled_from([None, "at"])),
    "app.other": st.just(TableConfig(cache_keys=["o:{id}"], commit_time_column="at")),
})

scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", "ü", ""]), st.none(),
                    st.floats(allow_nan=False, min_value=-2, max_value=2), st.booleans(),
                    st.just([1, 2]))
timestamps = st.one_of(
    st.datetimes(min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(2300, 12, 31)).map(
        lambda t: t.isoformat(timespec="microseconds")),
    st.datetimes(min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(2300, 12, 31)).map(
        lambda t: t.isoformat(timespec="seconds")),
    st.sampled_from(["2026-11-23 10:15:03", "2026-11-23T10:15:03.5", "2025-02-29T00:00:00",
                     "2026-13-01T00:00:00", "2026-11-23T24:00:00", "yesterday", "",
                     "2026-11-23T10:15:03+00:00", "2026-11-23T10:15:03.1234567",
                     "\uff12\uff10\uff12\uff16-11-23T10:15:03"]),  # full-width digits
    st.integers(0, 10), st.none())
images = st.one_of(st.none(), st.fixed_dictionaries(
    {}, optional={"id": scalars, "name": scalars, "email": scalars, "at": timestamps}))
versions = st.one_of(st.sampled_from([f"{n:032x}" for n in (1, 2, 3)]),
                     st.sampled_from(["AB" * 16, "1" * 31, "g" * 32]))


@st.composite
def records(draw: st.DrawFn) -> list[Record]:
    out = []
    for offset in range(draw(st.integers(1, 12))):
        kind = draw(st.integers(0, 19))
        if kind == 0:
            value: bytes | None = draw(st.sampled_from([b"{garbage", b"", None, b"[]"]))
        else:
            event = ChangeEvent(
                schema_version=2 if kind == 1 else 1, op=draw(st.sampled_from(
                    ["insert", "update", "delete"])), table=draw(st.sampled_from(TABLES)),
                pk={"id": draw(st.integers(0, 3))}, key="k", before=draw(images),
                after=draw(images), version=draw(versions),
                source=Source(server_id=1, file="f", pos=4, row_index=1,
                              ts_ms=draw(st.integers(0, 2**45))))
            value = encode_event(event)
        out.append(Record("t", 0, offset, b"k", value))
    return out


def _summary(plan: Plan) -> dict[str, Any]:
    return {
        "actions": plan.actions, "keys": plan.keys, "packed": plan.packed,
        "origins": {k: (o.record.offset, o.tombstone_ttl_seconds)
                    for k, o in plan.origins.items()},
        "poison": [(p.record.offset, p.error, list(p.invalidate)) for p in plan.poison],
        "row_commit_s": plan.row_commit_s, "binlog_commit_s": plan.binlog_commit_s,
    }


def _model(batch: list[Record], rules: dict[str, CompiledRule]) -> list[tuple[CacheAction, int]]:
    """The newest action per key in first-seen key order (of equal versions the first)."""
    newest: dict[str, tuple[CacheAction, int]] = {}
    for record in batch:
        try:
            event = decode_event(record.value or b"")
        except CodecError:
            continue
        rule = rules.get(event.table)
        if rule is None:
            continue
        try:
            found = targets(event, rule)
        except DecisionError:
            continue
        for target in found:
            kept = newest.get(target.key)
            if kept is None or target.version > kept[0].version:
                value = None if target.kind == "invalidate" else encode_projection(
                    event.row, rule.config.columns)
                newest[target.key] = (target.action(value), record.offset)
    return list(newest.values())


@settings(max_examples=400, deadline=None)
@given(rules=rules_strategy, batch=records())
def test_compiled_plan_equals_python_path_and_model(rules: dict[str, TableConfig],
                                                    batch: list[Record]) -> None:
    compiled = compile_rules(rules)
    fast = plan_batch(batch, compiled)
    assert _summary(fast) == _summary(plan_batch(batch, compiled, compiled=False))
    assert [(a, fast.origins[a.key].record.offset) for a in fast.actions] == _model(batch,
                                                                                    compiled)
    assert fast.keys == [a.key for a in fast.actions]
    assert fast.packed == [pack(a) for a in fast.actions]
    assert len(fast.row_commit_s) + len(fast.binlog_commit_s) + len(fast.poison) == len(batch)


@settings(max_examples=300, deadline=None)
@given(stamp=st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
       spec=st.sampled_from(["seconds", "microseconds"]))
def test_compiled_commit_time_is_pythons(stamp: dt.datetime, spec: str) -> None:
    text = stamp.isoformat(timespec=spec)
    event = ChangeEvent(op="insert", table="app.t", pk={"id": 1}, key="1",
                        after={"id": 1, "at": text}, version="0" * 32,
                        source=Source(server_id=1, file="f", pos=4, row_index=1, ts_ms=0))
    plan = plan_batch([Record("t", 0, 0, b"1", encode_event(event))], compile_rules(
        {"app.t": TableConfig(cache_keys=["t:{id}"], commit_time_column="at")}))
    assert plan.row_commit_s == [row_commit_time({"at": text}, "at")]


def test_the_python_path_is_taken_only_when_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual records never reach Python's per-record path; the others all do."""
    taken: list[int] = []
    original = plan_module._decide_one

    def spy(record: Record, rules: Any, plan: Plan) -> Any:
        taken.append(record.offset)
        return original(record, rules, plan)

    rule = TableConfig(cache_keys=["u:{id}", "e:{email}"], commit_time_column="at")
    image = {"id": 1, "email": "a@x", "at": "2026-11-23T10:15:03.000001"}

    def event(**changes: Any) -> bytes:
        base = ChangeEvent(op="update", table="app.users", pk={"id": 1}, key="1",
                           before=image, after=image, version="1" * 32,
                           source=Source(server_id=1, file="f", pos=4, row_index=1, ts_ms=0))
        return encode_event(msgspec.structs.replace(base, **changes))

    values = [
        event(),  # usual
        event(op="delete", after=None),  # usual
        event(after={**image, "at": "2026-11-23 10:15:03"}),  # usual (Python parses the time)
        event(after={**image, "email": "b@x"}),  # a template column moved
        event(after={"id": 1}),  # a key that does not render
        event(version="X" * 32),  # a malformed version
        event(table="app.unknown"),
        event(schema_version=9),
        b"{",
    ]
    _plan.setup(decode_event, spy, row_commit_time, encode_sorted, CacheAction, Origin)
    try:
        plan = plan_batch([Record("t", 0, n, b"1", v) for n, v in enumerate(values)],
                          compile_rules({"app.users": rule}))
    finally:
        _plan.setup(decode_event, original, row_commit_time, encode_sorted, CacheAction, Origin)
    assert taken == [3, 4, 5, 6, 7, 8]
    assert [p.record.offset for p in plan.poison] == [4, 5, 6, 7, 8]


def test_a_ttl_the_fence_cannot_carry_is_refused() -> None:
    event = ChangeEvent(op="insert", table="app.t", pk={"id": 1}, key="1", after={"id": 1},
                        version="0" * 32,
                        source=Source(server_id=1, file="f", pos=4, row_index=1, ts_ms=0))
    rules = compile_rules({"app.t": TableConfig(cache_keys=["t:{id}"], action="rewrite",
                                                       ttl_seconds=10**10)})
    with pytest.raises(ValueError, match="does not fit in 10 digits"):
        plan_batch([Record("t", 0, 0, b"1", encode_event(event))], rules)


@pytest.mark.parametrize(("keys", "args", "start", "stop"), [
    (["a"], [b"w" + b"0" * 42], 0, 1),
    (["user:7", "ü:🙂", ""], [b"x", b"", b"w\r\n$3\r\n"], 0, 3),
    ([f"k{n}" for n in range(12)], [bytes([n]) * n for n in range(12)], 3, 11),
    (["a", "b"], [b"1", b"2"], 1, 1),
])
def test_evalsha_is_what_redis_py_sends(keys: list[str], args: list[bytes], start: int,
                                        stop: int) -> None:
    sha = b"e" * 40
    connection = redis.Connection()  # type: ignore[no-untyped-call]
    expected = b"".join(connection.pack_command(  # type: ignore[no-untyped-call]
        "EVALSHA", sha, stop - start, *keys[start:stop], *args[start:stop]))
    assert _plan.evalsha(sha, keys, args, start, stop) == expected


@pytest.mark.parametrize(("keys", "args", "start", "stop", "error", "match"), [
    (["a"], [b"1", b"2"], 0, 1, ValueError, "as many keys"),
    (["a"], [b"1"], 0, 2, IndexError, "out of range"),
    (["a"], [b"1"], 1, 0, IndexError, "out of range"),
    ([b"a"], [b"1"], 0, 1, TypeError, "keys must be str"),
    (["\udc80"], [b"1"], 0, 1, UnicodeEncodeError, "surrogate"),
])
def test_evalsha_refuses_what_it_cannot_write(keys: list[Any], args: list[bytes], start: int,
                                              stop: int, error: type[Exception],
                                              match: str) -> None:
    with pytest.raises(error, match=match):
        _plan.evalsha(b"e" * 40, keys, args, start, stop)
