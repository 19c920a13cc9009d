"""DB rows as the consumers see them: wire values, cache keys, projected value: pure.

Everything here delegates to the shared code the live path uses, so a fill by the
reconciler is byte for byte what a rewrite by the consumers would store:
:func:`schemas.values.to_wire` (the CDC worker's value mapping), the consumers'
:func:`consumers.decide.render_key`, and :func:`schemas.values.encode_projection`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from consumers.decide import cache_keys, render_key
from schemas.config import TableConfig
from schemas.values import Kind, encode_projection, kind_of, to_wire
from schemas.versions import column_version

Converter = Callable[[Any], Any]

_IDENTITY_TYPES: dict[Kind, type] = {Kind.INT: int, Kind.TEXT: str}
"""Kinds whose :func:`to_wire` returns a value of exactly this type unchanged; the scan skips
the call for them (a measurable share of the per-row cost)."""


def _converter(kind: Kind) -> Converter:
    identity = _IDENTITY_TYPES.get(kind)

    def convert(value: Any) -> Any:
        if identity is not None and type(value) is identity:
            return value
        return to_wire(kind, value)

    return convert


class TableCodec:
    """The :class:`reconciler.ports.RowCodec` of one table."""

    def __init__(self, rule: TableConfig, data_types: Mapping[str, str]) -> None:
        self._rule = rule
        self._converters = {name: _converter(kind_of(sql_type))
                            for name, sql_type in data_types.items()}
        self._plans: dict[tuple[str, ...], list[tuple[str, Converter]]] = {}

    def wire(self, columns: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
        plan = self._plans.get(tuple(columns))
        if plan is None:
            plan = [(name, self._converters[name]) for name in columns]
            self._plans[tuple(columns)] = plan
        return {name: convert(value)
                for (name, convert), value in zip(plan, values, strict=True)}

    def keys(self, row: Mapping[str, Any]) -> list[str]:
        return cache_keys(self._rule, row)

    def render(self, template: str, row: Mapping[str, Any]) -> str:
        return render_key(template, row)

    def value(self, row: Mapping[str, Any]) -> bytes:
        return encode_projection(row, self._rule.columns)

    def version(self, row: Mapping[str, Any]) -> str | None:
        column = self._rule.version_column
        return column_version(row[column]) if column is not None else None

