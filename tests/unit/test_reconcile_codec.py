"""The reconciler renders a DB row exactly as the CDC worker and the consumers would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from cdc.normalize import wire_row
from consumers.decide import cache_keys
from reconciler.codec import TableCodec
from schemas.config import TableConfig
from schemas.values import encode_projection, kind_of
from schemas.versions import column_version

TYPES = {"id": "bigint", "name": "varchar", "amount": "decimal", "at": "datetime",
         "blob": "blob", "tags": "set", "doc": "json", "version": "bigint"}
RULE = TableConfig(cache_keys=["acct:{id}:{name}"], action="rewrite", version_column="version",
                   columns=["id", "name", "amount", "at", "blob", "tags", "doc"])
ROW: dict[str, Any] = {
    "id": 7, "name": "émile", "amount": Decimal("12.50"),
    "at": dt.datetime(2026, 1, 2, 3, 4, 5), "blob": b"\x00\xff", "tags": "b,a",
    "doc": '{"k": [1, 2]}', "version": 42,
}


def test_codec_matches_the_cdc_and_consumer_encoding() -> None:
    codec = TableCodec(RULE, TYPES)
    wire = codec.wire(list(ROW), list(ROW.values()))
    expected = wire_row(ROW, {name: kind_of(sql) for name, sql in TYPES.items()})
    assert wire == expected
    assert codec.value(wire) == encode_projection(expected, RULE.columns)
    assert codec.keys(wire) == cache_keys(RULE, expected) == ["acct:7:émile"]
    assert codec.render("acct:{id}:{name}", wire) == "acct:7:émile"
    assert codec.version(wire) == column_version(42)


def test_subsets_of_columns_and_no_version_column() -> None:
    codec = TableCodec(RULE.model_copy(update={"version_column": None}), TYPES)
    assert codec.wire(["name", "id"], ["x", 1]) == {"name": "x", "id": 1}
    assert codec.version({"id": 1}) is None
