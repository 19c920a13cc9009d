"""The real fence script in both regions: convergence, stale fills, leases, exactness."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from consumers.store import RedisStore
from schemas.actions import CacheAction, Outcome
from schemas.config import Dsn
from schemas.events import ChangeEvent
from schemas.versions import binlog_version, encode_version
from tests.fence_property import apply_all, deliveries


@pytest.fixture(params=["east", "west"])
def region(request: pytest.FixtureRequest, stack: object) -> Iterator[str]:
    yield request.param


def store_for(stack: object, region: str) -> RedisStore:
    return RedisStore(region, Dsn(stack.redis_urls[region]))  # type: ignore[attr-defined]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deliveries())
def test_real_fence_converges(stack: object,
                              case: tuple[list[ChangeEvent], list[ChangeEvent]]) -> None:
    ordered, shuffled = case

    async def run() -> None:
        store = store_for(stack, "east")
        try:
            keys = sorted({f"p:{a.row['id']}" for a in ordered})
            await store.client.delete(*keys)  # hypothesis may reuse a prefix across examples
            await apply_all(store, ordered, batch=1)
            once = await store.read(keys)
            await store.client.delete(*keys)
            await apply_all(store, shuffled, batch=4)
            assert await store.read(keys) == once
            await store.client.delete(*keys)
        finally:
            await store.close()

    asyncio.run(run())


async def test_stale_fill_loses_to_tombstone_and_newer_entry(stack: object, region: str) -> None:
    store = store_for(stack, region)
    key = f"race:{uuid.uuid4().hex}"
    old, new = binlog_version(0, 1, 100, 1), binlog_version(0, 1, 200, 1)
    try:
        assert await store.apply([CacheAction("invalidate", key, new, 60)]) == [Outcome.APPLIED]
        # The slow cache-aside fill read the row before the change: it carries the old version.
        assert await store.apply([CacheAction("fill", key, old, 60, b"stale")]) == [
            Outcome.FENCED]
        assert (await store.read([key]))[0] is not None
        assert (await store.read([key]))[0].is_tombstone  # type: ignore[union-attr]
        newer = binlog_version(0, 1, 300, 1)
        await store.apply([CacheAction("rewrite", key, newer, 60, b"fresh")])
        assert await store.apply([CacheAction("fill", key, new, 60, b"stale")]) == [
            Outcome.FENCED]
        entry = (await store.read([key]))[0]
        assert entry is not None and entry.value == b"fresh" and entry.version == newer
    finally:
        await store.close()


async def test_lease_fill_is_cancelled_by_a_write(stack: object, region: str) -> None:
    store = store_for(stack, region)
    key = f"lease:{uuid.uuid4().hex}"
    try:
        value, token = await store.lease_get(key)
        assert value is None and token is not None
        await store.apply([CacheAction("invalidate", key, binlog_version(0, 1, 9, 1), 60)])
        assert not await store.lease_fill(key, token, b"read-before-change", 60)
        value, token = await store.lease_get(key)
        assert value is None and token is not None
        assert await store.lease_fill(key, token, b"fresh", 60)
        assert (await store.lease_get(key))[0] == b"fresh"
        # A change after the fill still wins: the fill kept the tombstone's version.
        assert await store.apply(
            [CacheAction("rewrite", key, binlog_version(0, 1, 10, 1), 60, b"newer")]
        ) == [Outcome.APPLIED]
    finally:
        await store.close()


async def test_versions_compare_exactly_beyond_double_precision(stack: object,
                                                                region: str) -> None:
    store = store_for(stack, region)
    key = f"exact:{uuid.uuid4().hex}"
    base = 2**100
    try:
        await store.apply([CacheAction("rewrite", key, encode_version(base + 2), 60, b"a")])
        # base + 1 and base + 2 are the same double: only an exact comparison fences this.
        assert await store.apply(
            [CacheAction("rewrite", key, encode_version(base + 1), 60, b"b")]) == [
            Outcome.FENCED]
        assert await store.apply(
            [CacheAction("rewrite", key, encode_version(base + 3), 60, b"c")]) == [
            Outcome.APPLIED]
    finally:
        await store.close()
