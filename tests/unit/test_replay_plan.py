"""Replay ranges, range checks and filters."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciler.replay_plan import (
    BinlogCoordinate,
    BinlogRange,
    Gtid,
    KafkaRange,
    ReplayFilter,
    ReplayMode,
    ReplayRangeError,
    before_start,
    check_binlog_range,
    check_kafka_range,
    check_tables,
    parse_gtid_list,
    parse_time,
    past_end,
    plan_event,
    read_keys_file,
)
from schemas.actions import CacheAction
from schemas.config import TableConfig
from schemas.events import ChangeEvent, Source

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
FILES = [("mariadb-bin.000003", 1000), ("mariadb-bin.000004", 5000)]
OLDEST = {0: Gtid(0, 100, 1)}


def event(*, table: str = "app.users", key: str = "7", pos: int = 400,
          file: str = "mariadb-bin.000004", gtid: str = "0-1-150",
          ts: dt.datetime = NOW - dt.timedelta(minutes=5)) -> ChangeEvent:
    return ChangeEvent(
        op="update", table=table, pk={"id": int(key)}, key=key, after={"id": int(key)},
        version=f"{pos:032x}",
        source=Source(server_id=1, gtid=gtid, file=file, pos=pos, row_index=1,
                      ts_ms=int(ts.timestamp() * 1000)),
    )


@pytest.mark.parametrize(("text", "expected"), [
    ("mariadb-bin.000004:1234", BinlogCoordinate("mariadb-bin.000004", 1234)),
    ("host:with:colons.000001:4", BinlogCoordinate("host:with:colons.000001", 4)),
])
def test_coordinates(text: str, expected: BinlogCoordinate) -> None:
    assert BinlogCoordinate.parse(text) == expected


@pytest.mark.parametrize("text", ["mariadb-bin.000004", "x:y", ":4"])
def test_bad_coordinates(text: str) -> None:
    with pytest.raises(ReplayRangeError, match="FILE:POS"):
        BinlogCoordinate.parse(text)


def test_gtids() -> None:
    assert Gtid.parse("0-1-101") == Gtid(0, 101, 1)
    assert parse_gtid_list("0-1-100,2-5-7") == {0: Gtid(0, 100, 1), 2: Gtid(2, 7, 5)}
    assert parse_gtid_list("") == {}
    with pytest.raises(ReplayRangeError, match="domain-server-seq"):
        Gtid.parse("3E11FA47-71CA-11E1-9E33-C80AA9429562:23")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-23T05:00:00Z", dt.datetime(2026, 11, 23, 5, tzinfo=dt.UTC)),
    ("2026-11-23T05:00:00", dt.datetime(2026, 11, 23, 5, tzinfo=dt.UTC)),
    ("2026-11-23T07:00:00+02:00", dt.datetime(2026, 11, 23, 5, tzinfo=dt.UTC)),
    ("0", dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
])
def test_times(text: str, expected: dt.datetime) -> None:
    assert parse_time(text) == expected


RANGE_ERRORS = [
    ("no start", BinlogRange(), "exactly one"),
    ("two starts", BinlogRange(from_gtid=Gtid(0, 120, 1), from_time=NOW), "exactly one"),
    ("from in future", BinlogRange(from_time=NOW + dt.timedelta(seconds=1)), "in the future"),
    ("to in future", BinlogRange(from_time=NOW, to_time=NOW + dt.timedelta(days=1)),
     "in the future"),
    ("to before from", BinlogRange(from_time=NOW, to_time=NOW - dt.timedelta(1)), "before"),
    ("purged file", BinlogRange(from_pos=BinlogCoordinate("mariadb-bin.000001", 4)),
     "was purged"),
    ("future file", BinlogRange(from_pos=BinlogCoordinate("mariadb-bin.000009", 4)),
     "does not exist"),
    ("past end of file", BinlogRange(from_pos=BinlogCoordinate("mariadb-bin.000003", 9999)),
     "only 1000 bytes"),
    ("pos reversed", BinlogRange(from_pos=BinlogCoordinate("mariadb-bin.000004", 400),
                                 to_pos=BinlogCoordinate("mariadb-bin.000003", 400)), "before"),
    ("purged gtid", BinlogRange(from_gtid=Gtid(0, 99, 1)), "was purged"),
    ("gtid reversed", BinlogRange(from_gtid=Gtid(0, 120, 1), to_gtid=Gtid(0, 110, 1)), "before"),
    ("gtid domains", BinlogRange(from_gtid=Gtid(0, 120, 1), to_gtid=Gtid(1, 130, 1)),
     "same domain"),
]


@pytest.mark.parametrize(("name", "rng", "message"), RANGE_ERRORS,
                         ids=[case[0] for case in RANGE_ERRORS])
def test_binlog_range_errors(name: str, rng: BinlogRange, message: str) -> None:
    with pytest.raises(ReplayRangeError, match=message):
        check_binlog_range(rng, NOW, FILES, OLDEST)


@pytest.mark.parametrize("rng", [
    BinlogRange(from_gtid=Gtid(0, 100, 1), to_gtid=Gtid(0, 200, 1)),
    BinlogRange(from_pos=BinlogCoordinate("mariadb-bin.000003", 4),
                to_pos=BinlogCoordinate("mariadb-bin.000004", 5000)),
    BinlogRange(from_time=NOW - dt.timedelta(hours=1), to_time=NOW),
])
def test_binlog_ranges_held(rng: BinlogRange) -> None:
    check_binlog_range(rng, NOW, FILES, OLDEST)


def test_binlog_range_needs_logs() -> None:
    with pytest.raises(ReplayRangeError, match="no binary logs"):
        check_binlog_range(BinlogRange(from_time=NOW), NOW, [], {})


@pytest.mark.parametrize(("rng", "message"), [
    (KafkaRange(), "exactly one"),
    (KafkaRange(from_offset=1, from_time=NOW), "exactly one"),
    (KafkaRange(from_time=NOW + dt.timedelta(minutes=1)), "in the future"),
    (KafkaRange(from_offset=5, to_offset=4), "before"),
])
def test_kafka_range_errors(rng: KafkaRange, message: str) -> None:
    with pytest.raises(ReplayRangeError, match=message):
        check_kafka_range(rng, NOW)


def test_range_ends() -> None:
    inside = event(pos=400, gtid="0-1-150", ts=NOW - dt.timedelta(minutes=5))
    assert not past_end(inside, BinlogRange(to_gtid=Gtid(0, 150, 1)))
    assert past_end(inside, BinlogRange(to_gtid=Gtid(0, 149, 1)))
    assert not past_end(inside, BinlogRange(to_gtid=Gtid(1, 1, 1)))  # other domain
    assert past_end(inside, BinlogRange(to_pos=BinlogCoordinate("mariadb-bin.000004", 399)))
    assert not past_end(inside, BinlogRange(to_pos=BinlogCoordinate("mariadb-bin.000004", 400)))
    assert past_end(inside, BinlogRange(to_time=NOW - dt.timedelta(minutes=6)))
    assert before_start(inside, BinlogRange(from_time=NOW - dt.timedelta(minutes=4)))
    assert not before_start(inside, BinlogRange(from_time=NOW - dt.timedelta(minutes=5)))


RULES = {"app.users": TableConfig(cache_keys=["user:{id}"], action="invalidate"),
         "app.orders": TableConfig(cache_keys=["order:{id}"], action="rewrite")}


def fake_decide(e: ChangeEvent, rule: TableConfig) -> list[CacheAction]:
    if rule.action == "rewrite":
        return [CacheAction("rewrite", template.format(**e.row), e.version, 60, b"{}")
                for template in rule.cache_keys]
    return [CacheAction("invalidate", template.format(**e.row), e.version, 60)
            for template in rule.cache_keys]


def kinds(actions: list[CacheAction]) -> list[tuple[str, str]]:
    return [(action.kind, action.key) for action in actions]


@pytest.mark.parametrize(("e", "mode", "selection", "expected"), [
    (event(), None, ReplayFilter(), [("invalidate", "user:7")]),
    (event(), "rewrite", ReplayFilter(), [("rewrite", "user:7")]),
    (event(table="app.orders"), "invalidate", ReplayFilter(), [("invalidate", "order:7")]),
    (event(table="app.unknown"), None, ReplayFilter(), []),
    (event(), None, ReplayFilter(tables=frozenset({"app.orders"})), []),
    (event(), None, ReplayFilter(keys=frozenset({"7"})), [("invalidate", "user:7")]),
    (event(), None, ReplayFilter(keys=frozenset({"user:7"})), [("invalidate", "user:7")]),
    (event(), None, ReplayFilter(keys=frozenset({"8", "user:8"})), []),
])
def test_plan_event(e: ChangeEvent, mode: ReplayMode | None, selection: ReplayFilter,
                    expected: list[tuple[str, str]]) -> None:
    assert kinds(plan_event(e, RULES, fake_decide, mode, selection)) == expected


def test_tables_and_keys_file() -> None:
    assert check_tables(["app.users"], RULES) == frozenset({"app.users"})
    with pytest.raises(ReplayRangeError, match=r"unknown table\(s\) app.nope"):
        check_tables(["app.nope"], RULES)
    assert read_keys_file(["7\n", "\n", "# comment\n", " user:8 \n"]) == {"7", "user:8"}
