"""What a change event does to the cache: pure, no I/O.

The rule table below is the whole policy: for a table configured with ``action`` and an
event of ``op``, which fenced cache operation each of the row's cache keys gets. Every
action carries the event's version, so the store's fence, not the order of arrival,
decides what wins.

Key changes need no rule of their own: the CDC worker turns an update that moves the
primary or partition key into a delete of the old key and an insert of the new one.

Key rendering (:func:`render_key`, :func:`cache_keys`) and the value encoding
(:func:`schemas.values.encode_projection`) are shared with the reconciler, so a repair
writes byte for byte what a rewrite would.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final, NamedTuple

from schemas.actions import ActionKind, CacheAction
from schemas.config import TableConfig, template_fields
from schemas.events import ChangeEvent, Op, RowImage
from schemas.values import encode_projection
from schemas.versions import VERSION_HEX_WIDTH

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


VERSION_PATTERN: Final = re.compile(f"[0-9a-f]{{{VERSION_HEX_WIDTH}}}")
"""The only version form the fence compares correctly (the stores never parse it whole)."""


class DecisionError(ValueError):
    """The event cannot be turned into cache actions (bad version, key column missing)."""

    def __init__(self, message: str, derivable: Iterable[CacheAction] = ()) -> None:
        super().__init__(message)
        self.derivable = list(derivable)
        """Tombstones for the cache keys that could still be rendered and fenced."""


@lru_cache(maxsize=1024)
def _fields(template: str) -> tuple[str, ...]:
    return tuple(template_fields(template))


def render_key(template: str, row: Mapping[str, Any]) -> str:
    """The cache key a template renders for a row of wire values."""
    values = {}
    for name in _fields(template):
        value = row.get(name)
        if value is None:
            raise DecisionError(f"cache key {template!r}: column {name!r} is missing or NULL")
        values[name] = value
    return template.format_map(values)


def cache_keys(rule: TableConfig, row: Mapping[str, Any]) -> list[str]:
    return [render_key(template, row) for template in rule.cache_keys]


class CompiledRule(NamedTuple):
    """A table's rule with its templates parsed once, for the per-event hot path.

    A tuple: ``consumers/_plan.c`` reads its fields by index, in this order.
    """

    config: TableConfig
    templates: tuple[tuple[str, tuple[str, ...]], ...]
    """(template, the columns it names)."""
    template_columns: tuple[str, ...]
    """Every column any template names."""
    commit_time_column: str | None
    """The table's ``commit_time_column``."""
    kinds: tuple[ActionKind, ActionKind, ActionKind]
    """The cache operation of an insert, an update and a delete (:data:`RULES`)."""
    pieces: tuple[tuple[str, ...], ...]
    """Each template as literal, column, literal, ..., literal (literals unescaped)."""
    ttl_seconds: int
    tombstone_ttl_seconds: int
    columns: tuple[str, ...] | None
    """The projected columns of a value (None: every column)."""

    @classmethod
    def of(cls, rule: TableConfig) -> CompiledRule:
        templates = tuple((template, _fields(template)) for template in rule.cache_keys)
        columns = tuple(dict.fromkeys(name for _, names in templates for name in names))
        kinds = (RULES[(rule.action, "insert")], RULES[(rule.action, "update")],
                 RULES[(rule.action, "delete")])
        return cls(rule, templates, columns, rule.commit_time_column, kinds,
                   tuple(_pieces(template) for template in rule.cache_keys), rule.ttl_seconds,
                   rule.tombstone_ttl_seconds,
                   None if rule.columns is None else tuple(rule.columns))


def _pieces(template: str) -> tuple[str, ...]:
    """A template of plain fields as literal, column, literal, ..., literal."""
    pieces = [""]
    for literal, name, _, _ in string.Formatter().parse(template):
        pieces[-1] += literal
        if name is not None:
            pieces += [name, ""]
    return tuple(pieces)


def compile_rules(rules: Mapping[str, TableConfig]) -> dict[str, CompiledRule]:
    return {table: CompiledRule.of(rule) for table, rule in rules.items()}


class Target(NamedTuple):
    """One fenced write an event asks for, before its value is encoded."""

    kind: ActionKind
    key: str
    version: str
    ttl_seconds: int

    def action(self, value: bytes | None) -> CacheAction:
        return CacheAction(self.kind, self.key, self.version, self.ttl_seconds,
                           None if self.kind == "invalidate" else value)


def _render(compiled: CompiledRule, row: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(keys that render, errors of those that do not), in template order."""
    keys: list[str] = []
    errors: list[str] = []
    for template, names in compiled.templates:
        missing = [name for name in names if row.get(name) is None]
        if missing:
            errors.append(f"cache key {template!r}: column {missing[0]!r} is missing or NULL")
        else:
            keys.append(template.format_map(row))
    return keys, errors


def targets(event: ChangeEvent, compiled: CompiledRule) -> list[Target]:
    """The cache keys an event writes and how, under its table's rule (see :data:`RULES`).

    An update whose before image renders other keys than its after image (a template uses a
    column that changed, other than the primary or partition key, which the CDC worker
    already splits into delete + insert) also tombstones the keys it moved away from, so
    they cannot serve the old row until their TTL.

    Raises :class:`DecisionError` when the version is malformed or a key cannot be
    rendered; its ``derivable`` holds tombstones for the keys that could be (the
    dead-letter path writes them instead of a partial value).
    """
    version = event.version
    if VERSION_PATTERN.fullmatch(version) is None:
        raise DecisionError(f"event version {version!r} is not 32 lowercase hex digits")
    rule = compiled.config
    kind = RULES[(rule.action, event.op)]
    keys, errors = _render(compiled, event.row)
    tombstone_ttl = rule.tombstone_ttl_seconds
    if errors:
        raise DecisionError("; ".join(errors), [
            CacheAction("invalidate", key, version, tombstone_ttl) for key in keys])
    ttl = tombstone_ttl if kind == "invalidate" else rule.ttl_seconds
    found = [Target(kind, key, version, ttl) for key in keys]
    before, after = event.before, event.after
    if event.op == "update" and before is not None and after is not None:
        for name in compiled.template_columns:
            if before.get(name) != after.get(name):
                old_keys, _ = _render(compiled, before)  # a NULL column renders no key
                found += [Target("invalidate", old, version, tombstone_ttl)
                          for old in dict.fromkeys(old_keys) if old not in keys]
                break
    return found


_UNIX_EPOCH: Final = dt.datetime(1970, 1, 1)


def row_commit_time(after: RowImage | None, column: str | None) -> float | None:
    """Seconds since the Unix epoch in an after image's commit-time column, else None.

    The column's wire form (``schemas/types.md``) is naive ISO-8601 in UTC for TIMESTAMP;
    a DATETIME is read as UTC too. A missing, NULL or unparseable value gives None (the
    caller falls back to the binlog's clock): latency is measured, never a reason to refuse
    an event.
    """
    if column is None or after is None:
        return None
    value = after.get(column)
    if not isinstance(value, str):
        return None
    try:
        return (dt.datetime.fromisoformat(value) - _UNIX_EPOCH).total_seconds()
    except (ValueError, TypeError):  # TypeError: an offset-aware value
        return None


def value_of(event: ChangeEvent, rule: TableConfig) -> bytes:
    """The cache value of an event's row: its projected columns as JSON."""
    return encode_projection(event.row, rule.columns)


def decide(event: ChangeEvent, rule: TableConfig) -> list[CacheAction]:
    """The fenced cache actions for one change event under its table's rule."""
    found = targets(event, CompiledRule.of(rule))
    value = value_of(event, rule) if any(t.kind != "invalidate" for t in found) else None
    return [target.action(value) for target in found]
