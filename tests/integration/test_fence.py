"""The real fence script in both regions: convergence, stale fills, leases, exactness."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from consumers.store import FenceRefused, RedisStore
from schemas.actions import CacheAction, CacheEntry, Outcome
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


async def test_a_refused_key_does_not_stop_the_rest_of_the_call(stack: object,
                                                                region: str) -> None:
    store = store_for(stack, region)
    prefix = uuid.uuid4().hex
    foreign, odd, fine = f"{prefix}:foreign", f"{prefix}:odd", f"{prefix}:fine"
    version = binlog_version(0, 1, 100, 1)
    try:
        await store.client.set(foreign, "an application's string")
        await store.client.hset(odd, "v", "12")
        with pytest.raises(FenceRefused) as refused:
            await store.apply([CacheAction("rewrite", foreign, version, 60, b"a"),
                               CacheAction("rewrite", odd, version, 60, b"b"),
                               CacheAction("rewrite", fine, version, 60, b"c")])
        assert refused.value.outcomes == [Outcome.FENCED, Outcome.FENCED, Outcome.APPLIED]
        assert set(refused.value.refused) == {0, 1}
        assert "WRONGTYPE" in refused.value.refused[0]
        assert "32 lowercase hex" in refused.value.refused[1]
        assert await store.client.get(foreign) == b"an application's string"
        assert (await store.read([fine]))[0] == CacheEntry(version, b"c")
    finally:
        await store.client.delete(foreign, odd, fine)
        await store.close()


async def test_entry_layout_is_readable_by_applications(stack: object, region: str) -> None:
    store = store_for(stack, region)
    key = f"layout:{uuid.uuid4().hex}"
    v1, v2 = binlog_version(0, 1, 100, 1), binlog_version(0, 1, 200, 1)
    try:
        await store.apply([CacheAction("rewrite", key, v1, 60, b'{"id":1}')])
        assert await store.client.hgetall(key) == {b"v": v1.encode(), b"d": b'{"id":1}'}
        assert 0 < await store.client.ttl(key) <= 60
        await store.apply([CacheAction("invalidate", key, v2, 900)])
        assert await store.client.hgetall(key) == {b"v": v2.encode(), b"t": b"1"}
        assert 60 < await store.client.ttl(key) <= 900
    finally:
        await store.close()


async def test_a_redis_without_the_script_gets_it_loaded(stack: object, region: str) -> None:
    """The fence call is sent as written by consumers/_plan.c: on NOSCRIPT (a restarted or
    flushed Redis) the store loads the script and sends the call again."""
    store = store_for(stack, region)
    key = f"noscript:{uuid.uuid4().hex}"
    try:
        await store.client.script_flush()
        assert await store.apply([CacheAction("rewrite", key, "1" * 32, 60, b"v")]) == [
            Outcome.APPLIED]
        assert await store.read([key]) == [CacheEntry("1" * 32, b"v")]
    finally:
        await store.client.delete(key)
        await store.close()
