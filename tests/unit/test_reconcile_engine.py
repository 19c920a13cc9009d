"""A chunk compared with two regions: counts, repairs through the fence, dry run."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from reconciler.codec import TableCodec
from reconciler.engine import ReconcileOptions, Reconciler, TableSpec
from reconciler.snapshot import SnapshotPosition
from schemas.actions import CacheAction, CacheEntry
from schemas.config import Settings, TableConfig, parse_settings
from schemas.versions import binlog_version
from tests.fakes import FencedStore

RULE = TableConfig(cache_keys=["t:{id}"], action="rewrite", warm=True)
SETTINGS: Settings = parse_settings({
    "source": {"dsn": "mysql://u@127.0.0.1:1/"},
    "kafka": {"bootstrap_servers": ["127.0.0.1:9"]},
    "regions": {"east": {"redis_url": "redis://127.0.0.1:1"},
                "west": {"redis_url": "redis://127.0.0.1:2"}},
    "tables": {"app.t": RULE.model_dump()},
})
TABLE = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String(8)), schema="app")
SPEC = TableSpec("app.t", RULE, TABLE, ("id",), ("id", "name"),
                 TableCodec(RULE, {"id": "int", "name": "varchar"}))
SNAPSHOT = SnapshotPosition("mariadb-bin.000002", 9000, "0-1-5", 0)
OLD = binlog_version(0, 2, 100, 1)


def reconciler(stores: dict[str, FencedStore], *, dry_run: bool) -> Reconciler:
    return Reconciler(settings=SETTINGS, source=sa.create_engine("sqlite://"), runs=None,  # type: ignore[arg-type]
                      stores=stores, scanners={}, codec_factory=lambda *_: SPEC.codec,
                      options=ReconcileOptions(dry_run=dry_run))


def value(row_id: int, name: str) -> bytes:
    return json.dumps({"id": row_id, "name": name}, separators=(",", ":")).encode()


@pytest.mark.parametrize("dry_run", [False, True])
async def test_one_chunk_two_regions(dry_run: bool) -> None:
    east, west = FencedStore("east"), FencedStore("west")
    east.data = {"t:1": CacheEntry(OLD, value(1, "a")), "t:2": CacheEntry(OLD, b"old"),
                 "t:3": CacheEntry(OLD, None)}
    west.data = {"t:1": CacheEntry(OLD, value(1, "a"))}
    before = {region: dict(store.data) for region, store in (("east", east), ("west", west))}
    rec = reconciler({"east": east, "west": west}, dry_run=dry_run)
    await rec.compare_rows(SPEC, [(1, "a"), (2, "b"), (3, "c")], SNAPSHOT)  # type: ignore[list-item]
    counts = rec.tally.tables["app.t"]
    assert counts["rows_scanned"] == 3
    e, w = counts["regions"]["east"], counts["regions"]["west"]
    assert (e["stale"], e["tombstone_over_live_row"], e["missing"], e["planned"]) == (1, 1, 0, 2)
    assert (w["missing"], w["planned"]) == (2, 2)
    assert east.reads == 1 and west.reads == 1  # one round trip per region per chunk
    if dry_run:
        assert (e["applied"], w["applied"]) == (0, 0)
        assert {"east": east.data, "west": west.data} == before
        return
    assert (e["applied"], w["applied"]) == (2, 2)
    for store in (east, west):
        assert store.data["t:2"] == CacheEntry(SNAPSHOT.version, value(2, "b"))
        assert store.data["t:3"] == CacheEntry(SNAPSHOT.version, value(3, "c"))
    # A second pass over the same snapshot finds nothing.
    again = reconciler({"east": east, "west": west}, dry_run=False)
    await again.compare_rows(SPEC, [(1, "a"), (2, "b"), (3, "c")], SNAPSHOT)  # type: ignore[list-item]
    assert again.tally.drift({"app.t": True}) == 0


async def test_live_write_between_read_and_repair_wins() -> None:
    """The stream writes a newer version after the compare read: the repair is fenced."""
    newer = binlog_version(0, 2, 9500, 1)

    class RacingStore(FencedStore):
        async def read(self, keys: Sequence[str]) -> list[CacheEntry | None]:
            entries = await super().read(keys)
            await FencedStore.apply(self, [CacheAction("rewrite", "t:2", newer, 60, b"live")])
            return entries

    east = RacingStore("east")
    east.data = {"t:2": CacheEntry(OLD, b"old")}
    rec = reconciler({"east": east}, dry_run=False)
    await rec.compare_rows(SPEC, [(2, "b")], SNAPSHOT)  # type: ignore[list-item]
    region = rec.tally.tables["app.t"]["regions"]["east"]
    assert (region["stale"], region["applied"], region["fenced"]) == (1, 0, 1)
    assert east.data["t:2"] == CacheEntry(newer, b"live")
