"""A region's Redis as a :class:`schemas.actions.CacheStore`: the fence, batched.

Redis layout of an entry: one HASH per cache key, named by the rendered key itself
(``user:7:profile``), with the fields

==== ==========================================================================
``v`` version of the row state held: 32 lowercase hex digits (:mod:`schemas.versions`)
``d`` the value: the projected row as JSON, keys sorted (absent in a tombstone)
``t`` ``1`` when the entry is a tombstone (a delete or an invalidation)
``l`` a cache-aside lease token (only on a miss or tombstone an application leased)
==== ==========================================================================

and the TTL of the value (``ttl_seconds``) or of the tombstone (``tombstone_ttl_seconds``).
Applications read ``HGET <key> d`` (nil: a miss or a tombstone) and fill either with a
``fill`` action carrying the row's version, or through :meth:`RedisStore.lease_get` /
:meth:`RedisStore.lease_fill` when they do not know it. Since an entry is a single key it
has no companion keys, so it needs no hash tag and any cache key works on Redis Cluster.

Writes go out as one ``fence.lua`` call (EVALSHA, the command written by
``consumers/_plan.c``, the script loaded on NOSCRIPT) per chunk of up to ``BATCH`` actions:
the script runs atomically, so a chunk's actions land in order with no interleaving, and
one round trip carries hundreds of fenced writes. On Redis Cluster the
keys of one script call must share a slot: a cluster adapter would group a batch by
``keyslot`` first (one call per slot and node); this adapter targets one Redis per region.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from importlib.resources import files
from typing import Any, Final

import redis.asyncio as aioredis
import redis.exceptions as rex

from consumers import _plan
from consumers.decide import VERSION_PATTERN
from schemas.actions import CacheAction, CacheEntry, Outcome
from schemas.config import Dsn

BATCH: Final = 500
READ_BATCH: Final = 1000
LEASE_TTL_SECONDS: Final = 10

_FENCE: Final = (files("consumers") / "fence.lua").read_text(encoding="utf-8")
_LEASE: Final = (files("consumers") / "lease.lua").read_text(encoding="utf-8")
_READ: Final = (files("consumers") / "read.lua").read_text(encoding="utf-8")
_OP: Final = {"rewrite": b"w", "fill": b"w", "invalidate": b"x"}


_TRANSIENT_REPLIES: Final = ("BUSY", "MASTERDOWN", "LOADING", "CLUSTERDOWN", "NOREPLICAS")


def is_transient(exc: BaseException) -> bool:
    """Whether a Redis failure is worth retrying (the server is unreachable, busy, read-only
    during a failover, or out of memory) rather than a refusal of this particular write."""
    if isinstance(exc, rex.ConnectionError | rex.TimeoutError | OSError | rex.ReadOnlyError
                  | rex.OutOfMemoryError | rex.TryAgainError):
        return True
    return isinstance(exc, rex.ResponseError) and str(exc).startswith(_TRANSIENT_REPLIES)


def pack(action: CacheAction) -> bytes:
    """One action as fence.lua's ARGV entry: op, version, 10-digit ttl, value (what
    ``consumers/_plan.c`` writes for the actions it plans)."""
    if VERSION_PATTERN.fullmatch(action.version) is None:
        raise ValueError(f"version {action.version!r} is not 32 lowercase hex digits")
    if not 0 < action.ttl_seconds < 10**10:
        raise ValueError(f"ttl_seconds {action.ttl_seconds} does not fit in 10 digits")
    return b"%s%s%010d%s" % (_OP[action.kind], action.version.encode(), action.ttl_seconds,
                             action.value or b"")


class FenceRefused(rex.ResponseError):
    """Redis refused some actions of a call (e.g. WRONGTYPE: the key holds a foreign value);
    the other actions were applied or fenced as ``outcomes`` says."""

    def __init__(self, outcomes: list[Outcome], refused: dict[int, str]) -> None:
        super().__init__(f"{len(refused)} cache key(s) refused: {next(iter(refused.values()))}")
        self.outcomes = outcomes
        """One per action; a refused action counts as FENCED (nothing was written)."""
        self.refused = refused
        """action index → Redis's reason."""


class RedisStore:
    """One region's cache."""

    def __init__(self, region: str, url: Dsn, *, socket_timeout_s: float = 5.0) -> None:
        self.region = region
        self._redis = aioredis.Redis.from_url(
            url.reveal(), socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s,
            protocol=2,
        )
        self._fence_sha = self._redis.register_script(_FENCE).sha.encode()
        self._lease = self._redis.register_script(_LEASE)
        self._read = self._redis.register_script(_READ)

    @property
    def client(self) -> aioredis.Redis:
        return self._redis

    async def close(self) -> None:
        await self._redis.aclose()

    async def apply(self, actions: Sequence[CacheAction]) -> list[Outcome]:
        """Fenced writes in order; raises :class:`FenceRefused` after applying the rest if
        Redis refused some keys, and a redis-py error if a call failed as a whole."""
        return await self.apply_packed([a.key for a in actions], [pack(a) for a in actions])

    async def apply_packed(self, keys: list[str], packed: list[bytes]) -> list[Outcome]:
        """:meth:`apply` of actions already packed (:func:`pack`), one per key."""
        outcomes: list[Outcome] = []
        refused: dict[int, str] = {}
        for start in range(0, len(keys), BATCH):
            stop = min(start + BATCH, len(keys))
            replies = await self._call_fence(_plan.evalsha(self._fence_sha, keys, packed,
                                                           start, stop))
            for index, reply in enumerate(replies, start=start):
                if isinstance(reply, bytes):
                    refused[index] = reply.decode(errors="replace")
                    outcomes.append(Outcome.FENCED)
                else:
                    outcomes.append(Outcome.APPLIED if reply == 1 else Outcome.FENCED)
        if refused:
            raise FenceRefused(outcomes, refused)
        return outcomes

    async def _call_fence(self, command: bytes) -> Any:
        """Sends a fence call written by :func:`consumers._plan.evalsha` and reads its
        reply, loading the script first if this Redis does not have it (NOSCRIPT)."""
        try:
            return await self._send(command)
        except rex.NoScriptError:
            await self._redis.script_load(_FENCE)
            return await self._send(command)

    async def _send(self, command: bytes) -> Any:
        pool = self._redis.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await conn.send_packed_command(command)
            return await conn.read_response()
        except rex.ResponseError:
            raise  # the reply was read whole: the connection is fine
        except BaseException:
            # Cancelled, timed out or broken halfway: a reply may still be on its way, so
            # the connection must not serve another call.
            await conn.disconnect(nowait=True)
            raise
        finally:
            await pool.release(conn)

    async def read(self, keys: Sequence[str]) -> list[CacheEntry | None]:
        entries: list[CacheEntry | None] = []
        for start in range(0, len(keys), READ_BATCH):
            flat = await self._read(keys=list(keys[start:start + READ_BATCH]))
            for i in range(0, len(flat), 3):
                version, value, tombstone = flat[i], flat[i + 1], flat[i + 2]
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
