"""A region's Redis as a :class:`schemas.actions.CacheStore`: the fence, batched.

Each entry is one Redis HASH named by the cache key (layout in ``fence.lua``), so an entry
has no companion keys and Redis Cluster needs no hash tags for it. Applications read a
value with ``HGET <key> d`` (nil: a miss or a tombstone) and fill through :meth:`lease_get`
/ :meth:`lease_fill`, or through ``fill`` actions when they know the row's version.

Writes go out as one ``fence.lua`` call per batch of up to ``BATCH`` actions: the script
runs atomically, so a batch's actions land in order with no interleaving. On Redis Cluster
a batch must be split by slot first; this adapter targets a single Redis per region.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from importlib.resources import files
from typing import Final

import redis.asyncio as aioredis

from schemas.actions import CacheAction, CacheEntry, Outcome
from schemas.config import Dsn

BATCH: Final = 500
LEASE_TTL_SECONDS: Final = 10

_FENCE: Final = (files("consumers") / "fence.lua").read_text(encoding="utf-8")
_LEASE: Final = (files("consumers") / "lease.lua").read_text(encoding="utf-8")
_OP: Final = {"rewrite": b"w", "fill": b"w", "invalidate": b"x"}


class RedisStore:
    """One region's cache."""

    def __init__(self, region: str, url: Dsn, *, socket_timeout_s: float = 5.0) -> None:
        self.region = region
        self._redis = aioredis.Redis.from_url(
            url.reveal(), socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s,
            protocol=2,
        )
        self._fence = self._redis.register_script(_FENCE)
        self._lease = self._redis.register_script(_LEASE)

    @property
    def client(self) -> aioredis.Redis:
        return self._redis

    async def close(self) -> None:
        await self._redis.aclose()

    async def apply(self, actions: Sequence[CacheAction]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for start in range(0, len(actions), BATCH):
            chunk = actions[start:start + BATCH]
            args: list[bytes | str | int] = []
            for action in chunk:
                args += [_OP[action.kind], action.version, action.ttl_seconds, action.value or b""]
            result = await self._fence(keys=[a.key for a in chunk], args=args)
            outcomes += [Outcome.APPLIED if flag == 1 else Outcome.FENCED for flag in result]
        return outcomes

    async def read(self, keys: Sequence[str]) -> list[CacheEntry | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key, "v", "d", "t")
            rows = await pipe.execute()
        entries: list[CacheEntry | None] = []
        for version, value, tombstone in rows:
            if version is None:
                entries.append(None)
            else:
                entries.append(CacheEntry(version.decode(), None if tombstone else value))
        return entries

    async def scan(self, glob: str, batch: int) -> AsyncIterator[list[str]]:
        """Keys matching a glob, in batches (a key may repeat, as SCAN allows)."""
        cursor = 0
        while True:
            cursor, found = await self._redis.scan(cursor, match=glob, count=batch)
            if found:
                yield [key.decode() if isinstance(key, bytes) else key for key in found]
            if cursor == 0:
                return

    async def lease_get(self, key: str) -> tuple[bytes | None, str | None]:
        """Cache-aside read: ``(value, None)`` on a hit, ``(None, token)`` on a miss."""
        token = secrets.token_hex(8)
        result = await self._lease(keys=[key], args=[token, LEASE_TTL_SECONDS])
        if result[0] is not None:
            return result[0], None
        return None, token

    async def lease_fill(self, key: str, token: str, value: bytes, ttl_seconds: int) -> bool:
        """Store what the application read after :meth:`lease_get`, unless a write came since."""
        result = await self._lease(keys=[key], args=[token, ttl_seconds, "fill", value])
        return bool(result == 1)
