"""The reconciler's classification and repair rules, one table row per case."""

from __future__ import annotations

import pytest

from reconciler.classify import (
    DriftClass,
    ExpectedEntry,
    classify,
    counts_as_drift,
    next_version,
    plan_repair,
)
from schemas.actions import CacheAction, CacheEntry
from schemas.config import TableConfig
from schemas.versions import binlog_version, snapshot_version

S = snapshot_version(0, 7, 5000)
BEFORE = binlog_version(0, 7, 4000, 1)
AFTER = binlog_version(0, 7, 5000, 1)
OLDER = binlog_version(0, 6, 9000, 3)
REWRITE = TableConfig(cache_keys=["t:{id}"], action="rewrite", ttl_seconds=60,
                      tombstone_ttl_seconds=600)
INVALIDATE = TableConfig(cache_keys=["t:{id}"], action="invalidate")
WARM = TableConfig(cache_keys=["t:{id}"], action="rewrite", warm=True)
VCOL = TableConfig(cache_keys=["t:{id}"], action="rewrite", version_column="version")

V10 = f"{10:032x}"
V11 = f"{11:032x}"
V9 = f"{9:032x}"
ROW_S = ExpectedEntry(b'{"id":1,"n":"a"}', S)
ROW_V10 = ExpectedEntry(b'{"id":1,"n":"a"}', V10)
GOOD = b'{"id":1,"n":"a"}'
BAD = b'{"id":1,"n":"zz"}'


def value(version: str, data: bytes = GOOD) -> CacheEntry:
    return CacheEntry(version, data)


def tomb(version: str) -> CacheEntry:
    return CacheEntry(version, None)


CASES = [
    # (name, row, entry, rule, class)
    ("consistent at an older change", ROW_S, value(BEFORE), REWRITE, None),
    ("stream ahead of the snapshot", ROW_S, value(AFTER, BAD), REWRITE, None),
    ("stale value", ROW_S, value(BEFORE, BAD), REWRITE, DriftClass.STALE),
    ("earlier reconcile fill, same value", ROW_S, value(S), REWRITE, None),
    ("corrupt at the snapshot version", ROW_S, value(S, BAD), REWRITE, DriftClass.CORRUPT),
    ("missing", ROW_S, None, REWRITE, DriftClass.MISSING),
    ("tombstone over live row", ROW_S, tomb(BEFORE), REWRITE,
     DriftClass.TOMBSTONE_OVER_LIVE_ROW),
    ("tombstone at the snapshot version", ROW_S, tomb(S), REWRITE,
     DriftClass.TOMBSTONE_OVER_LIVE_ROW),
    ("delete after the snapshot", ROW_S, tomb(AFTER), REWRITE, None),
    ("invalidated entry is a miss", ROW_S, tomb(BEFORE), INVALIDATE, DriftClass.MISSING),
    ("invalidate table, stale app fill", ROW_S, value(BEFORE, BAD), INVALIDATE,
     DriftClass.STALE),
    ("orphan", None, value(BEFORE), REWRITE, DriftClass.ORPHAN),
    ("orphan at snapshot version", None, value(S), REWRITE, DriftClass.ORPHAN),
    ("row inserted after the snapshot", None, value(AFTER), REWRITE, None),
    ("deleted row, tombstone", None, tomb(BEFORE), REWRITE, None),
    ("deleted row, nothing cached", None, None, REWRITE, None),
    ("vcol consistent", ROW_V10, value(V10), VCOL, None),
    ("vcol corrupt", ROW_V10, value(V10, BAD), VCOL, DriftClass.CORRUPT),
    ("vcol stale", ROW_V10, value(V9, BAD), VCOL, DriftClass.STALE),
    ("vcol older version, same value", ROW_V10, value(V9), VCOL, None),
    ("vcol newer", ROW_V10, value(V11, BAD), VCOL, None),
    ("vcol tombstone over live row", ROW_V10, tomb(V9), VCOL,
     DriftClass.TOMBSTONE_OVER_LIVE_ROW),
    ("vcol orphan (versions unrelated to S)", None, value(f"{2**120:032x}"), VCOL,
     DriftClass.ORPHAN),
]


@pytest.mark.parametrize(("name", "row", "entry", "rule", "expected"), CASES,
                         ids=[case[0] for case in CASES])
def test_classify(name: str, row: ExpectedEntry | None, entry: CacheEntry | None,
                  rule: TableConfig, expected: DriftClass | None) -> None:
    assert classify(row, entry, S, rule) is expected


def fill(version: str) -> CacheAction:
    return CacheAction("fill", "t:1", version, 60, GOOD)


def invalidate(version: str, ttl: int = 600) -> CacheAction:
    return CacheAction("invalidate", "t:1", version, ttl)


REPAIRS = [
    ("stale: fill at S", DriftClass.STALE, ROW_S, value(BEFORE, BAD), REWRITE, fill(S)),
    ("tombstone: fill at S", DriftClass.TOMBSTONE_OVER_LIVE_ROW, ROW_S, tomb(BEFORE), REWRITE,
     fill(S)),
    ("tombstone at S: left alone", DriftClass.TOMBSTONE_OVER_LIVE_ROW, ROW_S, tomb(S), REWRITE,
     None),
    ("corrupt at S: tombstone at S+1", DriftClass.CORRUPT, ROW_S, value(S, BAD), REWRITE,
     invalidate(next_version(S))),
    ("missing, not warm: nothing", DriftClass.MISSING, ROW_S, None, REWRITE, None),
    ("orphan: tombstone at S", DriftClass.ORPHAN, None, value(BEFORE), REWRITE, invalidate(S)),
    ("orphan at S: tombstone at S+1", DriftClass.ORPHAN, None, value(S), REWRITE,
     invalidate(next_version(S))),
    ("vcol stale: fill at row version", DriftClass.STALE, ROW_V10, value(V9, BAD), VCOL,
     CacheAction("fill", "t:1", V10, 3600, GOOD)),
    ("vcol corrupt: tombstone at V+1", DriftClass.CORRUPT, ROW_V10, value(V10, BAD), VCOL,
     invalidate(V11, 86_400)),
    ("vcol orphan: tombstone at E.v+1", DriftClass.ORPHAN, None, value(V10), VCOL,
     invalidate(V11, 86_400)),
]


@pytest.mark.parametrize(("name", "drift", "row", "entry", "rule", "expected"), REPAIRS,
                         ids=[case[0] for case in REPAIRS])
def test_plan_repair(name: str, drift: DriftClass, row: ExpectedEntry | None,
                     entry: CacheEntry | None, rule: TableConfig,
                     expected: CacheAction | None) -> None:
    assert classify(row, entry, S, rule) is drift
    assert plan_repair(drift, key="t:1", row=row, entry=entry, snapshot_version=S,
                       rule=rule) == expected


def test_missing_is_filled_on_warm_tables_only() -> None:
    assert plan_repair(DriftClass.MISSING, key="t:1", row=ROW_S, entry=None,
                       snapshot_version=S, rule=WARM) == CacheAction("fill", "t:1", S, 3600, GOOD)
    assert counts_as_drift(DriftClass.MISSING, WARM)
    assert not counts_as_drift(DriftClass.MISSING, REWRITE)
    assert counts_as_drift(DriftClass.ORPHAN, REWRITE)


def test_repairs_always_outrank_the_entry_they_replace() -> None:
    for _, drift, row, entry, rule, _ in REPAIRS:
        action = plan_repair(drift, key="t:1", row=row, entry=entry, snapshot_version=S,
                             rule=rule)
        if action is not None and entry is not None:
            assert action.version > entry.version
