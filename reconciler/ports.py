"""What the reconciler needs from the rest of cachesync, as Protocols.

The row codec turns a DB row read at the snapshot into what the consumers would have
written for it (wire values, cache keys, projected value, version column); the key scanner lists a
region's cache keys for the orphan scan. The production adapters live in
:mod:`reconciler.adapters`; unit tests pass fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol


class RowCodec(Protocol):
    """One table's rows as the consumers see them."""

    def wire(self, columns: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
        """A row read from the DB (``values`` of ``columns``) in its JSON-safe wire form,
        exactly as the CDC worker would have decoded it from the binlog."""
        ...

    def keys(self, row: Mapping[str, Any]) -> list[str]:
        """Every cache key the row renders to (one per template)."""
        ...

    def render(self, template: str, row: Mapping[str, Any]) -> str:
        """The key one template renders for the row."""
        ...

    def value(self, row: Mapping[str, Any]) -> bytes:
        """The projected value, byte for byte what a ``rewrite`` of this row stores."""
        ...

    def version(self, row: Mapping[str, Any]) -> str | None:
        """The wire row's version from its version column; None when the table has none."""
        ...


class KeyScanner(Protocol):
    """A region's cache keys (logical keys, as in :class:`schemas.actions.CacheAction`)."""

    def scan(self, glob: str, batch: int) -> AsyncIterator[list[str]]:
        """Keys matching a Redis glob, in batches; a key may appear more than once."""
        ...
