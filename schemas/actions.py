"""Cache actions and entries: what the decision cores ask a region's cache to do.

Every action is fenced by version in the store (one Redis script per operation): it lands
only if its version is strictly newer than the version stored for that cache key, whether
the stored thing is a value or a tombstone. A delete is never a bare ``DEL``: it writes a
tombstone carrying the version, so a late or stale write cannot resurrect old data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal, NamedTuple, Protocol

ActionKind = Literal["rewrite", "invalidate", "fill"]


class CacheAction(NamedTuple):
    """One fenced write to one cache key (a tuple: the consumers make one per change event,
    and a frozen dataclass costs four times as much to build)."""

    kind: ActionKind
    """``rewrite``: store ``value``; ``invalidate``: store a tombstone; ``fill``: store
    ``value`` on behalf of the reconciler or an application (cache-aside)."""
    key: str
    """The cache key, rendered from the table's template."""
    version: str
    """The fence (32 hex chars, :mod:`schemas.versions`)."""
    ttl_seconds: int
    """Expiry of the value or tombstone."""
    value: bytes | None = None
    """The projected row image as JSON (``rewrite`` and ``fill``); None for ``invalidate``."""


class Outcome(Enum):
    """What the fence did with an action."""

    APPLIED = "applied"
    FENCED = "fenced"
    """Rejected: the store already holds this version or a newer one."""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """What a region holds for one cache key."""

    version: str
    value: bytes | None
    """None when the entry is a tombstone."""

    @property
    def is_tombstone(self) -> bool:
        return self.value is None


class CacheStore(Protocol):
    """A region's cache, as the consumers, the reconciler and the replay engine see it."""

    region: str

    async def apply(self, actions: Sequence[CacheAction]) -> list[Outcome]:
        """Apply fenced actions in order, one outcome per action; raises on I/O failure."""
        ...

    async def read(self, keys: Sequence[str]) -> list[CacheEntry | None]:
        """Entries for the keys (None where nothing is stored), in one round trip."""
        ...
