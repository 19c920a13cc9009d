"""What a change event does to the cache: pure, no I/O.

The rule table below is the whole policy: for a table configured with ``action`` and an
event of ``op``, which fenced cache operation each of the row's cache keys gets. Every
action carries the event's version, so the store's fence, not the order of arrival,
decides what wins.

Key changes need no rule of their own: the CDC worker turns an update that moves the
primary or partition key into a delete of the old key and an insert of the new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from schemas.actions import ActionKind, CacheAction
from schemas.config import TableConfig, template_fields
from schemas.events import ChangeEvent, Op
from schemas.values import encode_projection

RULES: Final[dict[tuple[str, Op], ActionKind]] = {
    ("rewrite", "insert"): "rewrite",
    ("rewrite", "update"): "rewrite",
    ("rewrite", "delete"): "invalidate",
    ("invalidate", "insert"): "invalidate",
    ("invalidate", "update"): "invalidate",
    ("invalidate", "delete"): "invalidate",
}
"""(table action, event op) → cache operation. An insert under ``invalidate`` still writes a
tombstone: it fences out a fill that read the row before it existed."""


class DecisionError(ValueError):
    """The event cannot be turned into cache actions (a template column is missing)."""


def render_key(template: str, row: Mapping[str, Any]) -> str:
    """The cache key a template renders for a row of wire values."""
    values = {}
    for name in template_fields(template):
        value = row.get(name)
        if value is None:
            raise DecisionError(f"cache key {template!r}: column {name!r} is missing or NULL")
        values[name] = value
    return template.format_map(values)


def cache_keys(rule: TableConfig, row: Mapping[str, Any]) -> list[str]:
    return [render_key(template, row) for template in rule.cache_keys]


def decide(event: ChangeEvent, rule: TableConfig) -> list[CacheAction]:
    """The fenced cache actions for one change event under its table's rule."""
    kind = RULES[(rule.action, event.op)]
    row = event.row
    if kind == "invalidate":
        return [
            CacheAction("invalidate", key, event.version, rule.tombstone_ttl_seconds)
            for key in cache_keys(rule, row)
        ]
    value = encode_projection(row, rule.columns)
    return [
        CacheAction(kind, key, event.version, rule.ttl_seconds, value)
        for key in cache_keys(rule, row)
    ]


def coalesce(actions: Iterable[CacheAction]) -> list[CacheAction]:
    """Keep only the newest action per cache key, in first-seen key order.

    Safe because the fence makes the older ones no-ops once the newest has landed; the
    versions are equal-length hex, so string order is numeric order.
    """
    newest: dict[str, CacheAction] = {}
    for action in actions:
        kept = newest.get(action.key)
        if kept is None or action.version > kept.version:
            newest[action.key] = action
    return list(newest.values())
