"""Fakes for unit tests of pure logic (never for integration tests)."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.actions import CacheAction, CacheEntry, Outcome


class FencedStore:
    """In-memory CacheStore with fence.lua's rule: strictly newer versions land."""

    def __init__(self, region: str = "test") -> None:
        self.region = region
        self.data: dict[str, CacheEntry] = {}
        self.reads = 0

    async def apply(self, actions: Sequence[CacheAction]) -> list[Outcome]:
        outcomes = []
        for action in actions:
            current = self.data.get(action.key)
            if current is not None and current.version >= action.version:
                outcomes.append(Outcome.FENCED)
                continue
            value = None if action.kind == "invalidate" else action.value
            self.data[action.key] = CacheEntry(action.version, value)
            outcomes.append(Outcome.APPLIED)
        return outcomes

    async def read(self, keys: Sequence[str]) -> list[CacheEntry | None]:
        self.reads += 1
        return [self.data.get(key) for key in keys]
